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
    pub kind: String,
    pub paid_cents: i64,
    pub updated_at: i64,
    pub cancelled_at: Option<i64>,
    pub refunded_at: Option<i64>,
    pub server_id: i64,
    pub period_due: i64,
    pub payment_method: String,
    pub notes: String,
    pub notices: i64,
}

impl Invoice {
    /// What is left to pay: total - credit applied - gateway payments.
    pub fn balance(&self) -> i64 {
        self.total_cents - self.credit_cents - self.paid_cents
    }
}

const COLS: &str = "id, account_id, status, total_cents, credit_cents, created_at, due_at, paid_at, kind, \
    paid_cents, updated_at, cancelled_at, refunded_at, server_id, period_due, payment_method, notes, notices";

/// A new invoice: what it is for, its lines (type, relid, description, cents), when it is
/// due, and whether the credit pays it at once when it covers the total.
#[derive(Debug, Clone)]
pub struct NewInvoice<'a> {
    pub account_id: i64,
    pub kind: &'a str,
    pub server_id: i64,
    pub period_due: i64,
    pub items: &'a [(String, i64, String, i64)],
    pub created_at: i64,
    pub due_at: i64,
    pub autopay: bool,
}

/// Creates an invoice with its items; pays it from the credit balance when that covers it.
/// Returns the invoice id and whether it is paid.
pub async fn create(
    conn: &mut SqliteConnection,
    account_id: i64,
    items: &[(String, i64, String, i64)],
    now: i64,
) -> Result<(i64, bool), sqlx::Error> {
    let new = NewInvoice {
        account_id,
        kind: "order",
        server_id: 0,
        period_due: 0,
        items,
        created_at: now,
        due_at: now + 7 * 86_400,
        autopay: true,
    };
    create_invoice(conn, &new).await
}

