//! net.php: address management, ports, address blocks, traffic graphs.

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::*;

const VM: &str = "40101"; // demo oVirt VM, NL, main 31.207.45.23, extra 31.207.45.24 (admin-blocked)
const BM: &str = "40102"; // demo Supermicro, NL, eth1 blocked by the abuse team

async fn net(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("net", &f).await
}

fn addresses(show: &Value) -> Vec<String> {
    show["IP"]
        .as_array()
        .expect("IP")
        .iter()
        .map(|i| i["IP"].as_str().expect("ip").to_owned())
        .collect()
}

async fn free_list(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let v = net(app, token, &[("action", "show_ipv4_free"), ("id", id)]).await;
    v["ips"]
        .as_array()
        .expect("ips")
        .iter()
        .map(|i| i["ip"].as_str().expect("ip").to_owned())
        .collect()
}

#[tokio::test]
async fn add_ipv4_allocates_from_the_pool_and_shows_everywhere() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", VM), ("amount", "2")],
    )
    .await;
    ok(&v);
    assert_eq!(v["id"], 40101);
    let ips = v["ips"].as_array().expect("ips");
    assert_eq!(ips.len(), 2);
    assert!(ips[0]["IP"].is_string() && ips[0]["vlan"].is_i64());
    assert_eq!(ips[0]["vlan"], 412, "the port's own VLAN first");
    let keys = v["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    let new: Vec<String> = ips
        .iter()
        .map(|i| i["IP"].as_str().expect("ip").to_owned())
        .collect();
    for n in &new {
        assert!(n.starts_with("31.207.45."));
        assert_ne!(n, "31.207.45.0");
        assert_ne!(n, "31.207.45.1", "never the gateway");
    }
    let done = app.complete(keys[0].as_str().expect("key")).await;
    assert_eq!(done["result"], "OK");
    assert_eq!(done["context"]["ip"], new[0].as_str());
    let s = app.show(&t, VM).await;
    for n in &new {
        assert!(addresses(&s).contains(n), "eq/show lists {n}");
        let l = app
            .call("eq", &[("action", "list"), ("token", &t), ("ip", n)])
            .await;
        assert_eq!(l["servers"], serde_json::json!([40101]));
        let g = app
            .call("ip", &[("action", "get_ip"), ("token", &t), ("ip", n)])
            .await;
        assert_eq!(g["subnet_id"], 517);
    }
    let free = free_list(&app, &t, VM).await;
    assert!(
        new.iter().all(|n| !free.contains(n)),
        "allocated addresses are not free"
    );
    app.stop().await;
}

#[tokio::test]
async fn specific_addresses_are_checked() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = net(
        &app,
        &t,
        &[
            ("action", "add_ipv4"),
            ("id", VM),
            ("ips[]", "31.207.45.50"),
            ("ips[]", "31.207.45.51"),
        ],
    )
    .await;
    assert_eq!(v["ips"].as_array().map(Vec::len), Some(2));
    let taken = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", VM), ("ip", "31.207.45.61")],
    )
    .await;
    assert_eq!(
        error_of(&taken),
        "net/add_ipv4: 31.207.45.61 is already in use",
        "another account's address"
    );
    let gw = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", VM), ("ip", "31.207.45.1")],
    )
    .await;
    assert!(error_of(&gw).contains("reserved address"));
    let bcast = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", VM), ("ip", "31.207.45.127")],
    )
    .await;
    assert!(error_of(&bcast).contains("reserved address"));
    let foreign = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", VM), ("ip", "8.8.8.8")],
    )
    .await;
    assert!(error_of(&foreign).contains("not in a pool"));
    let none = net(&app, &t, &[("action", "add_ipv4"), ("id", VM)]).await;
    assert!(error_of(&none).starts_with("net/add_ipv4: invalid request"));
    let tech = net(
        &app,
        &t,
        &[
            ("action", "add_ipv4"),
            ("id", VM),
            ("amount", "1"),
            ("tag", "ipmi"),
        ],
    )
    .await;
    assert!(
        error_of(&tech).contains("permission denied") || error_of(&tech).contains("administrators")
    );
    let many = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", VM), ("amount", "33")],
    )
    .await;
    assert!(error_of(&many).contains("at most 32"));
    app.stop().await;
}

