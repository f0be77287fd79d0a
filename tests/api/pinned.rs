//! The answers of the inventory hot paths (eq/list with every filter, eq/show, eq/update_servers,
//! ip/get_ip, net/remove_ipv4 with remove_all) pinned byte for byte against
//! `tests/api/snapshots/inventory.json`, so that changing how they load their data cannot change
//! what a client reads. Only what moves with the wall clock (dates, which follow the day the
//! scenario was loaded, and `days_left`) and random callback keys are redacted, and only where
//! they have their exact format. `UPDATE_SNAPSHOTS=1 cargo test pinned` rewrites the file after a deliberate
//! change of an answer.

use serde_json::{json, Value};

use crate::helpers::*;

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/api/snapshots/inventory.json"
);

/// The calls made so far and their (redacted) answers, in order.
struct Transcript {
    entries: Vec<Value>,
}

impl Transcript {
    /// Sends a form to `/<module>.php` with the named token and records the answer. The raw
    /// body must equal the parsed answer written out again, so the pinned text is the body.
    async fn call(
        &mut self,
        app: &TestApp,
        who: (&str, &str),
        module: &str,
        form: &[(&str, &str)],
    ) {
        let mut f = vec![("token", who.1)];
        f.extend_from_slice(form);
        let r = app.post(module, &f).await;
        assert_eq!(r.status(), 200, "{module}.php {form:?}");
        let text = r.text().await.expect("body");
        let answer: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            serde_json::to_string(&answer).expect("json"),
            text,
            "the body is compact JSON that parses back to itself"
        );
        let call: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.entries.push(json!({
            "call": format!("{module} as {}: {}", who.0, call.join(" ")),
            "answer": redact(answer),
        }));
    }

    /// Compares the transcript with the snapshot file (or writes it with UPDATE_SNAPSHOTS=1).
    fn check(&self) {
        let text = serde_json::to_string_pretty(&self.entries).expect("json") + "\n";
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(SNAPSHOT, &text).expect("write snapshot");
            return;
        }
        let pinned = std::fs::read_to_string(SNAPSHOT).expect("snapshot file");
        if pinned != text {
            let (got, want): (Vec<&str>, Vec<&str>) =
                (text.lines().collect(), pinned.lines().collect());
            let at = got
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(want.len()));
            panic!(
                "answers differ from {SNAPSHOT} at line {}:\n  got:    {:?}\n  pinned: {:?}",
                at + 1,
                got.get(at),
                want.get(at)
            );
        }
    }
}

/// Replaces dates (`2024-05-01`, `2024-05-01 12:00:00`) and callback keys (32 lowercase hex)
/// by placeholders; everything else stays as it is.
fn redact(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(redacted(&s).unwrap_or(s)),
        Value::Array(a) => Value::Array(a.into_iter().map(redact).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| match v {
                    // Days to a due date that falls on a calendar renewal day: it depends on
                    // the month the test runs in.
                    Value::Number(n) if k == "days_left" && n.is_i64() => (k, json!("<days>")),
                    v => (k, redact(v)),
                })
                .collect(),
        ),
        other => other,
    }
}

/// The placeholder for a date or a callback key; none for any other string.
fn redacted(s: &str) -> Option<String> {
    let shape: String = s
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    match shape.as_str() {
        "9999-99-99" => return Some("<date>".into()),
        "9999-99-99 99:99:99" => return Some("<datetime>".into()),
        _ => {}
    }
    let key = s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    key.then(|| "<key>".into())
}

