//! `whmcs.php` (001 "whmcs.php", issue 11): the billing module. The client profile and
//! contacts, invoices (list, read, PDF, pay from credit, combine, add funds), the credit
//! log, transactions, payment gateways, a server's billing data and its renewal invoice,
//! and cancellation requests. Shapes and quirks are 001's: `"result":"success"` where 001
//! passes WHMCS's answer through, `"OK"` elsewhere, amounts as 2-decimal strings.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::args::{shorten, Args};
use super::dispatch::{actions, Ctx, Module};
use crate::clock::{format_date, format_datetime};
use crate::domain::catalogue::number;
use crate::domain::money::{self, cents_str};
use crate::domain::rules::parse_bool;
use crate::error::{Error, Result};
use crate::ops::billing::{self, ClientChanges};
use crate::store::billing::{Invoice, Transaction};

/// `whmcs.php`, declared once. `getcredit` and `create_addfundst` are the action values of
/// 001's tables (its curl examples and index say `getcredits`, `create_addfunds`).
pub static MODULE: Module = Module {
    name: "whmcs",
    actions: actions![
        session "get_client" => get_client,
        session "update_client" => update_client,
        session "reset_password" => reset_password,
        session "get_contacts" => get_contacts,
        session "add_contact" => add_contact,
        session "update_contact" => update_contact,
        session "delete_contact" => delete_contact,
        session "create_addfunds" => create_addfunds,
        session "create_addfundst" => create_addfunds,
        session "getpaymentgw" => getpaymentgw,
        session "get_billing_data" => get_billing_data,
        session "getcredits" => getcredits,
        session "getcredit" => getcredits,
        session "generate_due_invoice" => generate_due_invoice,
        session "transactions" => transactions,
        session "mass_pay" => mass_pay,
        session_raw "download_invoice" => download_invoice,
        session "get_related_invoices" => get_related_invoices,
        session "apply_credit" => apply_credit,
        session "get_invoice" => get_invoice,
        session "get_invoices" => get_invoices,
        session "request_cancellation" => request_cancellation,
        session "delete_cancellation_request" => delete_cancellation_request,
        session "get_cancellation_requests" => get_cancellation_requests,
        session "get_product_invoice" => get_product_invoice,
    ],
};

/// WHMCS's empty date-time.
const NO_DATETIME: &str = "0000-00-00 00:00:00";

fn datetime_or_zero(t: Option<i64>) -> String {
    t.map_or_else(|| NO_DATETIME.to_owned(), format_datetime)
}

/// An invoice as get_related_invoices and get_invoices list it (WHMCS's own row: the credit
/// applied is taken off the total).
fn invoice_row(inv: &Invoice, userid: i64) -> Value {
    json!({
        "id": inv.id,
        "userid": userid,
        "invoicenum": "",
        "date": format_date(inv.created_at),
        "duedate": format_date(inv.due_at),
        "datepaid": datetime_or_zero(inv.paid_at.filter(|_| inv.status == "Paid")),
        "last_capture_attempt": NO_DATETIME,
        "date_refunded": datetime_or_zero(inv.refunded_at),
        "date_cancelled": datetime_or_zero(inv.cancelled_at),
        "subtotal": cents_str(inv.total_cents),
        "credit": cents_str(inv.credit_cents),
        "tax": "0.00",
        "tax2": "0.00",
        "total": cents_str(inv.total_cents - inv.credit_cents),
        "taxrate": "0.00",
        "taxrate2": "0.00",
        "status": billing::shown_status(inv),
        "paymentmethod": inv.payment_method,
        "paymethodid": null,
        "notes": inv.notes,
        "created_at": format_datetime(inv.created_at),
        "updated_at": format_datetime(inv.updated_at.max(inv.created_at)),
    })
}

/// A required invoice id (`invoice_id`).
fn invoice_id(ctx: &Ctx) -> Result<i64> {
    let id = ctx.params().req_int("invoice_id")?;
    if id <= 0 {
        return Err(Error::invalid(format!("invalid invoice id {id}")));
    }
    Ok(id)
}

/// A required amount (`amount`), exact to the cent.
fn amount(ctx: &Ctx) -> Result<i64> {
    let raw = ctx.params().req_str("amount")?;
    money::parse_amount(&raw).map_err(Error::Invalid)
}

// ---------------------------------------------------------------- the client

