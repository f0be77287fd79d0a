//! The e-mail outbox: notices the emulator would have sent.

use super::Db;

/// Queues a message (inside the caller's transaction when given one).
pub async fn push<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: Option<i64>,
    to: &str,
    subject: &str,
    body: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO outbox (account_id, to_address, subject, body, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(account_id)
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// One outbox message.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Mail {
    pub id: i64,
    pub account_id: Option<i64>,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
}

/// Newest messages first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<Mail>, sqlx::Error> {
    sqlx::query_as("SELECT id, account_id, to_address, subject, body, created_at FROM outbox ORDER BY id DESC LIMIT ?")
        .bind(limit)
        .fetch_all(db)
        .await
}
