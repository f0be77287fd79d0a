//! How many SQL statements the hot paths cost (issue 8: no N+1). The real router runs
//! in-process inside [`store::counting`], against the demo scenario with extra servers added
//! to the demo account, and each request must take exactly its budget below, however many
//! servers (addresses, deployments) the account has.
//!
//! The budgets are those of a cold request: each counted call first forgets the remembered
//! sessions, server rows and answers ([`crate::readcache`]), as a write would. What a warm request costs
//! (nothing, for a pure read) is tested apart.
//!
//! These live in `src/` rather than `tests/api/` because the counter is crate-internal and
//! counts per task: the HTTP tests reach the server through a socket, in another task.

use std::net::{IpAddr, Ipv4Addr};

use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{router, AppState};
use crate::config::Config;
use crate::store;

// Statement budgets. The tests fail if a path takes more (or fewer: then lower the budget).
/// Session resolution (every authenticated action): the session joined with its account.
const RESOLVE: u32 = 1;
/// auth/info: resolve, the visible server ids, the account's tags.
const AUTH_INFO: u32 = RESOLVE + 2;
/// eq/list with any filters and `full=1`: resolve, one query for the servers.
const EQ_LIST: u32 = RESOLVE + 1;
/// eq/show: resolve, the server (with its location and running install), its interfaces, its
/// addresses (with their blocks), its tags.
const EQ_SHOW: u32 = RESOLVE + 4;
/// eq/update_servers: resolve, the visible ids, running deployments with server and invoice.
const EQ_UPDATE_SERVERS: u32 = RESOLVE + 2;
/// ip/get_ip: resolve, the holder of the address, the subnets.
const IP_GET_IP: u32 = RESOLVE + 2;
/// net/remove_ipv4 remove_all: resolve, the server, the write transaction (2), its addresses,
/// their abuse blocks, the release (4), the callback records and their jobs (2).
const NET_REMOVE_ALL: u32 = RESOLVE + 1 + 2 + 1 + 1 + 4 + 2;
/// tags/add: resolve, the server, the tag written (one statement).
const TAGS_ADD: u32 = RESOLVE + 2;

/// The demo key of `tests/api/helpers.rs`.
const DEMO_KEY: &str = "deadbeef00000001-0123456789abcdef";

/// The demo scenario with `extra` more bare-metal servers in NL for the demo account, each a
/// copy of 40102 (two addresses, two ports and IPMI, seven tags) with its own ids and addresses.
fn grown_demo(extra: usize) -> String {
    let mut sc: Value = serde_json::from_str(crate::domain::scenario::DEMO).expect("demo");
    let servers = sc["servers"].as_array_mut().expect("servers");
    let model = servers
        .iter()
        .find(|s| s["id"] == 40102)
        .expect("40102")
        .clone();
    for i in 0..extra {
        let mut s = model.clone();
        s["id"] = json!(41_000 + i);
        for (j, iface) in s["interfaces"]
            .as_array_mut()
            .expect("ifaces")
            .iter_mut()
            .enumerate()
        {
            iface["id"] = json!(141_000 + 10 * i + j);
            iface["mac"] = json!(format!("02:00:00:00:{i:02x}:{j:02x}"));
            for (k, ip) in iface["ips"]
                .as_array_mut()
                .expect("ips")
                .iter_mut()
                .enumerate()
            {
                ip["address"] = json!(format!("5.39.218.{}", 40 + 2 * i + k));
            }
        }
        s["ipmi"] = json!({"id": 141_900 + i, "ip": format!("10.14.32.{}", 140 + i),
                           "mac": format!("02:00:00:01:{i:02x}:00")});
        for tag in s["tags"].as_array_mut().expect("tags") {
            tag.as_object_mut().expect("tag").remove("id");
            if tag["tag"] == "hostname" {
                tag["value"] = json!(format!("extra-{i}"));
            }
        }
        servers.push(s);
    }
    sc.to_string()
}

/// An emulator (router and state) on an in-memory database with the grown demo scenario.
struct Emu {
    state: AppState,
    token: String,
}

impl Emu {
    /// Starts on [`grown_demo`] with `extra` servers and logs in with the demo key.
    async fn with_extra_servers(extra: usize) -> Emu {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("scenario.json");
        std::fs::write(&path, grown_demo(extra)).expect("scenario");
        let mut config = Config::for_tests();
        config.scenario = path.to_string_lossy().into_owned();
        config.argon2_memory_kib = 64;
        // The scenario is read here, once: the file may go afterwards.
        let state = AppState::new(config).await.expect("state");
        drop(dir);
        let mut emu = Emu {
            state,
            token: String::new(),
        };
        let (login, _) = emu
            .call("auth", &[("action", "login"), ("key", DEMO_KEY)])
            .await;
        emu.token = login["result"]["token"].as_str().expect("token").to_owned();
        emu
    }

