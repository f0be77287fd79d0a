//! Scenarios as files people write: the format's JSON Schema (served, and in docs/), the
//! `scenario check|export|schema` commands of the binary, errors that name the bad field's
//! path, an export that loads back to the same answers, and the generated `large:N`.

use std::path::Path;
use std::time::Duration;

use hostkey_emu::domain::scenario::{self, large, DEMO};
use serde_json::{json, Value};

use crate::helpers::*;

fn demo_doc() -> Value {
    serde_json::from_str(DEMO).expect("demo json")
}

fn write(dir: &Path, name: &str, doc: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(doc).expect("json")).expect("write");
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn the_schema_is_served_behind_the_admin_token_and_in_every_world() {
    let mut config = test_config();
    config.admin_token = Some("sch3ma-token".parse().expect("token"));
    let app = TestApp::spawn_with(config).await;
    let url = format!("{}/_emu/scenario.schema.json", app.base);
    let r = app.client.get(&url).send().await.expect("get");
    assert_eq!(r.status(), 401, "the control plane's guard");
    let r = app
        .client
        .get(&url)
        .bearer_auth("sch3ma-token")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/schema+json");
    let served: Value = r.json().await.expect("json");
    assert_eq!(served, scenario::schema());
    assert_eq!(served["title"], "hostkey-emu scenario");
    assert!(served["$schema"]
        .as_str()
        .is_some_and(|s| s.contains("json-schema.org")));
    for field in ["name", "locations", "subnets", "accounts", "servers"] {
        assert!(
            served["required"]
                .as_array()
                .expect("required")
                .contains(&json!(field)),
            "{field} is required"
        );
    }

    let r = app
        .client
        .post(format!("{}/_emu/worlds", app.base))
        .bearer_auth("sch3ma-token")
        .json(&json!({"scenario": "demo"}))
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), 201);
    let w: Value = r.json().await.expect("json");
    let base = w["world"]["base_url"].as_str().expect("base");
    let url = format!("{}/_emu/scenario.schema.json", base.trim_end_matches('/'));
    let r = app
        .client
        .get(&url)
        .bearer_auth("sch3ma-token")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json"), served);
    app.stop().await;
}

#[test]
fn the_schema_in_docs_is_the_one_the_code_generates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario.schema.json");
    let written = std::fs::read_to_string(&path).expect("docs/scenario.schema.json");
    assert!(
        written == scenario::schema_text(),
        "docs/scenario.schema.json is out of date: regenerate it with \
         `cargo run -- scenario schema > docs/scenario.schema.json`"
    );
}

#[test]
fn the_demo_and_a_large_scenario_validate_against_the_schema_and_a_bad_one_does_not() {
    let schema = scenario::schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let demo = demo_doc();
    let errors: Vec<String> = validator
        .iter_errors(&demo)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let large = serde_json::to_value(large::scenario(30)).expect("json");
    assert!(validator.is_valid(&large));
    // The schema knows the fields' types and which are required.
    let mut bad = demo_doc();
    bad["servers"][3]["interfaces"][0]["mac"] = json!(7);
    assert!(!validator.is_valid(&bad), "a MAC that is a number");
    let mut bad = demo_doc();
    bad["accounts"][0]
        .as_object_mut()
        .expect("account")
        .remove("email");
    assert!(!validator.is_valid(&bad), "an account without e-mail");
}

#[test]
fn the_guides_example_is_a_valid_scenario() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenarios.md");
    let guide = std::fs::read_to_string(path).expect("docs/scenarios.md");
    let start = guide.find("```json\n").expect("an example") + "```json\n".len();
    let end = start + guide[start..].find("```").expect("the example's end");
    let example = &guide[start..end];
    let sc: scenario::Scenario = serde_json::from_str(example).expect("the example parses");
    sc.check().expect("the example passes the checks");
    let schema = scenario::schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    assert!(validator.is_valid(&serde_json::from_str::<Value>(example).expect("json")));
}

#[test]
fn scenario_check_prints_ok_and_the_counts() {
    let out = run_binary(&["scenario", "check", "demo"], Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("OK: scenario demo (demo): 7 locations,"),
        "{stdout}"
    );
    assert!(
        stdout.contains("28 subnets, 2 accounts, 8 servers"),
        "{stdout}"
    );
    let out = run_binary(&["scenario", "check", "large:40"], Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 account, 40 servers"));
    let out = run_binary(&["scenario", "schema"], Duration::from_secs(60));
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), scenario::schema_text());
}

