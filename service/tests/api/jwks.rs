//! The JWKS cache: key rotation without restart, bounded refetches under a
//! flood of forged key ids, and cached keys surviving an issuer outage.

use crate::api_auth::spawn_cognito_app;
use crate::helpers::*;
use crate::support::mock_cognito::MockCognito;
use flipframe::auth::{SigningKey, new_token};
use std::time::{Duration, Instant};

async fn status(app: &TestApp, token: &str) -> u16 {
    app.get_as(token, "/v1/images").await.status().as_u16()
}

async fn wait_for_first_fetch(cognito: &MockCognito) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while cognito.fetches() == 0 {
        assert!(Instant::now() < deadline, "the app never fetched the JWKS");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_key_rotated_in_at_the_issuer_is_accepted_without_a_restart() {
    let cognito = MockCognito::start().await;
    let app = spawn_cognito_app(&cognito, &new_token(), Duration::from_millis(300)).await;
    assert_eq!(status(&app, &cognito.access_token("carol")).await, 200);

    cognito.start_signing_with_new_key();
    let token = cognito.access_token("carol");
    assert_eq!(status(&app, &token).await, 401, "not published yet");
    cognito.publish_signer();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        status(&app, &token).await,
        200,
        "picked up after the rotation"
    );
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_its_key_is_withdrawn() {
    let cognito = MockCognito::start().await;
    let app = spawn_cognito_app(&cognito, &new_token(), Duration::from_millis(300)).await;
    let old = cognito.access_token("carol");
    assert_eq!(status(&app, &old).await, 200);
    assert_eq!(status(&app, &old).await, 200, "remembered");

    cognito.start_signing_with_new_key();
    cognito.publish_signer();
    cognito.withdraw_old_keys();
    tokio::time::sleep(Duration::from_millis(350)).await;
    // The new key id is unknown: the service refetches the set, which no
    // longer has the old key.
    assert_eq!(status(&app, &cognito.access_token("carol")).await, 200);
    assert_eq!(
        status(&app, &old).await,
        401,
        "a withdrawn key's tokens are no longer accepted"
    );
}

#[tokio::test]
async fn a_flood_of_forged_key_ids_triggers_a_bounded_number_of_fetches() {
    let cognito = MockCognito::start().await;
    let app = spawn_cognito_app(&cognito, &new_token(), Duration::from_secs(3600)).await;
    wait_for_first_fetch(&cognito).await;
    let claims = cognito.access_claims("mallory");
    let mut forged = Vec::new();
    for _ in 0..4 {
        let key = SigningKey::generate().unwrap();
        forged.extend((0..15).map(|_| key.sign(&claims).unwrap()));
    }
    let responses = futures::future::join_all(forged.iter().map(|token| status(&app, token))).await;
    assert!(responses.iter().all(|&s| s == 401), "{responses:?}");
    assert!(
        cognito.fetches() <= 2,
        "{} JWKS fetches for 60 forged tokens",
        cognito.fetches()
    );
    // The real key still works.
    assert_eq!(status(&app, &cognito.access_token("carol")).await, 200);
}

#[tokio::test]
async fn cached_keys_survive_an_issuer_outage() {
    let cognito = MockCognito::start().await;
    let app = spawn_cognito_app(&cognito, &new_token(), Duration::ZERO).await;
    assert_eq!(status(&app, &cognito.access_token("carol")).await, 200);
    cognito.set_outage(true);
    let unknown = SigningKey::generate()
        .unwrap()
        .sign(&cognito.access_claims("x"))
        .unwrap();
    assert_eq!(
        status(&app, &unknown).await,
        401,
        "an unknown key during the outage is refused, not a 5xx"
    );
    assert_eq!(
        status(&app, &cognito.access_token("carol")).await,
        200,
        "cached key still verifies"
    );
}