#[tokio::test]
async fn remove_ipv4_keeps_the_main_address_until_it_is_the_last() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", BM), ("amount", "3")],
    )
    .await;
    let new: Vec<String> = v["ips"]
        .as_array()
        .expect("ips")
        .iter()
        .map(|i| i["IP"].as_str().expect("ip").to_owned())
        .collect();
    let r = net(
        &app,
        &t,
        &[("action", "remove_ipv4"), ("id", BM), ("ip", &new[0])],
    )
    .await;
    ok(&r);
    assert_eq!(
        r["ips"][0]["ip"],
        new[0].as_str(),
        "remove_ipv4 answers lowercase ip"
    );
    assert!(r["keys"][0].is_string());
    let main = net(
        &app,
        &t,
        &[("action", "remove_ipv4"), ("id", BM), ("ip", "5.39.218.37")],
    )
    .await;
    assert!(error_of(&main).contains("main address"));
    let all = net(
        &app,
        &t,
        &[("action", "remove_ipv4"), ("id", BM), ("remove_all", "1")],
    )
    .await;
    // The two added addresses left plus the seeded extra one (5.39.218.38).
    assert_eq!(all["ips"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        addresses(&app.show(&t, BM).await),
        vec!["5.39.218.37".to_owned()]
    );
    let nothing = net(&app, &t, &[("action", "remove_ipv4"), ("id", BM)]).await;
    assert_eq!(error_of(&nothing), "net/remove_ipv4: No IP specified");
    let last = net(
        &app,
        &t,
        &[("action", "remove_ipv4"), ("id", BM), ("ip", "5.39.218.37")],
    )
    .await;
    ok(&last);
    assert!(addresses(&app.show(&t, BM).await).is_empty());
    let admin = net(
        &app,
        &t,
        &[
            ("action", "remove_ipv4"),
            ("id", VM),
            ("ip", "31.207.45.24"),
        ],
    )
    .await;
    assert!(error_of(&admin).contains("blocked by the abuse team"));
    app.stop().await;
}

#[tokio::test]
async fn released_addresses_honour_fresh_period() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", VM), ("amount", "1")],
    )
    .await;
    let ip = v["ips"][0]["IP"].as_str().expect("ip").to_owned();
    ok(&net(
        &app,
        &t,
        &[("action", "remove_ipv4"), ("id", VM), ("ip", &ip)],
    )
    .await);
    let again = net(
        &app,
        &t,
        &[
            ("action", "add_ipv4"),
            ("id", VM),
            ("ip", &ip),
            ("fresh_period", "3600"),
        ],
    )
    .await;
    assert!(error_of(&again).contains("released less than 3600 seconds ago"));
    let other = net(
        &app,
        &t,
        &[
            ("action", "add_ipv4"),
            ("id", VM),
            ("amount", "1"),
            ("fresh_period", "3600"),
        ],
    )
    .await;
    assert_ne!(
        other["ips"][0]["IP"],
        ip.as_str(),
        "a fresh address is skipped"
    );
    let free = net(
        &app,
        &t,
        &[
            ("action", "show_ipv4_free"),
            ("id", VM),
            ("fresh_period", "3600"),
        ],
    )
    .await;
    assert!(!free["ips"]
        .as_array()
        .expect("ips")
        .iter()
        .any(|i| i["ip"] == ip.as_str()));
    assert!(free["res"]["filtered"].as_i64().expect("filtered") >= 1);
    assert_eq!(free["fresh"], 3600);
    app.advance(3601).await;
    ok(&net(
        &app,
        &t,
        &[
            ("action", "add_ipv4"),
            ("id", VM),
            ("ip", &ip),
            ("fresh_period", "3600"),
        ],
    )
    .await);
    app.stop().await;
}

#[tokio::test]
async fn show_ipv4_free_has_the_000_shape() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = net(
        &app,
        &t,
        &[
            ("action", "show_ipv4_free"),
            ("id", VM),
            ("ip", "31.207.45.3"),
        ],
    )
    .await;
    ok(&v);
    let first = &v["ips"][0];
    assert!(first["ip"].as_str().expect("ip").contains("31.207.45.3"));
    assert_eq!(first["subnet"], "31.207.45.0/25");
    assert_eq!(first["status"], "free");
    assert!(first["vlan"].is_i64());
    let sub = &v["subnets"][0];
    assert_eq!(sub["mask"], 25);
    assert_eq!(
        sub["total"], 126,
        "a /25 has 126 host addresses (000: a /24 has 254)"
    );
    assert!(sub["free"].as_i64().expect("free") < 125);
    assert_eq!(sub["broadcast"], "31.207.45.127");
    assert!(v["res"]["total_found"].is_i64() && v["total_ips"].is_i64());
    assert_eq!(v["fresh"], 0);
    app.stop().await;
}

