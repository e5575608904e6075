//! Uploads: raw and multipart, validation at the door, limits, durability.

use crate::helpers::*;
use crate::support::images::*;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

#[tokio::test]
async fn a_raw_upload_is_accepted_processed_and_downloadable() {
    let app = spawn_app().await;
    let original = marked_jpeg();
    let response = app.upload(original.clone(), "image/jpeg").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let entry: Value = response.json().await.unwrap();
    let id = entry["id"].as_str().unwrap();
    assert_eq!(location, format!("/v1/images/{id}"));
    assert_eq!(entry["status"], "pending");
    assert_eq!(entry["uploader"]["username"], "alice");
    assert_eq!(entry["original"]["content_type"], "image/jpeg");
    assert_eq!(entry["original"]["bytes"], original.len());
    assert_eq!(entry["original"]["width"], 1600);
    assert_eq!(entry["original"]["height"], 900);

    let done = app.wait_until_finished(id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["transformed"]["width"], 1280);
    assert_eq!(done["transformed"]["height"], 720);

    let stored = app.get(&format!("/v1/images/{id}/original")).await;
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(stored.headers()["content-type"], "image/jpeg");
    assert_eq!(
        stored.bytes().await.unwrap().to_vec(),
        original,
        "byte for byte"
    );

    let transformed = app.get(&format!("/v1/images/{id}/transformed")).await;
    assert_eq!(transformed.status(), StatusCode::OK);
    assert_eq!(transformed.headers()["content-type"], "image/jpeg");
    let bytes = transformed.bytes().await.unwrap();
    assert_eq!(
        bytes.len() as u64,
        done["transformed"]["bytes"].as_u64().unwrap()
    );
    let image = decode(&bytes);
    assert_eq!((image.width(), image.height()), (1280, 720));
    assert_corners(&image, [WHITE, BLUE, GREEN, RED]);
}

