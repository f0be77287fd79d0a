//! All SQL lives here, one module per table family. SQLite through sqlx with runtime
//! queries (no database needed at build time), WAL, create-if-missing, embedded migrations.

pub mod accounts;
pub mod api_keys;
pub mod backup;
pub mod billing;
pub mod callbacks;
pub mod dashboard;
pub mod db;
pub mod deploy;
pub mod dns;
pub mod f2h;
pub mod hestia;
pub mod hestia_panels;
pub mod inventory;
pub mod iso;
pub mod jobs;
pub mod maintenance;
pub mod network;
pub mod outbox;
pub mod provisioning;
pub mod remote_hands;
pub mod s3;
pub mod s3_blobs;
pub mod scenario;
pub mod scenario_export;
pub mod schema;
pub mod servers;
pub mod sessions;
pub mod snapshots;
pub mod sql;
pub mod ssh_keys;
pub mod tags;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::config::SyncMode;

pub use db::{Conn, Db, Watched, WriteConn, WriteTx};
pub use sql::counting;

/// Opens (creating if missing) the database and applies the migrations, with the default
/// [`SyncMode`].
pub async fn open(path: &str) -> Result<Db, sqlx::Error> {
    open_with(path, SyncMode::default()).await
}

/// Opens the database with commits reaching the disk as `sync` says.
pub async fn open_with(path: &str, sync: SyncMode) -> Result<Db, sqlx::Error> {
    let memory = path == ":memory:";
    let opts = if memory {
        SqliteConnectOptions::from_str("sqlite::memory:")?
    } else {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match sync {
                SyncMode::Off => SqliteSynchronous::Off,
                SyncMode::Normal => SqliteSynchronous::Normal,
                SyncMode::Full => SqliteSynchronous::Full,
            })
    }
    .foreign_keys(true)
    // Deleted and overwritten content is zeroed, not left in free space: records that
    // carried secrets (IPMI passwords, console tokens) are wiped when they go.
    .pragma("secure_delete", "on")
    .busy_timeout(Duration::from_secs(10));
    let db = if memory {
        Db::memory(opts)
    } else {
        Db::file(opts)
    };
    // The writer opens the file first (creating it and its WAL), then migrates it; a reader
    // opens meanwhile, on its own thread (the start's first reads need one; the others open
    // on first use). A reader that parsed the schema before a migration changed it parses
    // it again: SQLite checks the schema's version on every statement.
    // (In memory, the one connection serves both.)
    let mut conn = db.acquire_write().await?;
    let migrate = sqlx::migrate!("./migrations");
    // A new database gets the schema in one step (see `schema`); the migrator then finds
    // those migrations applied, and applies any later ones.
    schema::create_if_empty(&mut conn, &migrate).await?;
    if memory {
        migrate.run(&mut **conn).await?;
    } else {
        let (migrated, reader) = tokio::join!(migrate.run(&mut **conn), db.acquire());
        migrated?;
        drop(reader?);
    }
    drop(conn);
    Ok(db)
}

