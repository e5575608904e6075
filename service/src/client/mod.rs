//! The client side of the `flipframe` binary: sign in, upload files and
//! folders, read and follow the log, download results; against the
//! standalone server or a deployed API alike. It speaks only the public HTTP
//! API (and the sign-in endpoints the console uses).

pub mod args;
mod download;
mod log_view;
mod login;
mod password;
mod profiles;
mod progress;
mod upload;

pub use args::{Connection, GetArgs, LogArgs, LoginArgs, UploadArgs};

use anyhow::Context;
use profiles::Profile;
use reqwest::{Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::Mutex;

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8080";
/// A token this close to expiry is refreshed before use.
const REFRESH_MARGIN_SECONDS: i64 = 60;

pub async fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    login::run(args).await
}

pub async fn upload(args: UploadArgs) -> anyhow::Result<ExitCode> {
    let session = Session::open(&args.connection)?;
    upload::run(session, args).await
}

pub async fn log(args: LogArgs) -> anyhow::Result<ExitCode> {
    let session = Session::open(&args.connection)?;
    log_view::run(session, args).await
}

pub async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let session = Session::open(&args.connection)?;
    download::run(session, args).await
}

enum Credential {
    Token(String),
    Profile(Profile),
    None,
}

/// Where to call and with which credential, refreshed when it runs out.
pub struct Session {
    pub endpoint: String,
    pub json: bool,
    /// Whether to draw progress bars (a terminal on stderr, no `--json`).
    pub interactive: bool,
    http: reqwest::Client,
    profile: String,
    credential: Mutex<Credential>,
}

impl Session {
    pub fn open(connection: &Connection) -> anyhow::Result<Self> {
        let saved = profiles::load(&connection.profile)?;
        let endpoint = connection
            .endpoint
            .clone()
            .or_else(|| saved.as_ref().map(|p| p.endpoint.clone()))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let credential = match (&connection.token, saved) {
            (Some(token), _) => Credential::Token(token.clone()),
            (None, Some(profile)) if profile.endpoint == endpoint => Credential::Profile(profile),
            _ => Credential::None,
        };
        Ok(Self {
            endpoint,
            json: connection.json,
            interactive: !connection.json && std::io::stderr().is_terminal(),
            http: http_client()?,
            profile: connection.profile.clone(),
            credential: Mutex::new(credential),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    /// The bearer token to send, refreshed first when it is about to expire.
    pub async fn bearer(&self) -> anyhow::Result<String> {
        let mut credential = self.credential.lock().await;
        match &mut *credential {
            Credential::Token(token) => Ok(token.clone()),
            Credential::None => anyhow::bail!(
                "not signed in to {}: run `flipframe login` (or pass --token)",
                self.endpoint
            ),
            Credential::Profile(profile) => {
                let now = chrono::Utc::now().timestamp();
                if profile.expires_at - now < REFRESH_MARGIN_SECONDS {
                    *profile = login::refresh(&self.http, profile).await.with_context(|| {
                        format!(
                            "the sign-in expired: run `flipframe login --profile {}`",
                            self.profile
                        )
                    })?;
                    profiles::save(&self.profile, Some(profile.clone()))?;
                }
                Ok(profile.access_token.clone())
            }
        }
    }

    /// A signed-in GET answering JSON, or the API's problem as the error.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(self.bearer().await?)
            .send()
            .await
            .with_context(|| format!("reaching {}", self.endpoint))?;
        if !response.status().is_success() {
            return Err(Problem::read(response).await.into());
        }
        Ok(response.json().await?)
    }
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("flipframe-cli/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// An API error answer (`application/problem+json`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail} (HTTP {status}{})", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
pub struct Problem {
    pub status: u16,
    pub code: Option<String>,
    pub detail: String,
    pub retry_after: Option<Duration>,
    /// The log entry a refused upload was recorded under.
    pub id: Option<String>,
}

impl Problem {
    pub async fn read(response: Response) -> Self {
        #[derive(Deserialize, Default)]
        struct Body {
            detail: Option<String>,
            title: Option<String>,
            code: Option<String>,
            id: Option<String>,
        }
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body: Body = response.json().await.unwrap_or_default();
        Self {
            status: status.as_u16(),
            code: body.code,
            detail: body
                .detail
                .or(body.title)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
            retry_after,
            id: body.id,
        }
    }

    /// Worth sending again: the server was busy or the body too slow, not
    /// the request wrong.
    pub fn is_transient(&self) -> bool {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        matches!(
            status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS
        ) || status.is_server_error()
    }
}

/// Sizes as people read them.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}