#[tokio::test]
async fn a_multipart_upload_keeps_its_filename() {
    let app = spawn_app().await;
    let form = Form::new().text("note", "ignored").part(
        "file",
        Part::bytes(transparent_png(800, 450))
            .file_name("holiday/../beach.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let response = app
        .client
        .post(app.url("/v1/images"))
        .bearer_auth(&app.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let entry: Value = response.json().await.unwrap();
    assert_eq!(entry["filename"], "beach.png");
    let done = app.wait_until_finished(entry["id"].as_str().unwrap()).await;
    assert_eq!(
        done["transformed"]["content_type"], "image/png",
        "transparency kept"
    );
}

#[tokio::test]
async fn the_filename_can_be_given_in_the_query() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/images?filename=cat.gif"))
        .bearer_auth(&app.token)
        .body(animated_gif(&[RED, BLUE]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let entry: Value = response.json().await.unwrap();
    assert_eq!(entry["filename"], "cat.gif");
    assert_eq!(
        entry["original"]["content_type"], "image/gif",
        "detected, not declared"
    );
}

#[tokio::test]
async fn bad_uploads_are_refused_stored_nowhere_and_logged_as_failed() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        ("empty", vec![], "image/jpeg", 400, "empty_body"),
        (
            "text",
            b"hello".to_vec(),
            "text/plain",
            415,
            "unsupported_format",
        ),
        (
            "svg",
            fixture("script.svg"),
            "image/svg+xml",
            415,
            "svg_not_accepted",
        ),
        (
            "spoofed type",
            png(quadrants(20, 20)),
            "image/jpeg",
            415,
            "content_type_mismatch",
        ),
        (
            "truncated",
            fixture("truncated.jpg"),
            "image/jpeg",
            400,
            "undecodable_image",
        ),
        (
            "bomb",
            png_claiming(60_000, 60_000),
            "image/png",
            400,
            "dimensions_exceeded",
        ),
    ];
    for (name, bytes, content_type, status, code) in cases {
        let response = app.upload(bytes, content_type).await;
        let problem = assert_problem(response, status, code).await;
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{name}");
    }
    assert!(
        app.stored_objects().is_empty(),
        "{:?}",
        app.stored_objects()
    );

    let log: Value = app
        .get("/v1/images?status=failed")
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["failure"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 6, "{log}");
    assert!(codes.contains(&"svg_not_accepted") && codes.contains(&"dimensions_exceeded"));
    // A refused upload has nothing to download.
    let id = log["items"][0]["id"].as_str().unwrap();
    assert_problem(
        app.get(&format!("/v1/images/{id}/original")).await,
        404,
        "not_found",
    )
    .await;
    let transformed = app.get(&format!("/v1/images/{id}/transformed")).await;
    let problem = assert_problem(transformed, 422, "processing_failed").await;
    assert!(problem["failure"]["code"].is_string(), "{problem}");
}

#[tokio::test]
async fn oversized_bodies_get_413_before_being_read() {
    let app = spawn_app_with(|config| config.limits.max_body_bytes = 10_000).await;
    // Declared length over the limit.
    let response = app.upload(vec![0xFF; 20_000], "image/jpeg").await;
    assert_problem(response, 413, "body_too_large").await;

    // No declared length: a chunked stream is cut off at the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![0u8; 1_000])).collect();
    let response = app
        .client
        .post(app.url("/v1/images"))
        .bearer_auth(&app.token)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "body_too_large").await;

    // A multipart file over the limit.
    let form = Form::new().part("file", Part::bytes(vec![1u8; 20_000]).file_name("big.jpg"));
    let response = app
        .client
        .post(app.url("/v1/images"))
        .bearer_auth(&app.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "body_too_large").await;
    assert!(app.stored_objects().is_empty());
}

#[tokio::test]
async fn a_multipart_form_without_exactly_one_file_is_a_bad_request() {
    let app = spawn_app().await;
    for form in [
        Form::new().text("other", "x"),
        Form::new()
            .part("file", Part::bytes(marked_jpeg()))
            .part("file", Part::bytes(marked_jpeg())),
    ] {
        let response = app
            .client
            .post(app.url("/v1/images"))
            .bearer_auth(&app.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "bad_request").await;
    }
}

#[tokio::test]
async fn the_original_and_its_entry_are_durable_before_the_202() {
    // No worker: what the 202 promised must already be on disk.
    let app = spawn_app_with(|config| config.workers = 0).await;
    let id = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    assert_eq!(app.stored_objects(), vec![format!("originals/{id}")]);
    let temp = app.stop().await;
    let ledger =
        flipframe::ledger::SqliteLedger::open(&temp.as_ref().unwrap().path().join("ledger.db"))
            .unwrap();
    let entry = flipframe::ledger::Ledger::get(&ledger, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.status, flipframe::ledger::Status::Pending);
}

async fn upload_with_key(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    key: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/v1/images"))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .header("idempotency-key", key)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_repeated_idempotency_key_replays_the_first_entry() {
    let app = spawn_app().await;
    let first = upload_with_key(&app, &app.token, marked_jpeg(), "photo-1").await;
    assert_eq!(first.status(), 202);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: serde_json::Value = first.json().await.unwrap();
    let again = upload_with_key(&app, &app.token, marked_jpeg(), "photo-1").await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    // Another caller's key is theirs alone.
    let bob = dev_token(&app.data_dir, "bob");
    let theirs: serde_json::Value = upload_with_key(&app, &bob, marked_jpeg(), "photo-1")
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(theirs["id"], first["id"]);
    let mine = app.get("/v1/images?uploader=alice").await;
    let mine: serde_json::Value = mine.json().await.unwrap();
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        1,
        "one entry: {mine}"
    );
}

#[tokio::test]
async fn a_refused_attempt_does_not_hold_its_key_and_bad_keys_are_refused() {
    let app = spawn_app().await;
    let refused = upload_with_key(&app, &app.token, b"not a picture".to_vec(), "k").await;
    assert_eq!(refused.status(), 415);
    let retried = upload_with_key(&app, &app.token, marked_jpeg(), "k").await;
    assert_eq!(retried.status(), 202);
    assert!(retried.headers().get("idempotent-replayed").is_none());
    for bad in ["", &"x".repeat(256), "with space"] {
        let response = upload_with_key(&app, &app.token, marked_jpeg(), bad).await;
        assert_problem(response, 400, "bad_request").await;
    }
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_not_replayed() {
    let app = spawn_app().await;
    let first = upload_with_key(&app, &app.token, marked_jpeg(), "photo-2").await;
    assert_eq!(first.status(), 202);
    let other = upload_with_key(&app, &app.token, png(quadrants(64, 48)), "photo-2").await;
    assert_problem(other, 422, "idempotency_key_reused").await;
    let log: serde_json::Value = app.get("/v1/images").await.json().await.unwrap();
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
}

/// A client that sends its whole oversized body before reading the answer
/// (most HTTP clients do) must read the 413, not a reset connection.
#[tokio::test]
async fn a_client_still_sending_an_oversized_body_reads_its_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let host = app.address.trim_start_matches("http://");
    let body = vec![0xFFu8; 30 << 20];
    for _ in 0..3 {
        let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
        let head = format!(
            "POST /v1/images HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            app.token,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream
            .write_all(&body)
            .await
            .expect("the server reads and drops the body it refused instead of resetting");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 413"), "{text}");
        assert!(text.contains("body_too_large"), "{text}");
    }
    app.stop().await;
}
