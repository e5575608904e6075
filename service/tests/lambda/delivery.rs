//! At-least-once delivery on Lambda: S3 events arrive twice, out of order,
//! late, or for an invocation that timed out mid-transform; the scheduled
//! sweep ends uploads that no event will ever finish. Every upload still
//! ends with exactly one result.

use super::*;
use chrono::Utc;
use flipframe::jobs::Job;
use flipframe::lambda::handle_processor_event;
use flipframe::ledger::{ImageInfo, LogEntry, Status, Uploader};
use uuid::Uuid;

impl LambdaHarness {
    /// Uploads through an API Gateway event; the id of the entry.
    async fn upload(&self, body: &[u8], content_type: &str) -> String {
        let mut headers = self.auth();
        headers["content-type"] = json!(content_type);
        let response = self
            .call(api_event("POST", "/v1/images", "", headers, Some(body)))
            .await;
        assert_eq!(response["statusCode"], 202, "{response}");
        json_body(&response)["id"].as_str().unwrap().to_owned()
    }

    async fn entry(&self, id: &str) -> Value {
        json_body(&self.get(&format!("/v1/images/{id}")).await)
    }

    /// What EventBridge sends for a scheduled rule.
    async fn scheduled_sweep(&self) -> Vec<(Uuid, Outcome)> {
        let event = json!({
            "version": "0",
            "id": Uuid::now_v7().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": Utc::now().to_rfc3339(),
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/flipframe-sweep"],
            "detail": {}
        });
        handle_processor_event(&self.processor, PREFIX, event)
            .await
            .unwrap()
    }

    /// How many transformed objects S3 holds for this id.
    async fn stored_results(&self, id: &str) -> usize {
        let listed = moto()
            .sdk()
            .await
            .s3_client()
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(format!("{PREFIX}/transformed/{id}"))
            .send()
            .await
            .unwrap();
        listed.contents().len()
    }
}

fn done_count(outcomes: &[Outcome]) -> usize {
    outcomes.iter().filter(|o| **o == Outcome::Done).count()
}

#[tokio::test]
async fn duplicate_reordered_and_late_events_end_in_one_result() {
    let lambda = harness(None).await;
    let first = lambda.upload(&marked_jpeg(), "image/jpeg").await;
    let second = lambda.upload(&png(quadrants(900, 500)), "image/png").await;

    // The second upload's event first, delivered twice at the same moment.
    let (a, b) = tokio::join!(lambda.s3(&second, 1), lambda.s3(&second, 1));
    let outcomes: Vec<Outcome> = a.into_iter().chain(b).collect();
    assert_eq!(done_count(&outcomes), 1, "{outcomes:?}");
    assert!(outcomes.contains(&Outcome::Skipped), "{outcomes:?}");

    // Then the first upload's, three times in a row.
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.extend(lambda.s3(&first, 1).await);
    }
    assert_eq!(
        outcomes,
        vec![Outcome::Done, Outcome::Skipped, Outcome::Skipped]
    );

    // A late redelivery, and a sweep, long after both were done.
    assert_eq!(lambda.s3(&second, 1).await, vec![Outcome::Skipped]);
    let swept = lambda.scheduled_sweep().await;
    assert!(
        swept
            .iter()
            .all(|(id, _)| ![&first, &second].contains(&&id.to_string())),
        "finished entries are not swept: {swept:?}"
    );

    for id in [&first, &second] {
        let entry = lambda.entry(id).await;
        assert_eq!(entry["status"], "done", "{entry}");
        assert_eq!(entry["attempts"], 1, "one claim won: {entry}");
        assert_eq!(lambda.stored_results(id).await, 1);
    }
}

