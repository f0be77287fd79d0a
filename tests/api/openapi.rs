//! The control plane's OpenAPI document (`/_emu/openapi.json`) and Swagger UI
//! (`/_emu/docs`): every route the router registers under `/_emu/` is documented with the
//! methods it answers, the document is valid OpenAPI 3.1, real answers have the documented
//! shapes, the page works with an admin token and under a world.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// The static files of the Swagger UI page: served under `/_emu/docs/`, not part of the API.
const PAGE_ASSETS: [&str; 2] = [
    "/_emu/docs/swagger-ui.css",
    "/_emu/docs/swagger-ui-bundle.js",
];

/// The paths the emulator's router registers under `/_emu/`. axum does not list its routes,
/// but a router's `Debug` shows every path it matches (`"/_emu/health"`...), so the list
/// comes from the router itself, not from a copy that could drift.
async fn registered_paths() -> BTreeSet<String> {
    let state = hostkey_emu::app::AppState::new(test_config())
        .await
        .expect("state");
    let shown = format!("{:?}", hostkey_emu::app::router(state));
    let mut paths = BTreeSet::new();
    let mut rest = shown.as_str();
    while let Some(at) = rest.find("\"/_emu/") {
        let tail = &rest[at + 1..];
        let end = tail.find('"').expect("a closing quote");
        paths.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    for asset in PAGE_ASSETS {
        assert!(paths.remove(asset), "{asset} is served");
    }
    // The extraction itself is checked, so that a change of axum's Debug output fails here
    // rather than making the comparison below vacuous.
    for known in ["/_emu/health", "/_emu/worlds/{id}", "/_emu/openapi.json"] {
        assert!(paths.contains(known), "{known} found in {paths:?}");
    }
    assert!(paths.len() >= 25, "{paths:?}");
    paths
}

async fn document(app: &TestApp, base: &str) -> Value {
    let r = app
        .client
        .get(format!("{base}/_emu/openapi.json"))
        .send()
        .await
        .expect("openapi");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("application/json"));
    r.json().await.expect("json")
}

const METHODS: [&str; 5] = ["get", "put", "patch", "post", "delete"];

/// A path of the document with its parameters filled in.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push_str("no-such-thing");
            }
            _ if in_param => {}
            c => out.push(c),
        }
    }
    out
}

#[tokio::test]
async fn every_route_under_emu_is_documented_with_exactly_the_methods_it_answers() {
    let registered = registered_paths().await;
    let app = TestApp::spawn().await;
    let doc = document(&app, &app.base).await;
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let missing: Vec<_> = registered.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes not in the document: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(
        extra.is_empty(),
        "documented paths nobody serves: {extra:?}"
    );
    // The methods: each one the server answers (anything but 405) is documented, and each
    // documented one is answered. Every probe is harmless on a fresh emulator (unknown
    // ids, empty bodies, a reset).
    for path in &registered {
        let url = format!("{}{}", app.base, concrete(path));
        for method in METHODS {
            let r = app
                .client
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                    &url,
                )
                .send()
                .await
                .expect("probe");
            let served = r.status() != 405;
            let listed = doc["paths"][path][method].is_object();
            assert_eq!(
                served,
                listed,
                "{} {path}: answered {} but {}documented",
                method.to_uppercase(),
                r.status(),
                if listed { "" } else { "not " }
            );
            assert!(r.status() != 500, "{method} {path}: 500");
        }
    }
    app.stop().await;
}

