//! Accounts: logins, billing profile fields, PIN state.

use sqlx::FromRow;

use super::Db;

/// One customer account.
#[derive(Debug, Clone, FromRow)]
pub struct Account {
    pub id: i64,
    pub handle: String,
    pub whmcs_id: i64,
    pub email: String,
    pub password_hash: String,
    pub firstname: String,
    pub lastname: String,
    pub companyname: String,
    pub country: String,
    pub currency_code: String,
    pub credit_cents: i64,
    pub billing_location: String,
    pub corporate: i64,
    pub verified: Option<i64>,
    pub pin_hash: Option<String>,
    pub pin_failures: i64,
    pub pin_locked_until: i64,
}

const COLS: &str = "id, handle, whmcs_id, email, password_hash, firstname, lastname, companyname, country, \
    currency_code, credit_cents, billing_location, corporate, verified, pin_hash, pin_failures, pin_locked_until";

pub async fn get(db: &Db, id: i64) -> Result<Option<Account>, sqlx::Error> {
    get_in(db, id).await
}

/// The account, read inside a transaction (or from the pool).
pub async fn get_in<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM accounts WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn by_email(db: &Db, email: &str) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM accounts WHERE email = ?"))
        .bind(email.trim())
        .fetch_optional(db)
        .await
}

/// Stores a new PIN hash and clears the failure counter.
pub async fn set_pin(db: &Db, id: i64, pin_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET pin_hash = ?, pin_failures = 0, pin_locked_until = 0 WHERE id = ?",
    )
    .bind(pin_hash)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Records a wrong PIN; locks the PIN checks once `max` failures in a row are reached.
/// Returns the failures counted so far.
pub async fn pin_failed(db: &Db, id: i64, max: i64, lock_until: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE accounts SET pin_failures = pin_failures + 1, \
         pin_locked_until = CASE WHEN pin_failures + 1 >= ? THEN ? ELSE pin_locked_until END \
         WHERE id = ? RETURNING pin_failures",
    )
    .bind(max)
    .bind(lock_until)
    .bind(id)
    .fetch_one(db)
    .await
}

/// A right PIN ends the run of failures.
pub async fn pin_succeeded(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET pin_failures = 0, pin_locked_until = 0 WHERE id = ? AND pin_failures > 0")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends an expired lockout: the counter starts again from zero.
pub async fn pin_unlock(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET pin_failures = 0, pin_locked_until = 0 WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