/// Creates an invoice of any kind (see [`NewInvoice`]); with `autopay`, the credit pays it
/// when it covers the total, and the credit log says so. Returns the id and whether it is
/// paid.
pub async fn create_invoice(
    conn: &mut SqliteConnection,
    new: &NewInvoice<'_>,
) -> Result<(i64, bool), sqlx::Error> {
    let total: i64 = new.items.iter().map(|i| i.3).sum();
    let credit: i64 = sql::query_scalar("SELECT credit_cents FROM accounts WHERE id = ?")
        .bind(new.account_id)
        .fetch_one(&mut *conn)
        .await?;
    let paid = new.autopay && credit >= total;
    let now = new.created_at;
    let id: i64 = sql::query_scalar(
        "INSERT INTO invoices (id, account_id, status, total_cents, credit_cents, created_at, due_at, paid_at, \
         kind, server_id, period_due, updated_at) \
         VALUES ((SELECT COALESCE(MAX(id), 24015) + 1 FROM invoices), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.account_id)
    .bind(if paid { "Paid" } else { "Unpaid" })
    .bind(total)
    .bind(if paid { total } else { 0 })
    .bind(now)
    .bind(new.due_at)
    .bind(paid.then_some(now))
    .bind(new.kind)
    .bind(new.server_id)
    .bind(new.period_due)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    for (kind, relid, description, amount) in new.items {
        sql::query("INSERT INTO invoice_items (invoice_id, type, relid, description, amount_cents) VALUES (?, ?, ?, ?, ?)")
            .bind(id)
            .bind(kind)
            .bind(relid)
            .bind(description)
            .bind(amount)
            .execute(&mut *conn)
            .await?;
    }
    if paid && total > 0 {
        let description = format!("Credit Applied to Invoice #{id}");
        change_credit(&mut *conn, new.account_id, -total, &description, 0, now).await?;
    }
    Ok((id, paid))
}

/// Changes an account's credit by `delta` cents and logs it (whmcs/getcredits). Returns
/// false, changing nothing, when the credit would go below zero.
pub async fn change_credit(
    conn: &mut SqliteConnection,
    account_id: i64,
    delta: i64,
    description: &str,
    relid: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let r = sql::query(
        "UPDATE accounts SET credit_cents = credit_cents + ? WHERE id = ? AND credit_cents + ? >= 0",
    )
    .bind(delta)
    .bind(account_id)
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    sql::query(
        "INSERT INTO credit_log (account_id, created_at, description, amount_cents, relid) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(account_id)
    .bind(now)
    .bind(description)
    .bind(delta)
    .bind(relid)
    .execute(&mut *conn)
    .await?;
    Ok(true)
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
    let r = sql::query(
        "UPDATE invoices SET status = 'Paid', paid_at = ?, updated_at = ?, payment_method = ?, \
         paid_cents = total_cents - credit_cents WHERE id = ? AND status = 'Unpaid'",
    )
    .bind(now)
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
/// The company selling a server's location (its lines joined by '\n'; empty: the
/// provider's own), for an invoice's seller block; none for an invoice of no server.
pub async fn seller_of_server(db: &Db, server_id: i64) -> Result<Option<String>, sqlx::Error> {
    sql::query_scalar(
        "SELECT l.company FROM servers s JOIN locations l ON l.code = s.location WHERE s.id = ?",
    )
    .bind(server_id)
    .fetch_optional(db)
    .await
}

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
    pub id: i64,
    pub r#type: String,
    pub relid: i64,
    pub description: String,
    pub amount_cents: i64,
}

pub async fn items_of<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    invoice_id: i64,
) -> Result<Vec<Item>, sqlx::Error> {
    sql::query_as(
        "SELECT id, type, relid, description, amount_cents FROM invoice_items WHERE invoice_id = ? ORDER BY id",
    )
    .bind(invoice_id)
    .fetch_all(db)
    .await
}

/// The invoices of one server (its order, licences and renewals), newest first.
pub async fn related(
    db: &Db,
    account_id: i64,
    server_id: i64,
) -> Result<Vec<Invoice>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM invoices WHERE account_id = ? AND (server_id = ? OR id IN \
         (SELECT invoice_id FROM invoice_items WHERE relid = ? AND type <> 'Invoice')) ORDER BY id DESC"
    ))
    .bind(account_id)
    .bind(server_id)
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// The invoice of a server's order (whmcs/get_product_invoice): its oldest order invoice.
pub async fn order_invoice(
    db: &Db,
    account_id: i64,
    server_id: i64,
) -> Result<Option<Invoice>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM invoices WHERE account_id = ? AND kind = 'order' AND id IN \
         (SELECT invoice_id FROM invoice_items WHERE relid = ?) ORDER BY id LIMIT 1"
    ))
    .bind(account_id)
    .bind(server_id)
    .fetch_optional(db)
    .await
}

/// The renewal invoice of a server's period, if one was made.
pub async fn renewal<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    period_due: i64,
) -> Result<Option<Invoice>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM invoices WHERE kind = 'renewal' AND server_id = ? AND period_due = ?"
    ))
    .bind(server_id)
    .bind(period_due)
    .fetch_optional(db)
    .await
}

/// Adds `amount` to what the credit (`credit`) or a gateway (`paid`) paid of an invoice;
/// a negative amount takes it back (a refund).
pub async fn add_to_invoice(
    conn: &mut SqliteConnection,
    id: i64,
    credit: i64,
    paid: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE invoices SET credit_cents = credit_cents + ?, paid_cents = paid_cents + ?, updated_at = ? WHERE id = ?",
    )
    .bind(credit)
    .bind(paid)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets an invoice's status: `Paid` (with the date and method), `Unpaid` (reactivated) or
/// `Cancelled`.
pub async fn set_status(
    conn: &mut SqliteConnection,
    id: i64,
    status: &str,
    method: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE invoices SET status = ?, updated_at = ?, \
         paid_at = CASE WHEN ? = 'Paid' THEN ? ELSE paid_at END, \
         cancelled_at = CASE WHEN ? = 'Cancelled' THEN ? WHEN ? = 'Unpaid' THEN NULL ELSE cancelled_at END, \
         payment_method = COALESCE(?, payment_method) WHERE id = ?",
    )
    .bind(status)
    .bind(now)
    .bind(status)
    .bind(now)
    .bind(status)
    .bind(now)
    .bind(status)
    .bind(method)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Notes that a notice (1 reminder, 2 overdue) about an invoice went out.
