//! Downloads: validators, 409 while processing, the OpenAPI document.

use crate::helpers::*;
use crate::support::images::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn downloads_carry_validators_and_honour_if_none_match() {
    let app = spawn_app().await;
    let id = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    let entry = app.wait_until_finished(&id).await;
    for (version, key) in [("original", "original"), ("transformed", "transformed")] {
        let path = format!("/v1/images/{id}/{version}");
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK);
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(
            etag,
            format!("\"{}\"", entry[key]["sha256"].as_str().unwrap())
        );
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let body = response.bytes().await.unwrap();
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&body)),
            entry[key]["sha256"]
        );

        let revalidated = app
            .client
            .get(app.url(&path))
            .bearer_auth(&app.token)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert!(revalidated.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_transformed_version_is_409_with_retry_after_until_processed() {
    let app = spawn_app_with(|config| config.workers = 0).await;
    let id = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    let response = app.get(&format!("/v1/images/{id}/transformed")).await;
    assert_eq!(response.headers()["retry-after"], "2");
    assert_problem(response, 409, "not_ready").await;
    // The original is there already.
    assert_eq!(
        app.get(&format!("/v1/images/{id}/original")).await.status(),
        200
    );
}

#[tokio::test]
async fn health_and_openapi_are_served() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/images",
        "/v1/images/{id}",
        "/v1/images/{id}/original",
        "/v1/images/{id}/transformed",
        "/healthz",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["paths"]["/v1/images"]["post"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["LogEntry"].is_object());
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/v2/nothing").await, 404, "not_found").await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_problem(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn the_dev_issuer_publishes_its_jwks() {
    let app = spawn_app().await;
    let jwks: Value = app
        .client
        .get(app.url("/dev/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert!(key["n"].as_str().unwrap().len() > 300);
    assert!(
        key.get("d").is_none(),
        "the private exponent must never be published"
    );
}

#[tokio::test]
async fn presigned_uploads_exist_only_on_object_storage() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/uploads"))
        .bearer_auth(&app.token)
        .json(&serde_json::json!({"filename": "big.jpg"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(
        document["paths"].get("/v1/uploads").is_none(),
        "the document says so too"
    );
    let codes =
        &document["components"]["schemas"]["ProblemExtensions"]["properties"]["code"]["enum"];
    assert!(
        codes.as_array().unwrap().iter().any(|c| c == "not_found"),
        "every problem code is listed: {codes}"
    );
    let log: Value = app.get("/v1/images").await.json().await.unwrap();
    assert_eq!(
        log["items"],
        serde_json::json!([]),
        "no entry for an upload that cannot happen"
    );
}