/// Every `$ref` in `v`, with where it was found.
fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "$ref" {
                    out.push((at.clone(), x.as_str().expect("a $ref is a string")));
                } else {
                    refs(x, format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let app = TestApp::spawn().await;
    let doc = document(&app, &app.base).await;
    // As a parser of OpenAPI 3.1 reads it.
    let text = serde_json::to_string(&doc).expect("text");
    let spec = oas3::from_json(&text).expect("oas3 parses the document as OpenAPI 3.1");
    let version = spec.validate_version().expect("a version oas3 supports");
    assert_eq!((version.major, version.minor), (3, 1));
    let mut parsed = 0;
    for (path, method, op) in spec.operations() {
        parsed += 1;
        let at = format!("{method} {path}");
        op.parameters(&spec)
            .unwrap_or_else(|e| panic!("{at}: parameters: {e}"));
        let mut schemas = Vec::new();
        if let Some(body) = op
            .request_body(&spec)
            .unwrap_or_else(|e| panic!("{at}: request body: {e}"))
        {
            schemas.extend(body.content.into_values().filter_map(|m| m.schema));
        }
        let responses = op.responses(&spec);
        assert_eq!(
            responses.len(),
            op.responses.as_ref().map_or(0, |r| r.len()),
            "{at}: every response resolves"
        );
        for r in responses.into_values() {
            schemas.extend(r.content.into_values().filter_map(|m| m.schema));
        }
        for schema in schemas {
            schema
                .resolve(&spec)
                .unwrap_or_else(|e| panic!("{at}: a schema: {e}"));
        }
    }
    // The rules a parser leaves to the reader.
    assert!(doc["openapi"]
        .as_str()
        .expect("openapi")
        .starts_with("3.1."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["adminToken"]["type"], "http");
    assert_eq!(schemes["adminToken"]["scheme"], "bearer");
    let declared_tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    let mut ids = BTreeSet::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with("/_emu/"), "{path}");
        for (method, op) in item.as_object().expect("path item") {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            operations += 1;
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} is unique");
            assert!(op["summary"].is_string(), "{method} {path}: summary");
            for tag in op["tags"].as_array().expect("tags") {
                let tag = tag.as_str().expect("tag");
                assert!(declared_tags.contains(tag), "{method} {path}: tag {tag}");
            }
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{method} {path}: responses");
            for (status, r) in responses {
                assert!(
                    status.len() == 3 && status.parse::<u16>().is_ok(),
                    "{method} {path}: {status}"
                );
                assert!(
                    r["description"].is_string() || r["$ref"].is_string(),
                    "{method} {path} {status}: a description"
                );
            }
            // Every `{param}` of the path is a required path parameter, and no other.
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .inspect(|p| assert_eq!(p["required"], true, "{method} {path}: {p}"))
                        .map(|p| p["name"].as_str().expect("name"))
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(in_path, declared, "{method} {path}: path parameters");
            // The security it asks for is declared (or none: the public ones).
            if let Some(reqs) = op["security"].as_array() {
                for req in reqs {
                    for name in req.as_object().expect("requirement").keys() {
                        assert!(schemes[name].is_object(), "{method} {path}: {name}");
                    }
                }
                assert!(
                    responses.get("401").is_none(),
                    "{method} {path}: a public operation answers no 401"
                );
            } else {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path}: a guarded operation documents its 401"
                );
            }
        }
    }
    assert!(operations >= 30, "{operations} operations");
    assert_eq!(parsed, operations, "oas3 reads every operation");
    // Every $ref points at something in the document.
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(found.len() > 30, "refs are used: {}", found.len());
    for (at, target) in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: {target} is local"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{at}: {target} resolves to nothing"
        );
    }
    app.stop().await;
}

