//! The bytes of S3 objects: files in a directory beside the database file
//! (`<db>.s3/objects/`), or a map in memory when the database is `:memory:`. A blob is
//! written whole under a fresh name before the row that names it is committed, and removed
//! only after the row that named it is gone, so a row never names a missing blob (a crash
//! in between leaves at worst an orphan file).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;

/// Where object bytes are kept.
#[derive(Debug)]
pub enum Blobs {
    /// One file per blob in this directory.
    Dir(PathBuf),
    /// In memory (the database is `:memory:` too).
    Memory(Mutex<HashMap<String, Bytes>>),
}

/// The blob store's directory for a database file: `<db>.s3/`.
pub fn dir_for(db: &str) -> Option<PathBuf> {
    (db != ":memory:").then(|| PathBuf::from(format!("{db}.s3")))
}

impl Blobs {
    /// The store for a database path (see [`dir_for`]); the directory is created when first
    /// written.
    pub fn for_db(db: &str) -> Blobs {
        match dir_for(db) {
            Some(dir) => Blobs::Dir(dir.join("objects")),
            None => Blobs::Memory(Mutex::new(HashMap::new())),
        }
    }

    /// A fresh, unguessable blob name.
    pub fn new_name() -> String {
        crate::secrets::random_hex(16)
    }

    fn path(dir: &Path, name: &str) -> PathBuf {
        dir.join(name)
    }

    /// Stores bytes under a name (written to a temporary file, then renamed into place).
    pub async fn put(&self, name: &str, bytes: Bytes) -> std::io::Result<()> {
        match self {
            Blobs::Dir(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let tmp = Self::path(dir, &format!("{name}.part"));
                tokio::fs::write(&tmp, &bytes).await?;
                tokio::fs::rename(&tmp, Self::path(dir, name)).await
            }
            Blobs::Memory(map) => {
                map.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.to_owned(), bytes);
                Ok(())
            }
        }
    }

    /// The bytes of a blob (`None` when it is missing).
    pub async fn get(&self, name: &str) -> std::io::Result<Option<Bytes>> {
        match self {
            Blobs::Dir(dir) => match tokio::fs::read(Self::path(dir, name)).await {
                Ok(v) => Ok(Some(Bytes::from(v))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
            Blobs::Memory(map) => Ok(map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(name)
                .cloned()),
        }
    }

    /// Removes blobs; a missing one is no error, other failures are logged (an orphan file
    /// costs disk space, nothing else).
    pub async fn remove(&self, names: &[String]) {
        for name in names {
            match self {
                Blobs::Dir(dir) => match tokio::fs::remove_file(Self::path(dir, name)).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(blob = %name, error = %e, "could not remove S3 blob"),
                },
                Blobs::Memory(map) => {
                    map.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
                }
            }
        }
    }

    /// Removes every blob (the control plane's reset empties the tables that name them).
    pub async fn clear(&self) {
        match self {
            Blobs::Dir(dir) => {
                if let Err(e) = tokio::fs::remove_dir_all(dir).await {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        tracing::warn!(error = %e, "could not empty the S3 blob store");
                    }
                }
            }
            Blobs::Memory(map) => map.lock().unwrap_or_else(|e| e.into_inner()).clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round_trip(blobs: &Blobs) {
        let name = Blobs::new_name();
        assert_eq!(blobs.get(&name).await.expect("get"), None);
        blobs
            .put(&name, Bytes::from_static(b"hello"))
            .await
            .expect("put");
        assert_eq!(
            blobs.get(&name).await.expect("get").as_deref(),
            Some(&b"hello"[..])
        );
        blobs.remove(std::slice::from_ref(&name)).await;
        blobs.remove(std::slice::from_ref(&name)).await;
        assert_eq!(blobs.get(&name).await.expect("get"), None);
        blobs
            .put(&name, Bytes::from_static(b"x"))
            .await
            .expect("put");
        blobs.clear().await;
        assert_eq!(blobs.get(&name).await.expect("get"), None);
    }

    #[tokio::test]
    async fn blobs_round_trip_on_disk_and_in_memory() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("emu.db").to_string_lossy().into_owned();
        let on_disk = Blobs::for_db(&db);
        assert!(matches!(&on_disk, Blobs::Dir(d) if d.starts_with(dir.path())));
        round_trip(&on_disk).await;
        round_trip(&Blobs::for_db(":memory:")).await;
    }
}
