//! `spawn_app`: the whole application on port 0 with its own data folder.

use flipframe::auth::DevIssuer;
use flipframe::config::TransformIsolation;
use flipframe::{Application, Config};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub data_dir: PathBuf,
    /// A signed-in user's token (dev issuer unless the config says otherwise).
    pub token: String,
    /// The running router's state (its backends, the dev issuer).
    pub state: flipframe::api::AppState,
    _temp: Option<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app in a fresh data folder after `adjust` edits the config.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let temp = tempfile::tempdir().unwrap();
    let mut app = spawn_app_in(temp.path(), adjust).await;
    app._temp = Some(temp);
    app
}

/// Starts the app on an existing data folder (for restart tests).
pub async fn spawn_app_in(data_dir: &Path, adjust: impl FnOnce(&mut Config)) -> TestApp {
    // Captured per test, shown only when one fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_test_writer()
        .try_init();
    let mut config = Config::embedded(data_dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.workers = 2;
    // Transforms run in worker processes of the real binary, as `serve` runs them.
    config.isolation = TransformIsolation::Workers(env!("CARGO_BIN_EXE_flipframe").into());
    adjust(&mut config);
    let application = Application::build(config).await.expect("the app builds");
    let address = format!("http://{}", application.local_addr());
    let state = application.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        application
            .run_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    let token = dev_token(data_dir, "alice");
    TestApp {
        address,
        client: Client::new(),
        data_dir: data_dir.to_path_buf(),
        token,
        state,
        _temp: None,
        stop: Some(stop),
        server,
    }
}

pub fn dev_token(data_dir: &Path, username: &str) -> String {
    DevIssuer::load_or_create(data_dir)
        .unwrap()
        .mint_access(username, None, Duration::from_secs(600))
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Stops serving and the worker; the data folder stays.
    pub async fn stop(mut self) -> Option<TempDir> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
        self._temp.take()
    }

    pub async fn upload_as(&self, token: &str, bytes: Vec<u8>, content_type: &str) -> Response {
        self.client
            .post(self.url("/v1/images"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    pub async fn upload(&self, bytes: Vec<u8>, content_type: &str) -> Response {
        self.upload_as(&self.token, bytes, content_type).await
    }

    /// Uploads and returns the new entry's id, asserting the 202.
    pub async fn upload_ok(&self, bytes: Vec<u8>, content_type: &str) -> String {
        let response = self.upload(bytes, content_type).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let entry: Value = response.json().await.unwrap();
        entry["id"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.token, path).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn entry(&self, id: &str) -> Value {
        let response = self.get(&format!("/v1/images/{id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Polls the entry until it is `done` or `failed` (at most 60 s).
    pub async fn wait_until_finished(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let entry = self.entry(id).await;
            if matches!(entry["status"].as_str(), Some("done" | "failed")) {
                return entry;
            }
            assert!(
                Instant::now() < deadline,
                "entry {id} never finished: {entry}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Files under the object folder, relative to it.
    pub fn stored_objects(&self) -> Vec<String> {
        let root = self.data_dir.join("objects");
        let mut found = Vec::new();
        for folder in ["originals", "transformed"] {
            if let Ok(entries) = std::fs::read_dir(root.join(folder)) {
                for entry in entries.flatten() {
                    found.push(format!("{folder}/{}", entry.file_name().to_string_lossy()));
                }
            }
        }
        found.sort();
        found
    }
}

/// Asserts a problem+json answer with this status and code.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "problem: {body}");
    assert_eq!(body["type"], format!("urn:flipframe:problem:{code}"));
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// A fresh bucket and table in moto: the config edit that puts an app on them.
pub async fn on_moto(prefix: &str) -> impl Fn(&mut Config) + Clone {
    use crate::support::moto::{moto, unique};
    use flipframe::config::{LedgerLocation, StorageLocation};
    let (bucket, table) = (unique(prefix), unique(prefix));
    let prefix = prefix.to_owned();
    let use_aws = move |config: &mut Config| {
        config.storage = StorageLocation::S3 {
            bucket: bucket.clone(),
            prefix: prefix.clone(),
        };
        config.ledger = LedgerLocation::DynamoDb {
            table: table.clone(),
        };
        config.aws = moto().settings();
    };
    let mut setup = Config::embedded(std::env::temp_dir());
    use_aws(&mut setup);
    flipframe::app::create_missing_resources(&setup)
        .await
        .expect("bucket and table");
    use_aws
}
