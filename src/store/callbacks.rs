//! Async records (callback keys) as the pollers show them.

use sqlx::FromRow;

use super::Db;

/// One async record.
#[derive(Debug, Clone, FromRow)]
pub struct Callback {
    pub key: String,
    pub module: String,
    pub account_id: Option<i64>,
    pub server_id: i64,
    pub action: String,
    pub state: String,
    pub scope: Option<String>,
    pub context: String,
    pub debug: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub first_read_at: Option<i64>,
}

const COLS: &str =
    "key, module, account_id, server_id, action, state, scope, context, debug, created_at, updated_at, first_read_at";

/// What a new record starts as.
#[derive(Debug, Clone)]
pub struct NewCallback<'a> {
    pub key: &'a str,
    pub module: &'a str,
    pub account_id: Option<i64>,
    pub server_id: i64,
    pub action: &'a str,
    pub context: &'a serde_json::Value,
}

/// Creates a pending record.
pub async fn create<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    c: &NewCallback<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO callbacks (key, module, account_id, server_id, action, state, context, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
    )
    .bind(c.key)
    .bind(c.module)
    .bind(c.account_id)
    .bind(c.server_id)
    .bind(c.action)
    .bind(c.context.to_string())
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Creates a record that is already final (e.g. a PIN check answered on the spot).
pub async fn create_final<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    c: &NewCallback<'_>,
    ok: bool,
    scope: &str,
    debug: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO callbacks (key, module, account_id, server_id, action, state, scope, context, debug, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(c.key)
    .bind(c.module)
    .bind(c.account_id)
    .bind(c.server_id)
    .bind(c.action)
    .bind(if ok { "ok" } else { "fail" })
    .bind(scope)
    .bind(c.context.to_string())
    .bind(debug)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, key: &str) -> Result<Option<Callback>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM callbacks WHERE key = ?"))
        .bind(key)
        .fetch_optional(db)
        .await
}

/// A record, read inside a transaction.
pub async fn get_in<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    key: &str,
) -> Result<Option<Callback>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM callbacks WHERE key = ?"))
        .bind(key)
        .fetch_optional(db)
        .await
}

/// Final outcome of a record.
pub async fn finish<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    key: &str,
    ok: bool,
    scope: &str,
    context: &serde_json::Value,
    debug: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE callbacks SET state = ?, scope = ?, context = ?, debug = ?, updated_at = ? WHERE key = ?")
        .bind(if ok { "ok" } else { "fail" })
        .bind(scope)
        .bind(context.to_string())
        .bind(debug)
        .bind(now)
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// An intermediate stage of staged work (reinstall, deploy).
pub async fn stage<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    key: &str,
    scope: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE callbacks SET state = 'stage', scope = ?, updated_at = ? WHERE key = ?")
        .bind(scope)
        .bind(now)
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Starts the retention period at the first read of a final record.
pub async fn mark_read(db: &Db, key: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE callbacks SET first_read_at = ? WHERE key = ? AND first_read_at IS NULL AND state IN ('ok','fail')",
    )
    .bind(now)
    .bind(key)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes records whose retention after the first read has passed.
pub async fn purge_expired(db: &Db, now: i64, retention: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM callbacks WHERE first_read_at IS NOT NULL AND first_read_at + ? <= ?",
    )
    .bind(retention)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected())
}

/// Is a job for this server and action still unfinished (e.g. a reinstall in progress)?
pub async fn pending_for_server(
    db: &Db,
    server_id: i64,
    actions: &[&str],
) -> Result<Option<String>, sqlx::Error> {
    let list = actions.iter().map(|_| "?").collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT key FROM callbacks WHERE server_id = ? AND state IN ('pending','stage') AND action IN ({list}) LIMIT 1"
    );
    let mut q = sqlx::query_scalar(&sql).bind(server_id);
    for a in actions {
        q = q.bind(*a);
    }
    q.fetch_optional(db).await
}
