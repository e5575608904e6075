//! Every route is closed to anonymous callers: a table of token cases, each
//! with the exact status it must get, against a mock Cognito over real HTTP.

use crate::helpers::*;
use crate::support::images::*;
use crate::support::mock_cognito::MockCognito;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flipframe::auth::{ExternalTokens, SigningKey, hash_token, new_token};
use flipframe::config::AuthMode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use rsa::pkcs1::EncodeRsaPublicKey;
use serde_json::{Value, json};
use std::time::Duration;

/// An app that trusts `cognito`'s client (and a second one) and one external token.
pub async fn spawn_cognito_app(
    cognito: &MockCognito,
    external: &str,
    min_refresh: Duration,
) -> TestApp {
    let (issuer, jwks_url, client_id) = (
        cognito.issuer(),
        cognito.jwks_url(),
        cognito.client_id.clone(),
    );
    let external = external.to_owned();
    let mut app = spawn_app_with(move |config| {
        config.auth = AuthMode::Cognito {
            issuer,
            client_ids: vec![client_id, "second-client".to_owned()],
            jwks_url,
            min_refresh,
            hosted_ui: None,
            user_pool_api: None,
        };
        config.external_tokens =
            ExternalTokens::parse(&format!("partner-a:{}", hash_token(&external).unwrap()))
                .unwrap();
    })
    .await;
    app.token = cognito.access_token("carol");
    app
}

