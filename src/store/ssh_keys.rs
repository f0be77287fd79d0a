//! SSH public keys of accounts (`ssh_keys.php`).

use sqlx::FromRow;

use super::{sql, Db};

/// A stored key.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct SshKey {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub key: String,
    pub fingerprint: String,
    pub is_default: i64,
    pub created_at: i64,
}

const COLS: &str = "id, account_id, name, key, fingerprint, is_default, created_at";

/// An account's keys, oldest first.
pub async fn list(db: &Db, account_id: i64) -> Result<Vec<SshKey>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM ssh_keys WHERE account_id = ? ORDER BY id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// An account's key by id, or else by name (`reference` may be either), from the pool or
/// inside a transaction. An id wins over a name that looks like one.
pub async fn find<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    reference: &str,
) -> Result<Option<SshKey>, sqlx::Error> {
    let id = reference.parse::<i64>().unwrap_or(-1);
    sql::query_as(&format!(
        "SELECT {COLS} FROM ssh_keys WHERE account_id = ? AND (id = ? OR name = ?)
         ORDER BY id = ? DESC LIMIT 1"
    ))
    .bind(account_id)
    .bind(id)
    .bind(reference)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The account's key with this name or this fingerprint, if any (the duplicate check).
pub async fn clash<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    name: &str,
    fingerprint: &str,
) -> Result<Option<SshKey>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM ssh_keys WHERE account_id = ? AND (name = ? OR fingerprint = ?)
         ORDER BY id LIMIT 1"
    ))
    .bind(account_id)
    .bind(name)
    .bind(fingerprint)
    .fetch_optional(db)
    .await
}

/// Clears the account's default key (before another becomes the default).
pub async fn clear_default<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE ssh_keys SET is_default = 0 WHERE account_id = ? AND is_default = 1")
        .bind(account_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Stores a new key; returns its id.
pub async fn insert<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    k: &SshKey,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO ssh_keys (account_id, name, key, fingerprint, is_default, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(k.account_id)
    .bind(&k.name)
    .bind(&k.key)
    .bind(&k.fingerprint)
    .bind(k.is_default)
    .bind(k.created_at)
    .fetch_one(db)
    .await
}

/// Deletes an account's key by id; returns it as it was.
pub async fn delete<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    id: i64,
) -> Result<Option<SshKey>, sqlx::Error> {
    sql::query_as(&format!(
        "DELETE FROM ssh_keys WHERE account_id = ? AND id = ? RETURNING {COLS}"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(db)
    .await
}
