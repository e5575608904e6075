//! Processors racing for one entry, and the transform handed over by the upload.

use crate::ledger::{dynamo_ledger, pending};
use crate::local_backends;
use crate::storage::s3_store;
use crate::support::images::marked_jpeg;
use bytes::Bytes;
use flipframe::admission::{Admission, AdmissionSettings};
use flipframe::jobs::{Job, Outcome, Processor};
use flipframe::ledger::{SharedLedger, Status};
use flipframe::pipeline::{self, Limits, TransformSpec};
use flipframe::sandbox::{SandboxSettings, WorkerPool};
use flipframe::storage::{ObjectKey, SharedStore};
use std::sync::Arc;
use std::time::Duration;

fn processor(store: &SharedStore, ledger: &SharedLedger) -> Processor {
    Processor {
        store: Arc::clone(store),
        ledger: Arc::clone(ledger),
        spec: TransformSpec::default(),
        limits: Limits::default(),
        lease: Duration::from_secs(60),
        admission: Arc::new(Admission::new(AdmissionSettings::default(), 1 << 20)),
        transformer: Arc::new(WorkerPool::new(
            env!("CARGO_BIN_EXE_flipframe").into(),
            SandboxSettings::default(),
            Limits::default().max_body_bytes,
        )),
        notifier: flipframe::webhooks::Notifier::none(),
    }
}

async fn race(store: SharedStore, ledger: SharedLedger) {
    let entry = pending("racer");
    store
        .put(
            &ObjectKey::original(entry.id),
            Bytes::from(marked_jpeg()),
            "image/jpeg",
        )
        .await
        .unwrap();
    ledger.insert(&entry).await.unwrap();
    let (a, b) = (processor(&store, &ledger), processor(&store, &ledger));
    let (first, second) = tokio::join!(a.process(entry.id.into()), b.process(entry.id.into()));
    let mut outcomes = vec![first.expect("no error"), second.expect("no error")];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, vec![Outcome::Done, Outcome::Skipped]);
    let stored = ledger.get(entry.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.attempts, stored.failure),
        (Status::Done, 1, None)
    );
    // A retried event afterwards changes nothing.
    assert_eq!(a.process(entry.id.into()).await.unwrap(), Outcome::Skipped);
}

#[tokio::test]
async fn racing_processors_on_s3_and_dynamodb_produce_one_done() {
    for _ in 0..3 {
        race(Arc::new(s3_store().await), Arc::new(dynamo_ledger().await)).await;
    }
}

#[tokio::test]
async fn racing_processors_on_files_and_sqlite_produce_one_done() {
    let (_dir, store, ledger) = local_backends();
    for _ in 0..3 {
        race(Arc::clone(&store), Arc::clone(&ledger)).await;
    }
}

#[tokio::test]
async fn a_transform_made_at_upload_is_stored_without_decoding_the_original_again() {
    let (_dir, store, ledger) = local_backends();
    let processor = processor(&store, &ledger);
    // Originals that no longer decode: only a job that carries its result
    // can finish.
    let (handed_over, from_storage) = (pending("alice"), pending("bob"));
    for entry in [&handed_over, &from_storage] {
        let key = ObjectKey::original(entry.id);
        store
            .put(&key, Bytes::from_static(b"not an image"), "image/jpeg")
            .await
            .unwrap();
        ledger.insert(entry).await.unwrap();
    }
    let made_at_upload = pipeline::transform(
        &marked_jpeg(),
        &TransformSpec::default(),
        &Limits::default(),
    )
    .unwrap();
    let job = Job {
        id: handed_over.id,
        transformed: Some(made_at_upload.clone()),
        request_id: None,
    };
    assert_eq!(processor.process(job).await.unwrap(), Outcome::Done);
    let key = ObjectKey::transformed(handed_over.id, made_at_upload.format);
    let stored = store
        .get(&key)
        .await
        .unwrap()
        .expect("the transformed version");
    assert_eq!(stored.as_ref(), made_at_upload.bytes.as_slice());
    let entry = ledger.get(handed_over.id).await.unwrap().unwrap();
    assert_eq!(
        entry.transformed.unwrap().bytes,
        made_at_upload.bytes.len() as u64
    );

    let outcome = processor.process(from_storage.id.into()).await.unwrap();
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
}