pub async fn note_notice(
    conn: &mut SqliteConnection,
    id: i64,
    notice: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE invoices SET notices = notices | ? WHERE id = ?")
        .bind(notice)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Notes a refund on an invoice (date_refunded).
pub async fn set_refunded(
    conn: &mut SqliteConnection,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE invoices SET refunded_at = ?, updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// One entry of the credit log.
#[derive(Debug, Clone, FromRow)]
pub struct CreditEntry {
    pub id: i64,
    pub created_at: i64,
    pub description: String,
    pub amount_cents: i64,
    pub relid: i64,
}

/// An account's credit log, oldest first.
pub async fn credit_log(db: &Db, account_id: i64) -> Result<Vec<CreditEntry>, sqlx::Error> {
    sql::query_as(
        "SELECT id, created_at, description, amount_cents, relid FROM credit_log WHERE account_id = ? ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// A payment (amount_in) or refund (amount_out) through a gateway.
#[derive(Debug, Clone, FromRow)]
pub struct Transaction {
    pub id: i64,
    pub account_id: i64,
    pub invoice_id: i64,
    pub gateway: String,
    pub transid: String,
    pub description: String,
    pub amount_in: i64,
    pub amount_out: i64,
    pub refund_of: i64,
    pub created_at: i64,
}

const TX_COLS: &str =
    "id, account_id, invoice_id, gateway, transid, description, amount_in, amount_out, refund_of, created_at";

/// Records a transaction; returns its id.
pub async fn add_transaction(
    conn: &mut SqliteConnection,
    t: &Transaction,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO transactions (account_id, invoice_id, gateway, transid, description, amount_in, amount_out, refund_of, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(t.account_id)
    .bind(t.invoice_id)
    .bind(&t.gateway)
    .bind(&t.transid)
    .bind(&t.description)
    .bind(t.amount_in)
    .bind(t.amount_out)
    .bind(t.refund_of)
    .bind(t.created_at)
    .fetch_one(conn)
    .await
}

/// An account's transactions, oldest first, optionally of one invoice or one id.
pub async fn transactions<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    invoice_id: Option<i64>,
    id: Option<i64>,
) -> Result<Vec<Transaction>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {TX_COLS} FROM transactions WHERE account_id = ? AND (? IS NULL OR invoice_id = ?) \
         AND (? IS NULL OR id = ?) ORDER BY id"
    ))
    .bind(account_id)
    .bind(invoice_id)
    .bind(invoice_id)
    .bind(id)
    .bind(id)
    .fetch_all(db)
    .await
}

/// The account's billing profile (whmcs/get_client): the account's columns and the rest
/// of the WHMCS profile as JSON.
#[derive(Debug, Clone, FromRow)]
pub struct Client {
    pub id: i64,
    pub whmcs_id: i64,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub companyname: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub phonenumber: String,
    pub currency_code: String,
    pub credit_cents: i64,
    pub status: String,
    pub billing_location: String,
    pub corporate: i64,
    pub verified: Option<i64>,
    pub created_at: i64,
    pub billing_profile: String,
}

const CLIENT_COLS: &str = "id, whmcs_id, email, firstname, lastname, companyname, address1, address2, city, state, \
    postcode, country, phonenumber, currency_code, credit_cents, status, billing_location, corporate, verified, \
    created_at, billing_profile";

pub async fn client<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Client>, sqlx::Error> {
    sql::query_as(&format!("SELECT {CLIENT_COLS} FROM accounts WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Stores a changed profile. A taken e-mail is a unique violation.
pub async fn update_client(conn: &mut SqliteConnection, c: &Client) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE accounts SET email = ?, firstname = ?, lastname = ?, companyname = ?, address1 = ?, address2 = ?, \
         city = ?, state = ?, postcode = ?, country = ?, phonenumber = ?, currency_code = ?, status = ?, \
         billing_profile = ? WHERE id = ?",
    )
    .bind(&c.email)
    .bind(&c.firstname)
    .bind(&c.lastname)
    .bind(&c.companyname)
    .bind(&c.address1)
    .bind(&c.address2)
    .bind(&c.city)
    .bind(&c.state)
    .bind(&c.postcode)
    .bind(&c.country)
    .bind(&c.phonenumber)
    .bind(&c.currency_code)
    .bind(&c.status)
    .bind(&c.billing_profile)
    .bind(c.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// An additional contact of an account.
#[derive(Debug, Clone, FromRow)]
pub struct Contact {
    pub id: i64,
    pub account_id: i64,
    pub firstname: String,
    pub lastname: String,
    pub companyname: String,
    pub email: String,
    pub country: String,
    pub phonenumber: String,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const CONTACT_COLS: &str =
    "id, account_id, firstname, lastname, companyname, email, country, phonenumber, \
    password_hash, created_at, updated_at";

pub async fn contacts(db: &Db, account_id: i64) -> Result<Vec<Contact>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {CONTACT_COLS} FROM contacts WHERE account_id = ? ORDER BY id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// A contact of this account (none when it is another account's).
pub async fn contact<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    id: i64,
) -> Result<Option<Contact>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {CONTACT_COLS} FROM contacts WHERE account_id = ? AND id = ?"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Adds a contact; returns its id.
pub async fn add_contact(conn: &mut SqliteConnection, c: &Contact) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO contacts (account_id, firstname, lastname, companyname, email, country, phonenumber, password_hash, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(c.account_id)
    .bind(&c.firstname)
    .bind(&c.lastname)
    .bind(&c.companyname)
    .bind(&c.email)
    .bind(&c.country)
    .bind(&c.phonenumber)
    .bind(&c.password_hash)
    .bind(c.created_at)
    .bind(c.updated_at)
    .fetch_one(conn)
    .await
}

/// Stores a changed contact (of its account).
pub async fn update_contact(conn: &mut SqliteConnection, c: &Contact) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE contacts SET email = ?, phonenumber = ?, password_hash = ?, updated_at = ? WHERE id = ? AND account_id = ?",
    )
    .bind(&c.email)
    .bind(&c.phonenumber)
    .bind(&c.password_hash)
    .bind(c.updated_at)
    .bind(c.id)
    .bind(c.account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a contact of this account; false when it has none with this id.
pub async fn delete_contact(
    conn: &mut SqliteConnection,
    account_id: i64,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let r = sql::query("DELETE FROM contacts WHERE account_id = ? AND id = ?")
        .bind(account_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// A request to end a server's service.
#[derive(Debug, Clone, FromRow)]
pub struct Cancellation {
    pub id: i64,
    pub server_id: i64,
    pub account_id: i64,
    pub immediate: i64,
    pub reason: String,
    pub created_at: i64,
    pub effective_at: i64,
    pub done_at: Option<i64>,
    pub invoice_id: Option<i64>,
}

const CR_COLS: &str =
    "id, server_id, account_id, immediate, reason, created_at, effective_at, done_at, invoice_id";

/// Records a request; a second open request of the same server is a unique violation.
pub async fn add_cancellation(
    conn: &mut SqliteConnection,
    c: &Cancellation,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO cancellation_requests (server_id, account_id, immediate, reason, created_at, effective_at, invoice_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(c.server_id)
    .bind(c.account_id)
    .bind(c.immediate)
    .bind(&c.reason)
    .bind(c.created_at)
    .bind(c.effective_at)
    .bind(c.invoice_id)
    .fetch_one(conn)
    .await
}

/// A request by id.
pub async fn cancellation<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Cancellation>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {CR_COLS} FROM cancellation_requests WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The open (not yet effective) request of a server.
pub async fn open_cancellation<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Option<Cancellation>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {CR_COLS} FROM cancellation_requests WHERE server_id = ? AND done_at IS NULL"
    ))
    .bind(server_id)
    .fetch_optional(db)
    .await
}

/// An account's open requests, of one server or all.
pub async fn open_cancellations(
    db: &Db,
    account_id: i64,
    server_id: Option<i64>,
) -> Result<Vec<Cancellation>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {CR_COLS} FROM cancellation_requests WHERE account_id = ? AND done_at IS NULL \
         AND (? IS NULL OR server_id = ?) ORDER BY id"
    ))
    .bind(account_id)
    .bind(server_id)
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// Open requests that take effect at `now` or earlier.
pub async fn due_cancellations<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    now: i64,
) -> Result<Vec<Cancellation>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {CR_COLS} FROM cancellation_requests WHERE done_at IS NULL AND effective_at <= ? ORDER BY id"
    ))
    .bind(now)
    .fetch_all(db)
    .await
}

