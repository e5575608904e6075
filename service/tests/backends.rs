//! One contract for each backend trait, run on every implementation: files
//! and SQLite locally, S3 and DynamoDB on moto. Plus racing processors.

mod support;

use bytes::Bytes;
use flipframe::jobs::{Job, Outcome, Processor};
use flipframe::ledger::{
    CachedLedger, DynamoLedger, Failure, ImageInfo, Ledger, LedgerError, LogEntry, LogQuery,
    SharedLedger, SqliteLedger, Status, Uploader,
};
use flipframe::pipeline::{self, Limits, OutputFormat, TransformSpec};
use flipframe::storage::{CachedStore, FileStore, ObjectKey, ObjectStore, S3Store, SharedStore};
use std::sync::Arc;
use std::time::Duration;
use support::images::marked_jpeg;
use support::moto::{moto, unique};
use uuid::Uuid;

async fn s3_store() -> S3Store {
    let sdk = moto().sdk().await;
    let store = S3Store::new(sdk.s3_client(), unique("bucket"), "some/prefix");
    assert!(store.create_bucket_if_missing().await.unwrap());
    assert!(
        !store.create_bucket_if_missing().await.unwrap(),
        "idempotent"
    );
    store
}

async fn dynamo_ledger() -> DynamoLedger {
    let sdk = moto().sdk().await;
    let ledger = DynamoLedger::new(sdk.dynamodb_client(), unique("log"));
    assert!(ledger.create_table_if_missing().await.unwrap());
    assert!(
        !ledger.create_table_if_missing().await.unwrap(),
        "idempotent"
    );
    ledger
}

// ---- object storage contract ----

async fn store_contract(store: &dyn ObjectStore) {
    let id = Uuid::now_v7();
    let key = ObjectKey::original(id);
    assert_eq!(store.get(&key).await.unwrap(), None, "missing is None");
    store
        .delete(&key)
        .await
        .expect("deleting a missing object is fine");

    let body = Bytes::from(marked_jpeg());
    store.put(&key, body.clone(), "image/jpeg").await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Some(body.clone()));

    // Overwrite replaces the whole object.
    store
        .put(&key, Bytes::from_static(b"second"), "image/jpeg")
        .await
        .unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().unwrap(),
        Bytes::from_static(b"second")
    );

    // A large object round-trips byte for byte.
    let large: Vec<u8> = (0..9_000_000u32).map(|i| (i % 251) as u8).collect();
    let large_key = ObjectKey::transformed(id, OutputFormat::Png);
    store
        .put(&large_key, Bytes::from(large.clone()), "image/png")
        .await
        .unwrap();
    assert_eq!(
        store.get(&large_key).await.unwrap().unwrap().as_ref(),
        large.as_slice()
    );

    store.delete(&key).await.unwrap();
    store.delete(&large_key).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);
    assert_eq!(store.get(&large_key).await.unwrap(), None);
}

#[tokio::test]
async fn the_cached_store_keeps_the_contract_and_serves_transformed_versions_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let files: SharedStore = Arc::new(FileStore::open(dir.path()).unwrap());
    let cached = CachedStore::new(Arc::clone(&files), 64 << 20);
    store_contract(&cached).await;

    let id = Uuid::now_v7();
    let (original, transformed) = (
        ObjectKey::original(id),
        ObjectKey::transformed(id, OutputFormat::Jpeg),
    );
    for key in [&original, &transformed] {
        cached
            .put(key, Bytes::from_static(b"bytes"), "image/jpeg")
            .await
            .unwrap();
        // Gone from the backend behind the cache's back.
        files.delete(key).await.unwrap();
    }
    assert_eq!(
        cached.get(&original).await.unwrap(),
        None,
        "originals are never cached"
    );
    assert_eq!(
        cached.get(&transformed).await.unwrap(),
        Some(Bytes::from_static(b"bytes")),
        "a transformed version is answered from memory"
    );
}

#[tokio::test]
async fn file_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    store_contract(&store).await;
    let key = ObjectKey::original(Uuid::now_v7());
    assert_eq!(
        store
            .presign_get(&key, Duration::from_secs(60))
            .await
            .unwrap(),
        None
    );
    // No temp files are left behind by atomic writes.
    store
        .put(&key, Bytes::from_static(b"x"), "image/jpeg")
        .await
        .unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path().join("originals"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(names.len(), 1);
}