/// Tables in the order they can be emptied (children first).
const TABLES: &[&str] = &[
    "hestia_access_keys",
    "hestia_api_keys",
    "hestia_objects",
    "hestia_panels",
    "f2h_unblocks",
    "f2h_bans",
    "f2h_keys",
    "dns_subdomains",
    "dns_records",
    "dns_zones",
    "cancellation_requests",
    "contacts",
    "transactions",
    "credit_log",
    "s3_upload_parts",
    "s3_uploads",
    "s3_objects",
    "s3_buckets",
    "s3_accounts",
    "ssh_keys",
    "vm_snapshots",
    "iso_images",
    "remote_hands_messages",
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
/// It counts as two statements (see [`sql`]): the BEGIN and the COMMIT or ROLLBACK that ends it.
pub async fn begin_write(db: &Db) -> Result<WriteTx, sqlx::Error> {
    sql::count(2);
    db.begin_write().await
}

/// Empties every table (the scenario is loaded again afterwards).
pub async fn wipe(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    for t in TABLES {
        sql::query(&format!("DELETE FROM {t}"))
            .execute(&mut *conn)
            .await?;
    }
    // Back to the id counters of a fresh database as well.
    sql::query("DELETE FROM sqlite_sequence")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Is the database empty (no accounts and no servers yet)?
pub async fn is_empty(db: &Db) -> Result<bool, sqlx::Error> {
    let n: i64 = sql::query_scalar(
        "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM servers)",
    )
    .fetch_one(db)
    .await?;
    Ok(n == 0)
}

/// The database's size in bytes (its pages; the WAL not counted).
pub async fn database_bytes(db: &Db) -> Result<i64, sqlx::Error> {
    let pages: i64 = sql::query_scalar("PRAGMA page_count").fetch_one(db).await?;
    let size: i64 = sql::query_scalar("PRAGMA page_size").fetch_one(db).await?;
    Ok(pages * size)
}

/// Reads a metadata value.
pub async fn meta_get(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    sql::query_scalar("SELECT value FROM meta WHERE key = ?")
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
    sql::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(db)
        .await?;
    Ok(())
}

/// A column list with every column qualified by a table alias (`qualified("s", "id, kind")`
/// is `s.id, s.kind`), for joins of tables that share column names.
pub(crate) fn qualified(alias: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Did this error come from a UNIQUE constraint?
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// Fixtures shared by the store tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::Db;

    /// The moment the fixtures are loaded at.
    pub(crate) const NOW: i64 = 1_700_000_000;
    /// The demo scenario's `demo` account.
    pub(crate) const DEMO: i64 = 38642;
    /// The demo scenario's `other` account.
    pub(crate) const OTHER: i64 = 41277;

    /// A migrated, empty in-memory database.
    pub(crate) async fn empty() -> Db {
        super::open(":memory:").await.expect("open")
    }

    /// An in-memory database with the demo scenario loaded at [`NOW`].
    pub(crate) async fn demo() -> Db {
        let db = empty().await;
        let demo = crate::domain::scenario::Scenario::resolve("demo").expect("demo");
        super::scenario::load(&demo, &db, &crate::secrets::Hasher::new(64), NOW)
            .await
            .expect("load");
        db
    }

    /// Every value of every row of a table, as text (to check what a table holds, e.g. that
    /// no secret is stored).
    pub(crate) async fn table_text(db: &Db, table: &str) -> String {
        let columns: Vec<String> =
            super::sql::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(db)
                .await
                .expect("columns");
        let row = columns
            .iter()
            .map(|c| format!("quote({c})"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<String> = super::sql::query_scalar(&format!("SELECT {row} FROM {table}"))
            .fetch_all(db)
            .await
            .expect("rows");
        rows.join("\n")
    }

    /// Rows of a table (or any `SELECT COUNT(*)` tail), e.g. `count(&db, "jobs WHERE state = 'done'")`.
    pub(crate) async fn count(db: &Db, from: &str) -> i64 {
        super::sql::query_scalar(&format!("SELECT COUNT(*) FROM {from}"))
            .fetch_one(db)
            .await
            .expect("count")
    }

    /// A pending callback record of a server (jobs hang off one).
    pub(crate) async fn callback(db: &Db, key: &str, server_id: i64, action: &str) {
        let ctx = serde_json::json!({});
        super::callbacks::create(
            db,
            &super::callbacks::NewCallback {
                key,
                module: "eq",
                account_id: None,
                server_id,
                action,
                context: &ctx,
            },
            NOW,
        )
        .await
        .expect("callback");
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{count, demo, DEMO};
    use super::*;

    #[tokio::test]
    async fn a_file_database_commits_as_the_sync_mode_says() {
        let dir = tempfile::tempdir().expect("dir");
        for (mode, level) in [
            (SyncMode::Off, 0),
            (SyncMode::Normal, 1),
            (SyncMode::Full, 2),
        ] {
            let path = dir.path().join(format!("{mode:?}.db"));
            let db = open_with(&path.to_string_lossy(), mode)
                .await
                .expect("open");
            let mut writer = db.acquire_write().await.expect("writer");
            let got: i64 = sql::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **writer)
                .await
                .expect("pragma");
            assert_eq!(got, level, "{mode:?}");
            let mode_name: String = sql::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **writer)
                .await
                .expect("pragma");
            assert_eq!(mode_name, "wal");
        }
    }

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

    #[tokio::test]
    async fn wipe_empties_every_table_and_resets_the_id_counters() {
        let db = demo().await;
        let f = api_keys::KeyFields {
            name: "k".into(),
            server_id: 0,
            ip: String::new(),
            login_notify_method: "none".into(),
            login_notify_address: None,
            active: 1,
        };
        let first = api_keys::insert(&db, None, DEMO, &f, "d1", "d1", 1)
            .await
            .expect("insert");
        assert_eq!(first, 491, "after the scenario's highest key id");
        assert!(count(&db, "sqlite_sequence").await > 0);
        let mut conn = db.acquire().await.expect("conn");
        wipe(&mut conn).await.expect("wipe");
        drop(conn);
        for t in TABLES {
            assert_eq!(count(&db, t).await, 0, "table {t} is empty");
        }
        assert_eq!(count(&db, "sqlite_sequence").await, 0);
        assert!(is_empty(&db).await.expect("empty"));
        // The scenario loads again, and the next key gets the same id as before the wipe.
        let demo = crate::domain::scenario::Scenario::resolve("demo").expect("demo");
        scenario::load(&demo, &db, &crate::secrets::Hasher::new(64), 1)
            .await
            .expect("reload");
        assert!(!is_empty(&db).await.expect("empty"));
        let again = api_keys::insert(&db, None, DEMO, &f, "d1", "d1", 2)
            .await
            .expect("insert");
        assert_eq!(again, first);
    }

    #[tokio::test]
    async fn wipe_knows_every_table() {
        let db = open(":memory:").await.expect("open");
        let tables: Vec<String> = sql::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&db)
        .await
        .expect("tables");
        assert!(tables.len() > 20);
        for t in &tables {
            assert!(TABLES.contains(&t.as_str()), "{t} is missing from TABLES");
        }
        assert_eq!(tables.len(), TABLES.len(), "no stale names in TABLES");
    }

    #[tokio::test]
    async fn a_write_transaction_keeps_nothing_until_it_commits() {
        let db = open(":memory:").await.expect("open");
        let mut tx = begin_write(&db).await.expect("begin");
        meta_set(&mut *tx, "k", "v").await.expect("set");
        tx.rollback().await.expect("rollback");
        assert_eq!(meta_get(&db, "k").await.expect("get"), None);
        let mut tx = begin_write(&db).await.expect("begin");
        meta_set(&mut *tx, "k", "v").await.expect("set");
        tx.commit().await.expect("commit");
        assert_eq!(meta_get(&db, "k").await.expect("get").as_deref(), Some("v"));
    }

    #[test]
    fn qualified_columns_carry_the_alias() {
        assert_eq!(qualified("s", "id, type,\n  kind"), "s.id, s.type, s.kind");
    }

    #[tokio::test]
    async fn unique_violations_are_told_apart_from_other_errors() {
        let db = open(":memory:").await.expect("open");
        let insert = "INSERT INTO meta (key, value) VALUES ('k', 'v')";
        sql::query(insert).execute(&db).await.expect("first");
        let dup = sql::query(insert)
            .execute(&db)
            .await
            .expect_err("duplicate");
        assert!(is_unique_violation(&dup));
        let null = sql::query("INSERT INTO meta (key, value) VALUES ('j', NULL)")
            .execute(&db)
            .await
            .expect_err("not null");
        assert!(!is_unique_violation(&null));
        assert!(!is_unique_violation(&sqlx::Error::RowNotFound));
    }
}