/// The co_* custom fields of get_client: key, name, type, size, required, options.
const CUSTOM_FIELDS: &[(&str, &str, &str, u32, bool)] = &[
    (
        "co_autopayment",
        "Autopayment enabled",
        "checkbox",
        0,
        false,
    ),
    (
        "co_payfirstday",
        "Services for first day",
        "checkbox",
        0,
        false,
    ),
    ("co_marktemails", "Marketing e-mails", "checkbox", 0, false),
    (
        "co_subscription",
        "Autopayments via PayPal",
        "text",
        40,
        false,
    ),
    ("co_marktsms", "Marketing SMS", "checkbox", 0, false),
    (
        "co_smsnum",
        "SMS number for 2FA and notices",
        "text",
        26,
        false,
    ),
    ("co_customertype", "Client type", "select", 0, true),
    ("co_regaddress", "Legal address", "text", 100, false),
    ("co_bankdata", "Bank information", "text", 100, false),
    ("co_secret", "Secret word", "text", 26, true),
    ("co_skype", "Skype/Telegram", "text", 26, false),
];

/// Client types co_customertype takes.
const CUSTOMER_TYPES: &[&str] = &["Individual", "Legal entity", "Company"];

fn profile_bool(p: &Map<String, Value>, key: &str) -> bool {
    match p.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
        Some(Value::String(s)) => parse_bool(s).unwrap_or(false),
        _ => false,
    }
}