#[tokio::test]
async fn an_invocation_that_timed_out_mid_transform_is_taken_over_after_its_lease() {
    let mut lambda = harness(None).await;
    lambda.processor.lease = Duration::from_millis(800);
    let id = lambda.upload(&marked_jpeg(), "image/jpeg").await;

    // The first invocation claimed the entry, then Lambda ended it at its
    // timeout: nothing stored, the entry left `processing`.
    let claimed = lambda
        .processor
        .ledger
        .claim(id.parse().unwrap(), lambda.processor.lease)
        .await
        .unwrap()
        .expect("claimable");
    assert_eq!(claimed.status, Status::Processing);

    // A retry within the lease leaves it to the holder it cannot know is gone.
    assert_eq!(lambda.s3(&id, 1).await, vec![Outcome::Skipped]);
    tokio::time::sleep(lambda.processor.lease + Duration::from_millis(200)).await;

    // After the lease, the scheduled sweep (or Lambda's own retry) finishes it.
    let swept = lambda.scheduled_sweep().await;
    assert!(
        swept.contains(&(id.parse().unwrap(), Outcome::Done)),
        "{swept:?}"
    );
    assert_eq!(lambda.s3(&id, 1).await, vec![Outcome::Skipped]);
    let entry = lambda.entry(&id).await;
    assert_eq!(entry["status"], "done", "{entry}");
    assert_eq!(
        entry["attempts"], 2,
        "the timed-out attempt counts: {entry}"
    );
    assert_eq!(lambda.stored_results(&id).await, 1);
}

#[tokio::test]
async fn the_scheduled_sweep_ends_uploads_that_never_arrived() {
    let lambda = harness(None).await;
    let ledger = &lambda.processor.ledger;
    let uploader = Uploader {
        sub: "sub-erin".into(),
        username: "erin".into(),
        email: None,
    };
    let aged = |mut entry: LogEntry, minutes: i64| {
        entry.created_at = Utc::now() - chrono::Duration::minutes(minutes);
        entry.updated_at = entry.created_at;
        entry
    };

    // A presigned upload started 21 minutes ago whose PUT never came...
    let abandoned = aged(
        LogEntry::new_awaiting_upload(Uuid::now_v7(), Some("never.jpg".into()), uploader.clone()),
        21,
    );
    // ...one started just now (its window is still open)...
    let fresh =
        LogEntry::new_awaiting_upload(Uuid::now_v7(), Some("soon.jpg".into()), uploader.clone());
    // ...and a direct upload whose original a failure lost after its entry.
    let info = ImageInfo {
        content_type: "image/jpeg".into(),
        bytes: 10,
        width: 1600,
        height: 900,
        sha256: "0".repeat(64),
    };
    let lost = aged(
        LogEntry::new_pending(Uuid::now_v7(), Some("lost.jpg".into()), uploader, info),
        5,
    );
    for entry in [&abandoned, &fresh, &lost] {
        ledger.insert(entry).await.unwrap();
    }

    let swept = lambda.scheduled_sweep().await;
    let outcome = |id: Uuid| swept.iter().find(|(i, _)| *i == id).map(|(_, o)| o.clone());
    assert!(
        matches!(outcome(abandoned.id), Some(Outcome::Failed(f)) if f.code == "upload_missing"),
        "{swept:?}"
    );
    assert!(
        matches!(outcome(lost.id), Some(Outcome::Failed(f)) if f.code == "original_missing"),
        "{swept:?}"
    );
    assert_eq!(outcome(fresh.id), Some(Outcome::Skipped), "{swept:?}");

    assert_eq!(
        lambda.entry(&abandoned.id.to_string()).await["status"],
        "failed"
    );
    assert_eq!(
        lambda.entry(&fresh.id.to_string()).await["status"],
        "pending"
    );
    // A second sweep finds nothing new to end.
    let again = lambda.scheduled_sweep().await;
    assert!(
        again
            .iter()
            .all(|(id, o)| *id == fresh.id && *o == Outcome::Skipped),
        "{again:?}"
    );
    // A job for the ended upload is harmless.
    assert_eq!(
        lambda
            .processor
            .process(Job::from(abandoned.id))
            .await
            .unwrap(),
        Outcome::Skipped
    );
}
