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
