//! The processing log contract.

use crate::support::moto::{moto, unique};
use flipframe::ledger::{
    CachedLedger, DynamoLedger, Failure, ImageInfo, KeyBinding, Ledger, LedgerError, LogEntry,
    LogQuery, SharedLedger, SqliteLedger, Status, Uploader,
};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub async fn dynamo_ledger() -> DynamoLedger {
    let sdk = moto().sdk().await;
    let ledger = DynamoLedger::new(sdk.dynamodb_client(), unique("log"));
    assert!(ledger.create_table_if_missing().await.unwrap());
    assert!(
        !ledger.create_table_if_missing().await.unwrap(),
        "idempotent"
    );
    ledger
}

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

pub fn pending(name: &str) -> LogEntry {
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
    request_keys_bind_once(ledger).await;
}

/// A request key binds to the first id; a takeover needs the stale id.
async fn request_keys_bind_once(ledger: &dyn Ledger) {
    let key = Uuid::new_v4().simple().to_string();
    let (first, second, third) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let bound = ledger.bind_request_key(&key, first, None).await.unwrap();
    assert_eq!(bound, KeyBinding::Bound);
    let again = ledger.bind_request_key(&key, second, None).await.unwrap();
    assert!(
        matches!(again, KeyBinding::Existing { id, .. } if id == first),
        "{again:?}"
    );
    // Taking over with the wrong stale id fails; with the right one it binds.
    let wrong = ledger
        .bind_request_key(&key, second, Some(third))
        .await
        .unwrap();
    assert!(matches!(wrong, KeyBinding::Existing { id, .. } if id == first));
    let taken = ledger
        .bind_request_key(&key, second, Some(first))
        .await
        .unwrap();
    assert_eq!(taken, KeyBinding::Bound);
    let now = ledger.bind_request_key(&key, third, None).await.unwrap();
    assert!(matches!(now, KeyBinding::Existing { id, .. } if id == second));
    // Keys never show in the log.
    let all = all_pages(
        ledger,
        LogQuery {
            limit: 100,
            ..LogQuery::default()
        },
    )
    .await;
    assert!(!all.contains(&first) && !all.contains(&second));
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
