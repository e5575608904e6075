//! `flipframe login`: the authorization code flow with PKCE, as the console
//! runs it, back to a listener on localhost (Cognito has no device flow).
//! With `--user` on a dev issuer the CLI fills its "sign in as" form itself.

use super::args::LoginArgs;
use super::password::{self, PasswordSignIn};
use super::profiles::{self, Flow, Profile};
use super::{DEFAULT_ENDPOINT, Problem, http_client};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

#[derive(Debug, Deserialize)]
struct SignIn {
    authorization_endpoint: String,
    token_endpoint: String,
    client_id: String,
    scope: String,
}

/// An OAuth token endpoint's answer (the user pool's API is read into it too).
#[derive(Debug, Deserialize)]
pub(super) struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: i64,
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub async fn run(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let endpoint = args
        .connection
        .endpoint
        .clone()
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
        .trim_end_matches('/')
        .to_owned();
    let http = http_client()?;
    let base = Url::parse(&format!("{endpoint}/")).context("--endpoint is not a URL")?;
    let settings: serde_json::Value = http
        .get(base.join("console/config.json")?)
        .send()
        .await
        .with_context(|| format!("reaching {endpoint}"))?
        .json()
        .await
        .context("the service did not say how to sign in")?;
    let profile = match &args.username {
        Some(username) => with_password(&http, &settings, &endpoint, username, &args).await?,
        None => with_code(&http, &settings, &base, &endpoint, &args).await?,
    };
    profiles::save(&args.connection.profile, Some(profile))?;
    let path = profiles::credentials_path()?;
    if args.connection.json {
        println!(
            "{}",
            serde_json::json!({"endpoint": endpoint, "profile": args.connection.profile, "credentials": path})
        );
    } else {
        eprintln!(
            "signed in to {endpoint} (profile {}, saved in {})",
            args.connection.profile,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The authorization code flow with PKCE, through a browser or, with
/// `--user` on a dev issuer, its form.
async fn with_code(
    http: &reqwest::Client,
    settings: &serde_json::Value,
    base: &Url,
    endpoint: &str,
    args: &LoginArgs,
) -> anyhow::Result<Profile> {
    let Some(sign_in) = settings.get("sign_in").filter(|v| !v.is_null()) else {
        bail!("{endpoint} has no sign-in configured (FLIPFRAME_COGNITO_DOMAIN); use --token");
    };
    let mut sign_in: SignIn = serde_json::from_value(sign_in.clone())?;
    sign_in.authorization_endpoint = base.join(&sign_in.authorization_endpoint)?.to_string();
    sign_in.token_endpoint = base.join(&sign_in.token_endpoint)?.to_string();

    let verifier = random();
    let state = random();
    let redirect_uri = format!("http://localhost:{}/callback", args.callback_port);
    let mut authorize = Url::parse(&sign_in.authorization_endpoint)?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &sign_in.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &sign_in.scope)
        .append_pair("state", &state)
        .append_pair(
            "code_challenge",
            &URL_SAFE_NO_PAD.encode(Sha256::digest(&verifier)),
        )
        .append_pair("code_challenge_method", "S256");

    let code = match &args.user {
        Some(user) => fill_dev_form(&authorize, user, &state).await?,
        None => through_browser(&authorize, args.callback_port, &state).await?,
    };
    let tokens: Tokens = token_request(
        http,
        &sign_in.token_endpoint,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &sign_in.client_id),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &verifier),
        ],
    )
    .await?;
    Ok(Profile {
        endpoint: endpoint.to_owned(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: chrono::Utc::now().timestamp() + tokens.expires_in,
        token_endpoint: sign_in.token_endpoint,
        client_id: sign_in.client_id,
        flow: Flow::AuthorizationCode,
    })
}