fn profile_str(p: &Map<String, Value>, key: &str) -> String {
    match p.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn groupdata(p: &Map<String, Value>) -> Value {
    let id = p.get("groupid").and_then(Value::as_i64).unwrap_or(0);
    json!({"id": id, "groupname": if id == 0 { "" } else { "Customers" }, "groupcolour": "#ffffff",
           "discountpercent": "0.00", "susptermexempt": "", "separateinvoices": ""})
}

/// whmcs/get_client (001 "whmcs/get_client").
async fn get_client(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let c = billing::client(state, caller).await?;
    let p = billing::profile(&c);
    let tags = crate::store::tags::list(&state.db, "customers", c.id).await?;
    let mut client = json!({
        "userid": c.whmcs_id, "id": c.whmcs_id,
        "uuid": profile_str(&p, "uuid"),
        "firstname": c.firstname, "lastname": c.lastname,
        "fullname": format!("{} {}", c.firstname, c.lastname).trim().to_owned(),
        "companyname": c.companyname, "email": c.email,
        "address1": c.address1, "address2": c.address2, "city": c.city,
        "fullstate": c.state, "state": c.state, "postcode": c.postcode,
        "countrycode": c.country, "country": c.country,
        "phonenumber": c.phonenumber, "tax_id": profile_str(&p, "tax_id"),
        "Password": "",
        "email_preferences": p.get("email_preferences").cloned().unwrap_or_else(|| json!({
            "general": 1, "invoice": 1, "support": 1, "product": 1, "domain": 1, "affiliate": 1})),
        "statecode": "", "countryname": c.country,
        "phonecc": 0,
        "phonenumberformatted": c.phonenumber, "telephoneNumber": c.phonenumber,
        "billingcid": 0,
    });
    // Two halves: one `json!` of every field exceeds the macro's recursion limit.
    let rest = json!({
        "twofaenabled": profile_bool(&p, "twofaenabled"),
        "currency": money::currency_id(&c.currency_code),
        "defaultgateway": profile_str(&p, "defaultgateway"),
        "groupid": p.get("groupid").and_then(Value::as_i64).unwrap_or(0),
        "status": c.status,
        "credit": cents_str(c.credit_cents),
        "taxexempt": profile_bool(&p, "taxexempt"),
        "latefeeoveride": profile_bool(&p, "latefeeoveride"),
        "overideduenotices": profile_bool(&p, "overideduenotices"),
        "separateinvoices": profile_bool(&p, "separateinvoices"),
        "disableautocc": profile_bool(&p, "disableautocc"),
        "emailoptout": profile_bool(&p, "emailoptout"),
        "marketing_emails_opt_in": profile_bool(&p, "marketingoptin"),
        "overrideautoclose": profile_bool(&p, "overrideautoclose"),
        "allowSingleSignOn": i64::from(!p.contains_key("allowSingleSignOn") || profile_bool(&p, "allowSingleSignOn")),
        "email_verified": c.verified.unwrap_or(0) == 1,
        "language": profile_str(&p, "language"),
        "isOptedInToMarketingEmails": profile_bool(&p, "marketingoptin"),
        "lastlogin": "",
        "currency_code": c.currency_code,
    });
    if let (Some(o), Value::Object(rest)) = (client.as_object_mut(), rest) {
        o.extend(rest);
    }
    if let Some(o) = client.as_object_mut() {
        for (key, name, kind, size, required) in CUSTOM_FIELDS {
            let mut f = json!({"name": name, "type": kind, "required": required});
            if *size > 0 {
                f["size"] = json!(size);
            }
            if *key == "co_customertype" {
                f["options"] = json!(["Individual", "Legal entity"]);
            }
            f["value"] = json!(profile_str(&p, key));
            o.insert((*key).to_owned(), f);
        }
    }
    let tags: Vec<Value> = tags
        .iter()
        .map(|t| {
            json!({"id": t.id, "component": t.component, "component_id": t.component_id,
                        "tag": t.tag, "value": t.value, "extra": t.extra, "internal": t.internal})
        })
        .collect();
    Ok(json!({
        "result": "success",
        "client": client,
        "billing_location": c.billing_location,
        "groupdata": groupdata(&p),
        "internal": {"id": c.id, "billing": c.billing_location, "account_id": c.whmcs_id, "email": c.email,
                     "active_since": format_date(c.created_at), "monthly": null, "verified": c.verified,
                     "corporate": c.corporate, "tags": tags},
    }))
}

/// The changes of an update_client request, checked: every `billing_*` and `co_*` field.
fn client_changes(ctx: &Ctx) -> Result<ClientChanges> {
    let p = ctx.params();
    let mut ch = ClientChanges::default();
    let text = |name: &str, max: usize| -> Result<Option<String>> {
        let v = p.opt_str(name, max)?;
        if let Some(s) = &v {
            if s.chars().any(char::is_control) {
                return Err(Error::invalid(format!(
                    "invalid {name}: control characters"
                )));
            }
        }
        Ok(v)
    };
    for (param, column, max) in [
        ("billing_firstname", "firstname", 64),
        ("billing_lastname", "lastname", 64),
        ("billing_companyname", "companyname", 128),
        ("billing_address1", "address1", 128),
        ("billing_address2", "address2", 128),
        ("billing_city", "city", 64),
        ("billing_state", "state", 64),
        ("billing_postcode", "postcode", 16),
    ] {
        if let Some(v) = text(param, max)? {
            if (column == "firstname" || column == "lastname") && v.is_empty() {
                return Err(Error::invalid(format!("{param} cannot be empty")));
            }
            ch.columns.push((column, v));
        }
    }
    if let Some(v) = text("billing_email", 128)? {
        if !money::valid_email(&v) {
            return Err(Error::invalid(format!(
                "invalid billing_email '{}'",
                shorten(&v)
            )));
        }
        ch.columns.push(("email", v));
    }
    if let Some(v) = text("billing_country", 8)? {
        let code = v.to_ascii_uppercase();
        if !money::valid_country(&code) {
            return Err(Error::invalid(format!(
                "invalid billing_country '{}', expected an ISO 3166 country code such as NL",
                shorten(&v)
            )));
        }
        ch.columns.push(("country", code));
    }
    if let Some(v) = text("billing_phonenumber", 32)? {
        let ok = v
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
            && v.chars().filter(char::is_ascii_digit).count() >= 5;
        if !ok && !v.is_empty() {
            return Err(Error::invalid(format!(
                "invalid billing_phonenumber '{}'",
                shorten(&v)
            )));
        }
        ch.columns.push(("phonenumber", v));
    }
    if let Some(v) = text("billing_status", 16)? {
        if !["Active", "Inactive", "Closed"].contains(&v.as_str()) {
            return Err(Error::invalid(format!(
                "invalid billing_status '{}', expected Active, Inactive or Closed",
                shorten(&v)
            )));
        }
        ch.columns.push(("status", v));
    }
    if let Some(cur) = p.opt_int("billing_currency")? {
        let code = money::currency_code(cur).ok_or_else(|| {
            Error::invalid(format!(
                "invalid billing_currency {cur}, expected 1, 2 or 3"
            ))
        })?;
        ch.columns.push(("currency_code", code.to_owned()));
    }
    if let Some(g) = p.opt_int("billing_groupid")? {
        if !(0..=1_000_000).contains(&g) {
            return Err(Error::invalid(format!("invalid billing_groupid {g}")));
        }
        ch.profile.push(("groupid".into(), json!(g)));
    }
    for (param, key) in [
        ("billing_twofaenabled", "twofaenabled"),
        ("billing_taxexempt", "taxexempt"),
        ("billing_latefeeoveride", "latefeeoveride"),
        ("billing_overideduenotices", "overideduenotices"),
        ("billing_separateinvoices", "separateinvoices"),
        ("billing_disableautocc", "disableautocc"),
        ("billing_emailoptout", "emailoptout"),
        ("billing_marketingoptin", "marketingoptin"),
        ("billing_overrideautoclose", "overrideautoclose"),
        ("billing_allowSingleSignOn", "allowSingleSignOn"),
    ] {
        if let Some(b) = p.opt_bool(param)? {
            ch.profile.push((key.into(), json!(b)));
        }
    }
    for (key, _, kind, size, _) in CUSTOM_FIELDS {
        let Some(v) = text(key, 256)? else { continue };
        let value = match *kind {
            "checkbox" => match parse_bool(&v) {
                Some(true) => "on".to_owned(),
                Some(false) => "off".to_owned(),
                None => {
                    return Err(Error::invalid(format!(
                        "invalid {key} '{}', expected on or off",
                        shorten(&v)
                    )))
                }
            },
            "select" => {
                if !CUSTOMER_TYPES.contains(&v.as_str()) {
                    return Err(Error::invalid(format!(
                        "invalid {key} '{}', expected Individual or Legal entity",
                        shorten(&v)
                    )));
                }
                v
            }
            _ => {
                if v.chars().count() > *size as usize {
                    return Err(Error::invalid(format!(
                        "{key} is too long (at most {size} characters)"
                    )));
                }
                v
            }
        };
        ch.profile.push(((*key).to_owned(), json!(value)));
    }
    Ok(ch)
}

/// whmcs/update_client (001 "whmcs/update_client"): every field checked before anything
/// changes.
async fn update_client(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let ch = client_changes(ctx)?;
    let clientid = billing::update_client(state, caller, &ch).await?;
    Ok(json!({"result": "success", "clientid": clientid.to_string()}))
}

/// whmcs/reset_password (001 "whmcs/reset_password"): the e-mail must be the account's.
async fn reset_password(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let email = call.params.req_str("email")?;
    if billing::reset_password(state, caller, &email).await? {
        Ok(
            json!({"result": "OK", "message": "Password reset link was sent to the registred email.",
                  "debug": {"result": "success"}}),
        )
    } else {
        Ok(
            json!({"result": -1, "message": "Failed to identify the customer's billing, please contact support"}),
        )
    }
}

// ---------------------------------------------------------------- contacts

/// whmcs/get_contacts (001 "whmcs/get_contacts"): `Password` is the stored hash, never the
/// password.
async fn get_contacts(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let list: Vec<Value> = billing::contacts(state, caller)
        .await?
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "userid": caller.account.whmcs_id, "firstname": c.firstname, "lastname": c.lastname,
                "companyname": c.companyname, "email": c.email, "address1": "", "address2": "", "city": "",
                "state": "", "postcode": "", "country": c.country, "phonenumber": c.phonenumber, "tax_id": "",
                "subaccount": 1, "Password": c.password_hash, "permissions": "", "domainemails": 0,
                "generalemails": 0, "invoiceemails": 0, "productemails": 0, "supportemails": 0,
                "affiliateemails": 0, "pwresetkey": "", "created_at": format_datetime(c.created_at),
                "updated_at": format_datetime(c.updated_at), "pwresetexpiry": NO_DATETIME,
            })
        })
        .collect();
    Ok(json!({"result": "success", "contacts": list}))
}