#[tokio::test]
async fn many_parallel_add_ipv4_calls_never_share_or_lose_an_address() {
    // A file database, so that requests really run on several connections at once.
    let dir = tempfile::tempdir().expect("dir");
    let mut config = test_config();
    config.db = dir.path().join("ipam.db").to_string_lossy().into_owned();
    let app = TestApp::spawn_with(config).await;
    let t = app.demo_token().await;
    let before_vm = free_list(&app, &t, VM).await.len();
    let before_bm = free_list(&app, &t, BM).await.len();
    let mut handles = Vec::new();
    for i in 0..24 {
        let id = if i % 2 == 0 { VM } else { BM };
        handles.push(app.spawn_call(
            "net",
            &[
                ("action", "add_ipv4"),
                ("token", &t),
                ("id", id),
                ("amount", "2"),
            ],
        ));
    }
    let mut all = Vec::new();
    for h in handles {
        let v = h.await.expect("task");
        ok(&v);
        for ip in v["ips"].as_array().expect("ips") {
            all.push(ip["IP"].as_str().expect("ip").to_owned());
        }
    }
    assert_eq!(all.len(), 48);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), 48, "no address was handed out twice");
    let mut held: Vec<String> = addresses(&app.show(&t, VM).await);
    held.extend(addresses(&app.show(&t, BM).await));
    for a in &all {
        assert!(held.contains(a), "{a} is recorded on a server");
    }
    // The VM draws on the NL oVirt pool and the bare-metal server on the NL bm pool: each
    // shrank by exactly the 24 addresses its twelve requests took.
    assert_eq!(free_list(&app, &t, VM).await.len(), before_vm - 24);
    assert_eq!(free_list(&app, &t, BM).await.len(), before_bm - 24);
    app.stop().await;
}

