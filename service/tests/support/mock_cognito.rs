//! A mock Cognito user pool: real RSA keys generated at start, a real HTTP
//! server publishing them at `/{pool}/.well-known/jwks.json`, and tokens
//! shaped like Cognito's ID and access tokens.
//!
//! The Hosted UI's `/oauth2/authorize`, `/oauth2/token`, `/oauth2/revoke`
//! and `/logout` are flipframe's own sign-in endpoints (real PKCE checks,
//! single-use codes) minting this pool's tokens for the given app clients.
//!
//! A control API under `/{pool}/mock/` lets a test that cannot share memory
//! with it (the BDD suite, a container) mint tokens, rotate and publish keys,
//! and take the JWKS down. `examples/mock_cognito.rs` serves it standalone.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use flipframe::auth::SigningKey;
use flipframe::signin::{self, Minted, Minter, SignIn, SignInSettings};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Pool {
    pub pool_id: String,
    published: Mutex<Vec<Arc<SigningKey>>>,
    signer: Mutex<Arc<SigningKey>>,
    fetches: AtomicUsize,
    outage: AtomicBool,
}

impl Pool {
    pub fn new(pool_id: String) -> Arc<Self> {
        let key = Arc::new(SigningKey::generate().expect("RSA key"));
        Arc::new(Self {
            pool_id,
            published: Mutex::new(vec![Arc::clone(&key)]),
            signer: Mutex::new(key),
            fetches: AtomicUsize::new(0),
            outage: AtomicBool::new(false),
        })
    }

    pub fn random_pool_id() -> String {
        format!("us-east-1_{}", uuid::Uuid::new_v4().simple())
    }

    pub fn signer(&self) -> Arc<SigningKey> {
        Arc::clone(&self.signer.lock().unwrap())
    }

    /// Signs with a new key from now on, without publishing it.
    pub fn rotate(&self) -> Arc<SigningKey> {
        let key = Arc::new(SigningKey::generate().expect("RSA key"));
        *self.signer.lock().unwrap() = Arc::clone(&key);
        key
    }

    /// Publishes the key now signing (the second half of a rotation).
    pub fn publish_signer(&self) {
        let signer = self.signer();
        let mut published = self.published.lock().unwrap();
        if !published.iter().any(|key| key.kid() == signer.kid()) {
            published.push(signer);
        }
    }

    /// Withdraws every published key but the one now signing.
    pub fn withdraw_old_keys(&self) {
        let signer = self.signer();
        let mut published = self.published.lock().unwrap();
        published.retain(|key| key.kid() == signer.kid());
    }

    fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .published
            .lock()
            .unwrap()
            .iter()
            .map(|key| key.jwk())
            .collect();
        json!({ "keys": keys })
    }
}

/// Signs this pool's access and ID tokens for the Hosted UI.
struct HostedUiMinter(Arc<Pool>);

impl std::fmt::Debug for HostedUiMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("HostedUiMinter")
            .field(&self.0.pool_id)
            .finish()
    }
}

impl Minter for HostedUiMinter {
    fn mint(&self, username: &str, client_id: &str, ttl: Duration) -> anyhow::Result<Minted> {
        let pool = &self.0;
        let expires = claims::now() + ttl.as_secs() as i64;
        let mut access = claims::access(&pool.pool_id, client_id, username);
        access["exp"] = json!(expires);
        let email = format!("{username}@example.com");
        let mut id = claims::id(&pool.pool_id, client_id, username, &email);
        id["exp"] = json!(expires);
        Ok(Minted {
            access_token: pool.signer().sign(&access)?,
            id_token: pool.signer().sign(&id)?,
        })
    }
}

/// The pool's HTTP face: JWKS plus the control API, under `/{pool id}/`,
/// and the Hosted UI for `client_ids` at the root.
pub fn router(pool: Arc<Pool>, client_ids: Vec<String>) -> Router {
    let base = format!("/{}", pool.pool_id);
    let hosted_ui = SignIn::new(
        Box::new(HostedUiMinter(Arc::clone(&pool))),
        SignInSettings {
            issuer: claims::issuer(&pool.pool_id),
            client_ids,
            token_ttl: Duration::from_secs(3600),
            jwks_path: format!("{base}/.well-known/jwks.json"),
            discovery_path: format!("{base}/.well-known/openid-configuration"),
            title: "Mock Cognito sign-in".to_owned(),
        },
    );
    Router::new()
        .merge(signin::router(Arc::new(hosted_ui)))
        .route(&format!("{base}/.well-known/jwks.json"), get(jwks))
        .route(&format!("{base}/mock/tokens"), post(mint))
        .route(&format!("{base}/mock/rotate"), post(rotate))
        .route(&format!("{base}/mock/publish"), post(publish))
        .route(&format!("{base}/mock/outage"), post(outage))
        .route(&format!("{base}/mock/fetches"), get(fetches))
        .with_state(pool)
}

