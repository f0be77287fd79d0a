//! whmcs.php (issue 11): the billing module over HTTP: the profile and contacts, invoices
//! and payments, PDF invoices, cancellations, the billing cycle on the emulator's clock,
//! isolation, and books that balance.

use serde_json::Value;

use crate::helpers::*;

/// A whmcs.php call with a token.
async fn whmcs(app: &TestApp, token: &str, action: &str, extra: &[(&str, &str)]) -> Value {
    let mut form = vec![("action", action), ("token", token)];
    form.extend_from_slice(extra);
    app.call("whmcs", &form).await
}

/// The demo account as the control plane shows it (credit in cents, invoices with kinds).
async fn books_of(app: &TestApp) -> Value {
    app.control_get("/_emu/accounts/demo").await
}

/// POST /_emu/invoices/{id}/{what}?query; status and JSON answer.
async fn control(app: &TestApp, id: i64, what: &str, query: &str) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/_emu/invoices/{id}/{what}?{query}", app.base))
        .send()
        .await
        .expect("control");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

fn success(v: &Value) -> &Value {
    assert_eq!(v["result"], "success", "expected success, got {v}");
    assert!(v.get("error").is_none(), "{v}");
    v
}

/// The emulator with the billing cycle on, on a scenario changed by `edit`.
async fn spawn_billing(edit: impl FnOnce(&mut Value)) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let mut sc: Value = serde_json::from_str(include_str!("../../seeds/demo.json")).expect("demo");
    edit(&mut sc);
    let path = dir.path().join("billing.json");
    std::fs::write(&path, sc.to_string()).expect("write");
    let mut config = test_config();
    config.scenario = path.to_string_lossy().into_owned();
    config.billing_cycle = true;
    (TestApp::spawn_with(config).await, dir)
}

/// Every demo server's next due date far away, except those named (days left).
fn due_dates(sc: &mut Value, near: &[(i64, i64)]) {
    for s in sc["servers"].as_array_mut().expect("servers") {
        let id = s["id"].as_i64().expect("id");
        let days = near.iter().find(|(i, _)| *i == id).map_or(200, |(_, d)| *d);
        if id != 40106 {
            s["days_left"] = serde_json::json!(days);
        }
    }
}

#[tokio::test]
async fn the_profile_reads_back_what_update_client_changed_and_refuses_bad_fields() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let c = whmcs(&app, &t, "get_client", &[]).await;
    success(&c);
    assert_eq!(c["client"]["credit"], "412.75");
    assert_eq!(c["client"]["currency_code"], "EUR");
    assert_eq!(c["client"]["currency"], 2);
    assert_eq!(c["client"]["co_customertype"]["type"], "select");
    assert_eq!(c["billing_location"], "whmcs_com");
    assert_eq!(c["internal"]["id"], 38642);
    let u = whmcs(
        &app,
        &t,
        "update_client",
        &[
            ("billing_firstname", "Anna"),
            ("billing_country", "de"),
            ("billing_email", "anna@example.org"),
            ("billing_twofaenabled", "true"),
            ("billing_currency", "1"),
            ("co_marktsms", "on"),
            ("co_skype", "@anna"),
        ],
    )
    .await;
    assert_eq!(success(&u)["clientid"], "7315", "a string id, as 001 shows");
    let c = whmcs(&app, &t, "get_client", &[]).await;
    let cl = &c["client"];
    assert_eq!(cl["firstname"], "Anna");
    assert_eq!(cl["country"], "DE");
    assert_eq!(cl["email"], "anna@example.org");
    assert_eq!(cl["twofaenabled"], true);
    assert_eq!(cl["currency"], 1);
    assert_eq!(cl["currency_code"], "USD");
    assert_eq!(cl["co_marktsms"]["value"], "on");
    assert_eq!(cl["co_skype"]["value"], "@anna");
    for (field, value, says) in [
        ("billing_country", "XX", "billing_country"),
        ("billing_email", "not-an-email", "billing_email"),
        ("billing_currency", "4", "billing_currency"),
        ("billing_currency", "two", "billing_currency"),
        ("billing_taxexempt", "maybe", "billing_taxexempt"),
        ("billing_status", "Sleeping", "billing_status"),
        ("co_customertype", "Robot", "co_customertype"),
        ("co_marktemails", "perhaps", "co_marktemails"),
        ("billing_phonenumber", "call me", "billing_phonenumber"),
    ] {
        let v = whmcs(
            &app,
            &t,
            "update_client",
            &[(field, value), ("billing_lastname", "Changed")],
        )
        .await;
        let e = error_of(&v);
        assert!(
            e.starts_with("whmcs/update_client: ") && e.contains(says),
            "{field}={value}: {e}"
        );
    }
    let c = whmcs(&app, &t, "get_client", &[]).await;
    assert_eq!(
        c["client"]["lastname"], "de Vries",
        "a refused update changes nothing"
    );
    // The other account's e-mail is taken.
    let v = whmcs(
        &app,
        &t,
        "update_client",
        &[("billing_email", "other@hostkey-emu.local")],
    )
    .await;
    assert!(error_of(&v).contains("already used"));
    // reset_password: only the account's own e-mail; a message in the outbox.
    let v = whmcs(&app, &t, "reset_password", &[("email", "someone@else.org")]).await;
    assert_eq!(
        v,
        serde_json::json!({"result": -1, "message": "Failed to identify the customer's billing, please contact support"})
    );
    let v = whmcs(&app, &t, "reset_password", &[("email", "ANNA@example.org")]).await;
    assert_eq!(v["result"], "OK");
    assert_eq!(v["debug"]["result"], "success");
    let mails = app.control_get("/_emu/outbox").await;
    let mail = &mails["mails"][0];
    assert_eq!(mail["to_address"], "anna@example.org");
    assert_eq!(mail["subject"], "Password Reset Confirmation");
    app.stop().await;
}