/// Checks `v` against a schema of the document (the subset of JSON Schema that utoipa
/// writes); objects may hold no property the schema does not name, so that a field added
/// to an answer without its documentation fails. Returns what is wrong, if anything.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    if let Some(target) = schema["$ref"].as_str() {
        let target = doc
            .pointer(target.trim_start_matches('#'))
            .ok_or_else(|| format!("{at}: {target} resolves to nothing"))?;
        return check(doc, target, v, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let errors: Vec<String> = options
                .iter()
                .filter_map(|o| check(doc, o, v, at).err())
                .collect();
            if errors.len() == options.len() {
                return Err(format!("{at}: matches none of {key}: {errors:?}"));
            }
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(doc, s, v, at)?;
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(v) {
            return Err(format!("{at}: {v} is not one of {allowed:?}"));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let fits = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => false,
        });
        if !fits {
            return Err(format!("{at}: {v} is not of type {types:?}"));
        }
    }
    if let (Some(o), Some(props)) = (v.as_object(), schema["properties"].as_object()) {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap_or_default();
            if !o.contains_key(name) {
                return Err(format!("{at}: required {name} is missing"));
            }
        }
        for (k, x) in o {
            match props.get(k) {
                Some(s) => check(doc, s, x, &format!("{at}.{k}"))?,
                None => return Err(format!("{at}: {k} is not documented")),
            }
        }
    }
    if let (Some(a), Some(items)) = (v.as_array(), schema.get("items")) {
        for (i, x) in a.iter().enumerate() {
            check(doc, items, x, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Sends a request to the control plane and checks the answer against the document's
/// schema for its path, method and status; returns the answer.
async fn checked(
    app: &TestApp,
    doc: &Value,
    method: Method,
    path: &str,
    concrete: &str,
    body: Option<Value>,
) -> Value {
    let mut req = app
        .client
        .request(method.clone(), format!("{}{concrete}", app.base));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("send");
    let status = r.status().as_u16().to_string();
    let v: Value = r.json().await.expect("a JSON answer");
    let m = method.as_str().to_lowercase();
    let response = &doc["paths"][path][m.as_str()]["responses"][status.as_str()];
    assert!(
        response.is_object(),
        "{method} {concrete}: status {status} is not documented: {v}"
    );
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status}: a JSON schema"
    );
    if let Err(e) = check(doc, schema, &v, "answer") {
        panic!("{method} {concrete} {status}: {e}\n{v:#}");
    }
    v
}

#[tokio::test]
async fn real_answers_have_the_documented_shapes() {
    let app = TestApp::spawn().await;
    let doc = document(&app, &app.base).await;
    // Something in every list: a request in the journal, a fault, a ticket, a snapshot,
    // a world.
    let t = app.long_token().await;
    let reboot = app
        .call(
            "eq",
            &[("action", "reboot"), ("token", &t), ("id", "40101")],
        )
        .await;
    ok(&reboot);
    // An invoice that waits: a year of a GPU server exceeds the demo credit.
    let gpu = app.order_gpu_year(&t).await;
    ok(&gpu);
    let invoice = gpu["invoice"].as_i64().expect("invoice");
    let g = |p: &str| (Method::GET, p.to_owned(), p.to_owned(), None);
    let cases: Vec<(Method, String, String, Option<Value>)> = vec![
        g("/_emu/health"),
        g("/_emu/clock"),
        (
            Method::POST,
            "/_emu/clock/advance".into(),
            "/_emu/clock/advance?seconds=600".into(),
            None,
        ),
        (
            Method::POST,
            "/_emu/clock/advance".into(),
            "/_emu/clock/advance?seconds=-1".into(),
            None,
        ),
        (
            Method::POST,
            "/_emu/tasks/run".into(),
            "/_emu/tasks/run".into(),
            None,
        ),
        (
            Method::POST,
            "/_emu/prune".into(),
            "/_emu/prune".into(),
            None,
        ),
        g("/_emu/outbox"),
        (
            Method::POST,
            "/_emu/faults".into(),
            "/_emu/faults".into(),
            Some(json!([
                {"module": "eq", "action": "show", "times": 2,
                 "effect": {"type": "error", "error": "not_found"}},
                {"module": "os", "effect": {"type": "drop"}, "probability": 0.5, "seed": 7},
                {"effect": {"type": "latency", "min_ms": 1, "max_ms": 2}, "expires_in": 60},
            ])),
        ),
        (
            Method::POST,
            "/_emu/faults".into(),
            "/_emu/faults".into(),
            Some(json!({"module": "nope", "effect": {"type": "drop"}})),
        ),
        g("/_emu/faults"),
        (
            Method::DELETE,
            "/_emu/faults/{id}".into(),
            "/_emu/faults/999999".into(),
            None,
        ),
        (
            Method::DELETE,
            "/_emu/faults".into(),
            "/_emu/faults".into(),
            None,
        ),
        g("/_emu/requests"),
        (
            Method::GET,
            "/_emu/requests".into(),
            "/_emu/requests?module=eq&limit=1".into(),
            None,
        ),
        (
            Method::GET,
            "/_emu/requests".into(),
            "/_emu/requests?color=blue".into(),
            None,
        ),
        (
            Method::POST,
            "/_emu/requests/count".into(),
            "/_emu/requests/count".into(),
            Some(json!({"module": "eq", "action": "reboot", "server": 40101, "status": 200})),
        ),
        (
            Method::GET,
            "/_emu/accounts/{id}".into(),
            "/_emu/accounts/38642".into(),
            None,
        ),
        (
            Method::GET,
            "/_emu/accounts/{id}".into(),
            "/_emu/accounts/999999".into(),
            None,
        ),
        g("/_emu/tickets"),
        (
            Method::GET,
            "/_emu/tickets/{key}".into(),
            "/_emu/tickets/RH-999".into(),
            None,
        ),
        (
            Method::POST,
            "/_emu/invoices/{id}/pay".into(),
            "/_emu/invoices/999999/pay".into(),
            None,
        ),
        (
            Method::POST,
            "/_emu/f2h/keys".into(),
            "/_emu/f2h/keys".into(),
            Some(
                json!({"account_id": 38642, "label": "docs", "servers": ["nl-bm-01"],
                        "capabilities": ["reboot"]}),
            ),
        ),
        (
            Method::DELETE,
            "/_emu/f2h/keys/{id}".into(),
            "/_emu/f2h/keys/0000000000000000".into(),
            None,
        ),
        (
            Method::POST,
            "/_emu/snapshots".into(),
            "/_emu/snapshots".into(),
            Some(json!({"name": "docs"})),
        ),
        g("/_emu/snapshots"),
        (
            Method::POST,
            "/_emu/snapshots/{name}/restore".into(),
            "/_emu/snapshots/docs/restore".into(),
            None,
        ),
        (
            Method::DELETE,
            "/_emu/snapshots/{name}".into(),
            "/_emu/snapshots/docs".into(),
            None,
        ),
        (
            Method::POST,
            "/_emu/worlds".into(),
            "/_emu/worlds".into(),
            Some(json!({"task_speed": "instant"})),
        ),
        g("/_emu/worlds"),
        (
            Method::GET,
            "/_emu/worlds/{id}".into(),
            "/_emu/worlds/1".into(),
            None,
        ),
        (
            Method::DELETE,
            "/_emu/worlds/{id}".into(),
            "/_emu/worlds/1".into(),
            None,
        ),
        (
            Method::GET,
            "/_emu/worlds/{id}".into(),
            "/_emu/worlds/1".into(),
            None,
        ),
    ];
    let mut seen = BTreeMap::new();
    for (method, path, url, body) in cases {
        let v = checked(&app, &doc, method.clone(), &path, &url, body).await;
        seen.insert(format!("{method} {url}"), v);
    }
    // The lists were not empty, so their items were checked too.
    for (call, list) in [
        ("GET /_emu/requests", "requests"),
        ("GET /_emu/snapshots", "snapshots"),
        ("GET /_emu/worlds", "worlds"),
        ("GET /_emu/faults", "faults"),
    ] {
        assert!(
            seen[call][list].as_array().is_some_and(|a| !a.is_empty()),
            "{call}: {}",
            seen[call]
        );
    }
    assert!(
        seen["GET /_emu/accounts/38642"]["invoices"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["id"] == invoice)),
        "the GPU's invoice is listed"
    );
    let pay = format!("/_emu/invoices/{invoice}/pay");
    let paid = checked(
        &app,
        &doc,
        Method::POST,
        "/_emu/invoices/{id}/pay",
        &pay,
        None,
    )
    .await;
    assert_eq!(paid["invoice_status"], "Paid", "{paid}");
    let refund = format!("/_emu/invoices/{invoice}/refund?amount=1.00");
    let path = "/_emu/invoices/{id}/refund";
    checked(&app, &doc, Method::POST, path, &refund, None).await;
    checked(&app, &doc, Method::POST, "/_emu/reset", "/_emu/reset", None).await;
    app.stop().await;
}