#[tokio::test]
async fn port_off_and_on_switch_the_port_and_tag_the_block() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = net(
        &app,
        &t,
        &[
            ("action", "port_off"),
            ("id", BM),
            ("port", "eth0"),
            ("reason", "maintenance"),
        ],
    )
    .await;
    let done = app.complete(v["callback"].as_str().expect("key")).await;
    assert_eq!(done["scope"], "Port is off");
    assert_eq!(done["debug"], "Unplugged");
    assert_eq!(done["context"]["interface_id"], "eth0");
    assert_eq!(done["context"]["ip_ipmi"], "10.14.32.117");
    let s = app.show(&t, BM).await;
    let eth0 = s["interfaces"]
        .as_array()
        .expect("ifaces")
        .iter()
        .find(|i| i["type"] == "eth0")
        .expect("eth0")
        .clone();
    assert_eq!(eth0["Status"], "disable");
    let tags = s["tags"].as_array().expect("tags");
    assert!(tags
        .iter()
        .any(|x| x["tag"] == "block" && x["value"] == "maintenance" && x["extra"] == "eth0"));
    let st = net(
        &app,
        &t,
        &[("action", "get_status"), ("id", BM), ("port", "eth0")],
    )
    .await;
    let rec = app.complete(st["callback"].as_str().expect("key")).await;
    let scope: Value =
        serde_json::from_str(rec["scope"].as_str().expect("scope")).expect("json scope");
    assert_eq!(scope["status"], "down");
    assert_eq!(scope["port"], "ge-0/0/17");
    assert_eq!(scope["vlan"], "v604");
    let v = net(
        &app,
        &t,
        &[("action", "port_on"), ("id", BM), ("port", "eth0")],
    )
    .await;
    let done = app.complete(v["callback"].as_str().expect("key")).await;
    assert_eq!(done["debug"], "Plugged");
    let s = app.show(&t, BM).await;
    assert!(s["interfaces"]
        .as_array()
        .expect("ifaces")
        .iter()
        .all(|i| i["type"] != "eth0" || i["Status"] == "enable"));
    assert!(!s["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .any(|x| x["tag"] == "block"));
    let unknown = net(
        &app,
        &t,
        &[("action", "port_on"), ("id", BM), ("port", "eth9")],
    )
    .await;
    assert_eq!(
        error_of(&unknown),
        "net/port_on: invalid request for server 40102 with port eth9"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_administrative_port_block_cannot_be_lifted_by_the_customer() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    for action in ["port_on", "port_off"] {
        let v = net(
            &app,
            &t,
            &[("action", action), ("id", BM), ("port", "eth1")],
        )
        .await;
        assert_eq!(
            error_of(&v),
            format!("net/{action}: admin ban could not be lifted this way, please contact support or abuse team.")
        );
    }
    let st = net(
        &app,
        &t,
        &[("action", "get_status"), ("id", BM), ("port", "eth1")],
    )
    .await;
    let rec = app.complete(st["callback"].as_str().expect("key")).await;
    let scope: Value = serde_json::from_str(rec["scope"].as_str().expect("scope")).expect("json");
    assert_eq!(scope["status"], "admin down");
    app.stop().await;
}

#[tokio::test]
async fn a_vm_port_reads_like_ovirt() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let st = net(&app, &t, &[("action", "get_status"), ("id", VM)]).await;
    let rec = app.complete(st["callback"].as_str().expect("key")).await;
    assert_eq!(rec["debug"], "get status port via Ovirt API");
    let scope: Value = serde_json::from_str(rec["scope"].as_str().expect("scope")).expect("json");
    assert_eq!(scope["switch"], "virtual");
    assert_eq!(scope["status"], "connected");
    assert_eq!(scope["vlan"], "v412");
    assert!(scope["mac"].is_array());
    assert_eq!(scope["speed"], "1000");
    app.stop().await;
}

#[tokio::test]
async fn block_ip_and_unblock_ip_lock_the_address() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let ip = "31.207.45.23";
    let v = net(
        &app,
        &t,
        &[
            ("action", "block_ip"),
            ("id", VM),
            ("ip", ip),
            ("description", "ddos target"),
        ],
    )
    .await;
    let done = app.complete(v["callback"].as_str().expect("key")).await;
    assert_eq!(done["scope"], "blocked");
    assert_eq!(
        done["context"],
        serde_json::json!({"action": "block_ip", "id": "40101", "ip": ip})
    );
    assert_eq!(
        done["debug"], "",
        "debug is a string, also where 001 prints null"
    );
    let s = app.show(&t, VM).await;
    let row = s["IP"]
        .as_array()
        .expect("IP")
        .iter()
        .find(|i| i["IP"] == ip)
        .expect("row")
        .clone();
    assert_eq!(row["locked"], 1);
    assert!(row["date_block"].is_string());
    let twice = net(&app, &t, &[("action", "block_ip"), ("id", VM), ("ip", ip)]).await;
    assert!(error_of(&twice).contains("already blocked"));
    let v = net(
        &app,
        &t,
        &[("action", "unblock_ip"), ("id", VM), ("ip", ip)],
    )
    .await;
    assert_eq!(
        app.complete(v["callback"].as_str().expect("key")).await["scope"],
        "unblocked"
    );
    let s = app.show(&t, VM).await;
    let row = s["IP"]
        .as_array()
        .expect("IP")
        .iter()
        .find(|i| i["IP"] == ip)
        .expect("row")
        .clone();
    assert_eq!(row["locked"], 0);
    assert!(row["date_block"].is_null());
    let not = net(
        &app,
        &t,
        &[("action", "block_ip"), ("id", VM), ("ip", "5.39.218.37")],
    )
    .await;
    assert!(error_of(&not).contains("not found on server 40101"));
    let admin = net(
        &app,
        &t,
        &[("action", "unblock_ip"), ("id", VM), ("ip", "31.207.45.24")],
    )
    .await;
    assert_eq!(
        error_of(&admin),
        "net/unblock_ip: permission denied to remove block for 31.207.45.24. Please contact support."
    );
    app.stop().await;
}

