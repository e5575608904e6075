//! Objects as files under a root folder, written atomically (temp file,
//! fsync, rename, fsync of the folder). Temp files name the process writing
//! them, so a start removes those a killed process left behind.

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
        let removed = remove_stale_partials(&root)?;
        if removed > 0 {
            tracing::info!(removed, root = %root.display(), "removed writes a stopped process left unfinished");
        }
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
    let mut temp = tempfile::Builder::new()
        .prefix(&format!("{PARTIAL}{}-", std::process::id()))
        .tempfile_in(folder)?;
    temp.write_all(body)?;
    temp.as_file().sync_all()?;
    forget_pages(temp.as_file());
    temp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}

/// Drops the written (and now synced) pages from the page cache. Originals
/// are rarely read twice and transformed versions are read from the memory
/// cache in front of this store, so keeping them costs memory for nothing;
/// and a folder upload that keeps every file cached makes the kernel find a
/// fresh page for each one written, which on a VM costs a first touch of
/// memory per page (`just bench-cli`: the server's file writes were half its
/// own CPU). Dropped pages are reused by the next write. Only a hint.
fn forget_pages(file: &std::fs::File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: fadvise reads only its arguments; the fd is open for the call.
        unsafe {
            libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// The name every temp file starts with: `.partial-PID-RANDOM`.
const PARTIAL: &str = ".partial-";

/// Removes the temp files of processes that no longer run. A live process's
/// are kept (two servers may share a folder during a rolling restart); one
/// with our own pid but older than us was left by a predecessor that had the
/// same pid (pid 1 in a container).
fn remove_stale_partials(root: &Path) -> std::io::Result<usize> {
    let started = process_start();
    let mut removed = 0;
    for folder in std::fs::read_dir(root)?.flatten() {
        if !folder.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        for file in std::fs::read_dir(folder.path())?.flatten() {
            let name = file.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(PARTIAL))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            let modified = file.metadata().and_then(|m| m.modified()).ok();
            let stale = if pid == std::process::id() {
                modified.is_some_and(|m| m < started)
            } else {
                !process_runs(pid)
            };
            if stale && std::fs::remove_file(file.path()).is_ok() {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

fn process_runs(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        // Elsewhere a foreign pid is taken as alive: better a stray temp
        // file than another process's write lost.
        true
    }
}

/// When this process started, near enough: the store opens at start-up.
fn process_start() -> std::time::SystemTime {
    static STARTED: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();
    *STARTED.get_or_init(std::time::SystemTime::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_removes_only_the_temp_files_of_stopped_processes() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("originals");
        std::fs::create_dir_all(&folder).unwrap();
        // A pid above the kernel's maximum never runs.
        let dead = folder.join(format!("{PARTIAL}4194305-abc"));
        let live = folder.join(format!("{PARTIAL}1-abc"));
        let object = folder.join("0190a0b0-0000-7000-8000-000000000000");
        for path in [&dead, &live, &object] {
            std::fs::write(path, b"x").unwrap();
        }
        FileStore::open(root.path()).unwrap();
        assert!(!dead.exists(), "a dead process's temp file stays");
        assert!(live.exists(), "a running process's temp file was removed");
        assert!(object.exists(), "an object was removed");
    }
}