    /// POSTs a form to `/<module>.php` through the router, in this task, with nothing
    /// remembered; the JSON answer and the statements it took.
    async fn call(&self, module: &str, form: &[(&str, &str)]) -> (Value, u32) {
        self.forget();
        self.warm_call(module, form).await
    }

    /// Forgets the remembered sessions, server rows and answers.
    fn forget(&self) {
        self.state.sessions.clear();
        self.state.servers.clear();
        self.state.answers.clear();
    }

    /// [`Self::call`] with whatever is remembered.
    async fn warm_call(&self, module: &str, form: &[(&str, &str)]) -> (Value, u32) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = Request::post(format!("/{module}.php"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        let (response, n) = store::counting(router(self.state.clone()).oneshot(request)).await;
        let bytes = response
            .expect("infallible")
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (serde_json::from_slice(&bytes).expect("json"), n)
    }

    /// An authenticated call as the demo account; the answer must not be an error.
    async fn demo(&self, module: &str, form: &[(&str, &str)]) -> (Value, u32) {
        let mut f = vec![("token", self.token.as_str())];
        f.extend_from_slice(form);
        let (v, n) = self.call(module, &f).await;
        assert_ne!(v["result"], -1, "{module} {form:?}: {v}");
        (v, n)
    }
}

/// Servers added to the demo account's six in the small and the large setting.
const SIZES: [usize; 2] = [3, 30];

#[tokio::test]
async fn resolving_a_token_takes_one_statement() {
    for extra in SIZES {
        let emu = Emu::with_extra_servers(extra).await;
        let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
        emu.forget();
        let (caller, n) = store::counting(crate::ops::sessions::resolve(
            &emu.state,
            Some(&emu.token),
            client,
        ))
        .await;
        assert_eq!(caller.expect("caller").account.handle, "demo");
        assert_eq!(n, RESOLVE, "resolve with {extra} extra servers");
        let (v, n) = emu.demo("auth", &[("action", "info")]).await;
        let servers = v["result"]["servers"].as_object().expect("servers").len();
        assert_eq!(servers, 6 + extra);
        assert_eq!(n, AUTH_INFO, "auth/info with {extra} extra servers");
    }
}

#[tokio::test]
async fn eq_list_takes_the_same_statements_for_any_number_of_servers() {
    let filters: &[&[(&str, &str)]] = &[
        &[],
        &[("full", "1")],
        &[("location", "NL")],
        &[("location", "1,DE"), ("full", "1")],
        &[("status", "rent"), ("group", "1CPU"), ("component", "3217")],
        &[("ip", "5.39.218.40")],
        &[("mac", "02:00:00:00:00:00")],
        &[("id", "41000"), ("full", "1")],
    ];
    for extra in SIZES {
        let emu = Emu::with_extra_servers(extra).await;
        for f in filters {
            let mut form = vec![("action", "list")];
            form.extend_from_slice(f);
            let (v, n) = emu.demo("eq", &form).await;
            assert!(!v["servers"].as_array().expect("servers").is_empty());
            assert_eq!(n, EQ_LIST, "eq/list {f:?} with {extra} extra servers");
        }
        let (v, _) = emu.demo("eq", &[("action", "list"), ("full", "1")]).await;
        assert_eq!(v["servers"].as_array().map(Vec::len), Some(6 + extra));
    }
}

#[tokio::test]
async fn eq_show_takes_a_fixed_number_of_statements() {
    for extra in SIZES {
        let emu = Emu::with_extra_servers(extra).await;
        for id in ["40101", "40102", "41000"] {
            let (v, n) = emu.demo("eq", &[("action", "show"), ("id", id)]).await;
            assert_eq!(v["server_data"]["id"].to_string(), id);
            assert_eq!(n, EQ_SHOW, "eq/show {id} with {extra} extra servers");
        }
    }
}

#[tokio::test]
async fn eq_update_servers_does_not_grow_with_servers_or_deployments() {
    for (extra, orders) in [(SIZES[0], 1), (SIZES[1], 3)] {
        let emu = Emu::with_extra_servers(extra).await;
        for _ in 0..orders {
            emu.demo(
                "eq",
                &[
                    ("action", "order_instance"),
                    ("deploy_period", "monthly"),
                    ("preset", "108"),
                    ("location_name", "NL"),
                    ("os_id", "187"),
                    ("traffic_plan", "25"),
                    ("root_pass", "Secret-pass1"),
                ],
            )
            .await;
        }
        let (v, n) = emu.demo("eq", &[("action", "update_servers")]).await;
        assert_eq!(v["billing_servers"].as_array().map(Vec::len), Some(orders));
        assert_eq!(
            n, EQ_UPDATE_SERVERS,
            "eq/update_servers with {extra} extra servers and {orders} orders"
        );
    }
}

#[tokio::test]
async fn ip_get_ip_does_not_look_at_each_server() {
    for extra in SIZES {
        let emu = Emu::with_extra_servers(extra).await;
        // The address of the account's last server: the worst case for a scan.
        let last = format!("5.39.218.{}", 40 + 2 * (extra - 1));
        for ip in [last.as_str(), "31.207.45.23"] {
            let (v, n) = emu.demo("ip", &[("action", "get_ip"), ("ip", ip)]).await;
            assert_eq!(v["ip"], ip);
            assert_eq!(n, IP_GET_IP, "ip/get_ip {ip} with {extra} extra servers");
        }
    }
}

#[tokio::test]
async fn remove_all_does_not_grow_with_the_addresses_removed() {
    let emu = Emu::with_extra_servers(SIZES[0]).await;
    for amount in ["2", "12"] {
        emu.demo(
            "net",
            &[("action", "add_ipv4"), ("id", "41000"), ("amount", amount)],
        )
        .await;
        let (v, n) = emu
            .demo(
                "net",
                &[
                    ("action", "remove_ipv4"),
                    ("id", "41000"),
                    ("remove_all", "1"),
                ],
            )
            .await;
        let removed = v["ips"].as_array().map(Vec::len).expect("ips");
        assert!(removed >= 2, "{v}");
        assert_eq!(n, NET_REMOVE_ALL, "remove_all of {removed} addresses");
    }
}

#[tokio::test]
async fn a_repeated_pure_read_takes_no_statements_until_something_is_written() {
    let emu = Emu::with_extra_servers(SIZES[0]).await;
    let show = [
        ("token", emu.token.as_str()),
        ("action", "show"),
        ("id", "40101"),
    ];
    let (cold, n) = emu.call("eq", &show).await;
    assert_eq!(n, EQ_SHOW);
    let (warm, n) = emu.warm_call("eq", &show).await;
    assert_eq!((&warm, n), (&cold, 0), "the same answer, from memory");
    // A token check alone is remembered too.
    let (_, n) = emu
        .warm_call("eq", &[("token", emu.token.as_str()), ("action", "list")])
        .await;
    assert_eq!(
        n,
        EQ_LIST - RESOLVE,
        "the session is remembered, the list is new"
    );
    // A write (a new tag) makes the next read cold again, and its answer shows the write.
    let (v, _) = emu
        .warm_call(
            "tags",
            &[
                ("token", emu.token.as_str()),
                ("action", "add"),
                ("id", "40101"),
                ("tag", "bench"),
                ("value", "1"),
            ],
        )
        .await;
    assert_ne!(v["result"], -1, "{v}");
    let (after, n) = emu.warm_call("eq", &show).await;
    assert_eq!(
        n,
        EQ_SHOW - RESOLVE,
        "cold after the write, but a tag does not change the session"
    );
    assert_ne!(after, cold);
    assert!(after["tags"].to_string().contains("bench"), "{after}");
}

#[tokio::test]
async fn a_server_row_is_remembered_until_a_write_touches_the_servers() {
    let emu = Emu::with_extra_servers(SIZES[0]).await;
    let add = |value: &'static str| {
        [
            ("token", emu.token.as_str()),
            ("action", "add"),
            ("id", "40101"),
            ("tag", "bench"),
            ("value", value),
        ]
    };
    let (v, n) = emu.call("tags", &add("1")).await;
    assert_eq!((&v["result"], n), (&json!("OK"), TAGS_ADD), "cold: {v}");
    // The tag written touched no session and no server: both are remembered.
    let (v, n) = emu.warm_call("tags", &add("2")).await;
    assert_eq!((&v["value"], n), (&json!("2"), 1), "the write alone: {v}");
    // The server's service ends (it is no longer the account's): the next request reads
    // it again and is refused, as an uncached one would be.
    let mut tx = emu.state.db.begin_write().await.expect("begin");
    store::billing::terminate(&mut tx, 40101, 0)
        .await
        .expect("terminate");
    tx.commit().await.expect("commit");
    let (v, n) = emu.warm_call("tags", &add("3")).await;
    assert_eq!(v["result"], -1, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or("")
            .contains("not your server"),
        "{v}"
    );
    assert_eq!(n, 1, "the server read again, and nothing written");
    let (cold, _) = emu.call("tags", &add("3")).await;
    assert_eq!(cold, v, "the same answer as with nothing remembered");
}
