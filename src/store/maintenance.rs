//! Database upkeep that is not about any one table: emptying the write-ahead log, so that
//! content deleted or overwritten in the database file (with `secure_delete`, zeroed there)
//! does not live on in old WAL frames.

use sqlx::Row;

use super::{sql, Db};

/// How long the checkpoint may wait for readers and writers, in milliseconds: it holds new
/// writers back meanwhile, so it gives up soon and the next prune tries again.
const CHECKPOINT_WAIT_MS: i64 = 250;

/// Copies the write-ahead log into the database file and truncates it to zero bytes
/// (`wal_checkpoint(TRUNCATE)`). Returns whether it completed: `false` when readers or a
/// writer kept it from finishing within [`CHECKPOINT_WAIT_MS`], or when the database has
/// no WAL (in memory).
pub async fn truncate_wal(db: &Db) -> Result<bool, sqlx::Error> {
    // On the writer: a checkpoint writes the database file (the readers are read-only), and
    // holding the writer keeps writes from racing it; only readers can make it wait.
    let mut conn = db.acquire_write().await?;
    let usual: i64 = sql::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut **conn)
        .await?;
    sql::query(&format!("PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}"))
        .execute(&mut **conn)
        .await?;
    let checkpoint = sql::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut **conn)
        .await;
    let restored = sql::query(&format!("PRAGMA busy_timeout = {usual}"))
        .execute(&mut **conn)
        .await;
    if restored.is_err() {
        // Closed and replaced by the pool rather than reused with the short timeout.
        conn.close_on_drop();
    }
    let row = checkpoint?;
    restored?;
    let (busy, log): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    Ok(busy == 0 && log == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_wal_is_emptied_into_the_database_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let db = crate::store::open(&path.to_string_lossy())
            .await
            .expect("open");
        crate::store::meta_set(&db, "k", "a-value-in-the-wal")
            .await
            .expect("set");
        let wal = dir.path().join("t.db-wal");
        assert!(std::fs::metadata(&wal).expect("wal").len() > 0);
        assert!(truncate_wal(&db).await.expect("checkpoint"));
        assert_eq!(std::fs::metadata(&wal).expect("wal").len(), 0);
        assert_eq!(
            crate::store::meta_get(&db, "k")
                .await
                .expect("get")
                .as_deref(),
            Some("a-value-in-the-wal")
        );
        let timeout: i64 = sql::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&db)
            .await
            .expect("timeout");
        assert_eq!(timeout, 10_000, "the pool's timeout is back");
        let memory = crate::store::open(":memory:").await.expect("open");
        assert!(!truncate_wal(&memory).await.expect("checkpoint"), "no WAL");
    }

    #[tokio::test]
    async fn deleted_content_is_zeroed_in_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let db = crate::store::open(&path.to_string_lossy())
            .await
            .expect("open");
        let secret = "s3cret-that-must-not-stay-on-disk";
        crate::store::meta_set(&db, "k", secret).await.expect("set");
        truncate_wal(&db).await.expect("checkpoint");
        let file = || std::fs::read(&path).expect("read");
        let found = |bytes: &[u8]| bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(found(&file()), "written");
        sql::query("DELETE FROM meta WHERE key = 'k'")
            .execute(&db)
            .await
            .expect("delete");
        assert!(truncate_wal(&db).await.expect("checkpoint"));
        assert!(!found(&file()), "zeroed, not left in free space");
    }
}
