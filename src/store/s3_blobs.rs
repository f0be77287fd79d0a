//! The bytes of S3 objects: files in a directory beside the database file
//! (`<db>.s3/objects/`), or a map in memory when the database is `:memory:`. A blob is
//! written whole under a fresh name before the row that names it is committed, and removed
//! only after the row that named it is gone, so a row never names a missing blob (a crash
//! in between leaves at worst an orphan file).
//!
//! Snapshots carry the blobs their rows name (see `backup`): taking one *holds* them while
//! the writer is held ([`Blobs::hold`]: hard links, or the shared bytes in memory), so a
//! blob removed a moment later is still copied.

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

    /// A blob's file; a name that is not a blob name (one from an imported or hand-edited
    /// database, say `../x`) is refused rather than followed.
    fn path(dir: &Path, name: &str) -> std::io::Result<PathBuf> {
        if valid_name(name) {
            Ok(dir.join(name))
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name:?} is not a blob name"),
            ))
        }
    }

    /// Stores bytes under a name (written to a temporary file, then renamed into place).
    pub async fn put(&self, name: &str, bytes: Bytes) -> std::io::Result<()> {
        match self {
            Blobs::Dir(dir) => {
                let path = Self::path(dir, name)?;
                tokio::fs::create_dir_all(dir).await?;
                let tmp = dir.join(format!("{name}.part"));
                tokio::fs::write(&tmp, &bytes).await?;
                tokio::fs::rename(&tmp, path).await
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
            Blobs::Dir(dir) => match tokio::fs::read(Self::path(dir, name)?).await {
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
        for name in names.iter().filter(|n| valid_name(n)) {
            match self {
                Blobs::Dir(dir) => match tokio::fs::remove_file(dir.join(name)).await {
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

    /// Is there a blob of this name?
    pub fn has(&self, name: &str) -> bool {
        match self {
            Blobs::Dir(dir) => Self::path(dir, name).is_ok_and(|p| p.is_file()),
            Blobs::Memory(map) => map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(name),
        }
    }

    /// Holds the named blobs so that they can be read after their rows are gone and the
    /// blobs removed: hard links in `staging` (a copy where the file system cannot link),
    /// or the bytes themselves, shared, in memory. Quick enough to run with the writer
    /// held. A name without a blob is skipped.
    pub fn hold(&self, names: &[String], staging: &Path) -> std::io::Result<Held> {
        let mut held = Held {
            staging: None,
            blobs: Vec::with_capacity(names.len()),
        };
        match self {
            Blobs::Dir(dir) => {
                for name in names {
                    let Ok(from) = Self::path(dir, name) else {
                        continue;
                    };
                    if !from.is_file() {
                        continue;
                    }
                    if held.staging.is_none() {
                        std::fs::create_dir_all(staging)?;
                        held.staging = Some(staging.to_owned());
                    }
                    let to = staging.join(name);
                    if std::fs::hard_link(&from, &to).is_err() {
                        std::fs::copy(&from, &to)?;
                    }
                    held.blobs.push((name.clone(), Kept::File(to)));
                }
            }
            Blobs::Memory(map) => {
                let map = map.lock().unwrap_or_else(|e| e.into_inner());
                for name in names {
                    if let Some(bytes) = map.get(name) {
                        held.blobs.push((name.clone(), Kept::Bytes(bytes.clone())));
                    }
                }
            }
        }
        Ok(held)
    }
}

/// Is this a blob name: 1 to 64 ASCII letters or digits (the store makes 32 hex digits)?
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Blobs held for a copy ([`Blobs::hold`]); the staging directory goes when this does.
#[derive(Debug)]
pub struct Held {
    staging: Option<PathBuf>,
    blobs: Vec<(String, Kept)>,
}

#[derive(Debug)]
enum Kept {
    File(PathBuf),
    Bytes(Bytes),
}

impl Held {
    /// How many blobs are held.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// The `i`th held blob's name and bytes (a file is read when asked for, so a caller
    /// going one by one has one blob in memory at a time).
    pub async fn read(&self, i: usize) -> std::io::Result<(&str, Bytes)> {
        let (name, kept) = &self.blobs[i];
        let bytes = match kept {
            Kept::File(path) => Bytes::from(tokio::fs::read(path).await?),
            Kept::Bytes(b) => b.clone(),
        };
        Ok((name, bytes))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(dir) = &self.staging {
            let _ = std::fs::remove_dir_all(dir);
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

    #[tokio::test]
    async fn names_that_are_not_blob_names_are_refused_and_held_blobs_outlive_removal() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("emu.db").to_string_lossy().into_owned();
        let blobs = Blobs::for_db(&db);
        std::fs::write(dir.path().join("secret"), b"not yours").expect("write");
        for bad in ["../secret", "", "a/b", "x.part"] {
            assert!(blobs.get(&format!("../{bad}")).await.is_err(), "{bad}");
            assert!(blobs.put(bad, Bytes::from_static(b"x")).await.is_err());
            assert!(!blobs.has(bad));
        }
        for store in [blobs, Blobs::for_db(":memory:")] {
            let name = Blobs::new_name();
            store
                .put(&name, Bytes::from_static(b"kept"))
                .await
                .expect("put");
            let staging = dir.path().join("staging");
            let held = store
                .hold(&[name.clone(), Blobs::new_name()], &staging)
                .expect("hold");
            assert_eq!(held.len(), 1, "a missing blob is skipped");
            store.remove(std::slice::from_ref(&name)).await;
            assert!(!store.has(&name));
            let (n, bytes) = held.read(0).await.expect("read");
            assert_eq!((n, bytes.as_ref()), (name.as_str(), &b"kept"[..]));
            drop(held);
            assert!(
                !staging.exists(),
                "the staging directory goes with the hold"
            );
        }
    }
}
