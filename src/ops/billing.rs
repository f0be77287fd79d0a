//! Billing operations (issue 11, whmcs.php and the control plane's payments): the client
//! profile and contacts, invoices and how they are paid (credit, gateways, combined
//! invoices), refunds, renewals and suspensions on the emulator's clock, and the end of a
//! service (cancellation requests).
//!
//! Money rules, kept by every function here: amounts are integer cents; the credit never
//! goes below zero; every change of the credit is logged (`credit_log`) and every gateway
//! payment or refund is a transaction. Money paid into an add-funds or combined invoice
//! goes to the credit; money paid into any other invoice pays for a service.

use serde_json::{json, Value};
use sqlx::SqliteConnection;

use super::sessions::Principal;
use crate::domain::money::{self, cents_str};
use crate::error::{AccountOnly, Error, Result};
use crate::queue::{self, Job, NewTask};
use crate::state::AppState;
use crate::store::{
    self,
    billing::{Cancellation, Client, Contact, Invoice, NewInvoice, ServerBilling, Transaction},
    servers::Server,
};

/// Why the billing cycle suspended a server; paying its invoice lifts exactly this.
pub const OVERDUE: &str = "Overdue on Payment";
/// Why a customer's own eq/suspend suspended a server; eq/unsuspend lifts exactly this.
pub const BY_CUSTOMER: &str = "Suspended by customer";

/// Webhooks to post once the transaction that produced them is committed.
#[derive(Debug, Default)]
pub struct Posts(Vec<(String, Value)>);

impl Posts {
    fn send(self, state: &AppState) {
        for (url, body) in self.0 {
            state.send_webhook(url, body);
        }
    }
}

/// The account's billing is the whole account's: a per-server key's session is refused.
fn account_wide(caller: &Principal) -> Result<()> {
    if caller.session.server_id > 0 {
        return Err(Error::AccountOnly {
            server: caller.session.server_id,
            what: AccountOnly::Billing,
        });
    }
    Ok(())
}