/// whmcs/add_contact (001 "whmcs/add_contact").
async fn add_contact(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let id = billing::add_contact(state, caller).await?;
    Ok(json!({"result": "success", "contactid": id}))
}

/// whmcs/update_contact (001 "whmcs/update_contact").
async fn update_contact(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let id = p.req_int("contact_id")?;
    let email = p.req_str("email")?;
    let phone = p.opt_str("phonenumber", 32)?.filter(|v| !v.is_empty());
    if let Some(ph) = &phone {
        if !ph
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
        {
            return Err(Error::invalid(format!(
                "invalid phonenumber '{}'",
                shorten(ph)
            )));
        }
    }
    let password = p.opt_str("password2", 128)?.filter(|v| !v.is_empty());
    if password.as_ref().is_some_and(|pw| pw.chars().count() < 4) {
        return Err(Error::invalid(
            "password2 is too short (at least 4 characters)",
        ));
    }
    let id = billing::update_contact(
        state,
        caller,
        id,
        &email,
        phone.as_deref(),
        password.as_deref(),
    )
    .await?;
    Ok(json!({"result": "success", "contactid": id}))
}

/// whmcs/delete_contact (001 "whmcs/delete_contact").
async fn delete_contact(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("contact_id")?;
    let id = billing::delete_contact(state, caller, id).await?;
    Ok(json!({"result": "success", "message": id.to_string()}))
}