pub async fn delete_cancellation(conn: &mut SqliteConnection, id: i64) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM cancellation_requests WHERE id = ? AND done_at IS NULL")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn finish_cancellation(
    conn: &mut SqliteConnection,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE cancellation_requests SET done_at = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A server's billing state (get_billing_data and the billing cycle).
#[derive(Debug, Clone, FromRow)]
pub struct ServerBilling {
    pub id: i64,
    pub account_id: Option<i64>,
    pub location: String,
    pub status: String,
    pub power: String,
    pub preset: String,
    pub preset_description: String,
    pub reg_date: i64,
    pub due_date: i64,
    pub billing_cycle: String,
    pub recurring_cents: i64,
    pub suspend_reason: String,
    pub terminated_at: Option<i64>,
}

const SB_COLS: &str =
    "id, account_id, location, status, power, preset, preset_description, reg_date, due_date, \
    billing_cycle, recurring_cents, suspend_reason, terminated_at";

pub async fn server_billing<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<ServerBilling>, sqlx::Error> {
    sql::query_as(&format!("SELECT {SB_COLS} FROM servers WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Rented servers the billing cycle looks after: online or suspended for non-payment, with
/// a price, whose next invoice date (`due_date - lead`) or grace end has come.
pub async fn servers_to_bill<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    lead: i64,
    now: i64,
) -> Result<Vec<ServerBilling>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {SB_COLS} FROM servers WHERE account_id IS NOT NULL AND terminated_at IS NULL \
         AND recurring_cents > 0 AND (status = 'rent' OR (status = 'power_off' AND suspend_reason = 'Overdue on Payment')) \
         AND due_date - ? <= ? ORDER BY id"
    ))
    .bind(lead)
    .bind(now)
    .fetch_all(db)
    .await
}

