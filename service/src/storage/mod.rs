//! Object storage for originals and transformed versions. Keys are made by the
//! server from ids, never from user input.

mod cached;
mod file;
mod s3;

pub use cached::CachedStore;
pub use file::FileStore;
pub use s3::S3Store;

use async_trait::async_trait;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

use crate::pipeline::OutputFormat;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn original(id: Uuid) -> Self {
        Self(format!("originals/{id}"))
    }

    pub fn transformed(id: Uuid, format: OutputFormat) -> Self {
        Self(format!("transformed/{id}.{}", format.extension()))
    }

    pub fn is_transformed(&self) -> bool {
        self.0.starts_with("transformed/")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of an `originals/{id}` key; `None` for anything else.
    pub fn original_id(key: &str) -> Option<Uuid> {
        key.strip_prefix("originals/")
            .and_then(|id| Uuid::parse_str(id).ok())
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("object storage failed on {key}: {source}")]
pub struct StorageError {
    pub key: String,
    #[source]
    pub source: anyhow::Error,
}

impl StorageError {
    pub fn new(key: &ObjectKey, source: impl Into<anyhow::Error>) -> Self {
        Self {
            key: key.to_string(),
            source: source.into(),
        }
    }
}

#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// Stores the whole object or nothing: readers never see a partial write.
    async fn put(
        &self,
        key: &ObjectKey,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError>;
    /// The object's bytes, or `None` when there is no such object.
    async fn get(&self, key: &ObjectKey) -> Result<Option<Bytes>, StorageError>;
    /// Removes the object; removing a missing object is not an error.
    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError>;

    /// Whether `presign_put` hands out URLs (the presigned upload route
    /// exists only where it does).
    fn presigns(&self) -> bool {
        false
    }

    /// A short-lived URL to GET the object directly; `None` where the backend
    /// cannot hand one out.
    async fn presign_get(
        &self,
        _key: &ObjectKey,
        _ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        Ok(None)
    }

    /// A short-lived URL to PUT the object directly with this content type;
    /// `None` where the backend cannot hand one out.
    async fn presign_put(
        &self,
        _key: &ObjectKey,
        _content_type: &str,
        _ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        Ok(None)
    }
}

pub type SharedStore = Arc<dyn ObjectStore>;
