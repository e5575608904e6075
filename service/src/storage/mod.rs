//! Object storage for originals and transformed versions. Keys are made by the
//! server from ids, never from user input.

mod file;

pub use file::FileStore;

use async_trait::async_trait;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;
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

    pub fn as_str(&self) -> &str {
        &self.0
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
}

pub type SharedStore = Arc<dyn ObjectStore>;
