//! A mock Cognito user pool: real RSA keys generated at start, a real HTTP
//! server publishing them at `/{pool}/.well-known/jwks.json`, and tokens
//! shaped like Cognito's ID and access tokens. Keys can be rotated and the
//! JWKS endpoint can be taken down.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flipframe::auth::SigningKey;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Shared {
    published: Mutex<Vec<Arc<SigningKey>>>,
    signer: Mutex<Option<Arc<SigningKey>>>,
    fetches: AtomicUsize,
    outage: AtomicBool,
}

pub struct MockCognito {
    pub address: SocketAddr,
    pub pool_id: String,
    pub client_id: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for MockCognito {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl MockCognito {
    pub async fn start() -> Self {
        let pool_id = format!("us-east-1_{}", uuid::Uuid::new_v4().simple());
        let shared = Arc::new(Shared::default());
        let key = Arc::new(SigningKey::generate().expect("RSA key"));
        shared.published.lock().unwrap().push(Arc::clone(&key));
        *shared.signer.lock().unwrap() = Some(key);

        let router = Router::new()
            .route(&format!("/{pool_id}/.well-known/jwks.json"), get(jwks))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            address,
            pool_id,
            client_id: format!("client{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            shared,
            server,
        }
    }

    /// What Cognito (and moto) put in `iss`: the real AWS host, not ours.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.us-east-1.amazonaws.com/{}",
            self.pool_id
        )
    }

    pub fn jwks_url(&self) -> String {
        format!(
            "http://{}/{}/.well-known/jwks.json",
            self.address, self.pool_id
        )
    }

    /// How many times the JWKS was requested.
    pub fn fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }

    pub fn set_outage(&self, down: bool) {
        self.shared.outage.store(down, Ordering::SeqCst);
    }

    pub fn signer(&self) -> Arc<SigningKey> {
        self.shared
            .signer
            .lock()
            .unwrap()
            .clone()
            .expect("a signer")
    }

    /// Generates a key and signs with it from now on, without publishing it.
    pub fn start_signing_with_new_key(&self) -> Arc<SigningKey> {
        let key = Arc::new(SigningKey::generate().expect("RSA key"));
        *self.shared.signer.lock().unwrap() = Some(Arc::clone(&key));
        key
    }

    /// Adds a key to the published JWKS (key rotation at the issuer).
    pub fn publish(&self, key: Arc<SigningKey>) {
        self.shared.published.lock().unwrap().push(key);
    }

    pub fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    pub fn access_claims(&self, username: &str) -> Value {
        let now = Self::now();
        json!({
            "sub": format!("sub-{username}"),
            "iss": self.issuer(),
            "client_id": self.client_id,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "username": username,
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
            "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    pub fn id_claims(&self, username: &str, email: &str) -> Value {
        let now = Self::now();
        json!({
            "sub": format!("sub-{username}"),
            "iss": self.issuer(),
            "aud": self.client_id,
            "token_use": "id",
            "cognito:username": username,
            "email": email,
            "email_verified": true,
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
        })
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

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.fetches.fetch_add(1, Ordering::SeqCst);
    if shared.outage.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys: Vec<Value> = shared
        .published
        .lock()
        .unwrap()
        .iter()
        .map(|key| key.jwk())
        .collect();
    axum::Json(json!({ "keys": keys })).into_response()
}