const TOKEN: &str = "t0ken-for-docs";

#[tokio::test]
async fn the_docs_page_and_document_are_public_and_the_operations_want_the_token() {
    let mut config = test_config();
    config.admin_token = Some(TOKEN.parse().expect("token"));
    let app = TestApp::spawn_with(config).await;
    let page = app
        .client
        .get(format!("{}/_emu/docs", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/html"));
    let html = page.text().await.expect("html");
    assert!(
        html.contains(r#"url: "openapi.json""#)
            && html.contains(r#"src="docs/swagger-ui-bundle.js""#)
            && !html.contains("https://"),
        "offline, relative: {html}"
    );
    for (asset, size) in [
        ("swagger-ui-bundle.js", 1_000_000),
        ("swagger-ui.css", 100_000),
    ] {
        let r = app
            .client
            .get(format!("{}/_emu/docs/{asset}", app.base))
            .send()
            .await
            .expect("asset");
        assert_eq!(r.status(), 200, "{asset}");
        assert!(r.bytes().await.expect("bytes").len() > size, "{asset}");
    }
    let doc = document(&app, &app.base).await;
    assert!(doc["servers"].is_null(), "the default world is at /");
    // What the page's Authorize button sends is what the guard wants.
    let health = format!("{}/_emu/health", app.base);
    let r = app.client.get(&health).send().await.expect("health");
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.expect("json");
    let schema = &doc["components"]["schemas"]["ControlError"];
    check(&doc, schema, &v, "401").expect("the 401 body is a ControlError");
    let r = app
        .client
        .get(&health)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("health");
    assert_eq!(r.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_worlds_docs_page_loads_the_worlds_own_document_whose_server_is_the_world() {
    let app = TestApp::spawn().await;
    let (status, w) = emu(&app, Method::POST, "/_emu/worlds", Some(json!({}))).await;
    assert_eq!(status, 201);
    let id = w["world"]["id"].as_str().expect("id").to_owned();
    let world = format!("{}/w/{id}", app.base);
    let page = app
        .client
        .get(format!("{world}/_emu/docs"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .expect("html")
        .contains(r#"url: "openapi.json""#));
    let css = app
        .client
        .get(format!("{world}/_emu/docs/swagger-ui.css"))
        .send()
        .await
        .expect("css");
    assert_eq!(css.status(), 200);
    let doc = document(&app, &world).await;
    let server = doc["servers"][0]["url"].as_str().expect("a server");
    assert_eq!(server, format!("/w/{id}"));
    assert!(doc["paths"]["/_emu/worlds"].is_null(), "worlds do not nest");
    assert!(doc["paths"]["/_emu/clock/advance"].is_object());
    // "Execute" on the page calls the server's URL plus the path: the world's clock moves,
    // the default world's does not.
    let r = app
        .client
        .post(format!(
            "{}{server}/_emu/clock/advance?seconds=3600",
            app.base
        ))
        .send()
        .await
        .expect("advance");
    assert_eq!(r.status(), 200);
    let world_clock: Value = app
        .client
        .get(format!("{world}/_emu/clock"))
        .send()
        .await
        .expect("clock")
        .json()
        .await
        .expect("json");
    assert_eq!(world_clock["offset_ms"], 3_600_000);
    assert_eq!(app.control_get("/_emu/clock").await["offset_ms"], 0);
    // The default world's document still has the world routes.
    let default = document(&app, &app.base).await;
    assert!(default["paths"]["/_emu/worlds"]["post"].is_object());
    app.stop().await;
}
