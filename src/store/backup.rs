//! Whole-database snapshots: a consistent copy of every table (taken with `VACUUM INTO` on
//! the write connection, so no write is half in it) and its restoration in one transaction
//! on the writer (readers see the old state until the commit, then the new one).
//!
//! Named snapshots live on a [`Shelf`]: beside a database file (`<db>.snapshots/NAME.db`,
//! kept across restarts), or for an in-memory database in a directory of the system's
//! temporary directory that goes with the emulator. The snapshot's moment on the emulator's
//! clock travels in its `meta` table (`snapshot_now_ms`), so a restored world is at the
//! time it was saved; the queued jobs travel with the database.
//!
//! The bytes of the S3 objects (and of multipart parts) that the copy's rows name travel in
//! it too, in a `snapshot_blobs` table of the snapshot file only: a restore puts back the
//! blobs that are missing before its rows name them, and removes afterwards the blobs that
//! only the replaced rows named.

use std::path::{Path, PathBuf};

use sqlx::{Connection, Row, SqliteConnection};

use super::s3_blobs::Blobs;
use super::{sql, Db};

/// Where a database's named snapshots are kept, and the turn of restorations.
pub struct Shelf {
    dir: PathBuf,
    /// For an in-memory database: the directory is the emulator's own, removed with it.
    owned: bool,
    /// Held while a snapshot is restored: a second restoration at the same time is refused.
    pub restoring: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A snapshot as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotInfo {
    pub name: String,
    pub bytes: u64,
    /// When it was taken, in real Unix seconds.
    pub created: i64,
}

impl Shelf {
    /// The shelf of a database (`:memory:` or a file path).
    pub fn for_db(db: &str) -> Shelf {
        if db == ":memory:" {
            let dir = std::env::temp_dir().join(format!(
                "hostkey-emu-snapshots-{}-{}",
                std::process::id(),
                crate::secrets::random_hex(8)
            ));
            Shelf {
                dir,
                owned: true,
                restoring: Default::default(),
            }
        } else {
            Shelf {
                dir: PathBuf::from(format!("{db}.snapshots")),
                owned: false,
                restoring: Default::default(),
            }
        }
    }

    /// The file of a snapshot (the name is checked by [`valid_name`] first).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.db"))
    }

