//! The web console: one page and its assets, embedded in the binary and
//! served at `/` by the same router on every runtime, plus the settings the
//! page needs (where to sign in, how to upload). The page talks only to the
//! public API; nothing here reads storage or the log.

use crate::auth::DEV_CLIENT_ID;
use crate::config::{AuthMode, Config, StorageLocation};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::{Arc, LazyLock};

/// Where the identity provider sends the browser back after sign-in.
pub const CALLBACK_PATH: &str = "/console/callback";

/// Every route the console adds, as API Gateway names them (the route
/// contract test holds `infra/apigw.tf` to this list).
pub const ROUTES: [&str; 6] = [
    "GET /",
    "GET /console/callback",
    "GET /console/console.js",
    "GET /console/console.css",
    "GET /console/icon.svg",
    "GET /console/config.json",
];

/// What `/console/config.json` tells the page.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleSettings {
    /// Absent when this deployment has no sign-in page configured.
    pub sign_in: Option<SignInEndpoints>,
    /// Where `flipframe login --username` signs in with a password (the user
    /// pool's InitiateAuth API); absent on the dev issuer.
    pub password_sign_in: Option<PasswordSignIn>,
    pub upload: UploadSettings,
    /// Origins other than this one the page may call: the token endpoint's,
    /// and object storage's for presigned transfers.
    #[serde(skip)]
    pub connect_origins: Vec<String>,
}

/// OAuth 2.0 endpoints, absolute or relative to this server.
#[derive(Debug, Clone, Serialize)]
pub struct SignInEndpoints {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub end_session_endpoint: String,
    pub client_id: String,
    pub scope: String,
}

