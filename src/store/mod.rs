//! All SQL lives here, one module per table family. SQLite through sqlx with runtime
//! queries (no database needed at build time), WAL, create-if-missing, embedded migrations.

pub mod accounts;
pub mod api_keys;
pub mod billing;
pub mod callbacks;
pub mod deploy;
pub mod jobs;
pub mod network;
pub mod outbox;
pub mod remote_hands;
pub mod servers;
pub mod sessions;
pub mod tags;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// The database handle shared by all requests.
pub type Db = SqlitePool;

/// Opens (creating if missing) the database and applies the migrations.
pub async fn open(path: &str) -> Result<Db, sqlx::Error> {
    let memory = path == ":memory:";
    let opts = if memory {
        SqliteConnectOptions::from_str("sqlite::memory:")?
    } else {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    }
    .foreign_keys(true)
    .busy_timeout(Duration::from_secs(10));
    // An in-memory database lives in one connection: keep exactly one, forever.
    let pool = if memory {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?
    } else {
        SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?
    };
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Tables in the order they can be emptied (children first).
const TABLES: &[&str] = &[
    "remote_hands",
    "console_sessions",
    "ipmi_users",
    "pxe_configs",
    "stock_sold",
    "running_installs",
    "deployments",
    "invoice_items",
    "invoices",
    "nat_rules",
    "ip_blocks",
    "ptr_records",
    "ip_releases",
    "jobs",
    "callbacks",
    "tags",
    "ips",
    "subnets",
    "interfaces",
    "sessions",
    "login_failures",
    "api_key_history",
    "api_keys",
    "outbox",
    "servers",
    "locations",
    "accounts",
    "meta",
];

/// Opens a write transaction that takes SQLite's write lock at once (`BEGIN IMMEDIATE`).
/// A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
/// another connection committed in between (the busy timeout does not apply to that
/// upgrade); an immediate one waits its turn. Every transaction that writes uses this.
pub async fn begin_write(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    db.begin_with("BEGIN IMMEDIATE").await
}

/// Empties every table (the scenario is loaded again afterwards).
pub async fn wipe(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    for t in TABLES {
        sqlx::query(&format!("DELETE FROM {t}"))
            .execute(&mut *conn)
            .await?;
    }
    // Back to the id counters of a fresh database as well.
    sqlx::query("DELETE FROM sqlite_sequence")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Is the database empty (no accounts and no servers yet)?
pub async fn is_empty(db: &Db) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM servers)",
    )
    .fetch_one(db)
    .await?;
    Ok(n == 0)
}

/// Reads a metadata value.
pub async fn meta_get(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
        .bind(key)
        .fetch_optional(db)
        .await
}

/// Writes a metadata value.
pub async fn meta_set<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(db)
        .await?;
    Ok(())
}

/// Did this error come from a UNIQUE constraint?
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migrations_apply_and_meta_round_trips() {
        let db = open(":memory:").await.expect("open");
        assert!(is_empty(&db).await.expect("count"));
        meta_set(&db, "k", "v1").await.expect("set");
        meta_set(&db, "k", "v2").await.expect("set");
        assert_eq!(
            meta_get(&db, "k").await.expect("get").as_deref(),
            Some("v2")
        );
        let mut conn = db.acquire().await.expect("conn");
        wipe(&mut conn).await.expect("wipe");
        drop(conn);
        assert_eq!(meta_get(&db, "k").await.expect("get"), None);
    }
}