// ---------------------------------------------------------------- invoices

/// whmcs/get_invoices (001 "whmcs/get_invoices"): newest first; `limitstart`, `limitnum`
/// and `status` as WHMCS takes them.
async fn get_invoices(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let start = p.opt_int("limitstart")?.unwrap_or(0).max(0) as usize;
    let limit = p.opt_int("limitnum")?.unwrap_or(1_000).clamp(1, 1_000) as usize;
    let status = p.opt_str("status", 16)?.filter(|s| !s.is_empty());
    let c = billing::client(state, caller).await?;
    let all: Vec<Invoice> = billing::invoices(state, caller)
        .await?
        .into_iter()
        .filter(|i| {
            status
                .as_deref()
                .is_none_or(|s| billing::shown_status(i).eq_ignore_ascii_case(s))
        })
        .collect();
    let rows: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|i| {
            let mut row = invoice_row(i, c.whmcs_id);
            if let Some(o) = row.as_object_mut() {
                o.insert("firstname".into(), json!(c.firstname));
                o.insert("lastname".into(), json!(c.lastname));
                o.insert("companyname".into(), json!(c.companyname));
                o.insert("currencycode".into(), json!(c.currency_code));
                o.insert("currencyprefix".into(), json!(""));
                o.insert("currencysuffix".into(), json!(c.currency_code));
            }
            row
        })
        .collect();
    Ok(
        json!({"result": "success", "totalresults": all.len(), "numreturned": rows.len(),
              "invoices": {"invoice": rows}}),
    )
}

fn transaction_row(t: &Transaction, userid: i64) -> Value {
    json!({
        "id": t.id, "userid": userid, "currency": 0, "gateway": t.gateway,
        "date": format_datetime(t.created_at), "description": t.description,
        "amountin": cents_str(t.amount_in), "fees": "0.00", "amountout": cents_str(t.amount_out),
        "rate": "1.00000", "transid": t.transid, "invoiceid": t.invoice_id, "refundid": t.refund_of,
    })
}

