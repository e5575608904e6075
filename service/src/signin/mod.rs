//! Authorization code sign-in with PKCE, as the Cognito Hosted UI offers it:
//! the dev issuer's endpoints (and, in the tests, the mock Cognito's), so the
//! console and the CLI run the same flow in every mode.
//!
//! `/oauth2/authorize` shows a "sign in as" form and redirects back with a
//! single-use code; `/oauth2/token` trades it (with the PKCE verifier) or a
//! refresh token for tokens; `/oauth2/revoke` forgets a refresh token and
//! `/logout` sends the browser back. Redirects go only to this server's own
//! origin or to a loopback address (the CLI's local listener).

mod grants;
mod page;

pub use grants::{CODE_TTL, GrantError, Grants, REFRESH_TTL};

use crate::error::problem_response;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use grants::{CodeRequest, valid_challenge};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use url::Url;

/// Makes the tokens a sign-in ends with.
pub trait Minter: Send + Sync + std::fmt::Debug {
    fn mint(&self, username: &str, client_id: &str, ttl: Duration) -> anyhow::Result<Minted>;
}

#[derive(Debug, Clone)]
pub struct Minted {
    pub access_token: String,
    pub id_token: String,
}

#[derive(Debug, Clone)]
pub struct SignInSettings {
    /// The `iss` of the tokens, as the discovery document names it.
    pub issuer: String,
    /// Public clients allowed to sign in.
    pub client_ids: Vec<String>,
    pub token_ttl: Duration,
    /// Path of the issuer's keys on this server.
    pub jwks_path: String,
    /// Path of the OpenID discovery document on this server.
    pub discovery_path: String,
    /// The sign-in page's heading.
    pub title: String,
}

#[derive(Debug)]
pub struct SignIn {
    minter: Box<dyn Minter>,
    settings: SignInSettings,
    grants: Grants,
    refreshes: AtomicU64,
}

impl SignIn {
    pub fn new(minter: Box<dyn Minter>, settings: SignInSettings) -> Self {
        Self {
            minter,
            settings,
            grants: Grants::default(),
            refreshes: AtomicU64::new(0),
        }
    }

    /// Refresh-token grants answered so far.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }
}

/// The sign-in endpoints, for any router state.
pub fn router<S: Clone + Send + Sync + 'static>(service: Arc<SignIn>) -> Router<S> {
    Router::new()
        .route(&service.settings.discovery_path, get(discovery))
        .route("/oauth2/authorize", get(authorize_page).post(authorize))
        .route("/oauth2/token", post(token))
        .route("/oauth2/revoke", post(revoke))
        .route("/logout", get(logout))
        .with_state(service)
}

#[derive(Debug, Default, Deserialize)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    username: Option<String>,
}

/// An authorization request that may be answered by redirecting to its client.
struct Authorization {
    client_id: String,
    redirect_uri: Url,
    state: Option<String>,
    scope: Option<String>,
    code_challenge: String,
}

impl Authorization {
    fn fields(&self) -> Vec<(&str, &str)> {
        let mut fields = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        fields.extend(self.state.as_deref().map(|s| ("state", s)));
        fields.extend(self.scope.as_deref().map(|s| ("scope", s)));
        fields
    }

    /// Back to the client with these query parameters and the state.
    fn redirect(&self, pairs: &[(&str, &str)]) -> Response {
        let mut target = self.redirect_uri.clone();
        {
            let mut query = target.query_pairs_mut();
            for (name, value) in pairs {
                query.append_pair(name, value);
            }
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
        }
        Redirect::to(target.as_str()).into_response()
    }
}