#[tokio::test]
async fn contacts_are_added_changed_and_deleted_and_their_passwords_stay_hashed() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    assert_eq!(
        success(&whmcs(&app, &t, "get_contacts", &[]).await)["contacts"],
        serde_json::json!([])
    );
    let added = whmcs(&app, &t, "add_contact", &[]).await;
    let id = success(&added)["contactid"]
        .as_i64()
        .expect("numeric contactid");
    let list = whmcs(&app, &t, "get_contacts", &[]).await;
    let email = list["contacts"][0]["email"].as_str().expect("email");
    assert!(email.contains('@'), "a random address to change: {email}");
    let sid = id.to_string();
    let v = whmcs(
        &app,
        &t,
        "update_contact",
        &[
            ("contact_id", &sid),
            ("email", "ops@example.org"),
            ("phonenumber", "+31612345678"),
            ("password2", "Contact-pass-9"),
        ],
    )
    .await;
    assert_eq!(success(&v)["contactid"], id);
    let list = whmcs(&app, &t, "get_contacts", &[]).await;
    let c = &list["contacts"][0];
    assert_eq!(c["email"], "ops@example.org");
    assert_eq!(c["phonenumber"], "+31612345678");
    assert_eq!(c["userid"], 7315);
    let hash = c["Password"].as_str().expect("hash");
    assert!(hash.starts_with("$argon2"), "stored as a hash: {hash}");
    assert!(
        !list.to_string().contains("Contact-pass-9"),
        "never in clear"
    );
    let v = whmcs(
        &app,
        &t,
        "update_contact",
        &[("contact_id", &sid), ("email", "broken")],
    )
    .await;
    assert!(error_of(&v).contains("invalid email"));
    // Another account neither changes nor deletes it.
    let other = app.other_token().await;
    let v = whmcs(
        &app,
        &other,
        "update_contact",
        &[("contact_id", &sid), ("email", "x@example.org")],
    )
    .await;
    assert_eq!(
        error_of(&v),
        "whmcs/update_contact: verification failed, subcontact not found"
    );
    let v = whmcs(&app, &other, "delete_contact", &[("contact_id", &sid)]).await;
    assert_eq!(
        error_of(&v),
        "whmcs/delete_contact: verification failed, subcontact not found"
    );
    assert_eq!(
        whmcs(&app, &other, "get_contacts", &[]).await["contacts"],
        serde_json::json!([])
    );
    let v = whmcs(&app, &t, "delete_contact", &[("contact_id", &sid)]).await;
    assert_eq!(success(&v)["message"], sid);
    assert_eq!(
        whmcs(&app, &t, "get_contacts", &[]).await["contacts"],
        serde_json::json!([])
    );
    let v = whmcs(&app, &t, "delete_contact", &[("contact_id", &sid)]).await;
    assert!(error_of(&v).contains("subcontact not found"), "gone");
    app.stop().await;
}

