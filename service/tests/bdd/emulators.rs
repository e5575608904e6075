//! Emulated AWS and the mock Cognito, started once per run. One interface,
//! `Endpoints`, whichever way they run: host processes (moto, LocalStack from
//! its venv, the mock pool in-process) or containers where a Docker engine
//! answers (LocalStack and the mock pool via testcontainers; moto stays a host
//! process). Nothing else in the suite knows which ran.

use crate::containers;
use crate::support::mock_cognito::{self, Pool};
use crate::support::moto::Moto;
use crate::support::process::{Lifeline, free_port};
use serde_json::{Value, json};
use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CLIENT_ID: &str = "flipframe-bdd";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Host,
    Containers,
}

#[derive(Debug, Clone)]
pub struct Endpoints {
    pub moto: String,
    pub localstack_s3: Option<String>,
    pub cognito: Cognito,
}

/// The mock user pool, reached over HTTP however it runs.
#[derive(Debug, Clone)]
pub struct Cognito {
    pub base_url: String,
    pub pool_id: String,
    client: reqwest::Client,
}

impl Cognito {
    pub fn issuer(&self) -> String {
        mock_cognito::claims::issuer(&self.pool_id)
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/{}/.well-known/jwks.json", self.base_url, self.pool_id)
    }

    pub fn access_claims(&self, username: &str) -> Value {
        mock_cognito::claims::access(&self.pool_id, CLIENT_ID, username)
    }

    pub fn id_claims(&self, username: &str, email: &str) -> Value {
        mock_cognito::claims::id(&self.pool_id, CLIENT_ID, username, email)
    }

    fn control(&self, action: &str) -> String {
        format!("{}/{}/mock/{action}", self.base_url, self.pool_id)
    }

    /// A token signed by the pool's current key.
    pub async fn mint(&self, claims: &Value) -> String {
        let answer: Value = self
            .client
            .post(self.control("tokens"))
            .json(claims)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }

    pub async fn rotate(&self) {
        assert!(
            self.client
                .post(self.control("rotate"))
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }

    pub async fn publish(&self) {
        assert!(
            self.client
                .post(self.control("publish"))
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }
}

pub struct Emulators {
    pub endpoints: Arc<Endpoints>,
    /// Everything that must stay alive until the run ends; dropping stops it.
    _running: Vec<Box<dyn Any + Send>>,
}

impl Emulators {
    pub async fn start(path: Path, with_localstack: bool) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut running: Vec<Box<dyn Any + Send>> = Vec::new();
        let moto = tokio::task::spawn_blocking(Moto::start).await?;
        let moto_endpoint = moto.endpoint.clone();
        running.push(Box::new(moto));
        let pool_id = Pool::random_pool_id();
        let (cognito_url, localstack_s3) = match path {
            Path::Host => {
                let (url, server) = serve_pool_in_process(&pool_id).await;
                running.push(Box::new(server));
                let localstack = if with_localstack {
                    let (endpoint, process) =
                        tokio::task::spawn_blocking(start_localstack_on_host).await??;
                    running.push(Box::new(process));
                    Some(endpoint)
                } else {
                    None
                };
                (url, localstack)
            }
            Path::Containers => {
                let (url, container) = containers::mock_cognito(&pool_id).await?;
                running.push(container);
                let localstack = if with_localstack {
                    let (endpoint, container) = containers::localstack().await?;
                    running.push(container);
                    Some(endpoint)
                } else {
                    None
                };
                (url, localstack)
            }
        };
        println!(
            "emulators ({path:?}) ready in {:.1} s: moto {moto_endpoint}, mock Cognito {cognito_url}, LocalStack S3 {}",
            started.elapsed().as_secs_f64(),
            localstack_s3.as_deref().unwrap_or("off")
        );
        let endpoints = Endpoints {
            moto: moto_endpoint,
            localstack_s3,
            cognito: Cognito {
                base_url: cognito_url,
                pool_id,
                client: reqwest::Client::new(),
            },
        };
        Ok(Self {
            endpoints: Arc::new(endpoints),
            _running: running,
        })
    }
}

struct TaskGuard(tokio::task::JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve_pool_in_process(pool_id: &str) -> (String, TaskGuard) {
    let pool = Pool::new(pool_id.to_owned());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            mock_cognito::router(pool, vec![CLIENT_ID.to_owned()]),
        )
        .await
        .unwrap();
    });
    (url, TaskGuard(server))
}

