//! Fuzzing with proptest, run by `cargo test`: the PHP form parser (query and body merged,
//! bracket keys, urlencoded, JSON and multipart bodies), the scenario loader and validator,
//! and the action dispatcher through the real router. Each target starts from one fixed
//! seed, so a failure in CI reproduces anywhere, and runs a bounded number of cases;
//! `FUZZ_CASES=N` runs N cases of each instead (the README records a long run), e.g.
//! `FUZZ_CASES=1000000 cargo test --test api fuzz::parser -- --nocapture`.
//!
//! What must hold: nothing panics; the parser keeps its documented merge rules; the
//! dispatcher never answers 5xx or `internal error`, and every JSON answer has the
//! envelope's shape.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use hostkey_emu::app::{self, AppState};
use hostkey_emu::domain::scenario::{Scenario, DEMO};
use hostkey_emu::http::php_form::{FormError, Params};
use hostkey_emu::invapi::{dispatch, MODULES};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::*;

/// The seed every target starts from.
const SEED: u64 = 0x4b45_4d55_2010;

/// A runner for `default` cases (or `FUZZ_CASES`), from the fixed seed, writing no
/// regression files.
fn runner(default: u32) -> TestRunner {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(SEED),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    })
}

/// Runs `test` on `cases` inputs of `strategy`; panics with proptest's minimal failing
/// input, and says how many inputs ran (visible with `--nocapture`).
fn fuzz<S: Strategy>(
    name: &str,
    default: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let ran = AtomicU64::new(0);
    let started = std::time::Instant::now();
    let result = runner(default).run(&strategy, |input| {
        ran.fetch_add(1, Relaxed);
        test(input)
    });
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
    eprintln!(
        "fuzz {name}: {} inputs, 0 failures, {:.1} s",
        ran.load(Relaxed),
        started.elapsed().as_secs_f64()
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------------------------------
// The PHP form parser.

/// Bytes that stay as they are in a URI query; everything else is percent-encoded, so that
/// raw `%`, `&`, `=` and brackets reach the parser as sent.
fn query_of(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'&'
            | b'='
            | b'%'
            | b'.'
            | b'_'
            | b'-'
            | b'~'
            | b'+'
            | b'['
            | b']' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A request to `/eq.php` with `query`, `content_type` and `body` streamed in pieces cut
/// at `cuts`.
fn request(query: &str, content_type: &str, body: &[u8], cuts: &[usize]) -> Request<Body> {
    let mut pieces = Vec::new();
    let mut at = 0;
    for cut in cuts {
        let next = (at + cut % 97 + 1).min(body.len());
        pieces.push(Ok::<_, std::io::Error>(Bytes::copy_from_slice(
            &body[at..next],
        )));
        at = next;
    }
    pieces.push(Ok(Bytes::copy_from_slice(&body[at..])));
    let uri = format!("/eq.php?{query}");
    let builder =
        Request::builder()
            .method("POST")
            .uri(if uri.parse::<axum::http::Uri>().is_ok() {
                uri
            } else {
                "/eq.php".to_owned()
            });
    builder
        .header("content-type", content_type)
        .body(Body::from_stream(futures_util::stream::iter(pieces)))
        .expect("request")
}

/// A multipart body of these fields, boundary `B0undary`.
fn multipart(fields: &[(String, String, bool)]) -> Vec<u8> {
    let mut out = String::new();
    for (name, value, is_file) in fields {
        let file = if *is_file { "; filename=\"f.txt\"" } else { "" };
        out += &format!(
            "--B0undary\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n"
        );
    }
    out += "--B0undary--\r\n";
    out.into_bytes()
}

/// Any JSON value, small.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        Just(Value::from(i64::MAX)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(1e300)),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// One parser input: a query, a content type and a body (from raw bytes, or a well-formed
/// body of each kind that is then maybe damaged), how the body streams, and the limit.
#[derive(Debug, Clone)]
struct ParserInput {
    query: Vec<u8>,
    content_type: String,
    body: Vec<u8>,
    cuts: Vec<usize>,
    limit: usize,
}

fn parser_input() -> impl Strategy<Value = ParserInput> {
    let key = prop_oneof![
        Just("action".to_owned()),
        Just("params[id]".to_owned()),
        Just("ips[]".to_owned()),
        Just("x[3]".to_owned()),
        Just("dns[ttl]".to_owned()),
        "[a-z\\[\\]0-9 ]{0,10}",
        ".{0,10}",
    ];
    let fields = prop::collection::vec((key, ".{0,20}", any::<bool>()), 0..8);
    let body = prop_oneof![
        (
            prop_oneof![
                Just("application/x-www-form-urlencoded".to_owned()),
                Just("application/json".to_owned()),
                Just("multipart/form-data; boundary=B0undary".to_owned()),
                Just("multipart/form-data".to_owned()),
                Just(String::new()),
                "[ -~]{0,40}",
            ],
            prop::collection::vec(any::<u8>(), 0..400),
        ),
        fields.clone().prop_map(|f| (
            "multipart/form-data; boundary=B0undary".to_owned(),
            multipart(&f)
        )),
        json_value().prop_map(|v| ("application/json".to_owned(), v.to_string().into_bytes())),
        json_value().prop_map(|v| (String::new(), v.to_string().into_bytes())),
        fields.prop_map(|f| {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v, _) in &f {
                form.append_pair(k, v);
            }
            (
                "application/x-www-form-urlencoded".to_owned(),
                form.finish().into_bytes(),
            )
        }),
    ];
    // Damage: cut the body short, or overwrite a byte.
    let damage = prop_oneof![
        3 => Just(None),
        1 => (any::<usize>(), any::<u8>(), any::<bool>()).prop_map(Some),
    ];
    (
        prop::collection::vec(any::<u8>(), 0..200),
        body,
        damage,
        prop::collection::vec(any::<usize>(), 0..6),
        prop_oneof![Just(32usize), Just(300), Just(1 << 20)],
    )
        .prop_map(|(query, (content_type, mut body), damage, cuts, limit)| {
            if let Some((at, byte, truncate)) = damage {
                if !body.is_empty() {
                    let at = at % body.len();
                    if truncate {
                        body.truncate(at);
                    } else {
                        body[at] = byte;
                    }
                }
            }
            ParserInput {
                query,
                content_type,
                body,
                cuts,
                limit,
            }
        })
}

/// Anything goes in: the parser answers parameters or names a cause that fits the input,
/// and never panics; a body that arrives whole is never called broken.
#[test]
fn fuzz_parser_takes_any_query_and_body() {
    let rt = runtime();
    fuzz("parser (any input)", 2000, parser_input(), |input| {
        let mut from_query = Params::default();
        from_query.merge_urlencoded(&input.query);
        let req = request(
            &query_of(&input.query),
            &input.content_type,
            &input.body,
            &input.cuts,
        );
        match rt.block_on(Params::from_request_parts(req, input.limit)) {
            Ok(params) => {
                for name in ["action", "id", "ips", "x", "dns[ttl]"] {
                    if let Some(v) = params.get(name) {
                        prop_assert!(!v.trim().is_empty(), "empty counts as absent");
                    }
                    for item in params.list(name) {
                        prop_assert!(!item.trim().is_empty());
                    }
                }
            }
            Err(FormError::TooLarge(limit)) => {
                prop_assert_eq!(limit, input.limit);
                prop_assert!(
                    input.body.len() > input.limit,
                    "too large only past the limit"
                );
            }
            Err(FormError::Malformed(_)) => {}
            Err(e @ FormError::Broken(_)) => {
                return Err(TestCaseError::fail(format!(
                    "a whole body called broken: {e}"
                )))
            }
        }
        Ok(())
    });
}

/// How the body of a merge-rule input is sent.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    Form,
    Json,
    Multipart,
}

/// Pairs of a small vocabulary, so that keys repeat and the merge rules matter.
fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop::sample::select(vec![
        "action",
        "params[action]",
        "id",
        "params[id]",
        "name",
        "ips[]",
        "params[ips][]",
        " id ",
    ]);
    let value = prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        "[a-z0-9]{1,6}",
        "[^\r\n]{1,8}",
    ];
    prop::collection::vec((key.prop_map(str::to_owned), value), 0..10)
}

