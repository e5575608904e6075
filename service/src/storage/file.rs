//! Objects as files under a root folder, written atomically (temp file,
//! fsync, rename, fsync of the folder).

use super::{ObjectKey, ObjectStore, StorageError};
use async_trait::async_trait;
use bytes::Bytes;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

#[async_trait]
impl ObjectStore for FileStore {
    async fn put(
        &self,
        key: &ObjectKey,
        body: Bytes,
        _content_type: &str,
    ) -> Result<(), StorageError> {
        let path = self.path(key);
        tokio::task::spawn_blocking(move || write_atomically(&path, &body))
            .await
            .map_err(|e| StorageError::new(key, e))?
            .map_err(|e| StorageError::new(key, e))
    }

    async fn get(&self, key: &ObjectKey) -> Result<Option<Bytes>, StorageError> {
        match tokio::fs::read(self.path(key)).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::new(key, e)),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(StorageError::new(key, e)),
            _ => Ok(()),
        }
    }
}

fn write_atomically(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().expect("object keys always have a folder");
    std::fs::create_dir_all(folder)?;
    let mut temp = tempfile::NamedTempFile::new_in(folder)?;
    temp.write_all(body)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}