/// Why an authorization request is answered here rather than redirected.
enum Refusal {
    /// The client or its redirect cannot be trusted: say so on a page.
    Page(&'static str),
    /// A trusted client sent a bad request: tell it (RFC 6749 §4.1.2.1).
    Redirect(Box<Authorization>, &'static str, &'static str),
}

impl SignIn {
    fn check(
        &self,
        params: &AuthorizeParams,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Authorization, Refusal> {
        let client_id = params.client_id.clone().unwrap_or_default();
        if !self.settings.client_ids.contains(&client_id) {
            return Err(Refusal::Page("unknown client_id"));
        }
        let redirect_uri = params
            .redirect_uri
            .as_deref()
            .and_then(|uri| Url::parse(uri).ok())
            .filter(|target| may_redirect_to(target, headers, uri))
            .ok_or(Refusal::Page(
                "redirect_uri must be this server's own address or a loopback address",
            ))?;
        let authorization = Authorization {
            client_id,
            redirect_uri,
            state: params.state.clone(),
            scope: params.scope.clone(),
            code_challenge: params.code_challenge.clone().unwrap_or_default(),
        };
        if params.response_type.as_deref() != Some("code") {
            let why = "only response_type=code is supported";
            return Err(Refusal::Redirect(
                Box::new(authorization),
                "unsupported_response_type",
                why,
            ));
        }
        if params.code_challenge_method.as_deref() != Some("S256")
            || !valid_challenge(&authorization.code_challenge)
        {
            let why = "PKCE is required: code_challenge with code_challenge_method=S256";
            return Err(Refusal::Redirect(
                Box::new(authorization),
                "invalid_request",
                why,
            ));
        }
        Ok(authorization)
    }

    /// The token endpoints' client: one of ours, or `invalid_client`.
    fn known_client<'a>(&self, params: &'a TokenParams) -> Result<&'a str, Box<Response>> {
        let client_id = params.client_id.as_deref().unwrap_or_default();
        if self.settings.client_ids.iter().any(|id| id == client_id) {
            return Ok(client_id);
        }
        let refused = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id",
        );
        Err(Box::new(refused))
    }

    fn refuse(&self, refusal: Refusal) -> Response {
        match refusal {
            Refusal::Page(why) => {
                let page = page::refused(&self.settings.title, why);
                html(StatusCode::BAD_REQUEST, page, None)
            }
            Refusal::Redirect(authorization, error, why) => {
                authorization.redirect(&[("error", error), ("error_description", why)])
            }
        }
    }
}

async fn authorize_page(
    State(service): State<Arc<SignIn>>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse_form(query.as_deref().unwrap_or_default().as_bytes());
    match service.check(&params, &headers, &uri) {
        Ok(authorization) => {
            let page = page::sign_in(&service.settings.title, &authorization.fields(), None);
            html(StatusCode::OK, page, Some(&authorization.redirect_uri))
        }
        Err(refusal) => service.refuse(refusal),
    }
}

async fn authorize(
    State(service): State<Arc<SignIn>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let params = parse_form(&body);
    let authorization = match service.check(&params, &headers, &uri) {
        Ok(authorization) => authorization,
        Err(refusal) => return service.refuse(refusal),
    };
    let username = params.username.as_deref().unwrap_or_default().trim();
    if !valid_username(username) {
        let why = "A username is 1 to 64 letters, digits or . _ @ + -";
        let page = page::sign_in(&service.settings.title, &authorization.fields(), Some(why));
        return html(
            StatusCode::BAD_REQUEST,
            page,
            Some(&authorization.redirect_uri),
        );
    }
    let code = service.grants.issue_code(CodeRequest {
        username: username.to_owned(),
        client_id: authorization.client_id.clone(),
        redirect_uri: authorization.redirect_uri.to_string(),
        code_challenge: authorization.code_challenge.clone(),
    });
    tracing::info!(username, client = %authorization.client_id, "dev sign-in: code issued");
    authorization.redirect(&[("code", &code)])
}

#[derive(Debug, Default, Deserialize)]
struct TokenParams {
    grant_type: Option<String>,
    client_id: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    token: Option<String>,
}

#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    id_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    token_type: &'static str,
    expires_in: u64,
}

async fn token(State(service): State<Arc<SignIn>>, body: Bytes) -> Response {
    let params: TokenParams = parse_form(&body);
    let client_id = match service.known_client(&params) {
        Ok(client_id) => client_id,
        Err(refused) => return *refused,
    };
    let (username, refresh_token) = match params.grant_type.as_deref() {
        Some("authorization_code") => {
            let redeemed = service.grants.redeem_code(
                params.code.as_deref().unwrap_or_default(),
                client_id,
                params.redirect_uri.as_deref().unwrap_or_default(),
                params.code_verifier.as_deref().unwrap_or_default(),
            );
            match redeemed {
                Ok(username) => {
                    let refresh = service.grants.issue_refresh(&username, client_id);
                    (username, Some(refresh))
                }
                Err(error) => return grant_error(error),
            }
        }
        Some("refresh_token") => {
            let token = params.refresh_token.as_deref().unwrap_or_default();
            match service.grants.redeem_refresh(token, client_id) {
                Ok(username) => {
                    service.refreshes.fetch_add(1, Ordering::Relaxed);
                    (username, None)
                }
                Err(error) => return grant_error(error),
            }
        }
        _ => {
            let why = "grant_type is authorization_code or refresh_token";
            return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", why);
        }
    };
    let ttl = service.settings.token_ttl;
    let minted = match service.minter.mint(&username, client_id, ttl) {
        Ok(minted) => minted,
        Err(error) => {
            tracing::error!(?error, "minting tokens failed");
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "tokens could not be made",
            );
        }
    };
    let answer = TokenResponse {
        access_token: minted.access_token,
        id_token: minted.id_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ttl.as_secs(),
    };
    let mut response = axum::Json(answer).into_response();
    token_headers(response.headers_mut());
    response
}

