//! HTTP hygiene on every response: no sniffing, no referrer, nothing framed
//! or rendered from API answers, downloads named safely and typed as
//! validation found, CORS closed unless an origin is configured.

use crate::helpers::*;
use crate::support::images::*;
use reqwest::{Method, StatusCode};

const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

fn assert_hygiene(response: &reqwest::Response, what: &str) {
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"),
        "{what}: {policy}"
    );
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let id = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    app.wait_until_finished(&id).await;
    let anonymous = |path: &str| app.client.get(app.url(path)).send();
    let cases = [
        ("a log entry", app.get(&format!("/v1/images/{id}")).await),
        (
            "the original",
            app.get(&format!("/v1/images/{id}/original")).await,
        ),
        (
            "the transformed",
            app.get(&format!("/v1/images/{id}/transformed")).await,
        ),
        ("a 401 problem", anonymous("/v1/images").await.unwrap()),
        ("a 404 problem", app.get("/v1/nothing-here").await),
        ("healthz", anonymous("/healthz").await.unwrap()),
        (
            "the OpenAPI document",
            anonymous("/openapi.json").await.unwrap(),
        ),
    ];
    for (what, response) in &cases {
        assert_hygiene(response, what);
        if *what != "the console" {
            assert_eq!(
                response.headers()["content-security-policy"],
                API_POLICY,
                "{what}"
            );
        }
    }
    // The console keeps its own, stricter-where-it-matters policy.
    let page = anonymous("/").await.unwrap();
    assert_hygiene(&page, "the console");
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src"), "{policy}");
}

#[tokio::test]
async fn downloads_are_typed_by_validation_and_named_safely() {
    let app = spawn_app().await;
    let hostile = "../../etc/evil\"; filename=run.html\r\nSet-Cookie: a=b.html";
    let response = app
        .client
        .post(
            reqwest::Url::parse_with_params(&app.url("/v1/images"), [("filename", hostile)])
                .unwrap(),
        )
        .bearer_auth(&app.token)
        // A PNG sent as bytes of no declared kind, under a name that says .html.
        .header("content-type", "application/octet-stream")
        .body(png(quadrants(64, 48)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let id = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_until_finished(&id).await;
    for (version, content_type, name) in [
        (
            "original",
            "image/png",
            "evil_filename_run.htmlSet-Cookie_a_b.png",
        ),
        (
            "transformed",
            "image/jpeg",
            "evil_filename_run.htmlSet-Cookie_a_b-1280x720.jpg",
        ),
    ] {
        let response = app.get(&format!("/v1/images/{id}/{version}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], content_type);
        let disposition = response.headers()["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with(&format!(
                "attachment; filename=\"{name}\"; filename*=UTF-8''"
            )),
            "{version}: {disposition}"
        );
        assert!(!disposition.contains(".."), "{disposition}");
        assert_eq!(response.headers().get_all("set-cookie").iter().count(), 0);
    }
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/v1/images"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap()
}

async fn from_origin(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .get(app.url("/v1/images"))
        .bearer_auth(&app.token)
        .header("origin", origin)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cross_origin_calls_are_closed_by_default() {
    let app = spawn_app().await;
    let response = from_origin(&app, "https://elsewhere.example").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = preflight(&app, "https://elsewhere.example").await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(!response.status().is_success(), "{}", response.status());
}

#[tokio::test]
async fn a_configured_origin_and_only_it_may_call_from_a_browser() {
    let app = spawn_app_with(|config| {
        config.cors_origins = vec!["https://app.example.com".to_owned()];
    })
    .await;
    let response = preflight(&app, "https://app.example.com").await;
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("idempotency-key"), "{allowed}");
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    let response = from_origin(&app, "https://app.example.com").await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("location")
    );

    for other in [
        "https://evil.example",
        "https://app.example.com.evil.example",
        "null",
    ] {
        for response in [from_origin(&app, other).await, preflight(&app, other).await] {
            let allowed = response.headers().get("access-control-allow-origin");
            assert!(allowed.is_none(), "{other}: {allowed:?}");
        }
    }
}

#[tokio::test]
async fn oversized_request_heads_are_refused() {
    let app = spawn_app().await;
    let mut request = app.client.get(app.url("/healthz"));
    for n in 0..200 {
        request = request.header(format!("x-filler-{n}"), "x");
    }
    let many = request.send().await.unwrap();
    assert_eq!(many.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let huge = app
        .client
        .get(app.url("/healthz"))
        .header("x-filler", "x".repeat(128 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}
