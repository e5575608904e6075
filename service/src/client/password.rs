//! `flipframe login --username`: Cognito's USER_PASSWORD_AUTH through the
//! user pool's own API (InitiateAuth), for terminals with no browser. The
//! password is read from stdin (`--password-stdin`), `FLIPFRAME_PASSWORD`,
//! or the terminal without echo; it is never stored.

use super::login::Tokens;
use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::json;
use std::io::{BufRead, IsTerminal};

/// What the service says about password sign-in (`/console/config.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct PasswordSignIn {
    pub user_pool_api: String,
    pub client_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    authentication_result: Option<AuthenticationResult>,
    challenge_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuthenticationResult {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: i64,
}

#[derive(Deserialize)]
struct Refusal {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(alias = "Message", default)]
    message: String,
}

/// The password, from wherever the user chose to give it.
pub fn read_password(from_stdin: bool, username: &str) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else if let Ok(password) = std::env::var("FLIPFRAME_PASSWORD") {
        password
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {username}: "))?
    } else {
        bail!(
            "no terminal to ask for the password: pass --password-stdin or set FLIPFRAME_PASSWORD"
        );
    };
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    Ok(password)
}

pub async fn sign_in(
    http: &reqwest::Client,
    pool: &PasswordSignIn,
    username: &str,
    password: &str,
) -> anyhow::Result<Tokens> {
    let answer = initiate_auth(
        http,
        &pool.user_pool_api,
        json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": pool.client_id,
            "AuthParameters": {"USERNAME": username, "PASSWORD": password},
        }),
    )
    .await?;
    issued(answer, None)
}

pub async fn refresh(
    http: &reqwest::Client,
    user_pool_api: &str,
    client_id: &str,
    refresh_token: &str,
) -> anyhow::Result<Tokens> {
    let answer = initiate_auth(
        http,
        user_pool_api,
        json!({
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"REFRESH_TOKEN": refresh_token},
        }),
    )
    .await?;
    // Cognito does not rotate refresh tokens on this flow.
    issued(answer, Some(refresh_token))
}

fn issued(answer: Answer, kept_refresh: Option<&str>) -> anyhow::Result<Tokens> {
    if let Some(challenge) = answer.challenge_name {
        bail!(
            "the user pool asks for {challenge} before it signs you in: finish that once in the web console, then run login again"
        );
    }
    let result = answer
        .authentication_result
        .context("the user pool answered without tokens")?;
    Ok(Tokens {
        access_token: result.access_token,
        refresh_token: result.refresh_token.or(kept_refresh.map(str::to_owned)),
        expires_in: result.expires_in,
    })
}

async fn initiate_auth(
    http: &reqwest::Client,
    endpoint: &str,
    body: serde_json::Value,
) -> anyhow::Result<Answer> {
    let response = http
        .post(endpoint)
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.InitiateAuth",
        )
        .header(reqwest::header::CONTENT_TYPE, "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .with_context(|| format!("reaching the user pool at {endpoint}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response.json().await?);
    }
    let text = response.text().await.unwrap_or_default();
    let refusal: Refusal = serde_json::from_str(&text).unwrap_or(Refusal {
        kind: String::new(),
        message: text,
    });
    let kind = refusal.kind.rsplit('#').next().unwrap_or_default();
    bail!(
        "sign-in refused (HTTP {status} {kind}): {}",
        refusal.message
    )
}
