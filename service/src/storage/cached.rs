//! Keeps transformed versions in memory once written or read. A transformed
//! key belongs to one upload and is written once, so a hit never needs
//! revalidation. Originals always go to the backend: they are large, rarely
//! read twice, and a presigned upload may still replace one.

use super::{ObjectKey, ObjectStore, SharedStore, StorageError};
use crate::telemetry::metrics;
use async_trait::async_trait;
use bytes::Bytes;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use std::time::Duration;

#[derive(Debug, Clone)]
struct ByteSize;

impl Weighter<ObjectKey, Bytes> for ByteSize {
    fn weight(&self, _key: &ObjectKey, value: &Bytes) -> u64 {
        value.len().max(1) as u64
    }
}

#[derive(Debug)]
pub struct CachedStore {
    inner: SharedStore,
    hot: Cache<ObjectKey, Bytes, ByteSize>,
}

impl CachedStore {
    /// Caches up to `capacity_bytes` of transformed versions in front of `inner`.
    pub fn new(inner: SharedStore, capacity_bytes: u64) -> Self {
        // A transformed 1280×720 JPEG is ~100–300 KB.
        let estimated_items = usize::try_from(capacity_bytes / (128 << 10)).unwrap_or(1024);
        Self {
            inner,
            hot: Cache::with_weighter(estimated_items.max(16), capacity_bytes, ByteSize),
        }
    }
}

#[async_trait]
impl ObjectStore for CachedStore {
    async fn put(
        &self,
        key: &ObjectKey,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        self.inner.put(key, body.clone(), content_type).await?;
        if key.is_transformed() {
            self.hot.insert(key.clone(), body);
        }
        Ok(())
    }

    async fn get(&self, key: &ObjectKey) -> Result<Option<Bytes>, StorageError> {
        if !key.is_transformed() {
            return self.inner.get(key).await;
        }
        let hit = self.hot.get(key);
        metrics::cache_lookup(hit.is_some());
        if hit.is_some() {
            return Ok(hit);
        }
        let fetched = self.inner.get(key).await?;
        if let Some(bytes) = &fetched {
            self.hot.insert(key.clone(), bytes.clone());
        }
        Ok(fetched)
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        self.hot.remove(key);
        self.inner.delete(key).await
    }

    fn presigns(&self) -> bool {
        self.inner.presigns()
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        self.inner.presign_get(key, ttl).await
    }

    async fn presign_put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        self.inner.presign_put(key, content_type, ttl).await
    }
}
