//! Signing in: Cognito-shaped tokens from the mock pool, real ones from
//! moto's Cognito IDP, and every way a token can be wrong.

use crate::emulators::{moto_sign_in, moto_user_pool};
use crate::targets::Issuer;
use crate::world::FlipframeWorld;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cucumber::{given, then, when};
use flipframe::auth::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::time::Duration;

fn edit(mut claims: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().unwrap() {
        claims[key] = value.clone();
    }
    claims
}

#[given(expr = "I am signed in as {string}")]
async fn signed_in(world: &mut FlipframeWorld, name: String) {
    world.me = world.username(&name);
    let claims = world.target.endpoints.cognito.access_claims(&world.me);
    world.credentials = Some(world.target.endpoints.cognito.mint(&claims).await);
}

#[given(expr = "{string} is signed in too")]
async fn also_signed_in(world: &mut FlipframeWorld, name: String) {
    let claims = world
        .target
        .endpoints
        .cognito
        .access_claims(&world.username(&name));
    let token = world.target.endpoints.cognito.mint(&claims).await;
    world.others.insert(name, token);
}

#[given(regex = r"^I hold (.+)$")]
async fn hold(world: &mut FlipframeWorld, token: String) {
    let cognito = world.target.endpoints.cognito.clone();
    world.me = world.username("carol");
    let access = cognito.access_claims(&world.me);
    let id = cognito.id_claims(&world.me, "carol@example.com");
    let now = chrono::Utc::now().timestamp();
    if let Some(rest) = token.strip_prefix("a Cognito ID token for \"") {
        let (name, rest) = rest.split_once('"').unwrap();
        let email = rest
            .trim_start_matches(" with the e-mail \"")
            .trim_end_matches('"');
        world.me = world.username(name);
        let claims = cognito.id_claims(&world.me, email);
        world.credentials = Some(cognito.mint(&claims).await);
        return;
    }
    let credentials = match token.as_str() {
        "a Cognito access token" => cognito.mint(&access).await,
        "a Cognito ID token" => cognito.mint(&id).await,
        "an access token that expired 30 seconds ago" => {
            cognito.mint(&edit(access, json!({"exp": now - 30}))).await
        }
        "an expired access token" => {
            cognito
                .mint(&edit(access, json!({"exp": now - 3600, "iat": now - 7200})))
                .await
        }
        "an access token that is not valid yet" => {
            cognito
                .mint(&edit(access, json!({"nbf": now + 3600})))
                .await
        }
        "an access token for another app client" => {
            cognito
                .mint(&edit(access, json!({"client_id": "another-app"})))
                .await
        }
        "an ID token for another app client" => {
            cognito.mint(&edit(id, json!({"aud": "another-app"}))).await
        }
        "an access token from another user pool" => {
            let other = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_0ther0000000000000000000000000000";
            cognito.mint(&edit(access, json!({"iss": other}))).await
        }
        "a token signed with a key the pool never published" => {
            SigningKey::generate().unwrap().sign(&access).unwrap()
        }
        "a token signed with HS256 using the public key" => {
            let jwks = reqwest::get(cognito.jwks_url())
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let kid = serde_json::from_str::<Value>(&jwks).unwrap()["keys"][0]["kid"]
                .as_str()
                .unwrap()
                .to_owned();
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(kid);
            jsonwebtoken::encode(&header, &access, &EncodingKey::from_secret(jwks.as_bytes()))
                .unwrap()
        }
        "an unsigned token" => format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(access.to_string())
        ),
        "a token whose payload was changed" => {
            let genuine = cognito.mint(&access).await;
            let parts: Vec<&str> = genuine.split('.').collect();
            let forged =
                URL_SAFE_NO_PAD.encode(edit(access, json!({"username": "mallory"})).to_string());
            format!("{}.{forged}.{}", parts[0], parts[2])
        }
        "a truncated token" => {
            let genuine = cognito.mint(&access).await;
            genuine[..genuine.len() - 10].to_owned()
        }
        "a refresh token" => {
            cognito
                .mint(&edit(access, json!({"token_use": "refresh"})))
                .await
        }
        "a valid access token and an X-Api-Key at once" => {
            world
                .extra_headers
                .push(("x-api-key".into(), "a-second-credential-of-any-kind".into()));
            cognito.mint(&access).await
        }
        "a valid access token sent twice" => {
            let genuine = cognito.mint(&access).await;
            world
                .extra_headers
                .push(("authorization".into(), format!("Bearer {genuine}")));
            genuine
        }
        "an external token shorter than any the service issues" => "short".to_owned(),
        other => panic!("no token is called {other:?}"),
    };
    world.credentials = Some(credentials);
}

#[when("I read the log")]
async fn read_log(world: &mut FlipframeWorld) {
    world.send("GET", "/v1/images", vec![], None).await;
}

#[when("I read the log without credentials")]
async fn read_log_anonymously(world: &mut FlipframeWorld) {
    world.credentials = None;
    world.send("GET", "/v1/images", vec![], None).await;
}

#[then(expr = "the log entry names {string} with the e-mail {string} as uploader")]
async fn names_uploader(world: &mut FlipframeWorld, name: String, email: String) {
    let id = world.upload_id();
    let entry = world.entry(&id).await;
    assert_eq!(
        entry["uploader"]["username"],
        world.username(&name),
        "{entry}"
    );
    assert_eq!(entry["uploader"]["email"], email);
    assert_eq!(
        entry["uploader"]["sub"],
        format!("sub-{}", world.username(&name))
    );
}

#[given("the user pool starts signing with a new key it has not published yet")]
async fn rotate(world: &mut FlipframeWorld) {
    world.target.endpoints.cognito.rotate().await;
}

#[when("the user pool publishes its new key")]
async fn publish(world: &mut FlipframeWorld) {
    world.target.endpoints.cognito.publish().await;
    // Past the service's shortest refetch interval for unknown key ids.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
}

#[given(expr = "a user {string} with a password exists in the moto user pool")]
async fn moto_user(world: &mut FlipframeWorld, name: String) {
    let password = format!("Pw-{}-9!", uuid::Uuid::new_v4().simple());
    let username = world.username(&name);
    let (pool_id, client_id) =
        moto_user_pool(&world.target.endpoints.moto, &username, &password).await;
    world.variant.issuer = Issuer::Moto { pool_id, client_id };
    world.passwords.insert(name, password);
}

#[when(regex = r#"^"(.+)" signs in with (?:his|her|their) password$"#)]
async fn moto_sign_in_step(world: &mut FlipframeWorld, name: String) {
    let Issuer::Moto { client_id, .. } = world.variant.issuer.clone() else {
        panic!("no moto user pool in this scenario")
    };
    let password = world.passwords[&name].clone();
    let token = moto_sign_in(
        &world.target.endpoints.moto,
        &client_id,
        &world.username(&name),
        &password,
    )
    .await;
    world.me = world.username(&name);
    world.credentials = Some(token);
}