fn edit(mut claims: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

fn sign_raw(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).unwrap()
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    status: u16,
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

#[tokio::test]
async fn token_cases_get_exactly_their_status() {
    let cognito = MockCognito::start().await;
    let partner = new_token();
    let app = spawn_cognito_app(&cognito, &partner, Duration::ZERO).await;
    let id = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    assert_eq!(app.wait_until_finished(&id).await["status"], "done");

    let now = MockCognito::now();
    let access = cognito.access_claims("carol");
    let id_claims = cognito.id_claims("dave", "dave@example.com");
    let signer = cognito.signer();
    let sign = |claims: Value| cognito.sign(&claims);
    let stranger = SigningKey::generate().unwrap();

    let valid = sign(access.clone());
    let tampered = {
        let parts: Vec<&str> = valid.split('.').collect();
        let forged = URL_SAFE_NO_PAD
            .encode(edit(access.clone(), json!({"username": "mallory"})).to_string());
        format!("{}.{forged}.{}", parts[0], parts[2])
    };
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(access.to_string())
    );
    let hs256_with_public_key = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(signer.kid().to_owned());
        let public_pem = signer
            .public_key()
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .unwrap();
        sign_raw(
            &header,
            &access,
            &EncodingKey::from_secret(public_pem.as_bytes()),
        )
    };
    let rs384 = {
        let mut header = Header::new(Algorithm::RS384);
        header.kid = Some(signer.kid().to_owned());
        sign_raw(&header, &access, signer.encoding_key())
    };
    let no_kid = sign_raw(
        &Header::new(Algorithm::RS256),
        &access,
        signer.encoding_key(),
    );
    let stolen_kid = {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(signer.kid().to_owned());
        sign_raw(&header, &access, stranger.encoding_key())
    };
    let unknown_kid = stranger.sign(&access).unwrap();

    let images = "/v1/images".to_owned();
    let transformed = format!("/v1/images/{id}/transformed");
    let get = |name, headers, status| Case {
        name,
        method: Method::GET,
        path: images.clone(),
        headers,
        status,
    };
    let mut cases = vec![
        get("valid access token", bearer(&valid), 200),
        get("valid ID token", bearer(&sign(id_claims.clone())), 200),
        get(
            "lower-case bearer scheme",
            vec![("authorization", format!("bearer {valid}"))],
            200,
        ),
        get(
            "access token for the second client",
            bearer(&sign(edit(
                access.clone(),
                json!({"client_id": "second-client"}),
            ))),
            200,
        ),
        get(
            "expired 30 s ago, inside the leeway",
            bearer(&sign(edit(access.clone(), json!({"exp": now - 30})))),
            200,
        ),
        get(
            "expired",
            bearer(&sign(edit(
                access.clone(),
                json!({"exp": now - 3600, "iat": now - 7200}),
            ))),
            401,
        ),
        get(
            "not yet valid",
            bearer(&sign(edit(access.clone(), json!({"nbf": now + 3600})))),
            401,
        ),
        get(
            "issued in the future",
            bearer(&sign(edit(access.clone(), json!({"iat": now + 3600})))),
            401,
        ),
        get(
            "no expiry",
            bearer(&sign(edit(access.clone(), json!({"exp": null})))),
            401,
        ),
        get(
            "wrong issuer",
            bearer(&sign(edit(
                access.clone(),
                json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}),
            ))),
            401,
        ),
        get(
            "access token for another client",
            bearer(&sign(edit(
                access.clone(),
                json!({"client_id": "someone-else"}),
            ))),
            401,
        ),
        get(
            "ID token for another audience",
            bearer(&sign(edit(
                id_claims.clone(),
                json!({"aud": "someone-else"}),
            ))),
            401,
        ),
        get(
            "access token with aud but no client_id",
            bearer(&sign(edit(
                access.clone(),
                json!({"client_id": null, "aud": cognito.client_id.clone()}),
            ))),
            401,
        ),
        get(
            "wrong token_use",
            bearer(&sign(edit(access.clone(), json!({"token_use": "refresh"})))),
            401,
        ),
        get(
            "no token_use",
            bearer(&sign(edit(access.clone(), json!({"token_use": null})))),
            401,
        ),
        get("alg none", bearer(&alg_none), 401),
        get(
            "HS256 signed with the public key",
            bearer(&hs256_with_public_key),
            401,
        ),
        get("RS384 with the right key", bearer(&rs384), 401),
        get("no kid", bearer(&no_kid), 401),
        get("unknown kid", bearer(&unknown_kid), 401),
        get("published kid, another key", bearer(&stolen_kid), 401),
        get("tampered payload", bearer(&tampered), 401),
        get("truncated", bearer(&valid[..valid.len() - 12]), 401),
        get("garbage JWT", bearer("a.b.c"), 401),
        get(
            "basic auth",
            vec![("authorization", "Basic Y2Fyb2w6cGFzc3dvcmQ=".into())],
            401,
        ),
        get(
            "empty bearer",
            vec![("authorization", "Bearer ".into())],
            401,
        ),
        get("no credentials", vec![], 401),
        get(
            "two Authorization headers",
            [bearer(&valid), bearer(&valid)].concat(),
            401,
        ),
        get(
            "Authorization and X-Api-Key",
            [bearer(&valid), vec![("x-api-key", partner.clone())]].concat(),
            401,
        ),
        get("external token on the log", bearer(&partner), 403),
        get("revoked external token", bearer(&new_token()), 401),
        get(
            "short external token",
            vec![("x-api-key", "abc".into())],
            401,
        ),
    ];
    let on = |name, method, path: String, headers, status| Case {
        name,
        method,
        path,
        headers,
        status,
    };
    cases.extend([
        on(
            "external token on an upload",
            Method::POST,
            images.clone(),
            bearer(&partner),
            403,
        ),
        on(
            "external token on an entry",
            Method::GET,
            format!("/v1/images/{id}"),
            bearer(&partner),
            403,
        ),
        on(
            "external token on the original",
            Method::GET,
            format!("/v1/images/{id}/original"),
            bearer(&partner),
            403,
        ),
        on(
            "external bearer token on the transformed image",
            Method::GET,
            transformed.clone(),
            bearer(&partner),
            200,
        ),
        on(
            "external X-Api-Key on the transformed image",
            Method::GET,
            transformed.clone(),
            vec![("x-api-key", partner.clone())],
            200,
        ),
        on(
            "external token, HEAD of the transformed image",
            Method::HEAD,
            transformed.clone(),
            bearer(&partner),
            200,
        ),
        on(
            "revoked token on the transformed image",
            Method::GET,
            transformed.clone(),
            bearer(&new_token()),
            401,
        ),
        on(
            "user on the transformed image",
            Method::GET,
            transformed.clone(),
            bearer(&valid),
            200,
        ),
        on(
            "anonymous transformed image",
            Method::GET,
            transformed.clone(),
            vec![],
            401,
        ),
        on(
            "anonymous upload",
            Method::POST,
            images.clone(),
            vec![],
            401,
        ),
    ]);
    assert!(cases.len() >= 20);

    let mut failures = Vec::new();
    for case in &cases {
        let mut request = app.client.request(case.method.clone(), app.url(&case.path));
        for (name, value) in &case.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if status != case.status {
            failures.push(format!(
                "{}: got {status}, expected {}",
                case.name, case.status
            ));
            continue;
        }
        if status == 401 {
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            if !challenge.is_some_and(|c| c.starts_with("Bearer")) {
                failures.push(format!("{}: 401 without a Bearer challenge", case.name));
            }
        }
        if status >= 400 && case.method != Method::HEAD {
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            let body: Value = response.json().await.unwrap();
            if content_type != "application/problem+json"
                || body["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("expired"))
            {
                failures.push(format!("{}: body {content_type} {body}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_log_records_the_cognito_identity_of_the_uploader() {
    let cognito = MockCognito::start().await;
    let app = spawn_cognito_app(&cognito, &new_token(), Duration::ZERO).await;
    let token = cognito.id_token("dave", "dave@example.com");
    let response = app.upload_as(&token, marked_jpeg(), "image/jpeg").await;
    assert_eq!(response.status(), 202);
    let entry: Value = response.json().await.unwrap();
    assert_eq!(
        entry["uploader"],
        json!({"sub": "sub-dave", "username": "dave", "email": "dave@example.com"})
    );
}
