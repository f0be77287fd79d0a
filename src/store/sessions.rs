//! Session tokens and failed-login counters.

use sqlx::FromRow;

use super::Db;

/// A live session.
#[derive(Debug, Clone, FromRow)]
pub struct Session {
    pub token_digest: String,
    pub salt: String,
    pub account_id: i64,
    pub api_key_id: Option<i64>,
    pub server_id: i64,
    pub kind: String,
    pub bound_ip: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

const COLS: &str =
    "token_digest, salt, account_id, api_key_id, server_id, kind, bound_ip, created_at, expires_at";

pub async fn by_digest(db: &Db, digest: &str) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM sessions WHERE token_digest = ?"
    ))
    .bind(digest)
    .fetch_optional(db)
    .await
}

/// Live sessions opened with the same credential and the same IP binding.
pub async fn reusable(
    db: &Db,
    account_id: i64,
    api_key_id: Option<i64>,
    kind: &str,
    bound_ip: Option<&str>,
    now: i64,
) -> Result<Vec<Session>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM sessions WHERE account_id = ? AND api_key_id IS ? AND kind = ? \
         AND bound_ip IS ? AND expires_at > ? ORDER BY created_at DESC LIMIT 8"
    ))
    .bind(account_id)
    .bind(api_key_id)
    .bind(kind)
    .bind(bound_ip)
    .bind(now)
    .fetch_all(db)
    .await
}

pub async fn insert(db: &Db, s: &Session) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO sessions ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&s.token_digest)
    .bind(&s.salt)
    .bind(s.account_id)
    .bind(s.api_key_id)
    .bind(s.server_id)
    .bind(&s.kind)
    .bind(&s.bound_ip)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete(db: &Db, digest: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM sessions WHERE token_digest = ?")
        .bind(digest)
        .execute(db)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Ends every session opened with a key (the key was deleted or deactivated).
pub async fn delete_for_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    api_key_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE api_key_id = ?")
        .bind(api_key_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Drops expired sessions (housekeeping).
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(now)
        .execute(db)
        .await?
        .rows_affected())
}

/// Failures so far for a login subject (0 after a quiet hour).
pub async fn failures(db: &Db, subject: &str, now: i64) -> Result<i64, sqlx::Error> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT failures, last_failed_at FROM login_failures WHERE subject = ?")
            .bind(subject)
            .fetch_optional(db)
            .await?;
    Ok(match row {
        Some((n, at)) if now - at < 3600 => n,
        _ => 0,
    })
}

/// A subject's run of failures and when the last one was, if it has one.
pub async fn failure_run(db: &Db, subject: &str) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT failures, last_failed_at FROM login_failures WHERE subject = ?")
        .bind(subject)
        .fetch_optional(db)
        .await
}

pub async fn record_failure(db: &Db, subject: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_failures (subject, failures, last_failed_at) VALUES (?, 1, ?) \
         ON CONFLICT(subject) DO UPDATE SET \
         failures = CASE WHEN ? - last_failed_at < 3600 THEN failures + 1 ELSE 1 END, last_failed_at = ?",
    )
    .bind(subject)
    .bind(now)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn clear_failures(db: &Db, subject: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE subject = ?")
        .bind(subject)
        .execute(db)
        .await?;
    Ok(())
}
