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

/// Counts a PIN attempt before it is verified, atomically, so that parallel guesses cannot
/// slip past the lockout: each attempt takes one of the `max` tries; the one that reaches
/// `max` locks PIN checks until `lock_until`. An expired lockout starts a new run. Returns
/// the attempts counted in this run, or `None` while the account is locked (or gone).
pub async fn pin_attempt(
    db: &Db,
    id: i64,
    max: i64,
    lock_until: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE accounts SET \
           pin_failures = CASE WHEN pin_locked_until <> 0 THEN 1 ELSE pin_failures + 1 END, \
           pin_locked_until = CASE \
             WHEN (CASE WHEN pin_locked_until <> 0 THEN 1 ELSE pin_failures + 1 END) >= ? THEN ? \
             ELSE 0 END \
         WHERE id = ? AND pin_locked_until <= ? RETURNING pin_failures",
    )
    .bind(max)
    .bind(lock_until)
    .bind(id)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// A right PIN ends the run of failures.
pub async fn pin_succeeded(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET pin_failures = 0, pin_locked_until = 0 WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