#[tokio::test]
async fn add_funds_gateway_payments_credit_and_mass_pay_move_money_exactly() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    // Bad amounts are refused in the one error shape.
    for bad in ["-5", "0", "abc", "1e3", "12.345", "1000000.01", ""] {
        let v = whmcs(&app, &t, "create_addfunds", &[("amount", bad)]).await;
        let e = error_of(&v);
        assert!(e.starts_with("whmcs/create_addfunds: "), "{bad}: {e}");
    }
    let v = ok(&whmcs(&app, &t, "create_addfunds", &[("amount", "50")]).await).clone();
    let funds = v["invoice"].as_i64().expect("numeric invoice");
    assert_eq!(v["message"], format!("Invoice {funds} created"));
    let inv = whmcs(
        &app,
        &t,
        "get_invoice",
        &[("invoice_id", &funds.to_string())],
    )
    .await;
    assert_eq!(success(&inv)["status"], "Unpaid");
    assert_eq!(inv["balance"], "50.00");
    assert_eq!(inv["items"]["item"][0]["amount"], "50.00");
    assert_eq!(inv["transactions"], "");
    // The gateways' forms pay at the emulator.
    let gw = ok(&whmcs(
        &app,
        &t,
        "getpaymentgw",
        &[("invoice_id", &funds.to_string())],
    )
    .await)
    .clone();
    let form = gw["methods"]["paypal"]["call"].as_str().expect("form");
    assert!(
        form.contains(&format!(
            "{}/_emu/invoices/{funds}/pay?gateway=paypal",
            app.addr
        )),
        "{form}"
    );
    assert_eq!(gw["methods"]["banktransfer"]["name"], "Bank Transfer");
    // A partial payment, then the rest: a transaction each; paid in full, the credit rises.
    let (status, p) = control(&app, funds, "pay", "gateway=paypal&amount=20").await;
    assert_eq!(
        (status, p["invoice_status"].as_str()),
        (200, Some("Unpaid")),
        "{p}"
    );
    assert_eq!(p["balance"], "30.00");
    for bad in [
        "amount=-1",
        "amount=0",
        "amount=30.01",
        "amount=x",
        "gateway=cash",
    ] {
        let (status, _) = control(&app, funds, "pay", bad).await;
        assert_eq!(status, 400, "{bad}");
    }
    let (status, p) = control(&app, funds, "pay", "gateway=banktransfer").await;
    assert_eq!(
        (status, p["invoice_status"].as_str()),
        (200, Some("Paid")),
        "{p}"
    );
    let (status, _) = control(&app, funds, "pay", "").await;
    assert_eq!(status, 404, "a paid invoice is paid once");
    let c = whmcs(&app, &t, "get_client", &[]).await;
    assert_eq!(c["client"]["credit"], "462.75");
    let tr = ok(&whmcs(
        &app,
        &t,
        "transactions",
        &[("invoice_id", &funds.to_string())],
    )
    .await)
    .clone();
    let amounts: Vec<&str> = tr["transactions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|t| t["amountin"].as_str().expect("in"))
        .collect();
    assert_eq!(amounts, vec!["20.00", "30.00"]);
    let credits = ok(&whmcs(&app, &t, "getcredits", &[]).await).clone();
    assert_eq!(credits["message"]["result"], "success");
    let log = &credits["message"]["credits"]["credit"];
    assert_eq!(log[0]["description"], format!("Add Funds Invoice #{funds}"));
    assert_eq!(log[0]["amount"], "50.00");
    // A renewal of the GPU server (1390.00, more than the credit) stays unpaid.
    let v = ok(&whmcs(&app, &t, "generate_due_invoice", &[("id", "40104")]).await).clone();
    assert_eq!(v["invoices"], 1);
    let again = ok(&whmcs(&app, &t, "generate_due_invoice", &[("id", "40104")]).await).clone();
    assert_eq!(again["invoices"], 0, "once per period");
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40104")]).await;
    let renewal = success(&rel)["invoices"][0]["id"].as_i64().expect("id");
    assert_eq!(rel["invoices"][0]["status"], "Unpaid");
    assert_eq!(rel["invoices"][0]["subtotal"], "1390.00");
    let rs = renewal.to_string();
    let v = whmcs(
        &app,
        &t,
        "apply_credit",
        &[("invoice_id", &rs), ("amount", "100")],
    )
    .await;
    assert_eq!(success(&v)["invoicepaid"], "false");
    assert_eq!(v["amount"], 100);
    for (amount, says) in [
        ("-3", "invalid amount"),
        ("1290.01", "more than the balance"),
        ("400", "insufficient credit"),
    ] {
        let v = whmcs(
            &app,
            &t,
            "apply_credit",
            &[("invoice_id", &rs), ("amount", amount)],
        )
        .await;
        assert!(error_of(&v).contains(says), "{amount}");
    }
    let v = whmcs(
        &app,
        &t,
        "apply_credit",
        &[("invoice_id", "999999"), ("amount", "1")],
    )
    .await;
    assert_eq!(error_of(&v), "whmcs/apply_credit: invalid invoice id");
    let inv = whmcs(&app, &t, "get_invoice", &[("invoice_id", &rs)]).await;
    assert_eq!(
        (inv["credit"].as_str(), inv["balance"].as_str()),
        (Some("100.00"), Some("1290.00"))
    );
    // mass_pay: one invoice for the renewal and a second add-funds invoice.
    let second = ok(&whmcs(&app, &t, "create_addfunds", &[("amount", "10.50")]).await)["invoice"]
        .as_i64()
        .expect("id");
    let ss = second.to_string();
    let v = whmcs(&app, &t, "mass_pay", &[("invoices[]", &rs)]).await;
    assert_eq!(error_of(&v), "whmcs/mass_pay: invalid request");
    let v = whmcs(
        &app,
        &t,
        "mass_pay",
        &[("invoices[]", &rs), ("invoices[]", "abc")],
    )
    .await;
    assert_eq!(error_of(&v), "whmcs/mass_pay: invalid request");
    let v = ok(&whmcs(
        &app,
        &t,
        "mass_pay",
        &[("invoices[]", &rs), ("invoices[]", &ss)],
    )
    .await)
    .clone();
    let mass = v["invoiceid"].as_i64().expect("id");
    let inv = whmcs(
        &app,
        &t,
        "get_invoice",
        &[("invoice_id", &mass.to_string())],
    )
    .await;
    assert_eq!(inv["total"], "1300.50");
    let lines: Vec<(i64, &str)> = inv["items"]["item"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["relid"].as_i64().expect("relid"),
                i["type"].as_str().expect("type"),
            )
        })
        .collect();
    assert_eq!(lines, vec![(renewal, "Invoice"), (second, "Invoice")]);
    let credit_before = books_of(&app).await["account"]["credit_cents"]
        .as_i64()
        .expect("cents");
    let (status, p) = control(&app, mass, "pay", "gateway=paypal").await;
    assert_eq!((status, p["invoice_status"].as_str()), (200, Some("Paid")));
    for id in [&rs, &ss] {
        let inv = whmcs(&app, &t, "get_invoice", &[("invoice_id", id)]).await;
        assert_eq!(
            (inv["status"].as_str(), inv["balance"].as_str()),
            (Some("Paid"), Some("0.00")),
            "{id}"
        );
    }
    // The add-funds part went to the credit; the renewal's part paid for the server, whose
    // next due date moved a period on.
    let credit_after = books_of(&app).await["account"]["credit_cents"]
        .as_i64()
        .expect("cents");
    assert_eq!(credit_after - credit_before, 1_050);
    let v = whmcs(
        &app,
        &t,
        "apply_credit",
        &[("invoice_id", &rs), ("amount", "1")],
    )
    .await;
    assert!(error_of(&v).contains("already paid"));
    // A refund: the transaction is recorded and shown; the credit the money became goes.
    let (status, r) = control(&app, funds, "refund", "amount=5").await;
    assert_eq!((status, r["amount"].as_str()), (200, Some("5.00")), "{r}");
    let (status, _) = control(&app, funds, "refund", "amount=100").await;
    assert_eq!(status, 400, "more than was paid");
    let (status, _) = control(&app, 999_999, "refund", "").await;
    assert_eq!(status, 404);
    let tr = whmcs(
        &app,
        &t,
        "transactions",
        &[("invoice_id", &funds.to_string())],
    )
    .await;
    assert_eq!(tr["transactions"][2]["amountout"], "5.00");
    let after_refund = books_of(&app).await["account"]["credit_cents"]
        .as_i64()
        .expect("cents");
    assert_eq!(after_refund, credit_after - 500);
    // get_invoices: every invoice, newest first, 001's row shape.
    let all = whmcs(&app, &t, "get_invoices", &[]).await;
    assert_eq!(success(&all)["totalresults"], 4);
    let first = &all["invoices"]["invoice"][0];
    assert_eq!(first["id"], mass);
    assert_eq!(first["currencycode"], "EUR");
    assert_eq!(first["paymethodid"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn download_invoice_is_a_pdf_with_the_number_lines_and_total() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    whmcs(&app, &t, "generate_due_invoice", &[("id", "40104")]).await;
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40104")]).await;
    let id = rel["invoices"][0]["id"].as_i64().expect("id").to_string();
    let r = app
        .post(
            "whmcs",
            &[
                ("action", "download_invoice"),
                ("token", &t),
                ("invoice_id", &id),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .contains(&format!("Invoice-{id}.pdf")));
    let bytes = r.bytes().await.expect("body");
    assert!(bytes.starts_with(b"%PDF-"));
    let doc = lopdf::Document::load_mem(&bytes).expect("a PDF lopdf reads");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    assert_eq!(pages.len(), 1);
    let text = doc.extract_text(&pages).expect("text");
    assert!(text.contains(&format!("Invoice #{id}")), "{text}");
    assert!(text.contains("UNPAID"), "{text}");
    assert!(text.contains("(server 40104)"), "the line: {text}");
    assert!(text.contains("1390.00 EUR"), "the line and total: {text}");
    assert!(text.contains("Balance"), "{text}");
    assert!(text.contains("HOSTKEY B.V."), "the seller: {text}");
    assert!(text.contains("Demo Hosting B.V."), "the buyer: {text}");
    assert!(
        text.contains("NL859173620B01"),
        "the buyer's VAT number: {text}"
    );
    // Unknown and foreign invoices: the error envelope, JSON.
    let v = app
        .call(
            "whmcs",
            &[
                ("action", "download_invoice"),
                ("token", &t),
                ("invoice_id", "999999"),
            ],
        )
        .await;
    assert_eq!(error_of(&v), "whmcs/download_invoice: Invalid invoice ID");
    let other = app.other_token().await;
    let v = app
        .call(
            "whmcs",
            &[
                ("action", "download_invoice"),
                ("token", &other),
                ("invoice_id", &id),
            ],
        )
        .await;
    assert!(error_of(&v).contains("permission denied"));
    app.stop().await;
}

#[tokio::test]
async fn another_accounts_invoices_contacts_and_servers_are_refused_and_unchanged() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let other = app.other_token().await;
    let funds = whmcs(&app, &t, "create_addfunds", &[("amount", "20")]).await["invoice"]
        .as_i64()
        .expect("id")
        .to_string();
    for (action, extra) in [
        ("get_invoice", vec![("invoice_id", funds.as_str())]),
        ("getpaymentgw", vec![("invoice_id", funds.as_str())]),
        ("transactions", vec![("invoice_id", funds.as_str())]),
        (
            "apply_credit",
            vec![("invoice_id", funds.as_str()), ("amount", "1")],
        ),
        (
            "mass_pay",
            vec![
                ("invoices[]", funds.as_str()),
                ("invoices[]", funds.as_str()),
            ],
        ),
    ] {
        let v = whmcs(&app, &other, action, &extra).await;
        let e = error_of(&v);
        assert!(e.starts_with(&format!("whmcs/{action}: ")), "{e}");
        assert!(
            e.contains("permission denied") || e.contains("invalid request"),
            "{action}: {e}"
        );
    }
    let v = whmcs(
        &app,
        &other,
        "mass_pay",
        &[("invoices[]", funds.as_str()), ("invoices[]", "24015")],
    )
    .await;
    assert!(error_of(&v).contains("permission denied") || error_of(&v).contains("invalid request"));
    for (action, extra) in [
        ("get_billing_data", vec![]),
        ("get_related_invoices", vec![]),
        ("generate_due_invoice", vec![]),
        ("get_product_invoice", vec![]),
        ("request_cancellation", vec![("cancellation_type", "1")]),
    ] {
        let mut form = vec![("id", "40101")];
        form.extend(extra);
        let v = whmcs(&app, &other, action, &form).await;
        assert_eq!(
            error_of(&v),
            format!("whmcs/{action}: permission denied #3, this is not your server")
        );
    }
    for action in ["delete_cancellation_request", "get_cancellation_requests"] {
        let v = whmcs(&app, &other, action, &[("id", "40101")]).await;
        assert_eq!(
            error_of(&v),
            "whmcs/request_cancellation: permission denied #3, this is not your server",
            "001's (sic) prefix"
        );
    }
    // Nothing changed: the invoice is unpaid, the server still demo's and not cancelled.
    let inv = whmcs(&app, &t, "get_invoice", &[("invoice_id", &funds)]).await;
    assert_eq!(
        (inv["status"].as_str(), inv["credit"].as_str()),
        (Some("Unpaid"), Some("0.00"))
    );
    assert!(app.server_ids(&t).await.contains(&40101));
    assert_eq!(
        whmcs(&app, &t, "get_cancellation_requests", &[]).await["message"],
        serde_json::json!([])
    );
    // A per-server key's session reaches its server's billing, not the account's.
    let scoped = app.login_key(DEMO_SERVER_KEY).await;
    let v = whmcs(&app, &scoped, "get_billing_data", &[("id", "40101")]).await;
    assert_eq!(v["result"], "OK");
    for action in ["get_client", "get_invoices", "getcredits", "get_contacts"] {
        let e = error_of(&whmcs(&app, &scoped, action, &[]).await);
        assert!(
            e.contains("permission denied, a per-server key"),
            "{action}: {e}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn an_immediate_cancellation_ends_the_service_and_credits_unused_days() {
    let (app, _dir) = spawn_billing(|sc| due_dates(sc, &[(40101, 15)])).await;
    let t = app.long_token().await;
    let data = whmcs(&app, &t, "get_billing_data", &[("id", "40101")]).await;
    let keys: Vec<&String> = data.as_object().expect("flat").keys().collect();
    assert_eq!(
        keys.last().map(|k| k.as_str()),
        Some("result"),
        "result is the last key"
    );
    assert_eq!(data["billing_status"], "Active");
    assert_eq!(data["billing_reccuring"], "12.00");
    assert_eq!(data["days_left"], 15);
    assert_eq!(data["client_id"], 7315);
    let before = books_of(&app).await["account"]["credit_cents"]
        .as_i64()
        .expect("cents");
    let v = whmcs(
        &app,
        &t,
        "request_cancellation",
        &[
            ("id", "40101"),
            ("cancelation_type", "1"),
            ("terminate_reason_custom", "done"),
        ],
    )
    .await;
    assert_eq!(v["result"], "OK", "{v}");
    assert_eq!(v["action"], "request_cancellation");
    let key = v["callback"].as_str().expect("callback").to_owned();
    assert_eq!(key.len(), 32);
    let again = whmcs(
        &app,
        &t,
        "request_cancellation",
        &[("id", "40101"), ("cancellation_type", "1")],
    )
    .await;
    assert!(
        error_of(&again).contains("already exists"),
        "one request per server"
    );
    let bad = whmcs(
        &app,
        &t,
        "request_cancellation",
        &[("id", "40102"), ("cancellation_type", "2")],
    )
    .await;
    assert!(error_of(&bad).contains("cancellation_type"));
    let done = app.complete(&key).await;
    assert_eq!(done["result"], "OK", "{done}");
    assert!(
        !app.server_ids(&t).await.contains(&40101),
        "it leaves eq/list"
    );
    let gone = whmcs(&app, &t, "get_billing_data", &[("id", "40101")]).await;
    assert!(error_of(&gone).contains("this is not your server"));
    // 15 unused days of a 12.00 month are credited (about 6.00, by the month's days).
    let after = books_of(&app).await["account"]["credit_cents"]
        .as_i64()
        .expect("cents");
    let credited = after - before;
    assert!((540..=620).contains(&credited), "credited {credited}");
    let credits = whmcs(&app, &t, "getcredits", &[]).await;
    let last = &credits["message"]["credits"]["credit"][0];
    assert!(
        last["description"]
            .as_str()
            .expect("text")
            .starts_with("Pro rata credit"),
        "{last}"
    );
    // Its address went back to the pool.
    let ip = app
        .call(
            "ip",
            &[("action", "get_ip"), ("token", &t), ("ip", "31.207.45.23")],
        )
        .await;
    assert!(
        ip.to_string().contains("not") || ip["server_id"].is_null(),
        "{ip}"
    );
    let mails = app.control_get("/_emu/outbox").await;
    assert!(mails["mails"]
        .as_array()
        .expect("mails")
        .iter()
        .any(|m| m["subject"] == "Service Cancellation Confirmation #40101"));
    app.stop().await;
}

/// Moves the clock by whole days, running the worker after each; a fresh token.
async fn days(app: &TestApp, n: u64) -> String {
    for _ in 0..n {
        app.advance(86_400).await;
        app.run_tasks().await;
    }
    app.demo_token().await
}

fn subjects(mails: &Value) -> Vec<String> {
    mails["mails"]
        .as_array()
        .expect("mails")
        .iter()
        .map(|m| m["subject"].as_str().expect("subject").to_owned())
        .collect()
}

#[tokio::test]
async fn a_month_on_the_clock_renews_reminds_suspends_unsuspends_and_ends_a_service() {
    // Server 40101 (12.00 a month) is due in 10 days; the credit (5.00) does not cover it.
    let (app, _dir) = spawn_billing(|sc| {
        sc["accounts"][0]["credit"] = serde_json::json!("5.00");
        due_dates(sc, &[(40101, 10)]);
    })
    .await;
    let t = days(&app, 2).await;
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40101")]).await;
    assert_eq!(
        rel["invoices"],
        serde_json::json!([]),
        "no invoice 8 days before"
    );
    // Day 3: 7 days before the due date, the renewal invoice appears, unpaid.
    let t = days(&app, 1).await;
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40101")]).await;
    assert_eq!(rel["invoices"].as_array().map(Vec::len), Some(1), "{rel}");
    let inv = rel["invoices"][0]["id"].as_i64().expect("id");
    assert_eq!(rel["invoices"][0]["status"], "Unpaid");
    assert_eq!(rel["invoices"][0]["total"], "12.00");
    let due =
        whmcs(&app, &t, "get_billing_data", &[("id", "40101")]).await["next_due_date"].clone();
    assert_eq!(rel["invoices"][0]["duedate"], due);
    assert!(subjects(&app.control_get("/_emu/outbox").await)
        .contains(&format!("Customer Invoice #{inv}")));
    // Day 10, the due date: a reminder; day 11: the overdue notice; still running.
    let t = days(&app, 7).await;
    let s = subjects(&app.control_get("/_emu/outbox").await);
    assert!(
        s.contains(&format!("Invoice Payment Reminder #{inv}")),
        "{s:?}"
    );
    let t2 = days(&app, 1).await;
    let s = subjects(&app.control_get("/_emu/outbox").await);
    assert!(
        s.contains(&format!("First Invoice Overdue Notice #{inv}")),
        "{s:?}"
    );
    drop(t);
    let data = whmcs(&app, &t2, "get_billing_data", &[("id", "40101")]).await;
    assert_eq!(data["billing_status"], "Active", "within the grace period");
    // Day 12: still within grace; day 13 (due + 3 days): suspended.
    let t = days(&app, 1).await;
    assert_eq!(
        whmcs(&app, &t, "get_billing_data", &[("id", "40101")]).await["billing_status"],
        "Active"
    );
    let t = days(&app, 1).await;
    let data = whmcs(&app, &t, "get_billing_data", &[("id", "40101")]).await;
    assert_eq!(data["billing_status"], "Suspended", "{data}");
    assert_eq!(data["suspend_reason"], "Overdue on Payment");
    let on = app
        .call("eq", &[("action", "on"), ("token", &t), ("id", "40101")])
        .await;
    assert!(error_of(&on).contains("is suspended"), "power refused");
    assert!(subjects(&app.control_get("/_emu/outbox").await)
        .contains(&"Service Suspension Notification #40101".to_owned()));
    let un = app
        .call(
            "eq",
            &[("action", "unsuspend"), ("token", &t), ("id", "40101")],
        )
        .await;
    assert!(
        error_of(&un).contains(&format!("pay invoice {inv}")),
        "not by hand"
    );
    // Paying the invoice reactivates the server and moves its due date a month on.
    let (status, p) = control(&app, inv, "pay", "gateway=paypal").await;
    assert_eq!(
        (status, p["invoice_status"].as_str()),
        (200, Some("Paid")),
        "{p}"
    );
    let data = whmcs(&app, &t, "get_billing_data", &[("id", "40101")]).await;
    assert_eq!(data["billing_status"], "Active");
    assert_ne!(data["next_due_date"], due, "a period on");
    let days_left = data["days_left"].as_i64().expect("days");
    assert!((24..=28).contains(&days_left), "{days_left}");
    let on = app
        .call("eq", &[("action", "on"), ("token", &t), ("id", "40101")])
        .await;
    assert_eq!(on["result"], "OK", "power again: {on}");
    assert!(subjects(&app.control_get("/_emu/outbox").await)
        .contains(&format!("Invoice Payment Confirmation #{inv}")));
    // An end-of-period cancellation: confirmed at once, effective on the due date.
    let v = whmcs(
        &app,
        &t,
        "request_cancellation",
        &[
            ("id", "40101"),
            ("cancellation_type", "0"),
            ("terminate_reason_custom", "moving"),
        ],
    )
    .await;
    let key = v["callback"].as_str().expect("callback").to_owned();
    let record = app.complete(&key).await;
    assert_eq!(record["result"], "OK");
    assert!(
        record["scope"].as_str().expect("scope").contains("ends on"),
        "{record}"
    );
    let crs = whmcs(&app, &t, "get_cancellation_requests", &[("id", "40101")]).await;
    assert_eq!(success(&crs)["message"][0]["type"], "End of Billing Period");
    assert_eq!(crs["message"][0]["reason"], "moving");
    assert_eq!(crs["message"][0]["relid"], 40101);
    // Until the due date the server stays, and no renewal invoice is made for it.
    let t = days(&app, (days_left - 1) as u64).await;
    assert!(app.server_ids(&t).await.contains(&40101));
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40101")]).await;
    assert_eq!(
        rel["invoices"].as_array().map(Vec::len),
        Some(1),
        "no renewal of a cancelled service"
    );
    let t = days(&app, 2).await;
    assert!(
        !app.server_ids(&t).await.contains(&40101),
        "gone after its due date"
    );
    assert_eq!(
        whmcs(&app, &t, "get_cancellation_requests", &[]).await["message"],
        serde_json::json!([])
    );
    assert!(subjects(&app.control_get("/_emu/outbox").await)
        .contains(&"Service Cancellation Confirmation #40101".to_owned()));
    app.stop().await;
}

#[tokio::test]
async fn a_renewal_covered_by_credit_is_paid_automatically() {
    let (app, _dir) = spawn_billing(|sc| due_dates(sc, &[(40102, 5)])).await;
    let t = days(&app, 0).await;
    app.run_tasks().await;
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40102")]).await;
    assert_eq!(rel["invoices"][0]["status"], "Paid", "{rel}");
    assert_eq!(rel["invoices"][0]["credit"], "129.00");
    let c = whmcs(&app, &t, "get_client", &[]).await;
    assert_eq!(c["client"]["credit"], "283.75", "412.75 - 129.00");
    let data = whmcs(&app, &t, "get_billing_data", &[("id", "40102")]).await;
    assert!(data["days_left"].as_i64().expect("days") > 25, "{data}");
    app.stop().await;
}

#[tokio::test]
async fn withdrawing_an_end_of_period_cancellation_reactivates_the_renewal_invoice() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    whmcs(&app, &t, "generate_due_invoice", &[("id", "40104")]).await;
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40104")]).await;
    let inv = rel["invoices"][0]["id"].as_i64().expect("id");
    let v = whmcs(
        &app,
        &t,
        "request_cancellation",
        &[("id", "40104"), ("cancellation_type", "0")],
    )
    .await;
    assert_eq!(v["result"], "OK", "{v}");
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40104")]).await;
    assert_eq!(rel["invoices"][0]["status"], "Cancelled");
    assert_ne!(rel["invoices"][0]["date_cancelled"], "0000-00-00 00:00:00");
    let v = whmcs(&app, &t, "delete_cancellation_request", &[("id", "40104")]).await;
    assert_eq!(
        success(&v)["message"],
        serde_json::json!(["CR deleted", format!("Invoice {inv} reactivated")])
    );
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40104")]).await;
    assert_eq!(rel["invoices"][0]["status"], "Unpaid");
    let v = whmcs(&app, &t, "delete_cancellation_request", &[("id", "40104")]).await;
    assert!(error_of(&v).contains("no cancellation request"));
    // eq/suspend and eq/unsuspend by hand.
    let v = app
        .call(
            "eq",
            &[("action", "suspend"), ("token", &t), ("id", "40102")],
        )
        .await;
    assert_eq!(v["result"], "OK");
    let on = app
        .call("eq", &[("action", "on"), ("token", &t), ("id", "40102")])
        .await;
    assert!(error_of(&on).contains("is suspended"));
    let v = app
        .call(
            "eq",
            &[("action", "unsuspend"), ("token", &t), ("id", "40102")],
        )
        .await;
    assert_eq!(v["result"], "OK");
    let v = app
        .call(
            "eq",
            &[("action", "unsuspend"), ("token", &t), ("id", "40106")],
        )
        .await;
    assert!(
        error_of(&v).contains("contact support"),
        "HOSTKEY's suspension is not lifted by hand"
    );
    let bl = app
        .call("auth", &[("action", "billing_list"), ("token", &t)])
        .await;
    assert_eq!(bl["result"], "OK");
    assert_eq!(bl["billing"][0]["whmcs_id"], 7315);
    assert_eq!(bl["billing"][0]["credit"], "412.75");
    app.stop().await;
}

/// A tiny deterministic generator (no test depends on a random crate's API).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

#[tokio::test]
async fn money_is_never_created_or_lost_over_random_billing_actions() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let opening = books_of(&app).await["account"]["credit_cents"]
        .as_i64()
        .expect("cents");
    let mut rng = Lcg(0x5eed_b111);
    let (mut paid_in, mut paid_out) = (0i64, 0i64);
    let servers = ["40101", "40102", "40103", "40104", "40105"];
    for step in 0..120 {
        let books = books_of(&app).await;
        let invoices: Vec<Value> = books["invoices"].as_array().expect("invoices").clone();
        let pick = |rng: &mut Lcg| -> Option<Value> {
            (!invoices.is_empty())
                .then(|| invoices[rng.next(invoices.len() as u64) as usize].clone())
        };
        let cents = |rng: &mut Lcg| 1 + rng.next(60_000) as i64;
        let amount = |c: i64| format!("{}.{:02}", c / 100, c % 100);
        match rng.next(8) {
            0 => {
                let a = amount(cents(&mut rng));
                whmcs(&app, &t, "create_addfunds", &[("amount", &a)]).await;
            }
            1 => {
                let s = servers[rng.next(servers.len() as u64) as usize];
                whmcs(&app, &t, "generate_due_invoice", &[("id", s)]).await;
            }
            2 | 3 => {
                if let Some(inv) = pick(&mut rng) {
                    let id = inv["id"].as_i64().expect("id");
                    let q = if rng.next(2) == 0 {
                        String::new()
                    } else {
                        format!("amount={}", amount(cents(&mut rng)))
                    };
                    let (status, p) = control(&app, id, "pay", &q).await;
                    if status == 200 {
                        paid_in += (p["amount"].as_str().expect("amount").replace('.', ""))
                            .parse::<i64>()
                            .expect("cents");
                    }
                }
            }
            4 => {
                if let Some(inv) = pick(&mut rng) {
                    let id = inv["id"].as_i64().expect("id");
                    let q = if rng.next(2) == 0 {
                        String::new()
                    } else {
                        format!("amount={}", amount(cents(&mut rng)))
                    };
                    let (status, p) = control(&app, id, "refund", &q).await;
                    if status == 200 {
                        paid_out += (p["amount"].as_str().expect("amount").replace('.', ""))
                            .parse::<i64>()
                            .expect("cents");
                    }
                }
            }
            5 => {
                if let Some(inv) = pick(&mut rng) {
                    let id = inv["id"].as_i64().expect("id").to_string();
                    let a = amount(cents(&mut rng));
                    whmcs(
                        &app,
                        &t,
                        "apply_credit",
                        &[("invoice_id", &id), ("amount", &a)],
                    )
                    .await;
                }
            }
            6 => {
                if let (Some(a), Some(b)) = (pick(&mut rng), pick(&mut rng)) {
                    let (a, b) = (a["id"].to_string(), b["id"].to_string());
                    whmcs(
                        &app,
                        &t,
                        "mass_pay",
                        &[("invoices[]", &a), ("invoices[]", &b)],
                    )
                    .await;
                }
            }
            _ => {
                if step % 40 == 7 {
                    let s = servers[rng.next(servers.len() as u64) as usize];
                    let v = whmcs(
                        &app,
                        &t,
                        "request_cancellation",
                        &[("id", s), ("cancellation_type", &rng.next(2).to_string())],
                    )
                    .await;
                    if let Some(key) = v["callback"].as_str() {
                        app.complete(key).await;
                    }
                }
            }
        }
        let credit = books_of(&app).await["account"]["credit_cents"]
            .as_i64()
            .expect("cents");
        assert!(credit >= 0, "step {step}: the credit went negative");
    }
    // The books: what came in from outside (opening credit, payments less refunds) is in
    // the credit, in services paid (less what cancellations credited back), or in funds
    // invoices not yet paid in full.
    let books = books_of(&app).await;
    let credit = books["account"]["credit_cents"].as_i64().expect("cents");
    let mut in_services = 0;
    for inv in books["invoices"].as_array().expect("invoices") {
        let (kind, status) = (
            inv["kind"].as_str().expect("kind"),
            inv["status"].as_str().expect("status"),
        );
        let (c, p) = (
            inv["credit_cents"].as_i64().expect("c"),
            inv["paid_cents"].as_i64().expect("p"),
        );
        let funds = kind == "addfunds" || kind == "masspay";
        if status == "Cancelled" {
            assert_eq!(c + p, 0, "a cancelled invoice holds no money: {inv}");
        } else if funds {
            // Paid, its money became credit; unpaid, it holds what was paid into it.
            if status == "Unpaid" {
                in_services += c + p;
            }
        } else {
            in_services += c + p;
        }
    }
    let log = whmcs(&app, &t, "getcredits", &[]).await;
    let entries = log["message"]["credits"]["credit"]
        .as_array()
        .expect("log")
        .clone();
    let cents_of = |s: &str| -> i64 {
        let neg = s.starts_with('-');
        let v: i64 = s
            .trim_start_matches('-')
            .replace('.', "")
            .parse()
            .expect("cents");
        if neg {
            -v
        } else {
            v
        }
    };
    let pro_rata: i64 = entries
        .iter()
        .filter(|e| {
            e["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("Pro rata"))
        })
        .map(|e| cents_of(e["amount"].as_str().expect("amount")))
        .sum();
    assert!(
        paid_in > 0 && books["invoices"].as_array().expect("i").len() > 5,
        "the sequence did something"
    );
    assert_eq!(
        opening + paid_in - paid_out + pro_rata,
        credit + in_services,
        "books balance: opening {opening}, in {paid_in}, out {paid_out}, pro rata {pro_rata}, credit {credit}, services {in_services}"
    );
    let logged: i64 = entries
        .iter()
        .map(|e| cents_of(e["amount"].as_str().expect("amount")))
        .sum();
    assert_eq!(
        opening + logged,
        credit,
        "every change of the credit is logged"
    );
    let tr = whmcs(&app, &t, "transactions", &[]).await;
    let (tin, tout) =
        tr["transactions"]
            .as_array()
            .expect("list")
            .iter()
            .fold((0, 0), |(i, o), x| {
                (
                    i + cents_of(x["amountin"].as_str().expect("in")),
                    o + cents_of(x["amountout"].as_str().expect("out")),
                )
            });
    assert_eq!(
        (tin, tout),
        (paid_in, paid_out),
        "every payment and refund is a transaction"
    );
    app.stop().await;
}

#[tokio::test]
async fn payments_and_refunds_post_the_accounts_billing_webhook() {
    let sink = Sink::start().await;
    let url = sink.url.clone();
    let (app, _dir) = spawn_billing(move |sc| {
        sc["accounts"][0]["billing"]["webhook"] = serde_json::json!(url);
        due_dates(sc, &[]);
    })
    .await;
    let t = app.demo_token().await;
    let id = whmcs(&app, &t, "create_addfunds", &[("amount", "30")]).await["invoice"]
        .as_i64()
        .expect("id");
    control(&app, id, "pay", "gateway=paypal&amount=10").await;
    control(&app, id, "pay", "gateway=paypal").await;
    control(&app, id, "refund", "amount=2.50").await;
    let got = sink.wait_for(4).await;
    let events: Vec<(&str, &str)> = got
        .iter()
        .map(|v| {
            (
                v["event"].as_str().expect("event"),
                v["amount"]
                    .as_str()
                    .or(v["total"].as_str())
                    .expect("amount"),
            )
        })
        .collect();
    assert!(events.contains(&("payment", "10.00")), "{events:?}");
    assert!(events.contains(&("payment", "20.00")), "{events:?}");
    assert!(events.contains(&("invoice_paid", "30.00")), "{events:?}");
    assert!(events.contains(&("refund", "2.50")), "{events:?}");
    assert!(got.iter().all(|v| v["invoice_id"] == id), "{got:?}");
    // The other account has no webhook: its payments post nothing.
    let o = app.other_token().await;
    let theirs = whmcs(&app, &o, "create_addfunds", &[("amount", "5")]).await["invoice"]
        .as_i64()
        .expect("id");
    control(&app, theirs, "pay", "").await;
    assert_eq!(sink.received.lock().expect("lock").len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn get_product_invoice_finds_the_invoice_of_a_servers_order() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let order = app
        .call(
            "eq",
            &[
                ("action", "order_instance"),
                ("token", &t),
                ("deploy_period", "monthly"),
                ("pin", DEMO_PIN),
                ("preset", "108"),
                ("location_name", "NL"),
                ("os_id", "187"),
                ("traffic_plan", "25"),
                ("root_pass", "Secret-pass1"),
            ],
        )
        .await;
    let invoice = order["invoice"]
        .as_i64()
        .unwrap_or_else(|| panic!("order: {order}"));
    let id = order["id"].as_i64().expect("server id").to_string();
    let v = ok(&whmcs(&app, &t, "get_product_invoice", &[("id", &id)]).await).clone();
    assert_eq!(v["invoice"]["id"], invoice);
    assert_eq!(v["invoice"]["status"], "Paid", "the credit covered it");
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", &id)]).await;
    assert_eq!(rel["invoices"][0]["id"], invoice);
    // A server still waiting for its deployment is not cancelled this way.
    let v = whmcs(
        &app,
        &t,
        "request_cancellation",
        &[("id", &id), ("cancellation_type", "1")],
    )
    .await;
    assert!(
        error_of(&v).contains("waiting for payment and deployment"),
        "{v}"
    );
    // The scenario's servers have no order invoice.
    let v = whmcs(&app, &t, "get_product_invoice", &[("id", "40102")]).await;
    assert!(error_of(&v).contains("no order invoice found"));
    app.stop().await;
}

#[tokio::test]
async fn an_order_paid_in_full_from_the_credit_deploys() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let order = app.order_gpu_year(&t).await;
    assert_eq!(order["status"], "Unpaid", "{order}");
    let invoice = order["invoice"].as_i64().expect("invoice").to_string();
    let key = order["callback"].as_str().expect("callback").to_owned();
    let inv = whmcs(&app, &t, "get_invoice", &[("invoice_id", &invoice)]).await;
    let balance = inv["balance"].as_str().expect("balance").to_owned();
    // Funds first (an add-funds invoice paid by a gateway), then the credit pays the order.
    let funds = whmcs(&app, &t, "create_addfunds", &[("amount", &balance)]).await["invoice"]
        .as_i64()
        .expect("id");
    let (status, _) = control(&app, funds, "pay", "gateway=bitpaycheckout").await;
    assert_eq!(status, 200);
    let v = whmcs(
        &app,
        &t,
        "apply_credit",
        &[("invoice_id", &invoice), ("amount", &balance)],
    )
    .await;
    assert_eq!(success(&v)["invoicepaid"], "true", "{v}");
    let inv = whmcs(&app, &t, "get_invoice", &[("invoice_id", &invoice)]).await;
    assert_eq!(
        (inv["status"].as_str(), inv["balance"].as_str()),
        (Some("Paid"), Some("0.00"))
    );
    let seen = app.drive(&key, 600, 40).await;
    assert_eq!(
        seen.last().expect("final")["result"],
        "OK",
        "the deployment went on"
    );
    let c = whmcs(&app, &t, "get_client", &[]).await;
    assert_eq!(c["client"]["credit"], "412.75", "the funds paid the order");
    app.stop().await;
}

/// The seller block of an invoice is the company of its server's location, when the
/// scenario names one (the provider's own, HOSTKEY B.V., otherwise).
#[tokio::test]
async fn an_invoice_is_sold_by_the_company_of_its_servers_location() {
    let (app, _dir) = spawn_billing(|sc| {
        for l in sc["locations"].as_array_mut().expect("locations") {
            if l["code"] == "US" {
                l["company"] = serde_json::json!([
                    "Example Hosting US Inc.",
                    "1 Hudson Yards",
                    "New York, NY 10001"
                ]);
            }
        }
    })
    .await;
    let t = app.demo_token().await;
    whmcs(&app, &t, "generate_due_invoice", &[("id", "40104")]).await;
    let rel = whmcs(&app, &t, "get_related_invoices", &[("id", "40104")]).await;
    let id = rel["invoices"][0]["id"].as_i64().expect("id").to_string();
    let pdf_text = |id: String| {
        let app = &app;
        let t = &t;
        async move {
            let r = app
                .post(
                    "whmcs",
                    &[
                        ("action", "download_invoice"),
                        ("token", t),
                        ("invoice_id", &id),
                    ],
                )
                .await;
            assert_eq!(r.status(), 200);
            let bytes = r.bytes().await.expect("body");
            let doc = lopdf::Document::load_mem(&bytes).expect("a PDF lopdf reads");
            let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
            doc.extract_text(&pages).expect("text")
        }
    };
    let text = pdf_text(id).await;
    assert!(text.contains("Example Hosting US Inc."), "{text}");
    assert!(text.contains("New York, NY 10001"), "{text}");
    assert!(!text.contains("HOSTKEY B.V."), "{text}");
    // An invoice of no server (add funds): the provider's own company.
    let funds = whmcs(&app, &t, "create_addfunds", &[("amount", "10")]).await;
    let funds = funds["invoice"].as_i64().expect("invoice").to_string();
    let text = pdf_text(funds).await;
    assert!(text.contains("HOSTKEY B.V."), "{text}");
    app.stop().await;
}