/// The documented rules, written out: the body after the query, the last pair of a key
/// winning; `params[x]` before `x`; an empty value absent; `x[]` items in order.
fn expected_get(pairs: &[(String, String)], name: &str) -> Option<String> {
    let last = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.clone())
    };
    [format!("params[{name}]"), name.to_owned()]
        .iter()
        .filter_map(|k| last(k))
        .find(|v| !v.trim().is_empty())
}

fn expected_list(pairs: &[(String, String)], name: &str) -> Vec<String> {
    for key in [format!("params[{name}][]"), format!("{name}[]")] {
        let items: Vec<String> = pairs
            .iter()
            .filter(|(k, v)| k.trim() == key && !v.trim().is_empty())
            .map(|(_, v)| v.clone())
            .collect();
        if !items.is_empty() {
            return items;
        }
    }
    expected_get(pairs, name).into_iter().collect()
}

/// The merge rules hold for every body kind: what the parser answers is what the rules
/// say, pair for pair.
#[test]
fn fuzz_parser_keeps_the_merge_rules() {
    let rt = runtime();
    let encoding = prop_oneof![
        Just(Encoding::Form),
        Just(Encoding::Json),
        Just(Encoding::Multipart)
    ];
    let input = (
        pairs(),
        pairs(),
        encoding,
        prop::collection::vec(any::<usize>(), 0..6),
    );
    fuzz(
        "parser (merge rules)",
        1000,
        input,
        |(query, body, encoding, cuts)| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &query {
                q.append_pair(k, v);
            }
            // A JSON object holds each key once: the last value, at the first key's place.
            let body = match encoding {
                Encoding::Json => {
                    let mut seen: Vec<(String, String)> = Vec::new();
                    for (k, v) in body {
                        match seen.iter_mut().find(|(s, _)| *s == k) {
                            Some(slot) => slot.1 = v,
                            None => seen.push((k, v)),
                        }
                    }
                    seen
                }
                _ => body,
            };
            // A multipart body has at least one part (RFC 2046): without any, send a form.
            let encoding = match encoding {
                Encoding::Multipart if body.is_empty() => Encoding::Form,
                other => other,
            };
            let (content_type, bytes) = match encoding {
                Encoding::Form => {
                    let mut form = form_urlencoded::Serializer::new(String::new());
                    for (k, v) in &body {
                        form.append_pair(k, v);
                    }
                    (
                        "application/x-www-form-urlencoded",
                        form.finish().into_bytes(),
                    )
                }
                Encoding::Json => {
                    let object: serde_json::Map<String, Value> = body
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    (
                        "application/json",
                        Value::Object(object).to_string().into_bytes(),
                    )
                }
                Encoding::Multipart => {
                    let fields: Vec<_> = body
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone(), false))
                        .collect();
                    ("multipart/form-data; boundary=B0undary", multipart(&fields))
                }
            };
            let req = request(&q.finish(), content_type, &bytes, &cuts);
            let params = rt
                .block_on(Params::from_request_parts(req, 1 << 20))
                .map_err(|e| TestCaseError::fail(format!("{encoding:?}: {e}")))?;
            let all: Vec<(String, String)> = query.iter().chain(body.iter()).cloned().collect();
            for name in ["action", "id", "name"] {
                prop_assert_eq!(
                    params.get(name).map(str::to_owned),
                    expected_get(&all, name),
                    "get({})",
                    name
                );
            }
            prop_assert_eq!(params.list("ips"), expected_list(&all, "ips"));
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------
// The scenario loader and validator.

