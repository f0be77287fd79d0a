//! Catalogue modules: presets, os, software, traffic_plans, stocks, jenkins (no token needed).

use serde_json::Value;

use crate::helpers::*;

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .expect("list")
        .iter()
        .map(|x| x["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn presets_list_per_location_without_a_token() {
    let app = TestApp::spawn().await;
    let v = app
        .call("presets", &[("action", "list"), ("location", "NL")])
        .await;
    ok(&v);
    let p = &v["presets"][0];
    assert!(p["id"].is_i64() && p["cpu"].is_i64() && p["ram"].is_i64() && p["virtual"].is_i64());
    assert!(p["hdd"].is_string() && p["locations"].is_string() && p["gpu"].is_string());
    assert!(p["monthly_com"].is_number());
    assert!(p["price"]["NL"]["EUR"].is_number());
    assert_eq!(p["tags"][0]["component"], "presets");
    assert_eq!(p["tags"][0]["component_id"], p["id"]);
    let nl = ids(&v, "presets");
    let is = ids(
        &app.call("presets", &[("action", "list"), ("location", "IS")])
            .await,
        "presets",
    );
    assert!(
        nl.contains(&301) && !is.contains(&301),
        "GPU servers are not sold in IS"
    );
    // A token is accepted too.
    let t = app.demo_token().await;
    ok(&app
        .call(
            "presets",
            &[("action", "list"), ("location", "NL"), ("token", &t)],
        )
        .await);
    let e = app.call("presets", &[("action", "list")]).await;
    assert_eq!(error_of(&e), "presets/list: location is required");
    let e = app
        .call("presets", &[("action", "list"), ("location", "XX")])
        .await;
    assert!(error_of(&e).contains("invalid location 'XX'"));
    let s = app
        .call("presets", &[("action", "show"), ("id", "vm.mini")])
        .await;
    assert_eq!(s["preset"]["id"], 111);
    // Without an id, show lists every preset (the MCP server's get_preset does this).
    let all = app.call("presets", &[("action", "show")]).await;
    ok(&all);
    assert_eq!(all["presets"].as_array().map(Vec::len), Some(14));
    let f = app
        .call("presets", &[("action", "search"), ("query", "gpu")])
        .await;
    assert!(
        ids(&f, "presets")
            .iter()
            .all(|i| [301, 302, 401].contains(i))
            && !ids(&f, "presets").is_empty()
    );
    let i = app.call("presets", &[("action", "info")]).await;
    assert!(i["traffic_plans"]["NL"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    assert!(i["os"].as_array().is_some_and(|a| a.len() >= 8));
    app.stop().await;
}

#[tokio::test]
async fn os_and_software_lists_follow_the_instance() {
    let app = TestApp::spawn().await;
    let all = ids(&app.call("os", &[("action", "list")]).await, "os_list");
    let vm = app
        .call("os", &[("action", "list"), ("instance_id", "108")])
        .await;
    let vm_ids = ids(&vm, "os_list");
    assert!(
        all.contains(&196) && !vm_ids.contains(&196),
        "bare-metal Windows is not offered for a VM"
    );
    assert!(vm_ids.contains(&187));
    assert!(
        all.contains(&202) && !vm_ids.contains(&202),
        "Windows for VMs needs 2 GB RAM and 32 GB disk, vm.pico has 1 GB and 15 GB"
    );
    let small = app
        .call("os", &[("action", "list"), ("instance_id", "110")])
        .await;
    let win = small["os_list"]
        .as_array()
        .expect("list")
        .iter()
        .find(|o| o["id"] == 202)
        .expect("windows fits vm.small")
        .clone();
    assert_eq!(win["price_EUR"], 4, "two cores at 2 EUR");
    assert_eq!(win["billing_plan"]["EUR"]["12"], 48);
    let big = app
        .call("os", &[("action", "list"), ("instance", "113")])
        .await;
    let win8 = big["os_list"]
        .as_array()
        .expect("list")
        .iter()
        .find(|o| o["id"] == 202)
        .expect("windows")
        .clone();
    assert_eq!(win8["price_EUR"], 16, "Windows is priced per core: 8 cores");
    let e = app
        .call("os", &[("action", "list"), ("instance_id", "999")])
        .await;
    assert_eq!(error_of(&e), "os/list: instance 999 not found");
    let gpu = ids(
        &app.call("software", &[("action", "list"), ("instance_id", "301")])
            .await,
        "software",
    );
    let vm_soft = app
        .call(
            "software",
            &[
                ("action", "list"),
                ("instance_id", "108"),
                ("location", "NL"),
            ],
        )
        .await;
    assert!(gpu.contains(&57) && !ids(&vm_soft, "software").contains(&57));
    let odoo = vm_soft["software"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["id"] == 49)
        .expect("odoo")
        .clone();
    let os_tag = odoo["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["tag"] == "os")
        .expect("os tag")
        .clone();
    assert_eq!(
        os_tag["value"],
        serde_json::json!(["223", "211"]),
        "the os tag's value is an array of OS id strings, as in 001"
    );
    app.stop().await;
}

#[tokio::test]
async fn traffic_plans_per_location_and_instance() {
    let app = TestApp::spawn().await;
    let v = app
        .call(
            "traffic_plans",
            &[("action", "list"), ("location", "NL"), ("instance", "108")],
        )
        .await;
    let plan = &v["traffic_plans"][0];
    assert_eq!(plan["id"], 25);
    assert_eq!(plan["locations"], "NL,US,FI,DE,IS,TR,UK,");
    assert_eq!(plan["currency_id"], 0, "EUR is currency 0 in 001");
    assert_eq!(plan["limit_in"], 999);
    assert!(plan["price"].is_number() && plan["bandwidth"].is_i64());
    let bm = ids(
        &app.call(
            "traffic_plans",
            &[
                ("action", "list"),
                ("location", "NL"),
                ("instance_id", "202"),
            ],
        )
        .await,
        "traffic_plans",
    );
    assert!(bm.contains(&31) && !bm.contains(&25));
    let none = app
        .call(
            "traffic_plans",
            &[
                ("action", "list"),
                ("location", "IS"),
                ("instance_id", "301"),
            ],
        )
        .await;
    assert_eq!(
        error_of(&none),
        "traffic_plans/list: error while looking for traffic plans"
    );
    app.stop().await;
}

#[tokio::test]
async fn stocks_list_groups_and_show() {
    let app = TestApp::spawn().await;
    let fi = app
        .call(
            "stocks",
            &[("action", "list"), ("location", "FI"), ("group", "ALL")],
        )
        .await;
    let s = fi["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .find(|s| s["id"] == 40514)
        .expect("40514")
        .clone();
    assert_eq!(s["cpu_count"], "1", "cpu_count is a string in stocks/list");
    assert!(s["cpu_perf"].is_i64());
    assert_eq!(s["tags"]["ipmi"]["tag"], "ipmi");
    assert_eq!(s["billing_plan"]["EUR"]["3"], 334.65);
    assert_eq!(s["server_group"], "Dedicated Server");
    let one = ids(
        &app.call(
            "stocks",
            &[("action", "list"), ("location", "FI"), ("group", "1CPU")],
        )
        .await,
        "servers",
    );
    assert!(one.contains(&40514) && !one.contains(&44717));
    let gpu = ids(
        &app.call(
            "stocks",
            &[("action", "list"), ("location", "US"), ("group", "GPU")],
        )
        .await,
        "servers",
    );
    assert_eq!(gpu, vec![46230]);
    let amd = ids(
        &app.call(
            "stocks",
            &[("action", "list"), ("location", "US"), ("group", "AMD")],
        )
        .await,
        "servers",
    );
    assert!(
        amd.is_empty(),
        "GPU servers are excluded from the other groups"
    );
    let bad = app
        .call(
            "stocks",
            &[("action", "list"), ("location", "FI"), ("group", "ARM")],
        )
        .await;
    assert!(error_of(&bad).contains("invalid group 'ARM'"));
    let show = app
        .call("stocks", &[("action", "show"), ("id", "44717")])
        .await;
    assert_eq!(show["server_data"]["location"]["dc_location"], "FI");
    assert_eq!(show["server_data"]["tags"]["hwraid"]["value"], "1");
    assert_eq!(
        show["server_data"]["deployment_estimate"],
        "next business day"
    );
    let missing = app.call("stocks", &[("action", "show"), ("id", "1")]).await;
    assert_eq!(error_of(&missing), "stocks/show: server 1 not found");
    let tasks = app.call("jenkins", &[("action", "get_tasks")]).await;
    assert_eq!(tasks["tasks"][0]["id"], -1);
    assert_eq!(tasks["tasks"].as_array().map(Vec::len), Some(4));
    app.stop().await;
}

/// presets/groups (no token): the presets by kind, in the four groups; `location` narrows.
#[tokio::test]
async fn presets_groups_sort_every_preset_into_its_kind() {
    let app = TestApp::spawn().await;
    let v = app.call("presets", &[("action", "groups")]).await;
    ok(&v);
    let groups = v["groups"].as_array().expect("groups");
    let kinds: Vec<&str> = groups.iter().filter_map(|g| g["kind"].as_str()).collect();
    assert_eq!(kinds, ["vm", "vgpu", "bm", "gpu"]);
    let counts: Vec<usize> = groups
        .iter()
        .map(|g| g["presets"].as_array().expect("presets").len())
        .collect();
    assert_eq!(counts, [7, 1, 4, 2], "every preset of the catalogue, once");
    assert!(groups[0]["presets"][0]["id"].is_i64());
    let all = app
        .call("presets", &[("action", "list"), ("location", "US")])
        .await;
    let in_us = all["presets"].as_array().expect("presets").len();
    let v = app
        .call("presets", &[("action", "groups"), ("location", "us")])
        .await;
    let grouped: usize = v["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["presets"].as_array().expect("presets").len())
        .sum();
    assert_eq!(grouped, in_us, "the presets sold in US");
    let v = app
        .call("presets", &[("action", "groups"), ("location", "XX")])
        .await;
    assert!(error_of(&v).starts_with("presets/groups: invalid location 'XX'"));
    app.stop().await;
}