#[tokio::test]
async fn inventory_answers_match_the_pinned_snapshot() {
    let app = TestApp::spawn().await;
    let demo = ("demo", app.long_token().await);
    let demo = (demo.0, demo.1.as_str());
    let scoped = app.login_key(DEMO_SERVER_KEY).await;
    let scoped = ("nl-vm key", scoped.as_str());
    let other = app.other_token().await;
    let other = ("other", other.as_str());
    let mut t = Transcript {
        entries: Vec::new(),
    };

    let list_filters: &[&[(&str, &str)]] = &[
        &[],
        &[("full", "1")],
        &[("location", "NL")],
        &[("location", "nl")],
        &[("location", "1")],
        &[("location", "1,DE")],
        &[("location", "NL,FI")],
        &[("location", " NL , 4 ")],
        &[("location", "999")],
        &[("location", "")],
        &[("status", "rent")],
        &[("status", "RENT,power_off")],
        &[("type", "VPS")],
        &[("type", " dedicated ")],
        &[("group", "VPS")],
        &[("group", "1cpu,instances")],
        &[("component", "1205")],
        &[("component", "1205,3217")],
        &[("ip", "5.39.218.37")],
        &[("ip", " 10.14.32.117 ")],
        &[("ip", "31.207.45.61")],
        &[("mac", "AC-1F-6B-4E-92-3A")],
        &[("mac", "56:6f:c2:07:5a:e9")],
        &[("id", "40102")],
        &[("id", "40107")],
        &[("id", "40102"), ("full", "1")],
        &[("location", "NL"), ("full", "1")],
        &[("status", "power_off"), ("full", "1")],
        &[
            ("location", "NL,US"),
            ("status", "rent"),
            ("group", "1CPU"),
            ("full", "1"),
        ],
        &[("component", "cpu")],
        &[("id", "abc")],
        &[("full", "maybe")],
        &[("component", "cpu"), ("full", "maybe")],
        &[("id", "x"), ("component", "cpu")],
    ];
    for f in list_filters {
        let mut form = vec![("action", "list")];
        form.extend_from_slice(f);
        t.call(&app, demo, "eq", &form).await;
    }
    for f in [
        &[][..],
        &[("full", "1")],
        &[("location", "NL")],
        &[("location", "FI")],
        &[("id", "40102")],
    ] {
        let mut form = vec![("action", "list")];
        form.extend_from_slice(f);
        t.call(&app, scoped, "eq", &form).await;
    }
    t.call(&app, other, "eq", &[("action", "list"), ("full", "1")])
        .await;

    let show = |id: &'static str| [("action", "show"), ("id", id)];
    for id in [
        "40101", "40102", "40103", "40104", "40105", "40106", "40107", "0", "-1",
    ] {
        t.call(&app, demo, "eq", &show(id)).await;
    }
    t.call(&app, scoped, "eq", &show("40101")).await;
    t.call(&app, scoped, "eq", &show("40102")).await;
    t.call(&app, other, "eq", &show("40107")).await;
    t.call(&app, other, "eq", &show("40108")).await;

    for who in [demo, scoped, other] {
        t.call(&app, who, "eq", &[("action", "update_servers")])
            .await;
    }

    for ip in [
        "5.39.218.37",
        "5.39.218.38",
        "10.14.32.117",
        "31.207.45.24",
        "31.207.45.61",
        "8.8.8.8",
        "300.1.1.1",
    ] {
        t.call(&app, demo, "ip", &[("action", "get_ip"), ("ip", ip)])
            .await;
    }
    t.call(
        &app,
        scoped,
        "ip",
        &[("action", "get_ip"), ("ip", "31.207.45.23")],
    )
    .await;
    t.call(
        &app,
        scoped,
        "ip",
        &[("action", "get_ip"), ("ip", "5.39.218.37")],
    )
    .await;

    // A customer block (locked, date_block, description), then a paid reinstall and two
    // orders (one paid, one waiting for payment), and a PXE reinstall, for update_servers
    // and eq/show.
    let v = app
        .call(
            "net",
            &[
                ("action", "block_ip"),
                ("token", demo.1),
                ("id", "40102"),
                ("ip", "5.39.218.38"),
                ("description", "ddos target"),
            ],
        )
        .await;
    app.complete(v["callback"].as_str().expect("key")).await;
    // The reinstall first: deployments started in the same second are listed by server id,
    // and this keeps that order and the order in time the same.
    let reinstall = [
        ("action", "order_instance"),
        ("token", demo.1),
        ("id", "40103"),
        ("os_id", "205"),
        ("soft_id", "38"),
        ("root_pass", "mnN48Dl@4"),
    ];
    ok(&app.call("eq", &reinstall).await);
    for (preset, location, plan, period) in [
        ("108", "NL", "25", "monthly"),
        ("gpu.4xa5000", "US", "31", "annually"),
    ] {
        let v = app
            .call(
                "eq",
                &[
                    ("action", "order_instance"),
                    ("token", demo.1),
                    ("deploy_period", period),
                    ("preset", preset),
                    ("location_name", location),
                    ("os_id", "187"),
                    ("traffic_plan", plan),
                    ("root_pass", "Secret-pass1"),
                ],
            )
            .await;
        ok(&v);
    }
    let v = app
        .call(
            "eq",
            &[("action", "reinstall"), ("token", demo.1), ("id", "40104")],
        )
        .await;
    ok(&v);
    for who in [demo, scoped] {
        t.call(&app, who, "eq", &[("action", "update_servers")])
            .await;
        t.call(&app, who, "eq", &[("action", "list"), ("full", "1")])
            .await;
    }
    t.call(
        &app,
        demo,
        "eq",
        &[("action", "list"), ("location", "2"), ("full", "1")],
    )
    .await;
    for id in ["40101", "40102", "40103", "40104"] {
        t.call(&app, demo, "eq", &show(id)).await;
    }

    // remove_all: the added addresses go, the one under an abuse block stays and is named.
    let net = |id: &'static str, extra: (&'static str, &'static str)| {
        [("action", "add_ipv4"), ("id", id), extra]
    };
    app.call(
        "net",
        &[&[("token", demo.1)][..], &net("40101", ("amount", "2"))].concat(),
    )
    .await;
    let remove_all =
        |id: &'static str| [("action", "remove_ipv4"), ("id", id), ("remove_all", "1")];
    t.call(&app, demo, "net", &remove_all("40101")).await;
    t.call(&app, demo, "net", &remove_all("40101")).await;
    t.call(&app, demo, "net", &remove_all("40102")).await;
    t.call(&app, demo, "net", &remove_all("40102")).await;
    t.call(&app, demo, "net", &remove_all("40105")).await;
    t.call(&app, scoped, "net", &remove_all("40102")).await;
    for id in ["40101", "40102"] {
        t.call(&app, demo, "eq", &show(id)).await;
    }
    t.call(
        &app,
        demo,
        "ip",
        &[("action", "get_ip"), ("ip", "5.39.218.38")],
    )
    .await;

    t.check();
    app.stop().await;
}