#[tokio::test]
async fn s3_store_keeps_the_contract() {
    let store = s3_store().await;
    store_contract(&store).await;

    // Objects live under the prefix, with their content type set.
    let key = ObjectKey::original(Uuid::now_v7());
    store
        .put(&key, Bytes::from(marked_jpeg()), "image/jpeg")
        .await
        .unwrap();
    let sdk = moto().sdk().await;
    let head = sdk
        .s3_client()
        .head_object()
        .bucket(store.bucket())
        .key(format!("some/prefix/{key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("image/jpeg"));
    assert!(head.cache_control().unwrap().contains("immutable"));

    // Presigned URLs work with a plain HTTP client.
    let url = store
        .presign_get(&key, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let fetched = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(fetched.as_ref(), marked_jpeg().as_slice());
    let put_key = ObjectKey::original(Uuid::now_v7());
    let put_url = store
        .presign_put(&put_key, "image/jpeg", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let response = reqwest::Client::new()
        .put(&put_url)
        .header("content-type", "image/jpeg")
        .body(b"uploaded".to_vec())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        store.get(&put_key).await.unwrap().unwrap().as_ref(),
        b"uploaded"
    );
}

// ---- processing log contract ----

fn uploader(name: &str) -> Uploader {
    Uploader {
        sub: format!("sub-{name}"),
        username: name.to_owned(),
        email: None,
    }
}

fn info(bytes: u64) -> ImageInfo {
    ImageInfo {
        content_type: "image/jpeg".into(),
        bytes,
        width: 1280,
        height: 720,
        sha256: "ab".repeat(32),
    }
}

fn pending(name: &str) -> LogEntry {
    LogEntry::new_pending(
        Uuid::now_v7(),
        Some(format!("{name}.jpg")),
        uploader(name),
        info(10),
    )
}

async fn all_pages(ledger: &dyn Ledger, mut query: LogQuery) -> Vec<Uuid> {
    let mut ids = Vec::new();
    loop {
        let page = ledger.list(&query).await.unwrap();
        assert!(page.entries.len() <= query.limit as usize);
        ids.extend(page.entries.iter().map(|e| e.id));
        match page.next {
            Some(next) => query.before = Some(next),
            None => return ids,
        }
    }
}

async fn ledger_contract(ledger: &dyn Ledger) {
    // Insert, read back, refuse duplicates.
    let first = pending("alice");
    ledger.insert(&first).await.unwrap();
    assert_eq!(ledger.get(first.id).await.unwrap().unwrap(), first);
    assert!(matches!(
        ledger.insert(&first).await,
        Err(LedgerError::Duplicate(_))
    ));
    assert_eq!(ledger.get(Uuid::now_v7()).await.unwrap(), None);

    // Newest first across pages, with filters.
    let mut entries = vec![first.clone()];
    for name in ["bob", "alice", "bob", "carol", "alice", "bob"] {
        let entry = pending(name);
        ledger.insert(&entry).await.unwrap();
        entries.push(entry);
    }
    let newest_first: Vec<Uuid> = entries.iter().rev().map(|e| e.id).collect();
    let everything = LogQuery {
        limit: 3,
        ..LogQuery::default()
    };
    assert_eq!(all_pages(ledger, everything.clone()).await, newest_first);
    let bobs = LogQuery {
        uploader: Some("bob".into()),
        limit: 2,
        ..LogQuery::default()
    };
    let expected: Vec<Uuid> = entries
        .iter()
        .rev()
        .filter(|e| e.uploader.username == "bob")
        .map(|e| e.id)
        .collect();
    assert_eq!(all_pages(ledger, bobs).await, expected);

    // Claims: one winner, leases, attempts.
    let id = entries[1].id;
    let claimed = ledger
        .claim(id, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((claimed.status, claimed.attempts), (Status::Processing, 1));
    assert_eq!(
        ledger.claim(id, Duration::from_secs(60)).await.unwrap(),
        None,
        "lease held"
    );
    let short = entries[2].id;
    ledger
        .claim(short, Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let reclaimed = ledger
        .claim(short, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reclaimed.attempts, 2, "an expired lease can be taken over");

    // Complete: processing → done, idempotent; a late failure cannot undo it.
    let done = ledger.complete(id, None, info(99)).await.unwrap();
    assert_eq!(done.status, Status::Done);
    assert_eq!(done.transformed, Some(info(99)));
    assert_eq!(done.original, Some(info(10)), "original kept");
    assert_eq!(
        ledger.complete(id, None, info(99)).await.unwrap().status,
        Status::Done
    );
    let failure = Failure {
        code: "late".into(),
        message: "too late".into(),
    };
    assert!(matches!(
        ledger.fail(id, failure.clone()).await,
        Err(LedgerError::Conflict {
            actual: Status::Done,
            ..
        })
    ));
    assert_eq!(
        ledger.claim(id, Duration::from_secs(60)).await.unwrap(),
        None,
        "done is final"
    );

    // Completing a presigned upload records its original.
    let awaiting = LogEntry::new_awaiting_upload(Uuid::now_v7(), None, uploader("dave"));
    ledger.insert(&awaiting).await.unwrap();
    ledger
        .claim(awaiting.id, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let completed = ledger
        .complete(awaiting.id, Some(info(5)), info(6))
        .await
        .unwrap();
    assert_eq!(completed.original, Some(info(5)));

    // Fail: pending → failed with details; completing a failed entry conflicts.
    let doomed = entries[3].id;
    let failed = ledger.fail(doomed, failure.clone()).await.unwrap();
    assert_eq!(
        (failed.status, failed.failure),
        (Status::Failed, Some(failure))
    );
    assert!(matches!(
        ledger.complete(doomed, None, info(1)).await,
        Err(LedgerError::Conflict { .. })
    ));
    assert!(matches!(
        ledger.claim(Uuid::now_v7(), Duration::from_secs(1)).await,
        Err(LedgerError::NotFound(_))
    ));

    // Status filters and the unfinished list follow the transitions.
    let failed_only = LogQuery {
        status: Some(Status::Failed),
        limit: 10,
        ..LogQuery::default()
    };
    assert_eq!(all_pages(ledger, failed_only).await, vec![doomed]);
    let done_by_alice = LogQuery {
        status: Some(Status::Done),
        uploader: Some("bob".into()),
        limit: 1,
        ..LogQuery::default()
    };
    assert_eq!(all_pages(ledger, done_by_alice).await, vec![id]);
    let unfinished = ledger.unfinished(100).await.unwrap();
    let expected: Vec<Uuid> = entries
        .iter()
        .map(|e| e.id)
        .filter(|e| *e != id && *e != doomed)
        .collect();
    assert_eq!(unfinished, expected, "oldest first, pending and processing");
    assert_eq!(ledger.unfinished(2).await.unwrap().len(), 2);
}

#[tokio::test]
async fn sqlite_ledger_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    ledger_contract(&SqliteLedger::open(&dir.path().join("log.db")).unwrap()).await;
}

#[tokio::test]
async fn the_cached_ledger_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite: SharedLedger = Arc::new(SqliteLedger::open(&dir.path().join("log.db")).unwrap());
    ledger_contract(&CachedLedger::new(sqlite, 100)).await;
}

#[tokio::test]
async fn dynamo_ledger_keeps_the_contract() {
    ledger_contract(&dynamo_ledger().await).await;
}

// ---- racing processors ----

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
    let processor = |cpu| Processor {
        store: Arc::clone(&store),
        ledger: Arc::clone(&ledger),
        spec: TransformSpec::default(),
        limits: Limits::default(),
        lease: Duration::from_secs(60),
        cpu: Arc::new(tokio::sync::Semaphore::new(cpu)),
    };
    let (a, b) = (processor(1), processor(1));
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
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(FileStore::open(dir.path().join("objects")).unwrap());
    let ledger: SharedLedger = Arc::new(SqliteLedger::open(&dir.path().join("log.db")).unwrap());
    for _ in 0..3 {
        race(Arc::clone(&store), Arc::clone(&ledger)).await;
    }
}

#[tokio::test]
async fn a_transform_made_at_upload_is_stored_without_decoding_the_original_again() {
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(FileStore::open(dir.path().join("objects")).unwrap());
    let ledger: SharedLedger = Arc::new(SqliteLedger::open(&dir.path().join("log.db")).unwrap());
    let processor = Processor {
        store: Arc::clone(&store),
        ledger: Arc::clone(&ledger),
        spec: TransformSpec::default(),
        limits: Limits::default(),
        lease: Duration::from_secs(60),
        cpu: Arc::new(tokio::sync::Semaphore::new(1)),
    };
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

#[tokio::test]
async fn external_token_hashes_are_read_from_ssm_at_start() {
    use flipframe::auth::{hash_token, new_token};
    let token = new_token();
    let name = format!("/flipframe/{}/external-tokens", unique("test"));
    let spec = format!("partner-a:{}", hash_token(&token).unwrap());
    let sdk = moto().sdk().await;
    aws_sdk_ssm::Client::new(&sdk.sdk)
        .put_parameter()
        .name(&name)
        .value(&spec)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let mut config = flipframe::Config::embedded(std::env::temp_dir());
    config.aws = moto().settings();
    config.external_tokens_parameter = Some(name);
    config.load_secrets().await.unwrap();
    assert_eq!(config.external_tokens.identify(&token), Some("partner-a"));
    assert_eq!(config.external_tokens.identify(&new_token()), None);
}