#[tokio::test]
async fn a_four_hour_block_lifts_itself_on_the_emulator_clock() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    let ip = "5.39.218.37";
    let v = net(
        &app,
        &t,
        &[
            ("action", "block_ip"),
            ("id", BM),
            ("ip", ip),
            ("four_hours", "1"),
            ("description", "x"),
        ],
    )
    .await;
    app.complete(v["callback"].as_str().expect("key")).await;
    let locked = |s: &Value| s["IP"][0]["locked"].as_i64();
    assert_eq!(locked(&app.show(&t, BM).await), Some(1));
    app.advance(3 * 3600).await;
    assert_eq!(
        locked(&app.show(&t, BM).await),
        Some(1),
        "still blocked after 3 h (+10 min)"
    );
    app.advance(3600).await;
    assert_eq!(locked(&app.show(&t, BM).await), Some(0), "lifted after 4 h");
    let v = net(
        &app,
        &t,
        &[("action", "unblock_ip"), ("id", BM), ("ip", ip)],
    )
    .await;
    assert!(error_of(&v).contains("is not blocked"));
    app.stop().await;
}

#[tokio::test]
async fn show_cacti_answers_a_png_for_each_period() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    for graph in ["1", "2", "3"] {
        let r = app
            .post(
                "net",
                &[
                    ("action", "show_cacti"),
                    ("token", &t),
                    ("id", BM),
                    ("port", "eth0"),
                    ("graph", graph),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
        let bytes = r.bytes().await.expect("body");
        let reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .expect("a valid PNG");
        assert_eq!((reader.info().width, reader.info().height), (640, 300));
    }
    let v = net(
        &app,
        &t,
        &[("action", "show_cacti"), ("id", BM), ("port", "eth7")],
    )
    .await;
    assert_eq!(
        v,
        serde_json::json!({
            "result": -1,
            "error": "net/show_cacti: failed to load img for server 40102 port eth7: failed to find cacti id for this server interface",
            "action": "show_cacti",
            "context": {"id": 40102, "port": "eth7"}
        }),
        "001's failure shape"
    );
    let v = net(
        &app,
        &t,
        &[("action", "show_cacti"), ("id", BM), ("graph", "9")],
    )
    .await;
    assert!(error_of(&v).contains("graph must be 1"));
    app.stop().await;
}

#[tokio::test]
async fn a_late_removal_never_takes_an_address_another_account_now_holds() {
    // demo's VM 40101 and other's VM 40107 share the NL oVirt pool. Each round gives one
    // address to 40101, then races six removals of it from 40101 against three requests
    // for it from 40107. Exactly one removal may win; whatever 40107 got, it keeps.
    let (app, _dir) = TestApp::spawn_on_file().await;
    let demo = app.demo_token().await;
    let other = app.other_token().await;
    for round in 0..8 {
        let addr = format!("31.207.45.{}", 90 + round);
        let v = net(
            &app,
            &demo,
            &[("action", "add_ipv4"), ("id", VM), ("ip", &addr)],
        )
        .await;
        ok(&v);
        let mut handles = Vec::new();
        for i in 0..9 {
            let (token, id, action) = if i % 3 == 2 {
                (other.clone(), "40107", "add_ipv4")
            } else {
                (demo.clone(), VM, "remove_ipv4")
            };
            let call = app.spawn_call(
                "net",
                &[
                    ("action", action),
                    ("token", &token),
                    ("id", id),
                    ("ip", &addr),
                ],
            );
            handles.push((action, call));
        }
        let (mut removed, mut added) = (0, 0);
        for (action, h) in handles {
            let v = h.await.expect("task");
            if v["result"] == "OK" {
                if action == "remove_ipv4" {
                    removed += 1;
                } else {
                    added += 1;
                }
            } else {
                let e = error_of(&v);
                assert!(
                    e.contains("not found") || e.contains("already in use"),
                    "{action}: {e}"
                );
            }
        }
        assert_eq!(
            removed, 1,
            "round {round}: one removal releases the address"
        );
        assert!(
            added <= 1,
            "round {round}: the address went out {added} times"
        );
        let on_vm = addresses(&app.show(&demo, VM).await).contains(&addr);
        let on_other = addresses(&app.show(&other, "40107").await).contains(&addr);
        assert!(!on_vm, "round {round}: 40101 gave {addr} up");
        assert_eq!(
            on_other,
            added == 1,
            "round {round}: 40107 holds {addr} exactly when its request said OK"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn set_main_racing_a_removal_leaves_exactly_one_main_address() {
    let (app, _dir) = TestApp::spawn_on_file().await;
    let t = app.demo_token().await;
    for round in 0..8 {
        let addr = format!("5.39.218.{}", 60 + round);
        ok(&net(
            &app,
            &t,
            &[("action", "add_ipv4"), ("id", BM), ("ip", &addr)],
        )
        .await);
        let mut handles = Vec::new();
        for i in 0..4 {
            let call = if i == 0 {
                app.spawn_call(
                    "net",
                    &[
                        ("action", "remove_ipv4"),
                        ("token", &t),
                        ("id", BM),
                        ("ip", &addr),
                    ],
                )
            } else {
                app.spawn_call(
                    "ip",
                    &[
                        ("action", "set_main"),
                        ("token", &t),
                        ("id", BM),
                        ("ip", &addr),
                        ("main", &addr),
                    ],
                )
            };
            handles.push(call);
        }
        for h in handles {
            let v = h.await.expect("task");
            assert!(
                v["result"] == "OK" || v["result"] == -1,
                "an answer, not a failure: {v}"
            );
        }
        let s = app.show(&t, BM).await;
        let mains: Vec<&Value> = s["IP"]
            .as_array()
            .expect("IP")
            .iter()
            .filter(|i| i["main_ip"] == 1)
            .collect();
        assert_eq!(
            mains.len(),
            1,
            "round {round}: one main address in {}",
            s["IP"]
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn vms_and_bare_metal_draw_on_their_own_tagged_pools() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    // The VM sees only the NL oVirt pool, the bare-metal server only the NL bm pool.
    let vm = net(&app, &t, &[("action", "show_ipv4_free"), ("id", VM)]).await;
    let nets: Vec<&Value> = vm["subnets"].as_array().expect("subnets").iter().collect();
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0]["network"], "31.207.45.0");
    let bm = net(
        &app,
        &t,
        &[("action", "show_ipv4_free"), ("id", BM), ("tag", "bm")],
    )
    .await;
    assert_eq!(bm["subnets"][0]["network"], "5.39.218.0");
    assert_eq!(bm["subnets"].as_array().expect("subnets").len(), 1);
    assert!(bm["ips"].as_array().expect("ips").iter().all(|i| i["ip"]
        .as_str()
        .expect("ip")
        .starts_with("5.39.218.")
        && i["location"] == "NL"));
    // Another kind's pool, or a technical network, is refused with a reason.
    let e = net(
        &app,
        &t,
        &[("action", "show_ipv4_free"), ("id", VM), ("tag", "bm")],
    )
    .await;
    assert_eq!(
        error_of(&e),
        "net/show_ipv4_free: bm pools are not available to server 40101, it takes addresses from ovirt pools"
    );
    let e = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", VM), ("ip", "5.39.218.50")],
    )
    .await;
    assert!(error_of(&e).contains("not in a pool available to this server"));
    let e = net(
        &app,
        &t,
        &[
            ("action", "add_ipv4"),
            ("id", BM),
            ("amount", "1"),
            ("tag", "ipmi"),
        ],
    )
    .await;
    assert!(error_of(&e).contains("permission denied"));
    let e = net(
        &app,
        &t,
        &[
            ("action", "add_ipv4"),
            ("id", BM),
            ("amount", "1"),
            ("allow_tech_networks", "1"),
        ],
    )
    .await;
    assert!(error_of(&e).contains("allow_tech_networks is for administrators"));
    let e = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", BM), ("amount", "0")],
    )
    .await;
    assert_eq!(error_of(&e), "net/add_ipv4: amount must be at least 1");
    app.stop().await;
}

#[tokio::test]
async fn blocks_on_two_ports_are_kept_apart() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let dell = "40103";
    let block_tag = |s: &Value| -> Option<(String, String)> {
        s["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .find(|x| x["tag"] == "block")
            .map(|x| {
                (
                    x["value"].as_str().expect("value").to_owned(),
                    x["extra"].as_str().expect("extra").to_owned(),
                )
            })
    };
    let status = |s: &Value, port: &str| -> String {
        s["interfaces"]
            .as_array()
            .expect("ifaces")
            .iter()
            .find(|i| i["type"] == port)
            .map(|i| i["Status"].as_str().expect("status").to_owned())
            .expect("port")
    };
    for (port, reason) in [("eth1", "Suspicious activity"), ("eth0", "maint eth0")] {
        let v = net(
            &app,
            &t,
            &[
                ("action", "port_off"),
                ("id", dell),
                ("port", port),
                ("reason", reason),
            ],
        )
        .await;
        assert_eq!(
            app.complete(v["callback"].as_str().expect("key")).await["result"],
            "OK"
        );
    }
    let s = app.show(&t, dell).await;
    assert_eq!(status(&s, "eth0"), "disable");
    assert_eq!(status(&s, "eth1"), "disable");
    assert_eq!(
        block_tag(&s),
        Some((
            "eth0: maint eth0; eth1: Suspicious activity".to_owned(),
            "eth0,eth1".to_owned()
        ))
    );
    let v = net(
        &app,
        &t,
        &[("action", "port_on"), ("id", dell), ("port", "eth0")],
    )
    .await;
    app.complete(v["callback"].as_str().expect("key")).await;
    let s = app.show(&t, dell).await;
    assert_eq!(status(&s, "eth0"), "enable");
    assert_eq!(status(&s, "eth1"), "disable", "eth1 stays off");
    assert_eq!(
        block_tag(&s),
        Some(("Suspicious activity".to_owned(), "eth1".to_owned()))
    );
    let v = net(
        &app,
        &t,
        &[("action", "port_on"), ("id", dell), ("port", "eth1")],
    )
    .await;
    app.complete(v["callback"].as_str().expect("key")).await;
    assert_eq!(block_tag(&app.show(&t, dell).await), None);
    app.stop().await;
}

#[tokio::test]
async fn remove_all_keeps_addresses_under_an_abuse_block() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = net(
        &app,
        &t,
        &[("action", "add_ipv4"), ("id", VM), ("amount", "2")],
    )
    .await;
    let added: Vec<String> = v["ips"]
        .as_array()
        .expect("ips")
        .iter()
        .map(|i| i["IP"].as_str().expect("ip").to_owned())
        .collect();
    let v = net(
        &app,
        &t,
        &[("action", "remove_ipv4"), ("id", VM), ("remove_all", "1")],
    )
    .await;
    ok(&v);
    let removed: Vec<&str> = v["ips"]
        .as_array()
        .expect("ips")
        .iter()
        .map(|i| i["ip"].as_str().expect("ip"))
        .collect();
    assert_eq!(
        removed,
        added.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(v["kept"], serde_json::json!(["31.207.45.24"]));
    assert_eq!(
        addresses(&app.show(&t, VM).await),
        vec!["31.207.45.23", "31.207.45.24"]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_block_for_an_address_removed_meanwhile_does_not_follow_it() {
    let app = TestApp::spawn().await;
    let demo = app.long_token().await;
    let other = app.other_token().await;
    let addr = "31.207.45.95";
    ok(&net(
        &app,
        &demo,
        &[("action", "add_ipv4"), ("id", VM), ("ip", addr)],
    )
    .await);
    let b = net(
        &app,
        &demo,
        &[
            ("action", "block_ip"),
            ("id", VM),
            ("ip", addr),
            ("description", "demo-block"),
        ],
    )
    .await;
    let key = b["callback"].as_str().expect("key").to_owned();
    // Removed before the router applied the block.
    ok(&net(
        &app,
        &demo,
        &[("action", "remove_ipv4"), ("id", VM), ("ip", addr)],
    )
    .await);
    let rec = app.complete(&key).await;
    assert_eq!(rec["result"], "Fail");
    assert_eq!(
        rec["scope"],
        format!("IP {addr} is no longer assigned to server 40101")
    );
    // The next holder gets a clean address that it may block itself.
    ok(&net(
        &app,
        &other,
        &[("action", "add_ipv4"), ("id", "40107"), ("ip", addr)],
    )
    .await);
    let s = app.show(&other, "40107").await;
    let row = s["IP"]
        .as_array()
        .expect("IP")
        .iter()
        .find(|i| i["IP"] == addr)
        .expect("address")
        .clone();
    assert_eq!(row["locked"], 0);
    let mine = net(
        &app,
        &other,
        &[
            ("action", "block_ip"),
            ("id", "40107"),
            ("ip", addr),
            ("description", "mine"),
        ],
    )
    .await;
    ok(&mine);
    app.stop().await;
}
