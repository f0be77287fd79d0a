//! The F2HCloud face's tables: scoped keys, anti-hack bans and US unblock requests; and
//! servers found by hostname (their `hostname` tag).

use sqlx::FromRow;

use super::{sql, Db};

/// A stored scoped key (the secret only as its digest).
#[derive(Debug, Clone, FromRow)]
pub struct F2hKey {
    pub id: String,
    pub account_id: i64,
    pub secret_digest: String,
    pub label: String,
    /// JSON array of server ids.
    pub server_ids: String,
    /// JSON array of networks.
    pub cidrs: String,
    /// JSON array of capability names.
    pub capabilities: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLS: &str = "id, account_id, secret_digest, label, server_ids, cidrs, capabilities, \
    created_at, last_used_at, revoked_at";

/// A key by its public id.
pub async fn key(db: &Db, id: &str) -> Result<Option<F2hKey>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM f2h_keys WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Every key, newest first (the dashboard's list; the digests stay here).
pub async fn keys(db: &Db) -> Result<Vec<F2hKey>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM f2h_keys ORDER BY created_at DESC, id"
    ))
    .fetch_all(db)
    .await
}

/// Stores a new key.
pub async fn insert_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    k: &F2hKey,
) -> Result<(), sqlx::Error> {
    sql::query(&format!(
        "INSERT INTO f2h_keys ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&k.id)
    .bind(k.account_id)
    .bind(&k.secret_digest)
    .bind(&k.label)
    .bind(&k.server_ids)
    .bind(&k.cidrs)
    .bind(&k.capabilities)
    .bind(k.created_at)
    .bind(k.last_used_at)
    .bind(k.revoked_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Revokes a key that is not revoked yet; whether there was one.
pub async fn revoke_key(db: &Db, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sql::query("UPDATE f2h_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes that the key was used now.
pub async fn touch_key(db: &Db, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sql::query("UPDATE f2h_keys SET last_used_at = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// The account's server named `hostname` (its `hostname` tag), if any.
pub async fn server_by_hostname<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    hostname: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sql::query_scalar(
        "SELECT s.id FROM servers s JOIN tags t ON t.component = 'eq' AND t.component_id = s.id \
         AND t.tag = 'hostname' WHERE s.account_id = ? AND t.value = ? ORDER BY s.id LIMIT 1",
    )
    .bind(account_id)
    .bind(hostname)
    .fetch_optional(db)
    .await
}

/// The hostname of each of these servers (those without one are left out), by id.
pub async fn hostnames(db: &Db, ids: &[i64]) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    sql::query_as(
        "SELECT component_id, value FROM tags WHERE component = 'eq' AND tag = 'hostname' \
         AND component_id IN (SELECT value FROM json_each(?)) ORDER BY component_id",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// An anti-hack ban.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Ban {
    pub id: i64,
    pub server_id: i64,
    pub address: String,
    pub jail: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The server's bans in force at `now`, oldest first.
pub async fn bans(db: &Db, server_id: i64, now: i64) -> Result<Vec<Ban>, sqlx::Error> {
    sql::query_as(
        "SELECT id, server_id, address, jail, created_at, expires_at FROM f2h_bans \
         WHERE server_id = ? AND expires_at > ? AND lifted_at IS NULL ORDER BY created_at, id",
    )
    .bind(server_id)
    .bind(now)
    .fetch_all(db)
    .await
}

/// Adds a ban.
pub async fn insert_ban<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    address: &str,
    jail: &str,
    created_at: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO f2h_bans (server_id, address, jail, created_at, expires_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT DO NOTHING",
    )
    .bind(server_id)
    .bind(address)
    .bind(jail)
    .bind(created_at)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Lifts the server's bans of `address` in force at `now` (in `jail` only, when given);
/// how many there were.
pub async fn lift_bans<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    address: &str,
    jail: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let r = sql::query(
        "UPDATE f2h_bans SET lifted_at = ? WHERE server_id = ? AND address = ? \
         AND (? IS NULL OR jail = ?) AND lifted_at IS NULL AND expires_at > ?",
    )
    .bind(now)
    .bind(server_id)
    .bind(address)
    .bind(jail)
    .bind(jail)
    .bind(now)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// US unblock requests for `address` since `since`.
pub async fn unblocks_since<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    address: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar("SELECT COUNT(*) FROM f2h_unblocks WHERE address = ? AND created_at >= ?")
        .bind(address)
        .bind(since)
        .fetch_one(db)
        .await
}

/// Records a US unblock request and its outcome.
pub async fn insert_unblock<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    address: &str,
    reason: &str,
    outcome: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO f2h_unblocks (server_id, address, reason, outcome, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(server_id)
    .bind(address)
    .bind(reason)
    .bind(outcome)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// The blocks in force at `now` on the server's addresses (the customer's and the abuse
/// team's), by address.
pub async fn server_blocks<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    now: i64,
) -> Result<Vec<super::network::Block>, sqlx::Error> {
    sql::query_as(
        "SELECT b.address, b.server_id, b.kind, b.description, b.created_at, b.expires_at \
         FROM ip_blocks b JOIN ips i ON i.address = b.address \
         WHERE i.server_id = ? AND (b.expires_at IS NULL OR b.expires_at > ?) ORDER BY b.address",
    )
    .bind(server_id)
    .bind(now)
    .fetch_all(db)
    .await
}

/// The server's addresses (IPMI aside).
pub async fn server_addresses<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sql::query_scalar("SELECT address FROM ips WHERE server_id = ? AND port <> 'ipmi' ORDER BY id")
        .bind(server_id)
        .fetch_all(db)
        .await
}

/// Whether this ban was ever made (lifted or not).
pub async fn ban_made(
    db: &Db,
    server_id: i64,
    address: &str,
    jail: &str,
    created_at: i64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sql::query_scalar(
        "SELECT COUNT(*) FROM f2h_bans WHERE server_id = ? AND address = ? AND jail = ? AND created_at = ?",
    )
    .bind(server_id)
    .bind(address)
    .bind(jail)
    .bind(created_at)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}