/// The LocalStack venv `just localstack-venv` makes (Python ≥ 3.12, pinned set).
pub fn localstack_python() -> PathBuf {
    let cache = std::env::var_os("FLIPFRAME_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/flipframe")
        });
    cache.join("localstack-venv/bin/python")
}

/// The environment LocalStack needs to run offline on one loopback port.
pub fn localstack_env(port: u16, root: &std::path::Path) -> Vec<(String, String)> {
    let listen = format!("127.0.0.1:{port}");
    [
        ("GATEWAY_SERVER", "hypercorn"),
        ("GATEWAY_LISTEN", &listen),
        ("LOCALSTACK_HOST", &listen),
        ("OVERRIDE_IN_DOCKER", "0"),
        ("FILESYSTEM_ROOT", &root.display().to_string()),
        ("SERVICES", "s3,sqs"),
        ("PERSISTENCE", "0"),
        ("DISABLE_EVENTS", "1"),
        ("SKIP_SSL_CERT_DOWNLOAD", "1"),
        ("DNS_ADDRESS", "0"),
        ("SQS_ENDPOINT_STRATEGY", "path"),
        ("S3_SKIP_SIGNATURE_VALIDATION", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn start_localstack_on_host() -> anyhow::Result<(String, Lifeline)> {
    let python = localstack_python();
    anyhow::ensure!(
        python.exists(),
        "no LocalStack venv at {} (run `just localstack-venv`)",
        python.display()
    );
    let port = free_port();
    let root = std::env::temp_dir().join(format!("flipframe-localstack-{port}"));
    std::fs::create_dir_all(&root)?;
    let log = std::env::temp_dir().join(format!("flipframe-localstack-{port}.log"));
    let mut process = Lifeline::spawn(
        &python,
        &["-m", "localstack.runtime.main"],
        &localstack_env(port, &root),
        log,
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while !process.log_text().contains("Ready.") {
        anyhow::ensure!(
            !process.exited(),
            "LocalStack exited:\n{}",
            process.log_text()
        );
        anyhow::ensure!(
            Instant::now() < deadline,
            "LocalStack never got ready:\n{}",
            process.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok((format!("http://127.0.0.1:{port}"), process))
}

/// Creates a user pool, app client and user in moto's Cognito IDP through its
/// JSON API, and returns (pool id, client id).
pub async fn moto_user_pool(moto: &str, username: &str, password: &str) -> (String, String) {
    let pool = moto_cognito(
        moto,
        "CreateUserPool",
        json!({"PoolName": format!("bdd-{}", uuid::Uuid::new_v4().simple())}),
    )
    .await;
    let pool_id = pool["UserPool"]["Id"].as_str().unwrap().to_owned();
    let client = moto_cognito(
        moto,
        "CreateUserPoolClient",
        json!({"UserPoolId": pool_id, "ClientName": "flipframe", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await;
    let client_id = client["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    moto_cognito(moto, "AdminCreateUser", json!({"UserPoolId": pool_id, "Username": username, "TemporaryPassword": "Temp-Passw0rd!", "MessageAction": "SUPPRESS"})).await;
    moto_cognito(moto, "AdminSetUserPassword", json!({"UserPoolId": pool_id, "Username": username, "Password": password, "Permanent": true})).await;
    (pool_id, client_id)
}

/// Signs in with USER_PASSWORD_AUTH and returns the access token.
pub async fn moto_sign_in(moto: &str, client_id: &str, username: &str, password: &str) -> String {
    let answer = moto_cognito(
        moto,
        "InitiateAuth",
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id, "AuthParameters": {"USERNAME": username, "PASSWORD": password}}),
    )
    .await;
    answer["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn moto_cognito(moto: &str, action: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{moto}/"))
        .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{action}"))
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{action}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