    /// Makes sure the directory exists.
    pub fn prepare(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)
    }

    /// The snapshots on the shelf, by name.
    pub fn list(&self) -> std::io::Result<Vec<SnapshotInfo>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".db")) else {
                continue;
            };
            if !valid_name(name) {
                continue;
            }
            let meta = entry.metadata()?;
            let created = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs() as i64);
            out.push(SnapshotInfo {
                name: name.to_owned(),
                bytes: meta.len(),
                created,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

impl Drop for Shelf {
    fn drop(&mut self) {
        if self.owned {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Is this a snapshot name: 1 to 64 letters, digits, `-`, `_` or `.` (not first)?
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Writes a consistent copy of the whole database to `to` (which must not exist), noting
/// `now_ms` (the emulator clock's moment, if any) and `offset_ms` in its `meta` first. The
/// copy is written beside `to` and renamed, so `to` is never half written. The S3 blobs its
/// rows name are held with the writer and copied into it afterwards.
pub async fn save(
    db: &Db,
    blobs: &Blobs,
    to: &Path,
    clock: Option<(i64, i64)>,
) -> Result<(), crate::error::Error> {
    let tmp = to.with_extension(format!("tmp-{}", crate::secrets::random_hex(6)));
    let target = uri(&tmp, "rwc")?;
    let held = {
        // The writer is held throughout: no write is half in the copy.
        let mut conn = db.acquire_write().await?;
        if let Some((now_ms, offset_ms)) = clock {
            super::meta_set(&mut **conn, "clock_offset_ms", &offset_ms.to_string()).await?;
            super::meta_set(&mut **conn, "snapshot_now_ms", &now_ms.to_string()).await?;
        }
        let copied = sql::query("VACUUM INTO ?")
            .bind(&target)
            .execute(&mut **conn)
            .await;
        if clock.is_some() {
            // The moment belongs to the copy only.
            sql::query("DELETE FROM meta WHERE key = 'snapshot_now_ms'")
                .execute(&mut **conn)
                .await?;
        }
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        let names = blob_names(&mut conn, "main").await?;
        let staging = PathBuf::from(format!("{}.blobs", tmp.display()));
        match blobs.hold(&names, &staging) {
            Ok(held) => held,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                let _ = std::fs::remove_file(&tmp);
                return Err(crate::error::Error::internal(format!("S3 blobs: {e}")));
            }
        }
    };
    if let Err(e) = write_blobs(&tmp, &held).await {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(held);
    if let Err(e) = std::fs::rename(&tmp, to) {
        let _ = std::fs::remove_file(&tmp);
        return Err(crate::error::Error::internal(format!("snapshot file: {e}")));
    }
    Ok(())
}

/// The blob names that the S3 rows of a schema name.
async fn blob_names(conn: &mut SqliteConnection, schema: &str) -> Result<Vec<String>, sqlx::Error> {
    sql::query_scalar(&format!(
        "SELECT blob FROM {schema}.s3_objects UNION SELECT blob FROM {schema}.s3_upload_parts"
    ))
    .fetch_all(conn)
    .await
}

/// Copies held blobs into the snapshot file's `snapshot_blobs` table, one at a time.
async fn write_blobs(file: &Path, held: &super::s3_blobs::Held) -> Result<(), crate::error::Error> {
    if held.is_empty() {
        return Ok(());
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    sql::query("CREATE TABLE snapshot_blobs (name TEXT PRIMARY KEY, bytes BLOB NOT NULL)")
        .execute(&mut conn)
        .await?;
    sql::query("BEGIN").execute(&mut conn).await?;
    for i in 0..held.len() {
        let (name, bytes) = held
            .read(i)
            .await
            .map_err(|e| crate::error::Error::internal(format!("S3 blob: {e}")))?;
        sql::query("INSERT INTO snapshot_blobs (name, bytes) VALUES (?, ?)")
            .bind(name)
            .bind(bytes.as_ref())
            .execute(&mut conn)
            .await?;
    }
    sql::query("COMMIT").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Puts back the blobs of the attached snapshot (`snap.snapshot_blobs`) that the store
/// lacks; a snapshot taken before blobs travelled has none.
async fn bring_blobs(
    conn: &mut SqliteConnection,
    blobs: &Blobs,
) -> Result<(), crate::error::Error> {
    let has: i64 = sql::query_scalar(
        "SELECT COUNT(*) FROM snap.sqlite_master WHERE type = 'table' AND name = 'snapshot_blobs'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if has == 0 {
        return Ok(());
    }
    let names: Vec<String> = sql::query_scalar("SELECT name FROM snap.snapshot_blobs")
        .fetch_all(&mut *conn)
        .await?;
    for name in names {
        if !super::s3_blobs::valid_name(&name) || blobs.has(&name) {
            continue;
        }
        let bytes: Vec<u8> =
            sql::query_scalar("SELECT bytes FROM snap.snapshot_blobs WHERE name = ?")
                .bind(&name)
                .fetch_one(&mut *conn)
                .await?;
        blobs
            .put(&name, bytes.into())
            .await
            .map_err(|e| crate::error::Error::internal(format!("S3 blob {name}: {e}")))?;
    }
    Ok(())
}

/// A file as an SQLite URI with its open mode. A plain name would do for a database file,
/// but a connection to an in-memory database opens the files it attaches (and `VACUUM
/// INTO`) in memory too, unless the mode is given.
fn uri(path: &Path, mode: &str) -> Result<String, crate::error::Error> {
    let path = std::path::absolute(path).map_err(crate::error::Error::internal)?;
    let text = path
        .to_str()
        .ok_or_else(|| crate::error::Error::internal("snapshot path is not UTF-8"))?;
    let escaped = text
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    Ok(format!("file:{escaped}?mode={mode}"))
}

/// The user tables of a schema (`main` or an attached one), without SQLite's and sqlx's own.
async fn tables(conn: &mut SqliteConnection, schema: &str) -> Result<Vec<String>, sqlx::Error> {
    sql::query_scalar(&format!(
        "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations' ORDER BY name"
    ))
    .fetch_all(&mut *conn)
    .await
}

async fn columns(
    conn: &mut SqliteConnection,
    schema: &str,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sql::query(&format!("PRAGMA {schema}.table_info(\"{table}\")"))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(|r| r.get::<String, _>("name")).collect())
}

/// Replaces every table's rows by the snapshot file's, in one transaction on the writer, and
/// returns the emulator clock's offset to set (the snapshot's moment, or its offset when it
/// noted no moment; `real_now_ms` is the real time now). Jobs that were running when the
/// snapshot was taken are queued again. Either all of it is applied or nothing (blobs put
/// back for a restoration that then fails stay as orphans, named by no row).
pub async fn restore(
    db: &Db,
    blobs: &Blobs,
    from: &Path,
    real_now_ms: i64,
) -> Result<i64, crate::error::Error> {
    let source = uri(from, "ro")?;
    // The raw writer: the generations (the memos' and the sessions') rise when it goes back.
    let mut conn = db.acquire_write().await?;
    sql::query("ATTACH DATABASE ? AS snap")
        .bind(&source)
        .execute(&mut **conn)
        .await?;
    let result = copy_in(&mut conn, blobs, real_now_ms).await;
    if result.is_err() {
        let _ = sql::query("ROLLBACK").execute(&mut **conn).await;
    }
    let detached = sql::query("DETACH DATABASE snap")
        .execute(&mut **conn)
        .await;
    let (offset, gone) = result?;
    detached?;
    drop(conn);
    // Named by no row any more (their rows were replaced): the rows went first.
    blobs.remove(&gone).await;
    Ok(offset)
}

/// Copies the attached snapshot in; the clock offset to set and the blobs that only the
/// replaced rows named.
async fn copy_in(
    conn: &mut SqliteConnection,
    blobs: &Blobs,
    real_now_ms: i64,
) -> Result<(i64, Vec<String>), crate::error::Error> {
    let theirs = tables(conn, "snap").await?;
    if !theirs.iter().any(|t| t == "meta") || !theirs.iter().any(|t| t == "accounts") {
        return Err(crate::error::Error::invalid(
            "not a hostkey-emu database (no meta or accounts table)",
        ));
    }
    // The bytes first, then the rows that name them.
    bring_blobs(conn, blobs).await?;
    let before = blob_names(conn, "main").await?;
    let ours = tables(conn, "main").await?;
    sql::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    // Parents and children arrive in any order; the keys are checked at the commit.
    sql::query("PRAGMA defer_foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    for t in &ours {
        sql::query(&format!("DELETE FROM main.\"{t}\""))
            .execute(&mut *conn)
            .await?;
    }
    sql::query("DELETE FROM main.sqlite_sequence")
        .execute(&mut *conn)
        .await?;
    for t in ours.iter().filter(|t| theirs.contains(t)) {
        let mine = columns(conn, "main", t).await?;
        let shared: Vec<String> = columns(conn, "snap", t)
            .await?
            .into_iter()
            .filter(|c| mine.contains(c))
            .map(|c| format!("\"{c}\""))
            .collect();
        let cols = shared.join(", ");
        sql::query(&format!(
            "INSERT INTO main.\"{t}\" ({cols}) SELECT {cols} FROM snap.\"{t}\""
        ))
        .execute(&mut *conn)
        .await?;
    }
    let has_sequence: i64 =
        sql::query_scalar("SELECT COUNT(*) FROM snap.sqlite_master WHERE name = 'sqlite_sequence'")
            .fetch_one(&mut *conn)
            .await?;
    if has_sequence > 0 {
        sql::query("INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM snap.sqlite_sequence")
            .execute(&mut *conn)
            .await?;
    }
    sql::query("UPDATE jobs SET state = 'queued' WHERE state = 'running'")
        .execute(&mut *conn)
        .await?;
    let meta = |key: &'static str| {
        sql::query_scalar::<String>("SELECT value FROM main.meta WHERE key = ?").bind(key)
    };
    let moment = meta("snapshot_now_ms").fetch_optional(&mut *conn).await?;
    let saved_offset = meta("clock_offset_ms").fetch_optional(&mut *conn).await?;
    let offset = match moment.and_then(|m| m.parse::<i64>().ok()) {
        Some(now_ms) => now_ms - real_now_ms,
        None => saved_offset.and_then(|o| o.parse().ok()).unwrap_or(0),
    };
    super::meta_set(&mut *conn, "clock_offset_ms", &offset.to_string()).await?;
    sql::query("DELETE FROM main.meta WHERE key = 'snapshot_now_ms'")
        .execute(&mut *conn)
        .await?;
    sql::query("COMMIT").execute(&mut *conn).await?;
    let after: std::collections::HashSet<String> =
        blob_names(conn, "main").await?.into_iter().collect();
    let gone = before.into_iter().filter(|b| !after.contains(b)).collect();
    Ok((offset, gone))
}

/// Every row of every table, as text lines sorted per table (for comparing two states).
pub async fn dump(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    let names = tables(&mut conn, "main").await?;
    let mut out = Vec::new();
    for t in names {
        let cols: Vec<String> = columns(&mut conn, "main", &t)
            .await?
            .into_iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect();
        let rows: Vec<String> =
            sql::query_scalar(&format!("SELECT {} FROM \"{t}\"", cols.join(" || ',' || ")))
                .fetch_all(&mut *conn)
                .await?;
        let mut rows: Vec<String> = rows.into_iter().map(|r| format!("{t}: {r}")).collect();
        rows.sort();
        out.extend(rows);
    }
    Ok(out)
}