/// One change to a scenario document: a path of child choices, and what to do there.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Vec<usize>, Value),
    Remove(Vec<usize>),
    Duplicate(Vec<usize>),
}

/// The child of a container chosen by `pick`, if it has any.
fn child(v: &mut Value, pick: usize) -> Option<&mut Value> {
    match v {
        Value::Array(items) if !items.is_empty() => {
            let n = items.len();
            items.get_mut(pick % n)
        }
        Value::Object(map) if !map.is_empty() => {
            let n = map.len();
            map.values_mut().nth(pick % n)
        }
        _ => None,
    }
}

/// Applies an edit: walks the path as far as it goes, then edits the value reached (or,
/// for removal and duplication, its place in its parent).
fn apply(doc: &mut Value, edit: &Edit) {
    let (path, last) = match edit {
        Edit::Replace(path, _) => (path.as_slice(), None),
        Edit::Remove(path) | Edit::Duplicate(path) => match path.split_last() {
            Some((last, path)) => (path, Some(*last)),
            None => return,
        },
    };
    let mut at = doc;
    for pick in path {
        if child(at, *pick).is_none() {
            break;
        }
        at = child(at, *pick).expect("checked");
    }
    match (edit, last) {
        (Edit::Replace(_, value), _) => *at = value.clone(),
        (Edit::Remove(_), Some(pick)) => match at {
            Value::Array(items) if !items.is_empty() => {
                let n = items.len();
                items.remove(pick % n);
            }
            Value::Object(map) if !map.is_empty() => {
                let n = map.len();
                let key = map.keys().nth(pick % n).cloned().expect("key");
                map.remove(&key);
            }
            _ => {}
        },
        (Edit::Duplicate(_), Some(pick)) => {
            if let Value::Array(items) = at {
                if !items.is_empty() {
                    let copy = items[pick % items.len()].clone();
                    items.push(copy);
                }
            }
        }
        _ => {}
    }
}

