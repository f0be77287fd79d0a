//! Invoices and the account's credit balance.

use sqlx::{FromRow, SqliteConnection};

use super::{sql, Db};

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
    let credit: i64 = sql::query_scalar("SELECT credit_cents FROM accounts WHERE id = ?")
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?;
    let paid = credit >= total;
    let id: i64 = sql::query_scalar(
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
        sql::query("INSERT INTO invoice_items (invoice_id, type, relid, description, amount_cents) VALUES (?, ?, ?, ?, ?)")
            .bind(id)
            .bind(kind)
            .bind(relid)
            .bind(description)
            .bind(amount)
            .execute(&mut *conn)
            .await?;
    }
    if paid {
        sql::query("UPDATE accounts SET credit_cents = credit_cents - ? WHERE id = ?")
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
    sql::query_as(&format!("SELECT {COLS} FROM invoices WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Marks an unpaid invoice paid (by an outside payment); false when it was not unpaid.
pub async fn mark_paid<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    now: i64,
    method: &str,
) -> Result<bool, sqlx::Error> {
    let r = sql::query("UPDATE invoices SET status = 'Paid', paid_at = ?, payment_method = ? WHERE id = ? AND status = 'Unpaid'")
        .bind(now)
        .bind(method)
        .bind(id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The credit balance of an account, in cents.
pub async fn credit(db: &Db, account_id: i64) -> Result<i64, sqlx::Error> {
    sql::query_scalar("SELECT credit_cents FROM accounts WHERE id = ?")
        .bind(account_id)
        .fetch_one(db)
        .await
}

/// An account's balance as the control plane shows it.
#[derive(Debug, Clone, FromRow)]
pub struct Balance {
    pub id: i64,
    pub handle: String,
    pub email: String,
    pub currency_code: String,
    pub credit_cents: i64,
}

/// The balance of an account, by id or by its scenario handle ("demo").
pub async fn balance(db: &Db, id_or_handle: &str) -> Result<Option<Balance>, sqlx::Error> {
    sql::query_as(
        "SELECT id, handle, email, currency_code, credit_cents FROM accounts \
         WHERE CAST(id AS TEXT) = ? OR handle = ?",
    )
    .bind(id_or_handle)
    .bind(id_or_handle)
    .fetch_optional(db)
    .await
}

/// An account's invoices, newest first.
pub async fn invoices_of(db: &Db, account_id: i64) -> Result<Vec<Invoice>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM invoices WHERE account_id = ? ORDER BY id DESC"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// A line of an invoice.
#[derive(Debug, Clone, FromRow)]
pub struct Item {
    pub r#type: String,
    pub relid: i64,
    pub description: String,
    pub amount_cents: i64,
}

pub async fn items_of(db: &Db, invoice_id: i64) -> Result<Vec<Item>, sqlx::Error> {
    sql::query_as(
        "SELECT type, relid, description, amount_cents FROM invoice_items WHERE invoice_id = ? ORDER BY id",
    )
    .bind(invoice_id)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db_with_account(credit_cents: i64) -> Db {
        let db = crate::store::open(":memory:").await.expect("open");
        sql::query(
            "INSERT INTO accounts (id, handle, whmcs_id, email, password_hash, firstname, lastname, credit_cents, created_at) \
             VALUES (7, 'acme', 70, 'a@example.com', 'x', 'A', 'B', ?, 0)",
        )
        .bind(credit_cents)
        .execute(&db)
        .await
        .expect("account");
        db
    }

    #[tokio::test]
    async fn an_invoice_is_paid_from_credit_only_when_the_credit_covers_it() {
        let db = db_with_account(1_000).await;
        let mut conn = db.acquire().await.expect("conn");
        let items = vec![("Hosting".to_owned(), 1, "VM".to_owned(), 600)];
        let (first, paid) = create(&mut conn, 7, &items, 10).await.expect("create");
        assert!(paid);
        let (second, paid) = create(&mut conn, 7, &items, 11).await.expect("create");
        assert!(!paid, "400 left does not cover 600");
        drop(conn);
        assert_eq!(credit(&db, 7).await.expect("credit"), 400);
        let b = balance(&db, "acme").await.expect("balance").expect("found");
        assert_eq!((b.id, b.credit_cents), (7, 400));
        assert!(balance(&db, "7").await.expect("balance").is_some());
        let list = invoices_of(&db, 7).await.expect("list");
        assert_eq!(
            list.iter().map(|i| i.id).collect::<Vec<_>>(),
            vec![second, first]
        );
        assert_eq!(list[0].status, "Unpaid");
        assert_eq!(
            items_of(&db, first).await.expect("items")[0].amount_cents,
            600
        );
        assert!(mark_paid(&db, second, 12, "banktransfer")
            .await
            .expect("pay"));
        assert!(!mark_paid(&db, second, 13, "banktransfer")
            .await
            .expect("pay"));
        assert_eq!(
            credit(&db, 7).await.expect("credit"),
            400,
            "an outside payment leaves the credit"
        );
    }

    #[tokio::test]
    async fn invoices_are_numbered_after_24015_and_read_back_whole() {
        let db = db_with_account(100).await;
        let mut conn = db.acquire().await.expect("conn");
        let items = vec![
            ("Hosting".to_owned(), 40101, "VM".to_owned(), 150),
            ("Addon".to_owned(), 40101, "IPv4".to_owned(), 50),
        ];
        let (id, paid) = create(&mut conn, 7, &items, 1_000).await.expect("create");
        assert_eq!((id, paid), (24016, false));
        let inv = get(&mut *conn, id).await.expect("get").expect("invoice");
        drop(conn);
        assert_eq!(
            (inv.account_id, inv.status.as_str(), inv.total_cents),
            (7, "Unpaid", 200)
        );
        assert_eq!(
            (inv.credit_cents, inv.created_at, inv.due_at, inv.paid_at),
            (0, 1_000, 1_000 + 7 * 86_400, None)
        );
        assert_eq!(
            credit(&db, 7).await.expect("credit"),
            100,
            "an unpaid invoice takes no credit"
        );
        let lines: Vec<(String, i64, i64)> = items_of(&db, id)
            .await
            .expect("items")
            .into_iter()
            .map(|i| (i.description, i.relid, i.amount_cents))
            .collect();
        assert_eq!(
            lines,
            vec![("VM".into(), 40101, 150), ("IPv4".into(), 40101, 50)]
        );
        assert!(mark_paid(&db, id, 2_000, "paypal").await.expect("pay"));
        let inv = get(&db, id).await.expect("get").expect("invoice");
        assert_eq!((inv.status.as_str(), inv.paid_at), ("Paid", Some(2_000)));
        assert!(get(&db, id + 1).await.expect("get").is_none());
        assert!(balance(&db, "nobody").await.expect("balance").is_none());
        assert!(invoices_of(&db, 8).await.expect("list").is_empty());
    }
}
