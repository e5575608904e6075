//! What operators see: `/metrics` counts what happened, by what it was.

use crate::helpers::*;
use crate::support::images::*;
use flipframe::auth::{ExternalTokens, hash_token, new_token};
use reqwest::StatusCode;

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// One series' value (its name and exact labels), 0 when it is not there yet.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_uploads_transforms_downloads_and_the_cache() {
    // Tests share the process's recorder: compare before and after, and give
    // this test's token a name no other test uses.
    let partner = new_token();
    let app = spawn_app_with(|config| {
        config.external_tokens = ExternalTokens::parse(&format!(
            "metrics-partner:{}",
            hash_token(&partner).unwrap()
        ))
        .unwrap();
    })
    .await;
    let before = scrape(&app).await;

    let id = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    let refused = app.upload(b"a shopping list".to_vec(), "text/plain").await;
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    app.wait_until_finished(&id).await;
    let transformed = format!("/v1/images/{id}/transformed");
    for token in [&app.token, &app.token, &partner] {
        assert_eq!(
            app.get_as(token, &transformed).await.status(),
            StatusCode::OK
        );
    }
    // Made-up methods share one label: a client cannot mint series.
    for made_up in ["BREW", "WHEN"] {
        let method = reqwest::Method::from_bytes(made_up.as_bytes()).unwrap();
        app.client
            .request(method, app.url("/v1/images"))
            .send()
            .await
            .unwrap();
    }
    let after = scrape(&app).await;
    assert!(
        !after.contains("BREW") && !after.contains("WHEN"),
        "{after}"
    );
    assert!(after.contains(r#"method="other""#), "{after}");

    let grew = |series: &str| value(&after, series) - value(&before, series);
    assert!(grew("flipframe_uploads_accepted_total") >= 1.0, "{after}");
    assert!(grew(r#"flipframe_uploads_refused_total{code="unsupported_format"}"#) >= 1.0);
    assert!(grew(r#"flipframe_transforms_total{format="image/jpeg",outcome="done"}"#) >= 1.0);
    assert!(grew(r#"flipframe_transform_duration_seconds_count{format="image/jpeg"}"#) >= 1.0);
    assert!(grew(r#"flipframe_transform_cpu_seconds_count{format="image/jpeg"}"#) >= 1.0);
    let downloads = r#"flipframe_http_request_duration_seconds_count{method="GET",route="/v1/images/{id}/transformed",status="200"}"#;
    assert!(grew(downloads) >= 3.0, "{after}");
    assert!(grew("flipframe_cache_hits_total") >= 2.0, "{after}");
    assert_eq!(
        grew(r#"flipframe_external_downloads_total{token="metrics-partner"}"#),
        1.0
    );
    assert!(value(&after, r#"flipframe_jwks_fetches_total{outcome="ok"}"#) >= 1.0);
    assert_eq!(
        value(&after, "flipframe_upload_memory_budget_bytes"),
        (256u64 << 20) as f64
    );
    for gauge in [
        "flipframe_queue_depth ",
        "flipframe_uploads_in_flight ",
        "flipframe_upload_memory_bytes ",
    ] {
        assert!(
            after.lines().any(|line| line.starts_with(gauge)),
            "{gauge}\n{after}"
        );
    }
    assert!(
        after.contains("# HELP flipframe_uploads_refused_total Uploads refused, by problem code")
    );
    // Histograms have buckets (not summaries): Prometheus can aggregate them.
    assert!(
        after.contains(
            r#"flipframe_transform_duration_seconds_bucket{format="image/jpeg",le="0.5"}"#
        )
    );
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let app = spawn_app_with(|config| config.metrics = false).await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_problem(response, 404, "not_found").await;
}