/// Values a scenario field may be given: the extremes and near-misses of its format.
fn scenario_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        json_value(),
        prop::sample::select(vec![
            Value::from(i64::MAX),
            Value::from(i64::MIN),
            Value::from(-1),
            Value::from(0),
            Value::from("1.€"),
            Value::from("-99999999999999999.99"),
            Value::from("998.39"),
            Value::from("31.207.45.0"),
            Value::from("31.207.45.23"),
            Value::from("31.207.44.0/25"),
            Value::from("0.0.0.0/0"),
            Value::from("DEADBEEF00000009-0123456789ABCDEF"),
            Value::from("ovirt"),
            Value::from("ipmi"),
            Value::from("vm"),
            Value::from("annually"),
            Value::from(""),
        ]),
    ]
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let path = prop::collection::vec(any::<usize>(), 0..6);
    let edit = prop_oneof![
        3 => (path.clone(), scenario_value()).prop_map(|(p, v)| Edit::Replace(p, v)),
        1 => path.clone().prop_map(Edit::Remove),
        1 => path.prop_map(Edit::Duplicate),
    ];
    prop::collection::vec(edit, 1..5)
}

/// The demo scenario, changed here and there, and arbitrary text: parsing and checking
/// never panic, and what passes the check loads (or fails with an error) without a panic.
#[test]
fn fuzz_scenarios_are_parsed_checked_and_loaded_without_panics() {
    let rt = runtime();
    let state = rt.block_on(AppState::new(test_config())).expect("state");
    let demo: Value = serde_json::from_str(DEMO).expect("demo");
    let input = prop_oneof![
        9 => edits().prop_map(Some),
        1 => Just(None),
    ];
    let text = ".{0,60}";
    // How deep the inputs get: scenarios that pass the check, and those that then load.
    let (checked, loaded) = (std::cell::Cell::new(0u64), std::cell::Cell::new(0u64));
    fuzz("scenario", 200, (input, text), |(edits, text)| {
        // Arbitrary text through the same parser.
        let _ = serde_json::from_str::<Scenario>(&text).map(|s| s.check());
        let Some(edits) = edits else { return Ok(()) };
        let mut doc = demo.clone();
        for edit in &edits {
            apply(&mut doc, edit);
        }
        let Ok(scenario) = serde_json::from_value::<Scenario>(doc) else {
            return Ok(());
        };
        if scenario.check().is_err() {
            return Ok(());
        }
        checked.set(checked.get() + 1);
        let result = rt.block_on(async {
            let mut conn = state.db.acquire().await.expect("connection");
            hostkey_emu::store::wipe(&mut conn).await.expect("wipe");
            drop(conn);
            hostkey_emu::store::scenario::load(
                &scenario,
                &state.db,
                &state.hasher,
                state.clock.now(),
            )
            .await
        });
        if result.is_ok() {
            loaded.set(loaded.get() + 1);
        }
        Ok(())
    });
    eprintln!(
        "fuzz scenario: {} passed the check, {} of them loaded",
        checked.get(),
        loaded.get()
    );
}

// ---------------------------------------------------------------------------------------
// The action dispatcher, through the real router.