/// whmcs/get_invoice (001 "whmcs/get_invoice"): with its lines and `balance`.
async fn get_invoice(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let id = invoice_id(ctx)?;
    let full = match billing::invoice(state, caller, id).await {
        Err(Error::NotFound(_)) => {
            return Err(Error::not_found(format!(
                "invalid invoice id {id} at {}",
                caller.account.billing_location
            )))
        }
        r => r?,
    };
    let inv = &full.invoice;
    let items: Vec<Value> = full
        .items
        .iter()
        .map(|i| {
            json!({"id": i.id, "type": i.r#type, "relid": i.relid, "description": i.description,
                   "amount": cents_str(i.amount_cents), "taxed": 0,
                   "inv_id": if i.r#type == "Invoice" { -1 } else { inv.id }})
        })
        .collect();
    let transactions = if full.transactions.is_empty() {
        json!("")
    } else {
        let rows: Vec<Value> = full
            .transactions
            .iter()
            .map(|t| transaction_row(t, caller.account.whmcs_id))
            .collect();
        json!({"transaction": rows})
    };
    Ok(json!({
        "result": "success", "invoiceid": inv.id, "invoicenum": "", "userid": caller.account.whmcs_id,
        "date": format_date(inv.created_at), "duedate": format_date(inv.due_at),
        "datepaid": datetime_or_zero(inv.paid_at.filter(|_| inv.status == "Paid")),
        "lastcaptureattempt": NO_DATETIME,
        "subtotal": cents_str(inv.total_cents), "credit": cents_str(inv.credit_cents),
        "tax": "0.00", "tax2": "0.00", "total": cents_str(inv.total_cents - inv.credit_cents),
        "balance": cents_str(inv.balance().max(0)), "taxrate": "0.00", "taxrate2": "0.00",
        "status": billing::shown_status(inv), "paymentmethod": inv.payment_method, "notes": inv.notes,
        "ccgateway": false, "items": {"item": items}, "transactions": transactions,
    }))
}

/// whmcs/get_related_invoices (001, the section without a heading): one server's invoices.
async fn get_related_invoices(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let rows: Vec<Value> = billing::related(state, caller, &server)
        .await?
        .iter()
        .map(|i| invoice_row(i, caller.account.whmcs_id))
        .collect();
    Ok(json!({"result": "success", "invoices": rows}))
}

/// whmcs/get_product_invoice (a permission of 001's role, called by real clients): the
/// invoice of a server's order, in get_related_invoices' row shape.
async fn get_product_invoice(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let inv = billing::product_invoice(state, caller, &server).await?;
    Ok(json!({"result": "OK", "invoice": invoice_row(&inv, caller.account.whmcs_id)}))
}

/// whmcs/download_invoice (001 "whmcs/download_invoice"): the invoice as a PDF document.
async fn download_invoice(ctx: &Ctx) -> Response {
    let r = async {
        let (state, _, caller) = ctx.parts()?;
        let id = invoice_id(ctx)?;
        let full = match billing::invoice(state, caller, id).await {
            Err(Error::NotFound(_)) => return Err(Error::not_found("Invalid invoice ID")),
            r => r?,
        };
        let c = billing::client(state, caller).await?;
        let seller = billing::seller(state, &full.invoice).await?;
        Ok(billing::invoice_pdf(&full, &c, seller))
    }
    .await;
    match r {
        Ok(pdf) => {
            let disposition = format!(
                "attachment; filename=\"Invoice-{}.pdf\"",
                invoice_id(ctx).unwrap_or(0)
            );
            let mut response = pdf.into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        Err(e) => super::respond(ctx.module, ctx.action, Err(e)),
    }
}

/// whmcs/transactions (001 "whmcs/transactions"): of the account, one invoice or one id.
async fn transactions(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let invoice = call.params.opt_int("invoice_id")?;
    let id = call.params.opt_int("transaction_id")?;
    let rows: Vec<Value> = billing::transactions(state, caller, invoice, id)
        .await?
        .iter()
        .map(|t| transaction_row(t, caller.account.whmcs_id))
        .collect();
    Ok(json!({"result": "OK", "transactions": rows}))
}

/// whmcs/getpaymentgw (001 "whmcs/getpaymentgw"): each gateway with a form that pays the
/// invoice at the emulator (`POST /_emu/invoices/N/pay`).
async fn getpaymentgw(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = invoice_id(ctx)?;
    let inv = billing::own_invoice(state, caller, id).await?;
    let c = billing::client(state, caller).await?;
    let due = cents_str(inv.balance().max(0));
    let base = format!("http://{}", call.host);
    let mut methods = Map::new();
    for (key, name) in billing::GATEWAYS {
        let call_html = if *key == "banktransfer" {
            format!(
                "<span style='text-align:left'>Please wire funds in favor of: <p>HOSTKEY B.V.<br />\r\n\
                 Willem Frederik Hermansstraat 91, 1011DG<br />\r\nAmsterdam, the Netherlands<br />\r\n\
                 Amount: {due} {cur}<br />Reference Number: {id}</p>\
                 <form method=\"post\" action=\"{base}/_emu/invoices/{id}/pay?gateway=banktransfer\">\
                 <input type=\"submit\" value=\"Simulate the transfer\" /></form></span>",
                cur = c.currency_code
            )
        } else {
            format!(
                "<form target=_blank method=\"post\" action=\"{base}/_emu/invoices/{id}/pay?gateway={key}\">\n\
                 <input type=\"hidden\" name=\"invoice_id\" value=\"{id}\">\n\
                 <input type=\"hidden\" name=\"amount\" value=\"{due}\">\n\
                 <input type=\"hidden\" name=\"currency_code\" value=\"{cur}\">\n\
                 <input type=\"submit\" value=\"Pay Now\" />\n</form>",
                cur = c.currency_code
            )
        };
        methods.insert((*key).to_owned(), json!({"name": name, "call": call_html}));
    }
    Ok(json!({"result": "OK", "methods": methods}))
}

/// whmcs/getcredits (001 "whmcs/getcredits"; its table calls it getcredit): the credit
/// log, nested in `message` as 001 shows.
async fn getcredits(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let rows: Vec<Value> = billing::credit_log(state, caller)
        .await?
        .iter()
        .map(|e| {
            json!({"id": e.id, "date": format_date(e.created_at), "description": e.description,
                   "amount": cents_str(e.amount_cents), "relid": e.relid})
        })
        .collect();
    Ok(
        json!({"result": "OK", "message": {"result": "success", "totalresults": rows.len(),
              "clientid": caller.account.whmcs_id, "credits": {"credit": rows}}}),
    )
}

/// whmcs/apply_credit (001 "whmcs/apply_credit"): pays part or all of an invoice from the
/// credit.
async fn apply_credit(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let id = invoice_id(ctx).map_err(|_| Error::invalid("invalid invoice id"))?;
    let amount = amount(ctx)?;
    let (applied, paid) = match billing::apply_credit(state, caller, id, amount).await {
        Err(Error::NotFound(_)) => return Err(Error::invalid("invalid invoice id")),
        r => r?,
    };
    Ok(
        json!({"result": "success", "invoiceid": id, "amount": number(applied as f64 / 100.0),
              "invoicepaid": if paid { "true" } else { "false" }}),
    )
}

/// whmcs/create_addfunds (001 "whmcs/create_addfunds"; its table says create_addfundst).
async fn create_addfunds(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let amount = amount(ctx)?;
    let id = billing::create_addfunds(state, caller, amount).await?;
    Ok(json!({"result": "OK", "invoice": id, "message": format!("Invoice {id} created")}))
}

/// whmcs/mass_pay (001 "whmcs/mass_pay"): one invoice for several (`invoices[]`).
async fn mass_pay(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let ids: Vec<i64> = call
        .params
        .list("invoices")
        .iter()
        .map(|v| v.trim().parse::<i64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::invalid("invalid request"))?;
    let id = billing::mass_pay(state, caller, &ids).await?;
    Ok(json!({"result": "OK", "invoiceid": id}))
}

// ---------------------------------------------------------------- servers

/// whmcs/get_billing_data (001 "whmcs/get_billing_data"): flat, `result` last.
async fn get_billing_data(ctx: &Ctx) -> Result<Value> {
    let (state, _, _) = ctx.parts()?;
    let server = ctx.server().await?;
    let (s, c) = billing::billing_data(state, &server).await?;
    let p = billing::profile(&c);
    let hostname = crate::store::tags::get(&state.db, "eq", s.id, "hostname")
        .await?
        .map(|t| t.value)
        .unwrap_or_else(|| s.id.to_string());
    let ip = crate::store::servers::main_ip(&state.db, s.id).await?;
    let product_id = crate::store::tags::get(&state.db, "eq", s.id, "billing_product_id")
        .await?
        .and_then(|t| t.value.parse::<i64>().ok())
        .unwrap_or(s.id);
    let status = if s.terminated_at.is_some() {
        "Terminated"
    } else if s.status == "power_off" {
        "Suspended"
    } else if s.status == "pending" {
        "Pending"
    } else {
        "Active"
    };
    let now = state.clock.now();
    Ok(json!({
        "IP": hostname, "client_id": c.whmcs_id, "order_id": product_id, "suspend_reason": s.suspend_reason,
        "billing_setupfee": "0.00", "product_id": product_id, "whmcs_location": c.billing_location,
        "billing_status": status, "reg_date": format_date(s.reg_date), "billing_cycle": s.billing_cycle,
        "next_due_date": format_date(s.due_date), "billing_reccuring": cents_str(s.recurring_cents),
        "billing_name": format!("Services related to the provision of computing facilities ({})",
                                if s.preset_description.is_empty() { &s.preset } else { &s.preset_description }),
        "billing_dedicatedip": ip, "billing_domain": hostname, "promoid": 0,
        "terminationdate": s.terminated_at.map(format_date), "subscriptionid": "",
        "overideautosuspend": 0, "overidesuspenduntil": "0000-00-00",
        "currencyprefix": "", "currencysuffix": c.currency_code,
        "is_company": c.corporate, "tax_id": profile_str(&p, "tax_id"), "groupdata": groupdata(&p),
        "days_left": (s.due_date.div_euclid(86_400) - now.div_euclid(86_400)),
        "customer_name": format!("{} {}", c.firstname, c.lastname).trim().to_owned(),
        "customer_email": c.email, "result": "OK",
    }))
}

/// whmcs/generate_due_invoice (001 "whmcs/generate_due_invoice").
async fn generate_due_invoice(ctx: &Ctx) -> Result<Value> {
    let (state, _, _) = ctx.parts()?;
    let server = ctx.server().await?;
    let n = billing::generate_due_invoice(state, &server).await?;
    Ok(json!({"result": "OK", "invoices": n}))
}

/// whmcs/request_cancellation (001 "whmcs/request_cancellation"): `cancellation_type`
/// (table) or `cancelation_type` (curl): 1 immediate, 0 at the end of the billing period.
async fn request_cancellation(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let p = &call.params;
    let kind = match p.opt_int("cancellation_type")? {
        Some(k) => Some(k),
        None => p.opt_int("cancelation_type")?,
    }
    .ok_or_else(|| {
        Error::invalid("cancellation_type is required (1 immediate, 0 end of billing period)")
    })?;
    if kind != 0 && kind != 1 {
        return Err(Error::invalid(format!(
            "invalid cancellation_type {kind}, expected 1 (immediate) or 0 (end of billing period)"
        )));
    }
    let reason = match p.opt_str("terminate_reason_custom", 1_000)? {
        Some(r) if !r.is_empty() => r,
        _ => p.opt_str("cancellation_reason", 1_000)?.unwrap_or_default(),
    };
    let key = billing::request_cancellation(state, caller, &server, kind == 1, &reason).await?;
    Ok(json!({"result": "OK", "action": "request_cancellation", "callback": key}))
}

/// The server of a cancellation-request action, refused with 001's (sic)
/// `whmcs/request_cancellation:` prefix.
async fn cancellation_server(ctx: &Ctx) -> Result<crate::store::servers::Server> {
    ctx.server().await.map_err(|e| match e {
        Error::Denied(m) => Error::Verbatim(format!("whmcs/request_cancellation: {m}")),
        other => other,
    })
}

/// whmcs/delete_cancellation_request (001 "whmcs/delete_cancellation_request").
async fn delete_cancellation_request(ctx: &Ctx) -> Result<Value> {
    let (state, _, _) = ctx.parts()?;
    let server = cancellation_server(ctx).await?;
    let messages = billing::delete_cancellation(state, &server).await?;
    Ok(json!({"result": "success", "message": messages}))
}

/// whmcs/get_cancellation_requests (001 "whmcs/get_cancellation_requests"): open requests,
/// of one server (`id`) or all.
async fn get_cancellation_requests(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server = match call.params.opt_int("id")? {
        Some(_) => Some(cancellation_server(ctx).await?),
        None => None,
    };
    let rows: Vec<Value> = billing::cancellations(state, caller, server.as_ref())
        .await?
        .iter()
        .map(|c| {
            json!({"id": c.id, "date": format_datetime(c.created_at), "relid": c.server_id, "reason": c.reason,
                   "type": if c.immediate == 1 { "Immediate" } else { "End of Billing Period" },
                   "created_at": format_datetime(c.created_at), "updated_at": format_datetime(c.created_at)})
        })
        .collect();
    Ok(json!({"result": "success", "message": rows}))
}

/// auth/billing_list (a permission of 001's role, called by real clients): the billing
/// accounts behind the session, as whmcslogin's `billing_options` describes them.
pub async fn billing_list(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let c = billing::client(state, caller).await?;
    Ok(json!({"result": "OK", "billing": [{
        "whmcs_id": c.whmcs_id, "whmcs_location": c.billing_location, "location": "NL",
        "company": "HOSTKEY B.V.", "active": i64::from(c.status == "Active"), "email": c.email,
        "currency": c.currency_code, "credit": cents_str(c.credit_cents),
        "allowed_payments": billing::GATEWAYS.iter().map(|g| g.0).collect::<Vec<_>>(),
        "native_endpoint": call.host,
    }]}))
}

/// eq/suspend (a permission of 001's role): the customer suspends their server.
pub async fn suspend(ctx: &Ctx) -> Result<Value> {
    let (state, _, _) = ctx.parts()?;
    let server = ctx.server().await?;
    billing::suspend(state, &server).await?;
    Ok(json!({"result": "OK", "action": "suspend", "id": server.id}))
}

/// eq/unsuspend (a permission of 001's role): lifts the customer's own suspension.
pub async fn unsuspend(ctx: &Ctx) -> Result<Value> {
    let (state, _, _) = ctx.parts()?;
    let server = ctx.server().await?;
    billing::unsuspend(state, &server).await?;
    Ok(json!({"result": "OK", "action": "unsuspend", "id": server.id}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invoice_row_takes_the_credit_off_the_total() {
        let inv = Invoice {
            id: 24016,
            account_id: 1,
            status: "Paid".into(),
            total_cents: 500,
            credit_cents: 500,
            created_at: 0,
            due_at: 86_400,
            paid_at: Some(10),
            kind: "order".into(),
            paid_cents: 0,
            updated_at: 10,
            cancelled_at: None,
            refunded_at: None,
            server_id: 0,
            period_due: 0,
            payment_method: "credit".into(),
            notes: String::new(),
            notices: 0,
        };
        let row = invoice_row(&inv, 3172);
        assert_eq!(row["subtotal"], "5.00");
        assert_eq!(row["credit"], "5.00");
        assert_eq!(row["total"], "0.00");
        assert_eq!(row["datepaid"], "1970-01-01 00:00:10");
        assert_eq!(row["date_cancelled"], NO_DATETIME);
        assert_eq!(row["userid"], 3172);
    }
}