#[test]
fn scenario_check_lists_every_problem_with_the_path_of_the_bad_field() {
    let dir = tempfile::tempdir().expect("dir");
    let mut doc = demo_doc();
    doc["servers"][3]["interfaces"][0]["mac"] = json!("zz");
    doc["servers"][2]["interfaces"][0]["id"] = json!("x");
    doc["servers"][5]["interfaces"][0]["ips"][0]["address"] = json!("203.0.113.7");
    doc["subnets"][1]["gateway"] = json!("nope");
    doc["accounts"][1]["api_keys"][0]["key"] = json!("short");
    let file = write(dir.path(), "bad.json", &doc);
    let out = run_binary(&["scenario", "check", &file], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for line in [
        r#"servers[3].interfaces[0].mac: invalid MAC "zz""#,
        r#"servers[2].interfaces[0].id: invalid type: string "x", expected i64"#,
        "servers[5].interfaces[0].ips[0].address: 203.0.113.7 is in no subnet",
        r#"subnets[1].gateway: invalid gateway "nope""#,
        "accounts[1].api_keys[0].key: API key",
        "problems",
    ] {
        assert!(stderr.contains(line), "{line} in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(text(&out.stdout).is_empty());

    // A document that is not a scenario at all: its first bad field, with its place.
    let mut doc = demo_doc();
    doc["accounts"][0]["email"] = json!(5);
    let file = write(dir.path(), "worse.json", &doc);
    let out = run_binary(&["scenario", "check", &file], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("accounts[0].email: invalid type: integer `5`, expected a string at line"),
        "{stderr}"
    );
    // A rule only the load finds: an F2HCloud key naming a server that has no such name.
    let mut doc = demo_doc();
    doc["accounts"][0]["f2h_keys"][0]["servers"][0] = json!("nowhere-01");
    let file = write(dir.path(), "f2h.json", &doc);
    let out = run_binary(&["scenario", "check", &file], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "accounts[0].f2h_keys[0].servers[0]: no server of account demo named 'nowhere-01'"
        ),
        "{}",
        text(&out.stderr)
    );
    let out = run_binary(
        &["scenario", "check", "/nonexistent/s.json"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read scenario /nonexistent/s.json"));
}

#[test]
fn a_bad_scenario_stops_the_start_with_the_fields_path_and_a_failure_status() {
    let dir = tempfile::tempdir().expect("dir");
    let mut doc = demo_doc();
    doc["servers"][3]["interfaces"][0]["mac"] = json!("zz");
    let file = write(dir.path(), "bad.json", &doc);
    let db = dir.path().join("emu.db").to_string_lossy().into_owned();
    let start = |scenario: &str| {
        run_binary(
            &[
                "--db",
                &db,
                "--listen",
                "127.0.0.1:0",
                "--dns-listen",
                "off",
                "--s3-listen",
                "off",
                "--f2h-listen",
                "off",
                "--scenario",
                scenario,
            ],
            Duration::from_secs(60),
        )
    };
    let out = start(&file);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(r#"hostkey-emu: servers[3].interfaces[0].mac: invalid MAC "zz""#),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = start("large:0");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("from 1 to 100000"),
        "{}",
        text(&out.stderr)
    );
}

/// Takes the moments of admin blocks (`date_block`, "YYYY-MM-DD HH:MM:SS") out of an
/// answer: a scenario places them a few days before its load, to the second, so two loads
/// a few seconds apart give moments a few seconds apart. They are replaced by a mark and
/// returned as Unix seconds.
fn take_block_moments(v: &mut Value, moments: &mut Vec<i64>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match x.as_str() {
                    Some(t) if k == "date_block" => {
                        let at = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                            .expect("a date_block moment");
                        moments.push(at.and_utc().timestamp());
                        *x = json!("<moment>");
                    }
                    _ => take_block_moments(x, moments),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|x| take_block_moments(x, moments)),
        _ => {}
    }
}

/// Asserts two sets of answers are the same, but for the moments of admin blocks, which
/// may be a few seconds apart (the seconds between the two loads).
fn assert_same_answers(mut after: Vec<Value>, mut before: Vec<Value>) {
    let (mut late, mut early) = (Vec::new(), Vec::new());
    after
        .iter_mut()
        .for_each(|v| take_block_moments(v, &mut late));
    before
        .iter_mut()
        .for_each(|v| take_block_moments(v, &mut early));
    assert_eq!(after.len(), before.len());
    for (a, b) in after.iter().zip(&before) {
        assert_eq!(a, b);
    }
    assert_eq!(late.len(), early.len());
    for (l, e) in late.iter().zip(&early) {
        assert!((0..=300).contains(&(l - e)), "blocked {e}, then {l}");
    }
}

/// eq/list and eq/show of every server of the account behind `key`.
async fn answers(app: &TestApp, key: &str) -> Vec<Value> {
    let token = app.login_key(key).await;
    let list = app
        .call("eq", &[("action", "list"), ("token", &token)])
        .await;
    let mut out = vec![list.clone()];
    for id in list["servers"].as_array().expect("servers") {
        out.push(app.show(&token, id).await);
    }
    out
}

#[tokio::test]
async fn an_export_after_some_writes_loads_back_to_the_same_answers() {
    let (app, dir) = TestApp::spawn_on_file().await;
    let t = app.demo_token().await;
    let ids = app.server_ids(&t).await;
    let (first, second) = (ids[0].to_string(), ids[1].to_string());
    ok(&app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &second),
                ("tag", "exported"),
                ("value", "yes"),
            ],
        )
        .await);
    ok(&app
        .call(
            "eq",
            &[
                ("action", "rename_server"),
                ("token", &t),
                ("id", &first),
                ("hostname", "renamed-01.example.com"),
            ],
        )
        .await);
    let before = answers(&app, DEMO_KEY).await;
    let other_before = answers(&app, OTHER_KEY).await;

    let db = dir.path().join("emu.db").to_string_lossy().into_owned();
    let file = dir
        .path()
        .join("export.json")
        .to_string_lossy()
        .into_owned();
    let out = run_binary(
        &["--db", &db, "scenario", "export", "--out", &file],
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("exported {db} (2 accounts, 8 servers) to {file}")),
        "{}",
        text(&out.stdout)
    );
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("export")).expect("json");
    assert_eq!(exported["accounts"][0]["api_keys"][0]["key"], DEMO_KEY);
    assert_eq!(
        exported["accounts"][0]["password"], DEMO_PASSWORD,
        "a password that still matches the scenario's"
    );
    let out = run_binary(&["scenario", "check", &file], Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    app.stop().await;

    let mut config = test_config();
    config.scenario = file.clone();
    let again = TestApp::spawn_with(config).await;
    assert_same_answers(answers(&again, DEMO_KEY).await, before);
    assert_same_answers(answers(&again, OTHER_KEY).await, other_before);
    let t = again.demo_token().await;
    let renamed = again.show(&t, &first).await;
    assert_eq!(renamed["server_data"]["name"], "renamed-01.example.com");
    let tagged = again.show(&t, &second).await;
    assert!(tagged["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .any(|x| x["tag"] == "exported" && x["value"] == "yes"));
    again.stop().await;
}

#[tokio::test]
async fn export_needs_an_existing_database_file() {
    let out = run_binary(
        &["--db", ":memory:", "scenario", "export"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("needs an existing database file"));
    let out = run_binary(
        &["--db", "/nonexistent/emu.db", "scenario", "export"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn large_n_loads_n_servers_the_same_every_time() {
    let spawn = || async {
        let mut config = test_config();
        config.scenario = "large:60".into();
        TestApp::spawn_with(config).await
    };
    let (one, two) = (spawn().await, spawn().await);
    let first = answers(&one, large::API_KEY).await;
    assert_eq!(first[0]["servers"].as_array().map(Vec::len), Some(60));
    // Deterministic: the same answers from another load.
    assert_same_answers(answers(&two, large::API_KEY).await, first.clone());
    let kinds: Vec<&Value> = first[1..].iter().map(|s| &s["IPMI"]["model"]).collect();
    assert_eq!(kinds.iter().filter(|m| **m == "ovirt").count(), 40);
    let health = one.control_get("/_emu/health").await;
    assert_eq!(health["scenario"], "large-60");
    // A reset loads it again, the same.
    assert_eq!(one.control_post("/_emu/reset").await.status(), 200);
    assert_same_answers(answers(&one, large::API_KEY).await, first);
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn large_n_out_of_bounds_is_refused_with_a_clear_message() {
    use hostkey_emu::app::{AppState, StartError};
    for bad in ["large:0", "large:100001", "large:many"] {
        let mut config = test_config();
        config.scenario = bad.into();
        let e = AppState::new(config).await.err().expect("refused");
        assert!(
            matches!(&e, StartError::Scenario(m) if m.contains("a whole number from 1 to 100000")),
            "{bad}: {e}"
        );
    }
}
