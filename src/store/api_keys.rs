//! API keys and their history.

use serde::Serialize;
use sqlx::FromRow;

use super::Db;

/// An API key as api_keys.php shows it (never the key itself).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub active: i64,
    pub ip: String,
    pub server_id: i64,
    pub token_view: String,
    pub login_notify_method: String,
    pub login_notify_address: Option<String>,
    #[serde(skip)]
    pub account_id: i64,
}

const COLS: &str =
    "id, name, active, ip, server_id, token_view, login_notify_method, login_notify_address, account_id";

/// The fields a create or edit writes.
#[derive(Debug, Clone)]
pub struct KeyFields {
    pub name: String,
    pub server_id: i64,
    pub ip: String,
    pub login_notify_method: String,
    pub login_notify_address: Option<String>,
    pub active: i64,
}

pub async fn by_digest(db: &Db, digest: &str) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM api_keys WHERE key_digest = ?"))
        .bind(digest)
        .fetch_optional(db)
        .await
}

pub async fn get(db: &Db, account_id: i64, id: i64) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM api_keys WHERE account_id = ? AND id = ?"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Keys of an account; `server_id` narrows to one server's keys.
pub async fn list(
    db: &Db,
    account_id: i64,
    server_id: Option<i64>,
) -> Result<Vec<ApiKey>, sqlx::Error> {
    match server_id {
        Some(s) => {
            sqlx::query_as(&format!(
                "SELECT {COLS} FROM api_keys WHERE account_id = ? AND server_id = ? ORDER BY id"
            ))
            .bind(account_id)
            .bind(s)
            .fetch_all(db)
            .await
        }
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLS} FROM api_keys WHERE account_id = ? ORDER BY id"
            ))
            .bind(account_id)
            .fetch_all(db)
            .await
        }
    }
}

/// Creates a key (with a fixed id when loading a scenario); returns its id.
pub async fn insert<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: Option<i64>,
    account_id: i64,
    f: &KeyFields,
    key_digest: &str,
    token_view: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO api_keys (id, account_id, server_id, name, key_digest, token_view, ip, \
         login_notify_method, login_notify_address, active, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(id)
    .bind(account_id)
    .bind(f.server_id)
    .bind(&f.name)
    .bind(key_digest)
    .bind(token_view)
    .bind(&f.ip)
    .bind(&f.login_notify_method)
    .bind(&f.login_notify_address)
    .bind(f.active)
    .bind(now)
    .fetch_one(db)
    .await
}

pub async fn update<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    f: &KeyFields,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_keys SET name = ?, ip = ?, login_notify_method = ?, login_notify_address = ?, active = ? \
         WHERE id = ?",
    )
    .bind(&f.name)
    .bind(&f.ip)
    .bind(&f.login_notify_method)
    .bind(&f.login_notify_address)
    .bind(f.active)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete<'e, E: sqlx::SqliteExecutor<'e>>(db: E, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM api_keys WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    // Sessions opened with a deleted key end with it.
    Ok(())
}

/// One api_keys/history record.
#[derive(Debug, Clone, FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub created_at: i64,
    pub message: String,
    pub r#type: String,
    pub login: String,
}

pub async fn add_history<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    api_key_id: i64,
    account_id: i64,
    now: i64,
    message: &str,
    kind: &str,
    login: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_key_history (api_key_id, account_id, created_at, message, type, login) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(api_key_id)
    .bind(account_id)
    .bind(now)
    .bind(message)
    .bind(kind)
    .bind(login)
    .execute(db)
    .await?;
    Ok(())
}

/// History of one key, newest first, within `[from, to)` (Unix seconds).
pub async fn history(
    db: &Db,
    account_id: i64,
    api_key_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, created_at, message, type, login FROM api_key_history \
         WHERE account_id = ? AND api_key_id = ? AND created_at >= ? AND created_at < ? \
         ORDER BY created_at DESC, id DESC",
    )
    .bind(account_id)
    .bind(api_key_id)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// Has this account ever had a key with this id (for history of deleted keys)?
pub async fn had_key(db: &Db, account_id: i64, api_key_id: i64) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_key_history WHERE account_id = ? AND api_key_id = ?",
    )
    .bind(account_id)
    .bind(api_key_id)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}
