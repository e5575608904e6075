//! The processing log: newest first, cursor pagination, filters, uploaders.

use crate::helpers::*;
use crate::support::images::*;
use serde_json::Value;
use std::collections::HashSet;

async fn page(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/v1/images{query}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_log_pages_newest_first_without_gaps_or_repeats() {
    let app = spawn_app_with(|config| config.workers = 0).await;
    let mut uploaded = Vec::new();
    for size in 0..7 {
        uploaded.push(
            app.upload_ok(png(quadrants(10 + size, 10)), "image/png")
                .await,
        );
    }
    uploaded.reverse();

    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let query = if cursor.is_empty() {
            "?limit=3".to_owned()
        } else {
            format!("?limit=3&cursor={cursor}")
        };
        let body = page(&app, &query).await;
        assert!(ids(&body).len() <= 3);
        seen.extend(ids(&body));
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, uploaded, "newest first, each once");
}

#[tokio::test]
async fn the_log_filters_by_status_and_uploader() {
    let app = spawn_app().await;
    let bob = dev_token(&app.data_dir, "bob");
    let alice_ok = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    let bob_response = app
        .upload_as(&bob, png(quadrants(64, 64)), "image/png")
        .await;
    assert_eq!(bob_response.status(), 202);
    let bob_id = bob_response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = app
        .upload_as(&bob, b"not an image".to_vec(), "text/plain")
        .await;
    assert_eq!(refused.status(), 415);
    app.wait_until_finished(&alice_ok).await;
    app.wait_until_finished(&bob_id).await;

    let by_bob = page(&app, "?uploader=bob").await;
    assert_eq!(ids(&by_bob).len(), 2);
    for entry in by_bob["items"].as_array().unwrap() {
        assert_eq!(entry["uploader"]["username"], "bob");
        assert_eq!(entry["uploader"]["sub"], "dev:bob");
    }
    let failed = page(&app, "?status=failed").await;
    assert_eq!(ids(&failed).len(), 1);
    assert_eq!(failed["items"][0]["failure"]["code"], "unsupported_format");
    let done_by_alice = page(&app, "?status=done&uploader=alice").await;
    assert_eq!(ids(&done_by_alice), vec![alice_ok.clone()]);
    let all: HashSet<String> = ids(&page(&app, "").await).into_iter().collect();
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn bad_log_queries_are_problems() {
    let app = spawn_app().await;
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=abc",
        "?status=sleeping",
        "?cursor=not-ours",
    ] {
        let response = app.get(&format!("/v1/images{query}")).await;
        assert_problem(response, 400, "bad_request").await;
    }
    assert_problem(app.get("/v1/images/not-a-uuid").await, 404, "not_found").await;
    let unknown = uuid::Uuid::now_v7();
    assert_problem(
        app.get(&format!("/v1/images/{unknown}")).await,
        404,
        "not_found",
    )
    .await;
}