/// The billing profile of an account (its JSON part parsed).
pub fn profile(c: &Client) -> serde_json::Map<String, Value> {
    serde_json::from_str::<Value>(&c.billing_profile)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

/// Sends a WHMCS e-mail to the account (the outbox).
async fn notify(
    conn: &mut SqliteConnection,
    account_id: i64,
    subject: &str,
    body: &str,
    now: i64,
) -> Result<()> {
    let to: Option<String> = store::billing::client(&mut *conn, account_id)
        .await?
        .map(|c| c.email);
    if let Some(to) = to {
        store::outbox::push(&mut *conn, Some(account_id), &to, subject, body, now).await?;
    }
    Ok(())
}

/// Queues the account's billing webhook (the `webhook` of its scenario billing profile).
async fn post_event(
    conn: &mut SqliteConnection,
    posts: &mut Posts,
    account_id: i64,
    event: Value,
) -> Result<()> {
    let Some(c) = store::billing::client(&mut *conn, account_id).await? else {
        return Ok(());
    };
    if let Some(url) = profile(&c).get("webhook").and_then(Value::as_str) {
        if url.starts_with("http://") || url.starts_with("https://") {
            posts.0.push((url.to_owned(), event));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- the client profile

/// whmcs/get_client: the account's profile.
pub async fn client(state: &AppState, caller: &Principal) -> Result<Client> {
    account_wide(caller)?;
    store::billing::client(&state.db, caller.account.id)
        .await?
        .ok_or_else(|| Error::internal("the caller's account is gone"))
}

/// Changes of whmcs/update_client, already checked by the face: column fields, and fields
/// of the JSON profile.
#[derive(Debug, Default, Clone)]
pub struct ClientChanges {
    pub columns: Vec<(&'static str, String)>,
    pub profile: Vec<(String, Value)>,
}

/// whmcs/update_client: applies the changes; a taken e-mail is refused.
pub async fn update_client(
    state: &AppState,
    caller: &Principal,
    ch: &ClientChanges,
) -> Result<i64> {
    account_wide(caller)?;
    let mut tx = store::begin_write(&state.db).await?;
    let mut c = store::billing::client(&mut *tx, caller.account.id)
        .await?
        .ok_or_else(|| Error::internal("the caller's account is gone"))?;
    for (field, value) in &ch.columns {
        let slot = match *field {
            "email" => &mut c.email,
            "firstname" => &mut c.firstname,
            "lastname" => &mut c.lastname,
            "companyname" => &mut c.companyname,
            "address1" => &mut c.address1,
            "address2" => &mut c.address2,
            "city" => &mut c.city,
            "state" => &mut c.state,
            "postcode" => &mut c.postcode,
            "country" => &mut c.country,
            "phonenumber" => &mut c.phonenumber,
            "currency_code" => &mut c.currency_code,
            "status" => &mut c.status,
            other => return Err(Error::internal(format!("no client column {other}"))),
        };
        *slot = value.clone();
    }
    let mut p = profile(&c);
    for (k, v) in &ch.profile {
        p.insert(k.clone(), v.clone());
    }
    c.billing_profile = Value::Object(p).to_string();
    match store::billing::update_client(&mut tx, &c).await {
        Err(e) if store::is_unique_violation(&e) => {
            return Err(Error::Conflict(
                "this e-mail address is already used by another account".into(),
            ))
        }
        r => r?,
    }
    tx.commit().await?;
    Ok(c.whmcs_id)
}

/// whmcs/reset_password: a reset link to the account's e-mail when `email` is it; false
/// (nothing sent) otherwise.
pub async fn reset_password(state: &AppState, caller: &Principal, email: &str) -> Result<bool> {
    account_wide(caller)?;
    let c = client(state, caller).await?;
    if !c.email.eq_ignore_ascii_case(email.trim()) {
        return Ok(false);
    }
    let mut tx = store::begin_write(&state.db).await?;
    let key = crate::secrets::random_hex(16);
    store::outbox::push(
        &mut *tx,
        Some(c.id),
        &c.email,
        "Password Reset Confirmation",
        &format!(
            "Dear {},\n\nA password reset was requested for your billing account. To choose a new password, \
             follow this link within 2 hours:\nhttps://billing.hostkey-emu.local/pwreset.php?key={key}\n\n\
             If you did not ask for it, ignore this message.",
            c.firstname
        ),
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

// ---------------------------------------------------------------- contacts

pub async fn contacts(state: &AppState, caller: &Principal) -> Result<Vec<Contact>> {
    account_wide(caller)?;
    Ok(store::billing::contacts(&state.db, caller.account.id).await?)
}

/// whmcs/add_contact: a new contact with a random e-mail that must be changed.
pub async fn add_contact(state: &AppState, caller: &Principal) -> Result<i64> {
    account_wide(caller)?;
    let now = state.clock.now();
    let c = Contact {
        id: 0,
        account_id: caller.account.id,
        firstname: String::new(),
        lastname: String::new(),
        companyname: String::new(),
        email: format!(
            "contact-{}@change.me.invalid",
            crate::secrets::random_hex(6)
        ),
        country: caller.account.country.clone(),
        phonenumber: String::new(),
        password_hash: String::new(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = store::begin_write(&state.db).await?;
    let id = store::billing::add_contact(&mut tx, &c).await?;
    tx.commit().await?;
    Ok(id)
}

/// The refusal of a contact that is not the caller's (001's delete_contact wording).
fn no_contact() -> Error {
    Error::denied("verification failed, subcontact not found")
}

/// whmcs/update_contact: e-mail, phone number and (hashed) password of a contact.
pub async fn update_contact(
    state: &AppState,
    caller: &Principal,
    id: i64,
    email: &str,
    phone: Option<&str>,
    password: Option<&str>,
) -> Result<i64> {
    account_wide(caller)?;
    if !money::valid_email(email) {
        return Err(Error::invalid(format!(
            "invalid email '{}'",
            crate::domain::rules::shorten(email)
        )));
    }
    let mut c = store::billing::contact(&state.db, caller.account.id, id)
        .await?
        .ok_or_else(no_contact)?;
    c.email = email.to_owned();
    if let Some(p) = phone {
        c.phonenumber = p.to_owned();
    }
    if let Some(pw) = password {
        c.password_hash = state.hasher.hash(pw).await?;
    }
    c.updated_at = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    store::billing::update_contact(&mut tx, &c).await?;
    tx.commit().await?;
    Ok(id)
}

/// whmcs/delete_contact.
pub async fn delete_contact(state: &AppState, caller: &Principal, id: i64) -> Result<i64> {
    account_wide(caller)?;
    let mut tx = store::begin_write(&state.db).await?;
    if !store::billing::delete_contact(&mut tx, caller.account.id, id).await? {
        return Err(no_contact());
    }
    tx.commit().await?;
    Ok(id)
}

// ---------------------------------------------------------------- invoices

/// An invoice of the caller's account: an unknown id is `NotFound` ("invalid invoice id
/// N"), another account's is refused.
pub async fn own_invoice(state: &AppState, caller: &Principal, id: i64) -> Result<Invoice> {
    account_wide(caller)?;
    let inv = store::billing::get(&state.db, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("invalid invoice id {id}")))?;
    if inv.account_id != caller.account.id {
        return Err(Error::denied(
            "permission denied #3, this is not your invoice",
        ));
    }
    Ok(inv)
}

/// An invoice with its lines and transactions.
#[derive(Debug, Clone)]
pub struct FullInvoice {
    pub invoice: Invoice,
    pub items: Vec<store::billing::Item>,
    pub transactions: Vec<Transaction>,
}

pub async fn invoice(state: &AppState, caller: &Principal, id: i64) -> Result<FullInvoice> {
    let invoice = own_invoice(state, caller, id).await?;
    Ok(FullInvoice {
        items: store::billing::items_of(&state.db, id).await?,
        transactions: store::billing::transactions(&state.db, invoice.account_id, Some(id), None)
            .await?,
        invoice,
    })
}

pub async fn invoices(state: &AppState, caller: &Principal) -> Result<Vec<Invoice>> {
    account_wide(caller)?;
    Ok(store::billing::invoices_of(&state.db, caller.account.id).await?)
}

/// whmcs/get_related_invoices: the invoices of one of the caller's servers.
pub async fn related(
    state: &AppState,
    caller: &Principal,
    server: &Server,
) -> Result<Vec<Invoice>> {
    Ok(store::billing::related(&state.db, caller.account.id, server.id).await?)
}

/// whmcs/get_product_invoice: the invoice of a server's order.
pub async fn product_invoice(
    state: &AppState,
    caller: &Principal,
    server: &Server,
) -> Result<Invoice> {
    store::billing::order_invoice(&state.db, caller.account.id, server.id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no order invoice found for server {}", server.id)))
}

pub async fn transactions(
    state: &AppState,
    caller: &Principal,
    invoice_id: Option<i64>,
    id: Option<i64>,
) -> Result<Vec<Transaction>> {
    account_wide(caller)?;
    if let Some(i) = invoice_id {
        own_invoice(state, caller, i).await?;
    }
    Ok(store::billing::transactions(&state.db, caller.account.id, invoice_id, id).await?)
}

pub async fn credit_log(
    state: &AppState,
    caller: &Principal,
) -> Result<Vec<store::billing::CreditEntry>> {
    account_wide(caller)?;
    Ok(store::billing::credit_log(&state.db, caller.account.id).await?)
}

/// An unpaid invoice that money may be paid into; `what` words the refusal.
fn payable(inv: &Invoice) -> Result<()> {
    match inv.status.as_str() {
        "Unpaid" => Ok(()),
        "Paid" => Err(Error::Conflict(format!(
            "invoice {} is already paid",
            inv.id
        ))),
        _ => Err(Error::Conflict(format!("invoice {} is cancelled", inv.id))),
    }
}

/// Pays an invoice whose balance is covered, in the caller's transaction, with what follows
/// from it. Returns whether it became paid.
async fn settle(
    state: &AppState,
    conn: &mut SqliteConnection,
    id: i64,
    method: &str,
    now: i64,
    posts: &mut Posts,
) -> Result<bool> {
    let Some(inv) = store::billing::get(&mut *conn, id).await? else {
        return Ok(false);
    };
    if inv.status != "Unpaid" || inv.balance() > 0 {
        return Ok(false);
    }
    store::billing::set_status(conn, id, "Paid", Some(method), now).await?;
    match inv.kind.as_str() {
        "addfunds" => {
            let amount = inv.total_cents;
            store::billing::change_credit(
                conn,
                inv.account_id,
                amount,
                &format!("Add Funds Invoice #{id}"),
                0,
                now,
            )
            .await?;
        }
        "masspay" => {
            store::billing::change_credit(
                conn,
                inv.account_id,
                inv.total_cents,
                &format!("Mass Pay Invoice #{id}"),
                0,
                now,
            )
            .await?;
            for item in store::billing::items_of(&mut *conn, id).await? {
                let Some(child) = store::billing::get(&mut *conn, item.relid).await? else {
                    continue;
                };
                if child.status != "Unpaid" || child.account_id != inv.account_id {
                    continue;
                }
                let credit: i64 = store::billing::client(&mut *conn, inv.account_id)
                    .await?
                    .map_or(0, |c| c.credit_cents);
                let amount = child.balance().min(credit);
                if amount <= 0 {
                    continue;
                }
                let why = format!("Credit Applied to Invoice #{}", child.id);
                if store::billing::change_credit(conn, inv.account_id, -amount, &why, 0, now)
                    .await?
                {
                    store::billing::add_to_invoice(conn, child.id, amount, 0, now).await?;
                    let covered = store::billing::get(&mut *conn, child.id)
                        .await?
                        .is_some_and(|c| c.balance() <= 0);
                    if covered {
                        store::billing::set_status(conn, child.id, "Paid", Some("credit"), now)
                            .await?;
                        if child.kind == "addfunds" {
                            let why = format!("Add Funds Invoice #{}", child.id);
                            store::billing::change_credit(
                                conn,
                                inv.account_id,
                                child.total_cents,
                                &why,
                                0,
                                now,
                            )
                            .await?;
                        } else {
                            service_paid(state, conn, &child, now).await?;
                        }
                    }
                }
            }
        }
        _ => service_paid(state, conn, &inv, now).await?,
    }
    let body = format!(
        "Thank you for your payment of {} {} for invoice #{id}. The invoice is now paid.",
        cents_str(inv.total_cents),
        currency_of(conn, inv.account_id).await?
    );
    notify(
        conn,
        inv.account_id,
        &format!("Invoice Payment Confirmation #{id}"),
        &body,
        now,
    )
    .await?;
    post_event(
        conn,
        posts,
        inv.account_id,
        json!({"event": "invoice_paid", "invoice_id": id, "total": cents_str(inv.total_cents), "method": method}),
    )
    .await?;
    Ok(true)
}

async fn currency_of(conn: &mut SqliteConnection, account_id: i64) -> Result<String> {
    Ok(store::billing::client(&mut *conn, account_id)
        .await?
        .map_or_else(|| "EUR".to_owned(), |c| c.currency_code))
}

/// What paying a service invoice does: an order or licence waiting for it goes on; a
/// renewal moves the server's due date a period on and lifts a suspension for non-payment.
async fn service_paid(
    state: &AppState,
    conn: &mut SqliteConnection,
    inv: &Invoice,
    now: i64,
) -> Result<()> {
    store::deploy::wake_payment_wait(conn, inv.id, state.clock.now_ms()).await?;
    if inv.kind != "renewal" {
        return Ok(());
    }
    let Some(s) = store::billing::server_billing(&mut *conn, inv.server_id).await? else {
        return Ok(());
    };
    if s.account_id != Some(inv.account_id) || s.terminated_at.is_some() {
        return Ok(());
    }
    if s.due_date == inv.period_due {
        store::billing::set_due_date(conn, s.id, money::next_due(s.due_date, &s.billing_cycle))
            .await?;
    }
    if store::billing::unsuspend(conn, s.id, OVERDUE).await? {
        notify(
            conn,
            inv.account_id,
            &format!("Service Unsuspension Notification #{}", s.id),
            &format!(
                "Server {} was reactivated: invoice #{} is paid.",
                s.id, inv.id
            ),
            now,
        )
        .await?;
    }
    Ok(())
}

/// whmcs/apply_credit: pays `amount` (at most the balance) of an unpaid invoice from the
/// credit. Returns the amount applied and whether the invoice is now paid.
pub async fn apply_credit(
    state: &AppState,
    caller: &Principal,
    id: i64,
    amount: i64,
) -> Result<(i64, bool)> {
    let inv = own_invoice(state, caller, id).await?;
    payable(&inv)?;
    if inv.kind == "addfunds" || inv.kind == "masspay" {
        return Err(Error::invalid(format!(
            "invoice {id} adds funds to the credit, it cannot be paid from the credit"
        )));
    }
    if amount > inv.balance() {
        return Err(Error::invalid(format!(
            "amount {} is more than the balance {} of invoice {id}",
            cents_str(amount),
            cents_str(inv.balance())
        )));
    }
    let now = state.clock.now();
    let mut posts = Posts::default();
    let mut tx = store::begin_write(&state.db).await?;
    let again = store::billing::get(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("invalid invoice id {id}")))?;
    payable(&again)?;
    if amount > again.balance() {
        return Err(Error::Conflict(format!(
            "invoice {id} changed, its balance is {}",
            cents_str(again.balance())
        )));
    }
    let why = format!("Credit Applied to Invoice #{id}");
    if !store::billing::change_credit(&mut tx, inv.account_id, -amount, &why, 0, now).await? {
        return Err(Error::invalid(format!(
            "insufficient credit: {} requested, the credit is {}",
            cents_str(amount),
            cents_str(store::billing::credit(&state.db, inv.account_id).await?)
        )));
    }
    store::billing::add_to_invoice(&mut tx, id, amount, 0, now).await?;
    let paid = settle(state, &mut tx, id, "credit", now, &mut posts).await?;
    queue::commit(state, tx).await?;
    posts.send(state);
    Ok((amount, paid))
}

/// whmcs/create_addfunds: an invoice whose payment raises the credit by `amount`.
pub async fn create_addfunds(state: &AppState, caller: &Principal, amount: i64) -> Result<i64> {
    account_wide(caller)?;
    let now = state.clock.now();
    let items = [("AddFunds".to_owned(), 0, "Add Funds".to_owned(), amount)];
    let mut tx = store::begin_write(&state.db).await?;
    let (id, _) = store::billing::create_invoice(
        &mut tx,
        &NewInvoice {
            account_id: caller.account.id,
            kind: "addfunds",
            server_id: 0,
            period_due: 0,
            items: &items,
            created_at: now,
            due_at: now,
            autopay: false,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// whmcs/mass_pay: one invoice for the balances of several unpaid invoices of the caller;
/// paying it pays them. Fewer than two, unknown, foreign, repeated or settled invoices are
/// "invalid request", as 001 answers.
pub async fn mass_pay(state: &AppState, caller: &Principal, ids: &[i64]) -> Result<i64> {
    account_wide(caller)?;
    let invalid = || Error::invalid("invalid request");
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if ids.len() < 2 || sorted.len() != ids.len() || ids.len() > 100 {
        return Err(invalid());
    }
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let mut items = Vec::new();
    for id in ids {
        let inv = store::billing::get(&mut *tx, *id)
            .await?
            .ok_or_else(invalid)?;
        if inv.account_id != caller.account.id {
            return Err(Error::denied(
                "permission denied #3, this is not your invoice",
            ));
        }
        if inv.status != "Unpaid" || inv.kind == "masspay" || inv.balance() <= 0 {
            return Err(invalid());
        }
        items.push((
            "Invoice".to_owned(),
            inv.id,
            format!("Invoice #{}", inv.id),
            inv.balance(),
        ));
    }
    let (id, _) = store::billing::create_invoice(
        &mut tx,
        &NewInvoice {
            account_id: caller.account.id,
            kind: "masspay",
            server_id: 0,
            period_due: 0,
            items: &items,
            created_at: now,
            due_at: now,
            autopay: false,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A gateway's payment or refund as the control plane reports it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub invoice: i64,
    pub transaction: i64,
    pub amount: i64,
    pub status: String,
    pub balance: i64,
}

/// Payment gateways the emulator knows (whmcs/getpaymentgw, `POST /_emu/invoices/N/pay`).
pub const GATEWAYS: &[(&str, &str)] = &[
    ("paypal", "PayPal"),
    ("banktransfer", "Bank Transfer"),
    ("roudiappstripealipay", "Alipay (\u{652f}\u{4ed8}\u{5b9d})"),
    ("paymaster", "Webmoney (WME)"),
    ("bitpaycheckout", "Cryptocurrency (BTC, ETH and other)"),
];

/// A payment through `gateway` into an unpaid invoice: `amount` (default: the balance, at
/// most the balance). Records the transaction; a covered invoice becomes paid.
pub async fn pay(state: &AppState, id: i64, gateway: &str, amount: Option<i64>) -> Result<Payment> {
    if !GATEWAYS.iter().any(|(g, _)| *g == gateway) {
        return Err(Error::invalid(format!(
            "unknown gateway '{}', use one of {}",
            crate::domain::rules::shorten(gateway),
            GATEWAYS.iter().map(|g| g.0).collect::<Vec<_>>().join(", ")
        )));
    }
    let now = state.clock.now();
    let mut posts = Posts::default();
    let mut tx = store::begin_write(&state.db).await?;
    let inv = store::billing::get(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("invoice {id} not found")))?;
    payable(&inv)?;
    let amount = amount.unwrap_or(inv.balance());
    if amount <= 0 || amount > inv.balance() {
        return Err(Error::invalid(format!(
            "amount {} is not between 0.01 and the balance {}",
            cents_str(amount),
            cents_str(inv.balance())
        )));
    }
    let transaction = store::billing::add_transaction(
        &mut tx,
        &Transaction {
            id: 0,
            account_id: inv.account_id,
            invoice_id: id,
            gateway: gateway.to_owned(),
            transid: format!("EMU-{}", crate::secrets::random_hex(8).to_uppercase()),
            description: format!("Invoice Payment #{id}"),
            amount_in: amount,
            amount_out: 0,
            refund_of: 0,
            created_at: now,
        },
    )
    .await?;
    store::billing::add_to_invoice(&mut tx, id, 0, amount, now).await?;
    post_event(
        &mut tx,
        &mut posts,
        inv.account_id,
        json!({"event": "payment", "invoice_id": id, "transaction_id": transaction, "gateway": gateway,
               "amount": cents_str(amount)}),
    )
    .await?;
    settle(state, &mut tx, id, gateway, now, &mut posts).await?;
    let after = store::billing::get(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::internal("invoice gone"))?;
    queue::commit(state, tx).await?;
    posts.send(state);
    Ok(Payment {
        invoice: id,
        transaction,
        amount,
        status: after.status.clone(),
        balance: after.balance(),
    })
}

/// Marks unpaid invoice `id` paid by `gateway` (its whole balance); a deployment waiting
/// for it continues at once. Returns false when there is no such unpaid invoice.
pub async fn pay_invoice(state: &AppState, id: i64, gateway: &str) -> Result<bool> {
    match pay(state, id, gateway, None).await {
        Ok(_) => Ok(true),
        Err(Error::NotFound(_) | Error::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A refund of gateway payments of an invoice: `amount` (default: all that gateways paid
/// and was not refunded). Money an add-funds or combined invoice put into the credit comes
/// out of it again, so a refund the credit no longer holds is refused.
pub async fn refund(state: &AppState, id: i64, amount: Option<i64>) -> Result<Payment> {
    let now = state.clock.now();
    let mut posts = Posts::default();
    let mut tx = store::begin_write(&state.db).await?;
    let inv = store::billing::get(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("invoice {id} not found")))?;
    if inv.status == "Cancelled" {
        return Err(Error::Conflict(format!("invoice {id} is cancelled")));
    }
    let amount = amount.unwrap_or(inv.paid_cents);
    if inv.paid_cents <= 0 {
        return Err(Error::Conflict(format!(
            "invoice {id} has no payment to refund"
        )));
    }
    if amount <= 0 || amount > inv.paid_cents {
        return Err(Error::invalid(format!(
            "amount {} is not between 0.01 and the {} paid",
            cents_str(amount),
            cents_str(inv.paid_cents)
        )));
    }
    let funds = inv.kind == "addfunds" || inv.kind == "masspay";
    if funds && inv.status == "Paid" {
        let why = format!("Refund of Invoice #{id}");
        if !store::billing::change_credit(&mut tx, inv.account_id, -amount, &why, 0, now).await? {
            return Err(Error::Conflict(format!(
                "the credit no longer holds {} from invoice {id}",
                cents_str(amount)
            )));
        }
    }
    let payments = store::billing::transactions(&mut *tx, inv.account_id, Some(id), None).await?;
    let refund_of = payments
        .iter()
        .rev()
        .find(|t| t.amount_in > 0)
        .map_or(0, |t| t.id);
    let gateway = payments
        .iter()
        .rev()
        .find(|t| t.amount_in > 0)
        .map_or("banktransfer".to_owned(), |t| t.gateway.clone());
    let transaction = store::billing::add_transaction(
        &mut tx,
        &Transaction {
            id: 0,
            account_id: inv.account_id,
            invoice_id: id,
            gateway,
            transid: format!("EMU-R-{}", crate::secrets::random_hex(8).to_uppercase()),
            description: format!("Refund of Invoice Payment #{id}"),
            amount_in: 0,
            amount_out: amount,
            refund_of,
            created_at: now,
        },
    )
    .await?;
    store::billing::add_to_invoice(&mut tx, id, 0, -amount, now).await?;
    store::billing::set_refunded(&mut tx, id, now).await?;
    notify(
        &mut tx,
        inv.account_id,
        &format!("Invoice Refund Confirmation #{id}"),
        &format!(
            "A refund of {} for invoice #{id} was issued.",
            cents_str(amount)
        ),
        now,
    )
    .await?;
    post_event(
        &mut tx,
        &mut posts,
        inv.account_id,
        json!({"event": "refund", "invoice_id": id, "transaction_id": transaction, "amount": cents_str(amount)}),
    )
    .await?;
    let after = store::billing::get(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::internal("invoice gone"))?;
    tx.commit().await?;
    posts.send(state);
    Ok(Payment {
        invoice: id,
        transaction,
        amount,
        status: shown_status(&after).to_owned(),
        balance: after.balance(),
    })
}

/// The status a client sees: a paid invoice whose payments were refunded below its total
/// is "Refunded".
pub fn shown_status(inv: &Invoice) -> &str {
    if inv.status == "Paid" && inv.refunded_at.is_some() && inv.balance() > 0 {
        "Refunded"
    } else {
        &inv.status
    }
}

/// The seller block of an invoice: the company of its server's location when the scenario
/// names one, else the provider's own (HOSTKEY B.V.).
pub async fn seller(state: &AppState, inv: &Invoice) -> Result<Vec<String>> {
    let company = match inv.server_id {
        0 => None,
        id => store::billing::seller_of_server(&state.db, id).await?,
    };
    Ok(match company.filter(|c| !c.trim().is_empty()) {
        Some(c) => c.lines().map(str::to_owned).collect(),
        None => vec![
            "HOSTKEY B.V.".into(),
            "Willem Frederik Hermansstraat 91".into(),
            "1011DG Amsterdam".into(),
            "the Netherlands".into(),
        ],
    })
}

/// whmcs/download_invoice: the invoice as a PDF document: the seller ([`seller`]), the
/// buyer from the billing profile, dates, lines, totals, status, payment method and
/// transactions.
pub fn invoice_pdf(full: &FullInvoice, c: &Client, seller: Vec<String>) -> Vec<u8> {
    use crate::clock::format_date;
    use crate::domain::invoice_pdf::{render, InvoiceDoc};
    let inv = &full.invoice;
    let cur = &c.currency_code;
    let amount = |cents: i64| format!("{} {cur}", cents_str(cents));
    let p = profile(c);
    let mut buyer = vec![format!("{} {}", c.firstname, c.lastname).trim().to_owned()];
    for line in [&c.companyname, &c.address1, &c.address2] {
        if !line.is_empty() {
            buyer.push(line.clone());
        }
    }
    buyer.push(format!("{} {}", c.postcode, c.city).trim().to_owned());
    buyer.push(c.country.clone());
    if let Some(tax) = p
        .get("tax_id")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        buyer.push(format!("VAT number: {tax}"));
    }
    buyer.push(c.email.clone());
    let paid_total: i64 = full
        .transactions
        .iter()
        .map(|t| t.amount_in - t.amount_out)
        .sum();
    let doc = InvoiceDoc {
        number: inv.id,
        status: shown_status(inv).to_owned(),
        invoice_date: format_date(inv.created_at),
        due_date: format_date(inv.due_at),
        paid_date: inv
            .paid_at
            .filter(|_| inv.status == "Paid")
            .map(format_date),
        payment_method: inv.payment_method.clone(),
        seller,
        buyer,
        lines: full
            .items
            .iter()
            .map(|i| (i.description.clone(), amount(i.amount_cents)))
            .collect(),
        totals: vec![
            ("Sub Total".into(), amount(inv.total_cents)),
            ("VAT 0.00%".into(), amount(0)),
            ("Credit".into(), amount(inv.credit_cents)),
            ("Total".into(), amount(inv.total_cents - inv.credit_cents)),
            ("Paid".into(), amount(paid_total)),
            ("Balance".into(), amount(inv.balance().max(0))),
        ],
        transactions: full
            .transactions
            .iter()
            .map(|t| {
                format!(
                    "{}  {}  {}  {}",
                    crate::clock::format_datetime(t.created_at),
                    t.gateway,
                    t.transid,
                    if t.amount_out > 0 {
                        format!("-{}", amount(t.amount_out))
                    } else {
                        amount(t.amount_in)
                    }
                )
            })
            .collect(),
    };
    render(&doc)
}

// ---------------------------------------------------------------- renewals and the cycle

/// The renewal invoice of a server's current period, made now unless it exists. Paid from
/// the credit when it covers it. Returns the invoice id and whether it is new.
async fn renew(
    state: &AppState,
    conn: &mut SqliteConnection,
    s: &ServerBilling,
    created_at: i64,
    posts: &mut Posts,
) -> Result<(i64, bool)> {
    if let Some(inv) = store::billing::renewal(&mut *conn, s.id, s.due_date).await? {
        return Ok((inv.id, false));
    }
    let account_id = s
        .account_id
        .ok_or_else(|| Error::internal("a renewal of a server nobody rents"))?;
    let next = money::next_due(s.due_date, &s.billing_cycle);
    let description = format!(
        "{} (server {}) ({} - {})",
        if s.preset_description.is_empty() {
            &s.preset
        } else {
            &s.preset_description
        },
        s.id,
        crate::clock::format_date(s.due_date),
        crate::clock::format_date(next - 86_400)
    );
    let items = [("Hosting".to_owned(), s.id, description, s.recurring_cents)];
    let (id, paid) = store::billing::create_invoice(
        conn,
        &NewInvoice {
            account_id,
            kind: "renewal",
            server_id: s.id,
            period_due: s.due_date,
            items: &items,
            created_at,
            due_at: s.due_date,
            autopay: true,
        },
    )
    .await?;
    let currency = currency_of(conn, account_id).await?;
    notify(
        conn,
        account_id,
        &format!("Customer Invoice #{id}"),
        &format!(
            "Invoice #{id} of {} {currency} for server {} is due on {}.{}",
            cents_str(s.recurring_cents),
            s.id,
            crate::clock::format_date(s.due_date),
            if paid {
                " It was paid from your credit balance."
            } else {
                ""
            }
        ),
        created_at,
    )
    .await?;
    if paid {
        let inv = store::billing::get(&mut *conn, id)
            .await?
            .ok_or_else(|| Error::internal("invoice gone"))?;
        service_paid(state, conn, &inv, created_at).await?;
        post_event(
            conn,
            posts,
            account_id,
            json!({"event": "invoice_paid", "invoice_id": id, "total": cents_str(inv.total_cents), "method": "credit"}),
        )
        .await?;
    }
    Ok((id, true))
}

/// whmcs/generate_due_invoice: the server's next renewal invoice, once per period.
/// Returns how many invoices were made (0 or 1).
pub async fn generate_due_invoice(state: &AppState, server: &Server) -> Result<i64> {
    let now = state.clock.now();
    let mut posts = Posts::default();
    let mut tx = store::begin_write(&state.db).await?;
    let s = store::billing::server_billing(&mut *tx, server.id)
        .await?
        .ok_or_else(|| Error::not_found(format!("server {} not found", server.id)))?;
    if s.recurring_cents <= 0 {
        return Err(Error::invalid(format!(
            "server {} has no recurring price",
            s.id
        )));
    }
    if store::billing::open_cancellation(&mut *tx, s.id)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!(
            "server {} has a cancellation request",
            s.id
        )));
    }
    let (_, new) = renew(state, &mut tx, &s, now, &mut posts).await?;
    queue::commit(state, tx).await?;
    posts.send(state);
    Ok(i64::from(new))
}

/// What one pass of the billing cycle did (for the log and the tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CycleReport {
    pub invoices: usize,
    pub suspended: usize,
    pub terminated: usize,
}

/// One pass of the billing cycle at the emulator clock's now: services whose
/// end-of-period cancellation is due end; with the cycle on, renewal invoices appear
/// `invoice_days` before each due date (paid from the credit when it covers them), the
/// due date brings a reminder, the day after an overdue notice, and `grace_days` after it
/// the server is suspended. Each event is dated when it falls due, so one long clock jump
/// gives the same books as many short ones.
pub async fn cycle(state: &AppState) -> Result<CycleReport> {
    let now = state.clock.now();
    let mut report = CycleReport::default();
    for cr in store::billing::due_cancellations(&state.db, now).await? {
        if cr.immediate == 1 {
            continue; // its job ends it
        }
        let mut posts = Posts::default();
        let mut tx = store::begin_write(&state.db).await?;
        terminate_in(&mut tx, &cr, cr.effective_at.min(now), &mut posts).await?;
        tx.commit().await?;
        posts.send(state);
        report.terminated += 1;
    }
    if !state.config.billing_cycle {
        return Ok(report);
    }
    let lead = state.config.invoice_days * 86_400;
    let grace = state.config.grace_days * 86_400;
    for s in store::billing::servers_to_bill(&state.db, lead, now).await? {
        // Most passes find nothing new: no write transaction then (a commit would end
        // every remembered answer).
        if !falls_due(state, &s, now, lead, grace).await? {
            continue;
        }
        let mut posts = Posts::default();
        let mut tx = store::begin_write(&state.db).await?;
        // A long jump may cover several periods; each paid one moves the due date on.
        for _ in 0..48 {
            let Some(s) = store::billing::server_billing(&mut *tx, s.id).await? else {
                break;
            };
            let Some(account_id) = s.account_id else {
                break;
            };
            if s.terminated_at.is_some()
                || store::billing::open_cancellation(&mut *tx, s.id)
                    .await?
                    .is_some()
            {
                break;
            }
            let at = s.due_date - lead;
            if at > now {
                break;
            }
            let inv = match store::billing::renewal(&mut *tx, s.id, s.due_date).await? {
                Some(inv) => inv,
                None => {
                    renew(state, &mut tx, &s, at.max(s.reg_date), &mut posts).await?;
                    report.invoices += 1;
                    continue;
                }
            };
            if inv.status == "Paid" {
                // Paid but the due date did not move (paid before this version knew it).
                store::billing::set_due_date(
                    &mut tx,
                    s.id,
                    money::next_due(s.due_date, &s.billing_cycle),
                )
                .await?;
                continue;
            }
            if inv.status != "Unpaid" {
                break;
            }
            if now >= inv.due_at && inv.notices & 1 == 0 {
                notify(
                    &mut tx,
                    account_id,
                    &format!("Invoice Payment Reminder #{}", inv.id),
                    &format!(
                        "Invoice #{} of {} for server {} is due today. Please pay it to keep the service running.",
                        inv.id,
                        cents_str(inv.balance()),
                        s.id
                    ),
                    inv.due_at,
                )
                .await?;
                store::billing::note_notice(&mut tx, inv.id, 1).await?;
            }
            if now >= inv.due_at + 86_400 && inv.notices & 2 == 0 {
                notify(
                    &mut tx,
                    account_id,
                    &format!("First Invoice Overdue Notice #{}", inv.id),
                    &format!(
                        "Invoice #{} is overdue. Server {} will be suspended on {} unless it is paid.",
                        inv.id,
                        s.id,
                        crate::clock::format_date(inv.due_at + grace)
                    ),
                    inv.due_at + 86_400,
                )
                .await?;
                store::billing::note_notice(&mut tx, inv.id, 2).await?;
            }
            if now >= inv.due_at + grace && s.status == "rent" {
                store::billing::suspend(&mut tx, s.id, OVERDUE).await?;
                notify(
                    &mut tx,
                    account_id,
                    &format!("Service Suspension Notification #{}", s.id),
                    &format!(
                        "Server {} was suspended: invoice #{} is overdue. Paying it reactivates the server.",
                        s.id, inv.id
                    ),
                    inv.due_at + grace,
                )
                .await?;
                report.suspended += 1;
            }
            break;
        }
        tx.commit().await?;
        posts.send(state);
    }
    Ok(report)
}

/// Whether the billing cycle has something to do for this server now (read only).
async fn falls_due(
    state: &AppState,
    s: &ServerBilling,
    now: i64,
    lead: i64,
    grace: i64,
) -> Result<bool> {
    if s.due_date - lead > now
        || store::billing::open_cancellation(&state.db, s.id)
            .await?
            .is_some()
    {
        return Ok(false);
    }
    Ok(
        match store::billing::renewal(&state.db, s.id, s.due_date).await? {
            None => true,
            Some(inv) if inv.status == "Paid" => true,
            Some(inv) if inv.status == "Unpaid" => {
                (now >= inv.due_at && inv.notices & 1 == 0)
                    || (now >= inv.due_at + 86_400 && inv.notices & 2 == 0)
                    || (now >= inv.due_at + grace && s.status == "rent")
            }
            Some(_) => false,
        },
    )
}

// ---------------------------------------------------------------- servers

/// The billing state of one of the caller's servers (whmcs/get_billing_data).
pub async fn billing_data(state: &AppState, server: &Server) -> Result<(ServerBilling, Client)> {
    let s = store::billing::server_billing(&state.db, server.id)
        .await?
        .ok_or_else(|| Error::not_found(format!("server {} not found", server.id)))?;
    let owner = s
        .account_id
        .ok_or_else(|| Error::not_found(format!("server {} not found", server.id)))?;
    let c = store::billing::client(&state.db, owner)
        .await?
        .ok_or_else(|| Error::internal("the server's account is gone"))?;
    Ok((s, c))
}

/// whmcs/request_cancellation: records the request and queues its job (the callback).
/// Immediate: the job ends the service. End of period: the service ends on its due date,
/// and the renewal invoice of that date (if any) is cancelled now.
pub async fn request_cancellation(
    state: &AppState,
    caller: &Principal,
    server: &Server,
    immediate: bool,
    reason: &str,
) -> Result<String> {
    if server.status == "pending" {
        return Err(Error::Conflict(format!(
            "server {} is waiting for payment and deployment, cancel its order instead",
            server.id
        )));
    }
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let s = store::billing::server_billing(&mut *tx, server.id)
        .await?
        .ok_or_else(|| Error::not_found(format!("server {} not found", server.id)))?;
    let effective_at = if immediate { now } else { s.due_date.max(now) };
    let mut invoice_id = None;
    if !immediate {
        if let Some(inv) = store::billing::renewal(&mut *tx, s.id, s.due_date).await? {
            if inv.status == "Unpaid" {
                cancel_invoice(&mut tx, &inv, now).await?;
                invoice_id = Some(inv.id);
            }
        }
    }
    let cr = Cancellation {
        id: 0,
        server_id: s.id,
        account_id: caller.account.id,
        immediate: i64::from(immediate),
        reason: reason.to_owned(),
        created_at: now,
        effective_at,
        done_at: None,
        invoice_id,
    };
    let id = match store::billing::add_cancellation(&mut tx, &cr).await {
        Err(e) if store::is_unique_violation(&e) => {
            return Err(Error::Conflict(format!(
                "a cancellation request for server {} already exists",
                s.id
            )))
        }
        r => r?,
    };
    let key = queue::submit_in(
        state,
        &mut tx,
        NewTask::on_server(
            "eq",
            caller.account.id,
            server,
            "request_cancellation",
            json!({"action": "request_cancellation", "id": server.id.to_string(), "location": server.location}),
            Job::Cancellation { request: id },
            3_000,
        ),
    )
    .await?;
    queue::commit(state, tx).await?;
    Ok(key)
}

/// Cancels an unpaid invoice; what was already paid into it goes to the credit.
async fn cancel_invoice(conn: &mut SqliteConnection, inv: &Invoice, now: i64) -> Result<()> {
    let back = inv.credit_cents + inv.paid_cents;
    if back > 0 {
        let why = format!("Credit from cancelled Invoice #{}", inv.id);
        store::billing::change_credit(conn, inv.account_id, back, &why, 0, now).await?;
        store::billing::add_to_invoice(conn, inv.id, -inv.credit_cents, -inv.paid_cents, now)
            .await?;
    }
    store::billing::set_status(conn, inv.id, "Cancelled", None, now).await?;
    Ok(())
}

/// What the job of a cancellation request reports: success, the record's scope, and the
/// billing webhook to post once the record is stored.
pub type StepReport = (bool, String, Option<(String, Value)>);

/// The job of a cancellation request (in the job's transaction): an immediate one ends the
/// service now; one for the end of the period only confirms the date.
pub async fn cancellation_step(
    conn: &mut SqliteConnection,
    request: i64,
    now: i64,
) -> Result<StepReport> {
    let Some(cr) = store::billing::cancellation(&mut *conn, request).await? else {
        return Ok((false, "The cancellation request was withdrawn".into(), None));
    };
    if cr.done_at.is_some() {
        return Ok((true, "The service was cancelled".into(), None));
    }
    if cr.immediate == 0 {
        let scope = format!(
            "Cancellation accepted, the service ends on {}",
            crate::clock::format_date(cr.effective_at)
        );
        return Ok((true, scope, None));
    }
    let mut posts = Posts::default();
    terminate_in(conn, &cr, now, &mut posts).await?;
    Ok((
        true,
        "The service was cancelled".into(),
        posts.0.into_iter().next(),
    ))
}

/// Ends a service (in the caller's transaction): the server is powered off, its addresses
/// go back to the pool, it leaves the account; unused days of an immediate cancellation
/// are credited pro rata; unpaid renewals are cancelled.
async fn terminate_in(
    conn: &mut SqliteConnection,
    cr: &Cancellation,
    now: i64,
    posts: &mut Posts,
) -> Result<()> {
    let Some(s) = store::billing::server_billing(&mut *conn, cr.server_id).await? else {
        store::billing::finish_cancellation(conn, cr.id, now).await?;
        return Ok(());
    };
    if s.account_id != Some(cr.account_id) || s.terminated_at.is_some() {
        store::billing::finish_cancellation(conn, cr.id, now).await?;
        return Ok(());
    }
    for inv in store::billing::unpaid_renewals(&mut *conn, s.id).await? {
        cancel_invoice(conn, &inv, now).await?;
    }
    let mut credited = 0;
    if cr.immediate == 1 && s.status == "rent" {
        credited = money::pro_rata(s.recurring_cents, &s.billing_cycle, now, s.due_date);
        if credited > 0 {
            let why = format!("Pro rata credit for the cancellation of server {}", s.id);
            store::billing::change_credit(conn, cr.account_id, credited, &why, s.id, now).await?;
        }
    }
    let addresses: Vec<(String, i64)> = store::servers::ips(&mut *conn, s.id)
        .await?
        .into_iter()
        .filter(|ip| ip.port != "ipmi")
        .map(|ip| (ip.address, ip.subnet_id))
        .collect();
    let refs: Vec<(&str, i64)> = addresses.iter().map(|(a, n)| (a.as_str(), *n)).collect();
    let missing = store::network::release_many(conn, s.id, &refs, now).await?;
    if !missing.is_empty() {
        return Err(Error::internal(format!(
            "addresses vanished during release: {missing:?}"
        )));
    }
    store::billing::terminate(conn, s.id, now).await?;
    store::billing::finish_cancellation(conn, cr.id, now).await?;
    notify(
        conn,
        cr.account_id,
        &format!("Service Cancellation Confirmation #{}", s.id),
        &format!(
            "Server {} was cancelled{}.{}",
            s.id,
            if cr.immediate == 1 {
                " immediately"
            } else {
                " at the end of its billing period"
            },
            if credited > 0 {
                format!(
                    " {} for the unused days was added to your credit.",
                    cents_str(credited)
                )
            } else {
                String::new()
            }
        ),
        now,
    )
    .await?;
    post_event(
        conn,
        posts,
        cr.account_id,
        json!({"event": "service_cancelled", "server_id": s.id, "credited": cents_str(credited)}),
    )
    .await?;
    Ok(())
}

/// whmcs/get_cancellation_requests: the caller's open requests (of one server).
pub async fn cancellations(
    state: &AppState,
    caller: &Principal,
    server: Option<&Server>,
) -> Result<Vec<Cancellation>> {
    if server.is_none() {
        account_wide(caller)?;
    }
    Ok(
        store::billing::open_cancellations(&state.db, caller.account.id, server.map(|s| s.id))
            .await?,
    )
}

/// whmcs/delete_cancellation_request: withdraws the server's request before it took
/// effect; the renewal invoice it cancelled is reactivated. Returns 001's messages.
pub async fn delete_cancellation(state: &AppState, server: &Server) -> Result<Vec<String>> {
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let cr = store::billing::open_cancellation(&mut *tx, server.id)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("no cancellation request for server {}", server.id))
        })?;
    if cr.immediate == 1 {
        return Err(Error::Conflict(format!(
            "the immediate cancellation of server {} is already under way",
            server.id
        )));
    }
    store::billing::delete_cancellation(&mut tx, cr.id).await?;
    let mut messages = vec!["CR deleted".to_owned()];
    if let Some(inv_id) = cr.invoice_id {
        if let Some(inv) = store::billing::get(&mut *tx, inv_id).await? {
            if inv.status == "Cancelled" {
                store::billing::set_status(&mut tx, inv_id, "Unpaid", None, now).await?;
                messages.push(format!("Invoice {inv_id} reactivated"));
            }
        }
    }
    tx.commit().await?;
    Ok(messages)
}

/// eq/suspend: the customer suspends one of their servers (off, no power or remote access).
pub async fn suspend(state: &AppState, server: &Server) -> Result<()> {
    if server.status != "rent" {
        return Err(Error::Conflict(format!(
            "server {} is not active, it cannot be suspended",
            server.id
        )));
    }
    let mut tx = store::begin_write(&state.db).await?;
    store::billing::suspend(&mut tx, server.id, BY_CUSTOMER).await?;
    tx.commit().await?;
    Ok(())
}

/// eq/unsuspend: lifts the customer's own suspension; a suspension for non-payment is
/// lifted by paying.
pub async fn unsuspend(state: &AppState, server: &Server) -> Result<()> {
    let s = store::billing::server_billing(&state.db, server.id)
        .await?
        .ok_or_else(|| Error::not_found(format!("server {} not found", server.id)))?;
    if s.status != "power_off" {
        return Err(Error::Conflict(format!(
            "server {} is not suspended",
            server.id
        )));
    }
    if s.suspend_reason == OVERDUE {
        let unpaid = store::billing::unpaid_renewals(&state.db, s.id).await?;
        let ids: Vec<String> = unpaid.iter().map(|i| i.id.to_string()).collect();
        return Err(Error::denied(format!(
            "server {} is suspended for non-payment, pay invoice {} to reactivate it",
            s.id,
            ids.join(", ")
        )));
    }
    if s.suspend_reason != BY_CUSTOMER {
        return Err(Error::denied(format!(
            "server {} was suspended by HOSTKEY, please contact support",
            s.id
        )));
    }
    let mut tx = store::begin_write(&state.db).await?;
    store::billing::unsuspend(&mut tx, s.id, BY_CUSTOMER).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{principal, state, DEMO};

    #[tokio::test]
    async fn an_unpaid_invoice_is_paid_once() {
        let state = state().await;
        // An unknown invoice is no unpaid invoice.
        assert!(!pay_invoice(&state, 999_999, "banktransfer")
            .await
            .expect("pay"));
        // More than any credit covers: the invoice stays unpaid.
        let mut conn = state.db.acquire().await.expect("conn");
        let item = (
            "Hosting".to_owned(),
            40101,
            "a server".to_owned(),
            1_000_000_000,
        );
        let (id, paid) = store::billing::create(&mut conn, DEMO, &[item], state.clock.now())
            .await
            .expect("invoice");
        drop(conn);
        assert!(!paid);
        assert!(pay_invoice(&state, id, "banktransfer").await.expect("pay"));
        assert!(
            !pay_invoice(&state, id, "banktransfer").await.expect("pay"),
            "a paid invoice is not paid twice"
        );
    }

    #[tokio::test]
    async fn add_funds_partial_payments_and_refunds_keep_the_books() {
        let state = state().await;
        let demo = principal(&state, DEMO).await;
        let credit = |s: &AppState| {
            let db = s.db.clone();
            async move { store::billing::credit(&db, DEMO).await.expect("credit") }
        };
        let before = credit(&state).await;
        let id = create_addfunds(&state, &demo, 5_000)
            .await
            .expect("addfunds");
        let p = pay(&state, id, "paypal", Some(2_000)).await.expect("part");
        assert_eq!((p.status.as_str(), p.balance), ("Unpaid", 3_000));
        assert_eq!(
            credit(&state).await,
            before,
            "not before it is paid in full"
        );
        assert!(
            pay(&state, id, "paypal", Some(3_001)).await.is_err(),
            "more than the balance"
        );
        let p = pay(&state, id, "nowhere", None).await.expect_err("gateway");
        assert!(p.to_string().contains("unknown gateway"), "{p}");
        let p = pay(&state, id, "banktransfer", None).await.expect("rest");
        assert_eq!((p.status.as_str(), p.balance), ("Paid", 0));
        assert_eq!(credit(&state).await, before + 5_000);
        assert!(pay(&state, id, "paypal", Some(1)).await.is_err(), "paid");
        // A refund takes the money back out of the credit.
        let r = refund(&state, id, Some(1_500)).await.expect("refund");
        assert_eq!(r.amount, 1_500);
        assert_eq!(credit(&state).await, before + 3_500);
        assert!(
            refund(&state, id, Some(3_501)).await.is_err(),
            "more than paid"
        );
        // The log explains every change: the credit is the opening balance plus the log.
        let log = store::billing::credit_log(&state.db, DEMO)
            .await
            .expect("log");
        assert_eq!(
            before + log.iter().map(|e| e.amount_cents).sum::<i64>(),
            credit(&state).await
        );
        let (_, paid_in, paid_out) = store::billing::books(&state.db).await.expect("books");
        assert_eq!((paid_in, paid_out), (5_000, 1_500));
    }

    #[tokio::test]
    async fn credit_pays_partially_and_mass_pay_pays_the_rest() {
        let state = state().await;
        let demo = principal(&state, DEMO).await;
        let mut conn = state.db.acquire().await.expect("conn");
        let big = ("Hosting".to_owned(), 40101, "big".to_owned(), 100_000);
        let small = ("Hosting".to_owned(), 40102, "small".to_owned(), 70_000);
        let (a, _) = store::billing::create(&mut conn, DEMO, &[big], 1)
            .await
            .expect("a");
        let (b, _) = store::billing::create(&mut conn, DEMO, &[small], 1)
            .await
            .expect("b");
        drop(conn);
        let (applied, paid) = apply_credit(&state, &demo, a, 10_000).await.expect("apply");
        assert_eq!((applied, paid), (10_000, false));
        assert!(
            apply_credit(&state, &demo, a, 90_001).await.is_err(),
            "over the balance"
        );
        assert!(mass_pay(&state, &demo, &[a]).await.is_err(), "one invoice");
        assert!(mass_pay(&state, &demo, &[a, a]).await.is_err(), "repeated");
        let m = mass_pay(&state, &demo, &[a, b]).await.expect("mass");
        let items = store::billing::items_of(&state.db, m).await.expect("items");
        assert_eq!(
            items
                .iter()
                .map(|i| (i.relid, i.amount_cents))
                .collect::<Vec<_>>(),
            vec![(a, 90_000), (b, 70_000)]
        );
        let before = store::billing::credit(&state.db, DEMO)
            .await
            .expect("credit");
        pay(&state, m, "paypal", None).await.expect("pay");
        for id in [a, b] {
            let inv = store::billing::get(&state.db, id)
                .await
                .expect("get")
                .expect("inv");
            assert_eq!(
                (inv.status.as_str(), inv.balance()),
                ("Paid", 0),
                "invoice {id}"
            );
        }
        assert_eq!(
            store::billing::credit(&state.db, DEMO)
                .await
                .expect("credit"),
            before,
            "through the credit and out"
        );
    }

    #[tokio::test]
    async fn a_cycle_pass_with_nothing_due_writes_nothing() {
        let mut config = crate::config::Config::for_tests();
        config.argon2_memory_kib = 64;
        config.billing_cycle = true;
        let state = AppState::new(config).await.expect("state");
        // The first pass does whatever the scenario's dates make due; the next finds nothing.
        cycle(&state).await.expect("first");
        let before = state.db.generation();
        let report = cycle(&state).await.expect("second");
        assert_eq!(report, CycleReport::default());
        assert_eq!(state.db.generation(), before, "no commit");
        // A renewal that falls due is made once.
        let mut tx = store::begin_write(&state.db).await.expect("tx");
        store::billing::set_due_date(&mut tx, 40101, state.clock.now() + 86_400)
            .await
            .expect("due");
        tx.commit().await.expect("commit");
        assert_eq!(cycle(&state).await.expect("third").invoices, 1);
        assert_eq!(cycle(&state).await.expect("fourth").invoices, 0);
    }
}