/// Parameter names the InvAPI actions read.
const NAMES: &[&str] = &[
    "id",
    "ip",
    "ips[]",
    "params[id]",
    "params[ip]",
    "location",
    "location_name",
    "status",
    "group",
    "component",
    "mac",
    "type",
    "full",
    "name",
    "hostname",
    "value",
    "tag",
    "port",
    "graph",
    "reason",
    "four_hours",
    "amount",
    "vlan",
    "fresh_period",
    "remove_all",
    "ptr",
    "os_id",
    "os_name",
    "soft_id",
    "preset",
    "deploy_period",
    "root_pass",
    "traffic_plan",
    "media",
    "reinstall_key",
    "white_ip",
    "ttl",
    "fix_ip",
    "user",
    "password",
    "pin",
    "old_pin",
    "new_pin",
    "period_from",
    "period_to",
    "instance_id",
    "active",
    "key",
    "jenkins_task",
    "ssh_key",
    "root_size",
    "ipv4_amount",
    "own_os",
    "invoices[]",
    "search",
    "params[name]",
    "params[active]",
    "params[ip]",
    "params[login_notify_method]",
    "kvm",
    "zone",
    "zonename",
    "content",
    "content[]",
    "params[zone]",
    "params[type]",
    "params[content][]",
    "old_name",
    "domain_id",
    "server_id",
    "priority",
    "weight",
    "target",
    "proto",
    "kind",
    "masters[]",
    "nameservers[]",
    "dns[ttl]",
    "dns[mname]",
    "dns[rname]",
    "dns[serial]",
    "increase_soa_serial",
    "invoice_id",
    "contact_id",
    "cancellation_type",
    "comment",
    "request_type",
    "message",
    "subject",
    "params[type]",
    "params[eq_id]",
    "snapshot",
    "url",
    "iso_id",
    "server_id",
    "task",
    "params[driver]",
    "deploy_data",
    "plan_id",
    "location",
    "bucket",
    "bucket_name",
    "account_id",
    "s3uid",
    "key_type",
    "page",
    "limit",
    "file",
    "prefix",
];

/// Values: the demo's ids and names, numbers at their edges, junk.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "40101", "40102", "40103", "40104", "40105", "40106", "40107", "40108", "1", "0",
            "-1", "", " ", "1e9", "0x10", "99999999999999999999", "9223372036854775807",
            "-9223372036854775808", "NL", "US", "eth0", "eth1", "pxe", "disk", "monthly",
            "vm.pico", "187", "205", "25", "31.207.45.23", "31.207.45.2", "10.0.0.1/8",
            "Secret-pass1", "1234", "none", "email", "web1.example.com", "true", "null", "[]",
            "example.com", "www", "@", "A", "TXT", "MX", "CNAME", "SRV", "CAA", "\"quoted",
            "s3_user_1", "my-bucket", "secret_key", "access_key", "a/b.txt", "DE",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z0-9.:/ -]{0,24}",
        1 => "[^\u{0}]{0,16}",
        1 => (1usize..300).prop_map(|n| "9".repeat(n)),
    ]
}

/// One request to the dispatcher.
#[derive(Debug, Clone)]
struct Call {
    module: String,
    action: String,
    /// 0: a live token of the demo account, 1: of a per-server key, 2: junk, 3: none.
    token: u8,
    params: Vec<(String, String)>,
    /// 0: urlencoded body, 1: query string, 2: JSON body, 3: multipart body.
    encoding: u8,
}

fn call() -> impl Strategy<Value = Call> {
    let module = prop_oneof![
        20 => (0..MODULES.len()).prop_map(|i| MODULES[i].name.to_owned()),
        1 => "[a-z_]{1,12}",
    ];
    let params = prop::collection::vec(
        (prop::sample::select(NAMES).prop_map(str::to_owned), value()),
        0..8,
    );
    (
        module,
        any::<usize>(),
        "[a-zA-Z_]{0,16}",
        0u8..4,
        params,
        0u8..4,
    )
        .prop_map(|(module, pick, random_action, token, params, encoding)| {
            let action = match MODULES.iter().find(|m| m.name == module) {
                Some(m) if pick % 8 != 0 => m.actions[pick % m.actions.len()].name.to_owned(),
                _ => random_action,
            };
            Call {
                module,
                action,
                token,
                params,
                encoding,
            }
        })
}