async fn jwks(State(pool): State<Arc<Pool>>) -> Response {
    pool.fetches.fetch_add(1, Ordering::SeqCst);
    if pool.outage.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(pool.jwks()).into_response()
}

async fn mint(State(pool): State<Arc<Pool>>, Json(claims): Json<Value>) -> Json<Value> {
    Json(json!({ "token": pool.signer().sign(&claims).unwrap() }))
}

async fn rotate(State(pool): State<Arc<Pool>>) -> Json<Value> {
    Json(json!({ "kid": pool.rotate().kid() }))
}

async fn publish(State(pool): State<Arc<Pool>>) -> StatusCode {
    pool.publish_signer();
    StatusCode::NO_CONTENT
}

async fn outage(State(pool): State<Arc<Pool>>, Json(body): Json<Value>) -> StatusCode {
    pool.outage
        .store(body["down"].as_bool().unwrap_or(true), Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

async fn fetches(State(pool): State<Arc<Pool>>) -> Json<Value> {
    Json(json!({ "fetches": pool.fetches.load(Ordering::SeqCst) }))
}

/// Claims as Cognito puts them in its tokens.
pub mod claims {
    use serde_json::{Value, json};

    pub fn issuer(pool_id: &str) -> String {
        format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}")
    }

    pub fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    pub fn access(pool_id: &str, client_id: &str, username: &str) -> Value {
        let now = now();
        json!({
            "sub": format!("sub-{username}"),
            "iss": issuer(pool_id),
            "client_id": client_id,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "username": username,
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
            "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    pub fn id(pool_id: &str, client_id: &str, username: &str, email: &str) -> Value {
        let now = now();
        json!({
            "sub": format!("sub-{username}"),
            "iss": issuer(pool_id),
            "aud": client_id,
            "token_use": "id",
            "cognito:username": username,
            "email": email,
            "email_verified": true,
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
        })
    }
}

/// The pool served in-process on a free loopback port, for tests that share
/// memory with it.
pub struct MockCognito {
    pub address: SocketAddr,
    pub pool_id: String,
    pub client_id: String,
    pool: Arc<Pool>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for MockCognito {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl MockCognito {
    pub async fn start() -> Self {
        let pool = Pool::new(Pool::random_pool_id());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let client_id = format!("client{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let app = router(Arc::clone(&pool), vec![client_id.clone()]);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            address,
            pool_id: pool.pool_id.clone(),
            client_id,
            pool,
            server,
        }
    }

    /// What Cognito (and moto) put in `iss`: the real AWS host, not ours.
    pub fn issuer(&self) -> String {
        claims::issuer(&self.pool_id)
    }

    /// Where the Hosted UI's `/oauth2/…` endpoints are.
    pub fn hosted_ui(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn jwks_url(&self) -> String {
        format!(
            "http://{}/{}/.well-known/jwks.json",
            self.address, self.pool_id
        )
    }

    pub fn fetches(&self) -> usize {
        self.pool.fetches.load(Ordering::SeqCst)
    }

    pub fn set_outage(&self, down: bool) {
        self.pool.outage.store(down, Ordering::SeqCst);
    }

    pub fn signer(&self) -> Arc<SigningKey> {
        self.pool.signer()
    }

    pub fn start_signing_with_new_key(&self) -> Arc<SigningKey> {
        self.pool.rotate()
    }

    pub fn publish_signer(&self) {
        self.pool.publish_signer();
    }

    pub fn withdraw_old_keys(&self) {
        self.pool.withdraw_old_keys();
    }

    pub fn now() -> i64 {
        claims::now()
    }

    pub fn access_claims(&self, username: &str) -> Value {
        claims::access(&self.pool_id, &self.client_id, username)
    }

    pub fn id_claims(&self, username: &str, email: &str) -> Value {
        claims::id(&self.pool_id, &self.client_id, username, email)
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.signer().sign(claims).expect("signs")
    }

    pub fn access_token(&self, username: &str) -> String {
        self.sign(&self.access_claims(username))
    }

    pub fn id_token(&self, username: &str, email: &str) -> String {
        self.sign(&self.id_claims(username, email))
    }
}