impl SignInEndpoints {
    /// The Cognito Hosted UI's (and the dev issuer's) paths under `base`.
    pub fn hosted_ui(base: &str, client_id: &str) -> Self {
        Self {
            authorization_endpoint: format!("{base}/oauth2/authorize"),
            token_endpoint: format!("{base}/oauth2/token"),
            revocation_endpoint: format!("{base}/oauth2/revoke"),
            end_session_endpoint: format!("{base}/logout"),
            client_id: client_id.to_owned(),
            scope: "openid email profile".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PasswordSignIn {
    pub user_pool_api: String,
    pub client_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UploadSettings {
    /// Largest image the service accepts.
    pub max_bytes: u64,
    /// Larger files go through a presigned upload; absent: always inline.
    pub inline_max_bytes: Option<u64>,
    /// Files sent at once.
    pub parallel: usize,
}

/// Files sent at once: enough to fill a connection, few enough that each
/// file's progress is visible and the per-caller upload bound is never hit.
const PARALLEL_UPLOADS: usize = 3;

impl ConsoleSettings {
    pub fn from_config(config: &Config) -> Self {
        let sign_in = match &config.auth {
            // The dev issuer's endpoints are this server's own.
            AuthMode::Dev { .. } => Some(SignInEndpoints::hosted_ui("", DEV_CLIENT_ID)),
            AuthMode::Cognito {
                hosted_ui: Some(ui),
                ..
            } => Some(SignInEndpoints::hosted_ui(&ui.base_url, &ui.client_id)),
            AuthMode::Cognito { .. } => None,
        };
        let mut connect_origins: Vec<String> = sign_in
            .iter()
            .filter_map(|endpoints| origin_of(&endpoints.token_endpoint))
            .collect();
        let object_storage = matches!(config.storage, StorageLocation::S3 { .. });
        if object_storage {
            let endpoint = config
                .aws
                .s3_endpoint_url
                .as_ref()
                .or(config.aws.endpoint_url.as_ref());
            connect_origins.push(
                endpoint
                    .and_then(|url| origin_of(url))
                    .unwrap_or_else(|| "https://*.amazonaws.com".to_owned()),
            );
        }
        connect_origins.dedup();
        let password_sign_in = match &config.auth {
            AuthMode::Cognito {
                user_pool_api: Some(api),
                client_ids,
                hosted_ui,
                ..
            } => Some(PasswordSignIn {
                user_pool_api: api.clone(),
                client_id: hosted_ui
                    .as_ref()
                    .map_or_else(|| client_ids[0].clone(), |ui| ui.client_id.clone()),
            }),
            _ => None,
        };
        Self {
            sign_in,
            password_sign_in,
            upload: UploadSettings {
                max_bytes: config.limits.max_body_bytes,
                inline_max_bytes: config.max_inline_bytes.filter(|_| object_storage),
                parallel: PARALLEL_UPLOADS,
            },
            connect_origins,
        }
    }
}

struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    etag: LazyLock<String>,
}

macro_rules! asset {
    ($file:literal, $type:literal) => {
        Asset {
            body: include_bytes!(concat!("assets/", $file)),
            content_type: $type,
            etag: LazyLock::new(|| etag(include_bytes!(concat!("assets/", $file)))),
        }
    };
}

static INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");
static SCRIPT: Asset = asset!("console.js", "text/javascript; charset=utf-8");
static STYLE: Asset = asset!("console.css", "text/css; charset=utf-8");
static ICON: Asset = asset!("icon.svg", "image/svg+xml");

fn etag(body: &[u8]) -> String {
    format!(
        "\"{}\"",
        URL_SAFE_NO_PAD.encode(&Sha256::digest(body)[..12])
    )
}

pub fn router<S: Clone + Send + Sync + 'static>(settings: Arc<ConsoleSettings>) -> Router<S> {
    Router::new()
        .route("/", get(page))
        .route(CALLBACK_PATH, get(page))
        .route(
            "/console/console.js",
            get(|headers| serve(&SCRIPT, headers)),
        )
        .route(
            "/console/console.css",
            get(|headers| serve(&STYLE, headers)),
        )
        .route("/console/icon.svg", get(|headers| serve(&ICON, headers)))
        .route("/console/config.json", get(config))
        .with_state(settings)
}

async fn page(State(settings): State<Arc<ConsoleSettings>>, headers: HeaderMap) -> Response {
    let mut response = serve(&INDEX, headers).await;
    let policy = content_security_policy(&settings.connect_origins);
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn config(State(settings): State<Arc<ConsoleSettings>>) -> Response {
    let mut response = axum::Json(settings.as_ref()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Only this origin's scripts and styles; images from here or from blobs the
/// page made; calls to this origin and the named ones. No inline code at all.
pub fn content_security_policy(connect_origins: &[String]) -> String {
    let mut connect = String::from("'self'");
    for origin in connect_origins {
        connect.push(' ');
        connect.push_str(origin);
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
         connect-src {connect}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// An asset with its validator: revalidated on every load (a new binary may
/// bring new assets), answered 304 when unchanged.
async fn serve(asset: &'static Asset, headers: HeaderMap) -> Response {
    let etag = asset.etag.as_str();
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // The callback URL carries the sign-in code: never pass it on.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The origin of an absolute URL (none for relative ones).
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_code_and_only_named_origins() {
        let policy = content_security_policy(&["https://auth.example".to_owned()]);
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(policy.contains("connect-src 'self' https://auth.example;"));
    }

    #[test]
    fn origins_come_from_absolute_urls_only() {
        assert_eq!(
            origin_of("https://x.auth.eu-west-1.amazoncognito.com/oauth2/token").as_deref(),
            Some("https://x.auth.eu-west-1.amazoncognito.com")
        );
        assert_eq!(origin_of("/oauth2/token"), None);
    }

    #[test]
    fn the_page_loads_nothing_inline() {
        let page = std::str::from_utf8(INDEX.body).unwrap();
        assert!(
            !page.contains("<script>") && !page.contains("style="),
            "inline code"
        );
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "third-party origin"
        );
    }
}