/// Moves a server's next due date.
pub async fn set_due_date(
    conn: &mut SqliteConnection,
    id: i64,
    due: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE servers SET due_date = ? WHERE id = ?")
        .bind(due)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Suspends a server (`reason`: why): off, and refused power and remote access.
pub async fn suspend(
    conn: &mut SqliteConnection,
    id: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE servers SET status = 'power_off', power = 'off', suspend_reason = ? WHERE id = ?",
    )
    .bind(reason)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Lifts a suspension for `reason` (only that one); true when the server was so suspended.
pub async fn unsuspend(
    conn: &mut SqliteConnection,
    id: i64,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let r = sql::query(
        "UPDATE servers SET status = 'rent', suspend_reason = '' WHERE id = ? AND status = 'power_off' AND suspend_reason = ?",
    )
    .bind(id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Ends a server's service: off, no longer the account's (it leaves eq/list), terminated.
pub async fn terminate(conn: &mut SqliteConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE servers SET account_id = NULL, power = 'off', status = 'rent', suspend_reason = '', terminated_at = ? WHERE id = ?",
    )
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Unpaid renewal invoices of a server.
pub async fn unpaid_renewals<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Vec<Invoice>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM invoices WHERE kind = 'renewal' AND server_id = ? AND status = 'Unpaid' ORDER BY id"
    ))
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// The totals the books are checked with: every account's credit, and every gateway
/// payment and refund.
pub async fn books(db: &Db) -> Result<(i64, i64, i64), sqlx::Error> {
    sql::query_as(
        "SELECT (SELECT COALESCE(SUM(credit_cents), 0) FROM accounts), \
         (SELECT COALESCE(SUM(amount_in), 0) FROM transactions), \
         (SELECT COALESCE(SUM(amount_out), 0) FROM transactions)",
    )
    .fetch_one(db)
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

    #[tokio::test]
    async fn the_credit_never_goes_below_zero_and_every_change_is_logged() {
        let db = db_with_account(1_000).await;
        let mut conn = db.acquire().await.expect("conn");
        assert!(change_credit(&mut conn, 7, -400, "spent", 0, 5)
            .await
            .expect("debit"));
        assert!(!change_credit(&mut conn, 7, -601, "too much", 0, 6)
            .await
            .expect("refused"));
        assert!(change_credit(&mut conn, 7, 50, "back", 3, 7)
            .await
            .expect("credit"));
        drop(conn);
        assert_eq!(credit(&db, 7).await.expect("credit"), 650);
        let log = credit_log(&db, 7).await.expect("log");
        let entries: Vec<(&str, i64, i64)> = log
            .iter()
            .map(|e| (e.description.as_str(), e.amount_cents, e.relid))
            .collect();
        assert_eq!(
            entries,
            vec![("spent", -400, 0), ("back", 50, 3)],
            "the refused change is not logged"
        );
    }

    #[tokio::test]
    async fn contacts_cancellations_renewals_and_transactions_round_trip() {
        let db = db_with_account(0).await;
        let mut conn = db.acquire().await.expect("conn");
        let c = Contact {
            id: 0,
            account_id: 7,
            firstname: "A".into(),
            lastname: "B".into(),
            companyname: String::new(),
            email: "c@example.org".into(),
            country: "NL".into(),
            phonenumber: String::new(),
            password_hash: String::new(),
            created_at: 1,
            updated_at: 1,
        };
        let id = add_contact(&mut conn, &c).await.expect("add");
        let mut got = contact(&mut *conn, 7, id)
            .await
            .expect("get")
            .expect("contact");
        assert!(
            contact(&mut *conn, 8, id).await.expect("get").is_none(),
            "another account's"
        );
        got.email = "d@example.org".into();
        update_contact(&mut conn, &got).await.expect("update");
        assert!(!delete_contact(&mut conn, 8, id).await.expect("delete"));
        drop(conn);
        assert_eq!(
            contacts(&db, 7).await.expect("list")[0].email,
            "d@example.org"
        );
        let mut conn = db.acquire().await.expect("conn");
        assert!(delete_contact(&mut conn, 7, id).await.expect("delete"));
        // One open cancellation per server; due ones are found by their date.
        let cr = Cancellation {
            id: 0,
            server_id: 40101,
            account_id: 7,
            immediate: 0,
            reason: "r".into(),
            created_at: 1,
            effective_at: 100,
            done_at: None,
            invoice_id: None,
        };
        let cr_id = add_cancellation(&mut conn, &cr).await.expect("add");
        let dup = add_cancellation(&mut conn, &cr).await.expect_err("second");
        assert!(crate::store::is_unique_violation(&dup));
        assert!(due_cancellations(&mut *conn, 99)
            .await
            .expect("due")
            .is_empty());
        assert_eq!(
            due_cancellations(&mut *conn, 100).await.expect("due")[0].id,
            cr_id
        );
        finish_cancellation(&mut conn, cr_id, 100)
            .await
            .expect("finish");
        assert!(open_cancellation(&mut *conn, 40101)
            .await
            .expect("open")
            .is_none());
        assert!(cancellation(&mut *conn, cr_id)
            .await
            .expect("get")
            .expect("kept")
            .done_at
            .is_some());
        // One renewal invoice per server and period.
        let items = vec![("Hosting".to_owned(), 40101, "VM".to_owned(), 1_200)];
        let new = NewInvoice {
            account_id: 7,
            kind: "renewal",
            server_id: 40101,
            period_due: 500,
            items: &items,
            created_at: 10,
            due_at: 500,
            autopay: true,
        };
        let (inv, paid) = create_invoice(&mut conn, &new).await.expect("renewal");
        assert!(!paid, "no credit");
        assert!(
            create_invoice(&mut conn, &new).await.is_err(),
            "the same period twice"
        );
        assert_eq!(
            renewal(&mut *conn, 40101, 500)
                .await
                .expect("get")
                .map(|i| i.id),
            Some(inv)
        );
        assert_eq!(
            unpaid_renewals(&mut *conn, 40101)
                .await
                .expect("unpaid")
                .len(),
            1
        );
        add_to_invoice(&mut conn, inv, 200, 1_000, 11)
            .await
            .expect("pay");
        let t = Transaction {
            id: 0,
            account_id: 7,
            invoice_id: inv,
            gateway: "paypal".into(),
            transid: "T".into(),
            description: "d".into(),
            amount_in: 1_000,
            amount_out: 0,
            refund_of: 0,
            created_at: 11,
        };
        let tid = add_transaction(&mut conn, &t).await.expect("tx");
        set_status(&mut conn, inv, "Paid", Some("paypal"), 12)
            .await
            .expect("status");
        drop(conn);
        let i = get(&db, inv).await.expect("get").expect("inv");
        assert_eq!(
            (
                i.status.as_str(),
                i.balance(),
                i.paid_at,
                i.payment_method.as_str()
            ),
            ("Paid", 0, Some(12), "paypal")
        );
        assert_eq!(
            transactions(&db, 7, Some(inv), Some(tid))
                .await
                .expect("list")
                .len(),
            1
        );
        assert!(transactions(&db, 8, None, None)
            .await
            .expect("list")
            .is_empty());
        assert_eq!(books(&db).await.expect("books"), (0, 1_000, 0));
    }

    #[tokio::test]
    async fn servers_are_suspended_unsuspended_for_their_reason_and_terminated() {
        let db = crate::store::open(":memory:").await.expect("open");
        let demo = crate::domain::scenario::Scenario::resolve("demo").expect("demo");
        crate::store::scenario::load(&demo, &db, &crate::secrets::Hasher::new(64), 1_000)
            .await
            .expect("load");
        let mut conn = db.acquire().await.expect("conn");
        suspend(&mut conn, 40101, "Overdue on Payment")
            .await
            .expect("suspend");
        assert!(!unsuspend(&mut conn, 40101, "Suspended by customer")
            .await
            .expect("other reason"));
        let s = server_billing(&mut *conn, 40101)
            .await
            .expect("get")
            .expect("server");
        assert_eq!((s.status.as_str(), s.power.as_str()), ("power_off", "off"));
        assert!(unsuspend(&mut conn, 40101, "Overdue on Payment")
            .await
            .expect("unsuspend"));
        set_due_date(&mut conn, 40101, 2_000).await.expect("due");
        let due = servers_to_bill(&mut *conn, 7 * 86_400, 2_000 - 7 * 86_400)
            .await
            .expect("bill");
        assert!(due.iter().any(|s| s.id == 40101));
        terminate(&mut conn, 40101, 3_000).await.expect("terminate");
        let s = server_billing(&mut *conn, 40101)
            .await
            .expect("get")
            .expect("server");
        assert_eq!((s.account_id, s.terminated_at), (None, Some(3_000)));
        assert!(!servers_to_bill(&mut *conn, 0, i64::MAX / 2)
            .await
            .expect("bill")
            .iter()
            .any(|s| s.id == 40101));
        let c = client(&mut *conn, 38642)
            .await
            .expect("client")
            .expect("demo");
        assert_eq!(c.currency_code, "EUR");
        let mut changed = c.clone();
        changed.city = "Utrecht".into();
        update_client(&mut conn, &changed).await.expect("update");
        assert_eq!(
            client(&mut *conn, 38642)
                .await
                .expect("client")
                .expect("demo")
                .city,
            "Utrecht"
        );
    }
}
