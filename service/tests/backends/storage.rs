//! The object storage contract.

use crate::support::images::marked_jpeg;
use crate::support::moto::{moto, unique};
use bytes::Bytes;
use flipframe::pipeline::OutputFormat;
use flipframe::storage::{CachedStore, FileStore, ObjectKey, ObjectStore, S3Store, SharedStore};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub async fn s3_store() -> S3Store {
    let sdk = moto().sdk().await;
    let store = S3Store::new(sdk.s3_client(), unique("bucket"), "some/prefix");
    assert!(store.create_bucket_if_missing().await.unwrap());
    assert!(
        !store.create_bucket_if_missing().await.unwrap(),
        "idempotent"
    );
    store
}

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
