//! Invoices and the account's credit balance.

use sqlx::{FromRow, SqliteConnection};

use super::Db;

/// An invoice.
#[derive(Debug, Clone, FromRow)]
pub struct Invoice {
    pub id: i64,
    pub account_id: i64,
    pub status: String,
    pub total_cents: i64,
    pub credit_cents: i64,
    pub created_at: i64,
    pub due_at: i64,
    pub paid_at: Option<i64>,
}

const COLS: &str = "id, account_id, status, total_cents, credit_cents, created_at, due_at, paid_at";

/// Creates an invoice with its items; pays it from the credit balance when that covers it.
/// Returns the invoice id and whether it is paid.
pub async fn create(
    conn: &mut SqliteConnection,
    account_id: i64,
    items: &[(String, i64, String, i64)],
    now: i64,
) -> Result<(i64, bool), sqlx::Error> {
    let total: i64 = items.iter().map(|i| i.3).sum();
    let credit: i64 = sqlx::query_scalar("SELECT credit_cents FROM accounts WHERE id = ?")
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?;
    let paid = credit >= total;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO invoices (id, account_id, status, total_cents, credit_cents, created_at, due_at, paid_at) \
         VALUES ((SELECT COALESCE(MAX(id), 24015) + 1 FROM invoices), ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(account_id)
    .bind(if paid { "Paid" } else { "Unpaid" })
    .bind(total)
    .bind(if paid { total } else { 0 })
    .bind(now)
    .bind(now + 7 * 86_400)
    .bind(paid.then_some(now))
    .fetch_one(&mut *conn)
    .await?;
    for (kind, relid, description, amount) in items {
        sqlx::query("INSERT INTO invoice_items (invoice_id, type, relid, description, amount_cents) VALUES (?, ?, ?, ?, ?)")
            .bind(id)
            .bind(kind)
            .bind(relid)
            .bind(description)
            .bind(amount)
            .execute(&mut *conn)
            .await?;
    }
    if paid {
        sqlx::query("UPDATE accounts SET credit_cents = credit_cents - ? WHERE id = ?")
            .bind(total)
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok((id, paid))
}

pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM invoices WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Marks an unpaid invoice paid (by an outside payment); false when it was not unpaid.
pub async fn mark_paid(db: &Db, id: i64, now: i64, method: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE invoices SET status = 'Paid', paid_at = ?, payment_method = ? WHERE id = ? AND status = 'Unpaid'")
        .bind(now)
        .bind(method)
        .bind(id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The credit balance of an account, in cents.
pub async fn credit(db: &Db, account_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT credit_cents FROM accounts WHERE id = ?")
        .bind(account_id)
        .fetch_one(db)
        .await
}
