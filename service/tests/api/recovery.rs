//! Crash and restart: entries left pending are finished by the next start.

use crate::helpers::*;
use crate::support::images::*;

#[tokio::test]
async fn entries_left_pending_complete_after_a_restart() {
    let first = spawn_app_with(|config| config.workers = 0).await;
    let mut ids = Vec::new();
    for width in [400, 500, 600] {
        ids.push(
            first
                .upload_ok(png(quadrants(width, 300)), "image/png")
                .await,
        );
    }
    for id in &ids {
        assert_eq!(first.entry(id).await["status"], "pending");
    }
    let data_dir = first.stop().await.expect("the first app owned the folder");

    let second = spawn_app_in(data_dir.path(), |config| config.workers = 2).await;
    for id in &ids {
        let entry = second.wait_until_finished(id).await;
        assert_eq!(entry["status"], "done", "{entry}");
        assert_eq!(entry["attempts"], 1);
    }
    let transformed = second
        .get(&format!("/v1/images/{}/transformed", ids[0]))
        .await;
    assert_eq!(transformed.status(), 200);
    second.stop().await;
}

#[tokio::test]
async fn an_entry_abandoned_mid_processing_is_retried_after_its_lease() {
    use flipframe::ledger::{Ledger, SqliteLedger};
    use std::time::Duration;

    let first = spawn_app_with(|config| config.workers = 0).await;
    let id = first.upload_ok(marked_jpeg(), "image/jpeg").await;
    let data_dir = first.stop().await.unwrap();
    // A worker claims it and dies without finishing.
    let ledger = SqliteLedger::open(&data_dir.path().join("ledger.db")).unwrap();
    let claimed = ledger
        .claim(id.parse().unwrap(), Duration::from_millis(300))
        .await
        .unwrap()
        .expect("claimable");
    assert_eq!(claimed.status, flipframe::ledger::Status::Processing);

    let second = spawn_app_in(data_dir.path(), |config| {
        config.processing_lease = Duration::from_millis(400);
    })
    .await;
    let entry = second.wait_until_finished(&id).await;
    assert_eq!(entry["status"], "done");
    assert_eq!(entry["attempts"], 2, "the crashed attempt counts");
    second.stop().await;
}

/// The entry is written before the original: a crash in between leaves an
/// entry whose original never arrived (what these tests make by deleting it).
fn lose_the_original(data_dir: &std::path::Path, id: &str) {
    std::fs::remove_file(data_dir.join("objects/originals").join(id)).unwrap();
}

async fn upload_with_key(app: &TestApp, key: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/images"))
        .bearer_auth(&app.token)
        .header("content-type", "image/jpeg")
        .header("idempotency-key", key)
        .body(marked_jpeg())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retry_completes_an_upload_whose_original_a_crash_lost() {
    let first = spawn_app_with(|config| config.workers = 0).await;
    let response = upload_with_key(&first, "crash-1").await;
    let id = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data_dir = first.stop().await.unwrap();
    lose_the_original(data_dir.path(), &id);

    let second = spawn_app_in(data_dir.path(), |_| {}).await;
    // The client never heard back, so it retries with the same key.
    let retried = upload_with_key(&second, "crash-1").await;
    assert_eq!(retried.status(), 202);
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
    let entry = second.wait_until_finished(&id).await;
    assert_eq!(entry["status"], "done", "{entry}");
    let original = second.get(&format!("/v1/images/{id}/original")).await;
    assert_eq!(original.bytes().await.unwrap(), marked_jpeg());
    let log: serde_json::Value = second.get("/v1/images").await.json().await.unwrap();
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
    second.stop().await;
}

#[tokio::test]
async fn an_entry_whose_original_never_came_fails_after_its_lease_and_frees_its_key() {
    use std::time::Duration;

    let first = spawn_app_with(|config| config.workers = 0).await;
    let response = upload_with_key(&first, "crash-2").await;
    let id = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data_dir = first.stop().await.unwrap();
    lose_the_original(data_dir.path(), &id);

    let second = spawn_app_in(data_dir.path(), |config| {
        config.processing_lease = Duration::from_millis(400);
    })
    .await;
    let entry = second.wait_until_finished(&id).await;
    assert_eq!(entry["status"], "failed", "{entry}");
    assert_eq!(entry["failure"]["code"], "original_missing");
    assert!(
        second.stored_objects().is_empty(),
        "{:?}",
        second.stored_objects()
    );
    // Nothing was kept, so a retry with the key is a new upload.
    let retried = upload_with_key(&second, "crash-2").await;
    assert_eq!(retried.status(), 202);
    assert!(retried.headers().get("idempotent-replayed").is_none());
    let fresh = retried.json::<serde_json::Value>().await.unwrap();
    assert_ne!(fresh["id"], id.as_str());
    let entry = second
        .wait_until_finished(fresh["id"].as_str().unwrap())
        .await;
    assert_eq!(entry["status"], "done");
    second.stop().await;
}
