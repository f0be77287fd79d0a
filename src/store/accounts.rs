//! Accounts: logins, billing profile fields, PIN state.

use sqlx::FromRow;

use super::{sql, Db};

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

pub(super) const COLS: &str = "id, handle, whmcs_id, email, password_hash, firstname, lastname, companyname, country, \
    currency_code, credit_cents, billing_location, corporate, verified, pin_hash, pin_failures, pin_locked_until";

/// The account, read from the pool or inside a transaction.
pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Account>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM accounts WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn by_email(db: &Db, email: &str) -> Result<Option<Account>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM accounts WHERE email = ?"))
        .bind(email.trim())
        .fetch_optional(db)
        .await
}

/// Sets when an account was opened (the scenario loader, once it has seen its servers).
pub async fn set_created_at<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    created_at: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE accounts SET created_at = ? WHERE id = ?")
        .bind(created_at)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Stores a new PIN hash and clears the failure counter.
pub async fn set_pin<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    pin_hash: &str,
) -> Result<(), sqlx::Error> {
    sql::query(
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
    sql::query_scalar(
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
    sql::query("UPDATE accounts SET pin_failures = 0, pin_locked_until = 0 WHERE id = ? AND pin_failures > 0")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends an expired lockout: the counter starts again from zero.
pub async fn pin_unlock(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sql::query("UPDATE accounts SET pin_failures = 0, pin_locked_until = 0 WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, NOW, OTHER};

    async fn pin_state(db: &Db, id: i64) -> (i64, i64) {
        let a = get(db, id).await.expect("get").expect("account");
        (a.pin_failures, a.pin_locked_until)
    }

    #[tokio::test]
    async fn accounts_are_found_by_id_and_by_email_ignoring_case_and_spaces() {
        let db = demo().await;
        let a = get(&db, DEMO).await.expect("get").expect("demo");
        assert_eq!(
            (a.handle.as_str(), a.email.as_str()),
            ("demo", "demo@hostkey-emu.local")
        );
        assert!(a.pin_hash.is_some(), "the scenario gives demo a PIN");
        assert_eq!(pin_state(&db, DEMO).await, (0, 0));
        let mut conn = db.acquire().await.expect("conn");
        let inside = get(&mut *conn, OTHER).await.expect("get").expect("other");
        assert_eq!(inside.handle, "other");
        drop(conn);
        let by = by_email(&db, "  DEMO@HostKey-Emu.local ")
            .await
            .expect("by email")
            .expect("found");
        assert_eq!(by.id, DEMO);
        assert!(get(&db, 1).await.expect("get").is_none());
        assert!(by_email(&db, "nobody@example.com")
            .await
            .expect("by email")
            .is_none());
    }

    #[tokio::test]
    async fn wrong_pins_lock_at_the_maximum_and_a_right_one_or_an_unlock_resets() {
        let db = demo().await;
        let lock = NOW + 900;
        assert_eq!(pin_failed(&db, DEMO, 3, lock).await.expect("fail"), 1);
        assert_eq!(pin_state(&db, DEMO).await, (1, 0));
        assert_eq!(pin_failed(&db, DEMO, 3, lock).await.expect("fail"), 2);
        assert_eq!(
            pin_state(&db, DEMO).await,
            (2, 0),
            "not locked below the maximum"
        );
        assert_eq!(pin_failed(&db, DEMO, 3, lock).await.expect("fail"), 3);
        assert_eq!(
            pin_state(&db, DEMO).await,
            (3, lock),
            "locked at the maximum"
        );
        assert_eq!(pin_failed(&db, DEMO, 3, lock + 60).await.expect("fail"), 4);
        assert_eq!(
            pin_state(&db, DEMO).await,
            (4, lock + 60),
            "past it the lock moves on"
        );
        assert_eq!(
            pin_state(&db, OTHER).await,
            (0, 0),
            "other accounts are untouched"
        );
        pin_succeeded(&db, DEMO).await.expect("ok");
        assert_eq!(pin_state(&db, DEMO).await, (0, 0));

        pin_failed(&db, DEMO, 1, lock).await.expect("fail");
        assert_eq!(pin_state(&db, DEMO).await, (1, lock));
        pin_unlock(&db, DEMO).await.expect("unlock");
        assert_eq!(pin_state(&db, DEMO).await, (0, 0));
        assert!(
            pin_failed(&db, 1, 3, lock).await.is_err(),
            "no such account: no row to count on"
        );
    }

    #[tokio::test]
    async fn a_new_pin_replaces_the_hash_and_clears_the_failures() {
        let db = demo().await;
        pin_failed(&db, DEMO, 2, NOW + 900).await.expect("fail");
        pin_failed(&db, DEMO, 2, NOW + 900).await.expect("fail");
        assert_eq!(pin_state(&db, DEMO).await, (2, NOW + 900));
        set_pin(&db, DEMO, "$argon2id$new").await.expect("set");
        let a = get(&db, DEMO).await.expect("get").expect("demo");
        assert_eq!(a.pin_hash.as_deref(), Some("$argon2id$new"));
        assert_eq!((a.pin_failures, a.pin_locked_until), (0, 0));
        let o = get(&db, OTHER).await.expect("get").expect("other");
        assert_ne!(o.pin_hash.as_deref(), Some("$argon2id$new"));
    }

    #[tokio::test]
    async fn a_new_pin_is_kept_only_when_its_transaction_commits() {
        let db = demo().await;
        let before = get(&db, DEMO).await.expect("get").expect("demo").pin_hash;
        let mut tx = crate::store::begin_write(&db).await.expect("begin");
        set_pin(&mut *tx, DEMO, "$argon2id$rolled-back")
            .await
            .expect("set");
        let inside = get(&mut *tx, DEMO).await.expect("get").expect("demo");
        assert_eq!(inside.pin_hash.as_deref(), Some("$argon2id$rolled-back"));
        tx.rollback().await.expect("rollback");
        assert_eq!(
            get(&db, DEMO).await.expect("get").expect("demo").pin_hash,
            before
        );
    }
}