/// USER_PASSWORD_AUTH against the user pool the service names.
async fn with_password(
    http: &reqwest::Client,
    settings: &serde_json::Value,
    endpoint: &str,
    username: &str,
    args: &LoginArgs,
) -> anyhow::Result<Profile> {
    let Some(pool) = settings.get("password_sign_in").filter(|v| !v.is_null()) else {
        bail!(
            "{endpoint} has no user pool to sign in to with a password (a dev issuer takes --user NAME)"
        );
    };
    let pool: PasswordSignIn = serde_json::from_value(pool.clone())?;
    let password = password::read_password(args.password_stdin, username)?;
    let tokens = password::sign_in(http, &pool, username, &password).await?;
    Ok(Profile {
        endpoint: endpoint.to_owned(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: chrono::Utc::now().timestamp() + tokens.expires_in,
        token_endpoint: pool.user_pool_api,
        client_id: pool.client_id,
        flow: Flow::UserPassword,
    })
}

/// A renewed profile from its refresh token.
pub async fn refresh(http: &reqwest::Client, profile: &Profile) -> anyhow::Result<Profile> {
    let refresh_token = profile
        .refresh_token
        .as_deref()
        .context("the sign-in has no refresh token")?;
    let tokens = match profile.flow {
        Flow::AuthorizationCode => {
            token_request(
                http,
                &profile.token_endpoint,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &profile.client_id),
                    ("refresh_token", refresh_token),
                ],
            )
            .await?
        }
        Flow::UserPassword => {
            password::refresh(
                http,
                &profile.token_endpoint,
                &profile.client_id,
                refresh_token,
            )
            .await?
        }
    };
    Ok(Profile {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token.or(profile.refresh_token.clone()),
        expires_at: chrono::Utc::now().timestamp() + tokens.expires_in,
        ..profile.clone()
    })
}

async fn token_request(
    http: &reqwest::Client,
    endpoint: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<Tokens> {
    let response = http.post(endpoint).form(form).send().await?;
    if !response.status().is_success() {
        return Err(Problem::read(response).await.into());
    }
    Ok(response.json().await?)
}

/// Posts the dev issuer's form as the named user and reads the code from
/// the redirect, with no browser and no listener.
async fn fill_dev_form(authorize: &Url, user: &str, state: &str) -> anyhow::Result<String> {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("username".to_owned(), user.to_owned()));
    let mut target = authorize.clone();
    target.set_query(None);
    let response = no_redirects.post(target).form(&form).send().await?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(location) = location else {
        bail!(
            "the sign-in page did not accept --user (HTTP {}); it is not a dev issuer: sign in without --user",
            response.status()
        );
    };
    code_from(&Url::parse(&location)?, state)
}

fn code_from(callback: &Url, state: &str) -> anyhow::Result<String> {
    let query: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    if let Some(error) = query.get("error") {
        bail!(
            "sign-in refused: {error} {}",
            query
                .get("error_description")
                .map(String::as_str)
                .unwrap_or_default()
        );
    }
    anyhow::ensure!(
        query.get("state").map(String::as_str) == Some(state),
        "the sign-in answer is not for this login (state differs)"
    );
    query
        .get("code")
        .cloned()
        .context("the sign-in answer has no code")
}

/// Opens (or prints) the sign-in page and waits for its redirect on localhost.
async fn through_browser(authorize: &Url, port: u16, state: &str) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!("listening on localhost:{port} for the sign-in (try --callback-port)")
        })?;
    eprintln!("Open this address to sign in:\n\n  {authorize}\n");
    for opener in ["xdg-open", "open"] {
        let opened = std::process::Command::new(opener)
            .arg(authorize.as_str())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if opened.is_ok() {
            break;
        }
    }
    let wait = async {
        loop {
            let (mut stream, _) = listener.accept().await?;
            let mut head = vec![0u8; 8192];
            let read = stream.read(&mut head).await?;
            let head = String::from_utf8_lossy(&head[..read]).into_owned();
            let Some(target) = head.lines().next().and_then(|l| l.split(' ').nth(1)) else {
                continue;
            };
            let callback = Url::parse(&format!("http://localhost{target}"))?;
            if callback.path() != "/callback" {
                let _ = stream
                    .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    .await;
                continue;
            }
            let result = code_from(&callback, state);
            let page = match &result {
                Ok(_) => "Signed in to flipframe. You can close this tab.",
                Err(_) => "The sign-in did not complete; see the terminal.",
            };
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            return result;
        }
    };
    tokio::time::timeout(Duration::from_secs(300), wait)
        .await
        .context("no sign-in within 5 minutes")?
}