/// The HTTP request for a call.
fn http_request(call: &Call, token: Option<&str>) -> Request<Body> {
    let mut pairs: Vec<(String, String)> = vec![("action".into(), call.action.clone())];
    if let Some(t) = token {
        pairs.push(("token".into(), t.to_owned()));
    }
    pairs.extend(call.params.iter().cloned());
    let form = || {
        let mut f = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            f.append_pair(k, v);
        }
        f.finish()
    };
    let path = format!("/{}.php", call.module);
    let builder = Request::builder().method("POST");
    let req = match call.encoding {
        0 => builder
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form())),
        1 => builder
            .uri(format!("{path}?{}", form()))
            .body(Body::empty()),
        2 => {
            let object: serde_json::Map<String, Value> = pairs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            builder
                .uri(path)
                .header("content-type", "application/json")
                .body(Body::from(Value::Object(object).to_string()))
        }
        _ => {
            let fields: Vec<_> = pairs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), false))
                .collect();
            builder
                .uri(path)
                .header("content-type", "multipart/form-data; boundary=B0undary")
                .body(Body::from(multipart(&fields)))
        }
    };
    let mut req = req.expect("request");
    // As the real server does for every connection.
    let client: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
    req.extensions_mut().insert(ConnectInfo(client));
    req
}

/// A fresh emulator state and its router.
async fn fresh() -> (AppState, axum::Router) {
    let state = AppState::new(test_config()).await.expect("state");
    let router = app::router(state.clone());
    (state, router)
}

/// A live token for `key`, logged in through the router itself.
async fn login(router: &axum::Router, key: &str) -> Option<String> {
    let body = format!("action=login&key={key}");
    let req = Request::post("/auth.php")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("login request");
    let mut req = req;
    req.extensions_mut().insert(ConnectInfo(
        "127.0.0.1:40000".parse::<SocketAddr>().expect("addr"),
    ));
    let response = router.clone().oneshot(req).await.expect("infallible");
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["result"]["token"].as_str().map(str::to_owned)
}

/// Is this action one that answers with its own response (a PNG) instead of JSON?
fn is_raw(module: &str, action: &str) -> bool {
    MODULES
        .iter()
        .filter(|m| m.name == module)
        .flat_map(|m| m.actions.iter())
        .any(|a| a.name == action && matches!(a.run, dispatch::Run::Raw(_)))
}

/// Any module, action and parameters, with or without a live token: never a 5xx, never
/// `internal error` (which a caught panic answers too), always the envelope.
#[test]
fn fuzz_dispatcher_answers_everything_in_the_envelope() {
    let rt = runtime();
    let app = std::cell::RefCell::new(rt.block_on(fresh()));
    let ran = std::cell::Cell::new(0u64);
    // How deep the inputs get: answers that are no error, and errors past the token check.
    let (succeeded, past_token) = (std::cell::Cell::new(0u64), std::cell::Cell::new(0u64));
    fuzz("dispatcher", 300, call(), |call| {
        // A fresh world now and then, so no earlier input (a deactivated key, thousands of
        // orders) decides what later ones see.
        ran.set(ran.get() + 1);
        if ran.get() % 2000 == 0 {
            *app.borrow_mut() = rt.block_on(fresh());
        }
        let router = app.borrow().1.clone();
        let (status, content_type, bytes) = rt.block_on(async {
            let token = match call.token {
                0 => match login(&router, DEMO_KEY).await {
                    Some(t) => Some(t),
                    None => {
                        // The fuzz deactivated or fenced the key: start over.
                        let (state, fresh_router) = fresh().await;
                        let t = login(&fresh_router, DEMO_KEY).await;
                        *app.borrow_mut() = (state, fresh_router);
                        t
                    }
                },
                1 => login(&router, DEMO_SERVER_KEY).await,
                2 => Some("0123456789abcdef0123456789abcdef".to_owned()),
                _ => None,
            };
            let router = app.borrow().1.clone();
            let response = router
                .oneshot(http_request(&call, token.as_deref()))
                .await
                .expect("infallible");
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let bytes = axum::body::to_bytes(response.into_body(), 8 << 20)
                .await
                .expect("body");
            (status, content_type, bytes)
        });
        prop_assert!(!status.is_server_error(), "{status} for {call:?}");
        let known = MODULES.iter().any(|m| m.name == call.module);
        if !known {
            prop_assert_eq!(status, StatusCode::NOT_FOUND);
        } else {
            prop_assert_eq!(status, StatusCode::OK, "{:?}", call);
        }
        if !content_type.starts_with("application/json") {
            prop_assert!(
                known && is_raw(&call.module, &call.action),
                "a non-JSON answer ({content_type}) from a JSON action: {call:?}"
            );
            return Ok(());
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| TestCaseError::fail(format!("not JSON ({e}) for {call:?}")))?;
        let object = v
            .as_object()
            .ok_or_else(|| TestCaseError::fail(format!("not an object: {v}")))?;
        if v["result"] == -1 {
            prop_assert_eq!(object.len(), 2, "exactly result and error: {}", v);
            let error = v["error"].as_str().unwrap_or("");
            prop_assert!(!error.is_empty(), "{}", v);
            prop_assert_ne!(error, "internal error", "for {:?}", call);
            if !error.contains("invalid token") && !error.contains("unknown action") {
                past_token.set(past_token.get() + 1);
            }
        } else {
            succeeded.set(succeeded.get() + 1);
            prop_assert!(object.contains_key("result"), "{}", v);
            prop_assert!(
                !object.contains_key("error"),
                "a success with an error field: {}",
                v
            );
        }
        Ok(())
    });
    eprintln!(
        "fuzz dispatcher: {} answers without an error, {} errors past the token check",
        succeeded.get(),
        past_token.get()
    );
}