async fn revoke(State(service): State<Arc<SignIn>>, body: Bytes) -> Response {
    let params: TokenParams = parse_form(&body);
    if let Err(refused) = service.known_client(&params) {
        return *refused;
    }
    service
        .grants
        .revoke(params.token.as_deref().unwrap_or_default());
    let mut response = StatusCode::OK.into_response();
    token_headers(response.headers_mut());
    response
}

#[derive(Debug, Default, Deserialize)]
struct LogoutParams {
    client_id: Option<String>,
    logout_uri: Option<String>,
}

async fn logout(
    State(service): State<Arc<SignIn>>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    let params: LogoutParams = parse_form(query.as_deref().unwrap_or_default().as_bytes());
    let known = params
        .client_id
        .as_ref()
        .is_some_and(|id| service.settings.client_ids.contains(id));
    match params
        .logout_uri
        .as_deref()
        .and_then(|target| Url::parse(target).ok())
        .filter(|target| known && may_redirect_to(target, &headers, &uri))
    {
        Some(target) => Redirect::to(target.as_str()).into_response(),
        None => service.refuse(Refusal::Page(
            "logout needs a known client_id and a logout_uri on this server or a loopback address",
        )),
    }
}

async fn discovery(State(service): State<Arc<SignIn>>, headers: HeaderMap, uri: Uri) -> Response {
    let base = own_origin(&headers, &uri).unwrap_or_default();
    let settings = &service.settings;
    axum::Json(json!({
        "issuer": settings.issuer,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "end_session_endpoint": format!("{base}/logout"),
        "jwks_uri": format!("{base}{}", settings.jwks_path),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["openid", "email", "profile"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .into_response()
}

/// Parameters of a query string or form; anything unparsable is treated as
/// absent, so the checks above name what is missing.
fn parse_form<T: for<'de> Deserialize<'de> + Default>(bytes: &[u8]) -> T {
    serde_urlencoded::from_bytes(bytes).unwrap_or_default()
}

fn valid_username(username: &str) -> bool {
    (1..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@+-".contains(&b))
}

/// This server's origin as the client addressed it.
fn own_origin(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.to_string()))?;
    let https = headers
        .get("x-forwarded-proto")
        .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"));
    Some(format!("{}://{host}", if https { "https" } else { "http" }))
}

fn may_redirect_to(target: &Url, headers: &HeaderMap, uri: &Uri) -> bool {
    if !matches!(target.scheme(), "http" | "https") || target.fragment().is_some() {
        return false;
    }
    let loopback = match target.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    loopback
        || own_origin(headers, uri).is_some_and(|own| own == target.origin().ascii_serialization())
}

fn html(status: StatusCode, page: String, redirect: Option<&Url>) -> Response {
    let origin = redirect.map(|url| url.origin().ascii_serialization());
    let policy = page::content_security_policy(origin.as_deref());
    let mut response = (status, Html(page)).into_response();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Token answers are never cached, and readable by a console on another
/// origin (as Cognito's token endpoint is).
fn token_headers(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

fn grant_error(error: GrantError) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &error.to_string())
}

#[derive(Debug, Serialize)]
struct OAuthError<'a> {
    code: &'a str,
    /// RFC 6749 §5.2's members, for OAuth clients.
    error: &'a str,
    error_description: &'a str,
}

/// A problem document that is also an RFC 6749 error response.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = problem_response(
        status,
        error,
        description.to_owned(),
        OAuthError {
            code: error,
            error,
            error_description: description,
        },
    );
    token_headers(response.headers_mut());
    response
}