// ---------------------------------------------------------------------------------------
// The DNS server: any packet, and valid queries with bytes changed.

/// A packet: random bytes, or a real query (of a hosted name or not) with some bytes
/// overwritten and its end cut.
fn dns_packet() -> impl Strategy<Value = Vec<u8>> {
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::{Name, RecordType};
    let valid = (
        prop::sample::select(vec![
            "fuzz.example.",
            "www.fuzz.example.",
            "example.org.",
            "23.45.207.31.in-addr.arpa.",
        ]),
        prop::sample::select(vec![
            1u16, 2, 5, 6, 12, 15, 16, 28, 33, 252, 255, 257, 65_000,
        ]),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        any::<usize>(),
    )
        .prop_map(|(name, rtype, edits, cut)| {
            let mut m = Message::new();
            m.add_query(Query::query(
                Name::from_ascii(name).expect("name"),
                RecordType::from(rtype),
            ));
            let mut bytes = m.to_vec().expect("query");
            for (at, b) in edits {
                let i = at % bytes.len();
                bytes[i] = b;
            }
            let keep = bytes.len() - cut % 4;
            bytes.truncate(keep);
            bytes
        });
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..600),
        3 => valid,
    ]
}

/// Any packet gets at most well-formed answers (QR set, the packet's id) or none, and
/// never a panic; the server answers a valid query afterwards.
#[test]
fn fuzz_dns_server_answers_or_drops_any_packet() {
    use hostkey_emu::dns::answer::{handle, Transport};
    let rt = runtime();
    let (state, router) = rt.block_on(fresh());
    rt.block_on(async {
        let token = login(&router, DEMO_KEY).await.expect("login");
        let body = format!("action=add_domain&token={token}&name=fuzz.example");
        let req = Request::post("/pdns.php")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        let response = router.clone().oneshot(req).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
    });
    fuzz(
        "dns",
        2000,
        (dns_packet(), any::<bool>()),
        |(packet, over_tcp)| {
            let transport = if over_tcp {
                Transport::Tcp
            } else {
                Transport::Udp
            };
            let replies = rt.block_on(handle(&state, &packet, transport));
            for reply in &replies {
                let m = hickory_proto::op::Message::from_vec(reply).map_err(|e| {
                    TestCaseError::fail(format!("an answer that does not parse: {e}"))
                })?;
                prop_assert_eq!(m.message_type(), hickory_proto::op::MessageType::Response);
                prop_assert_eq!(&reply[..2], &packet[..2]);
                if !over_tcp {
                    prop_assert!(reply.len() <= 1232, "a UDP answer of {} bytes", reply.len());
                }
            }
            Ok(())
        },
    );
    let mut q = hickory_proto::op::Message::new();
    q.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("fuzz.example.").expect("name"),
        hickory_proto::rr::RecordType::SOA,
    ));
    let replies = rt.block_on(handle(&state, &q.to_vec().expect("q"), Transport::Udp));
    let m = hickory_proto::op::Message::from_vec(&replies[0]).expect("answer");
    assert_eq!(m.answers().len(), 1, "still answering");
}
