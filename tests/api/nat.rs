//! nat.php: static NAT to IPMI, polled on nat_callback.php, lifting itself after two hours.

use serde_json::Value;

use crate::helpers::*;

async fn nat_check(app: &TestApp, key: &str) -> Value {
    let r = app
        .client
        .get(format!(
            "{}/nat_callback.php?action=check&key={key}",
            app.base
        ))
        .send()
        .await
        .expect("get");
    r.json().await.expect("json")
}

async fn complete_nat(app: &TestApp, key: &str) -> Value {
    app.advance(600).await;
    app.run_tasks().await;
    nat_check(app, key).await
}

#[tokio::test]
async fn add_and_remove_static_nat_map_a_pool_address_to_ipmi() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = app
        .call(
            "nat",
            &[
                ("action", "add_static_nat"),
                ("token", &t),
                ("id", "40102"),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    assert_eq!(v["action"], "add_static_nat");
    let key = v["callback"].as_str().expect("key").to_owned();
    assert_eq!(nat_check(&app, &key).await["result"], "Not ready");
    assert!(
        error_of(&app.check(&key).await).ends_with("not found"),
        "NAT keys are polled on nat_callback.php"
    );
    let done = complete_nat(&app, &key).await;
    let public = done["scope"].as_str().expect("scope").to_owned();
    assert!(
        public.starts_with("185.17.147."),
        "from the NL NAT pool: {public}"
    );
    assert_eq!(
        done["context"],
        serde_json::json!({"action": "add_static_nat", "id": "40102", "location": "NL"})
    );
    assert_eq!(
        done["debug"],
        format!("/ip/firewall/nat/add=action=dst-nat=chain=dstnat=dst-address={public}=to-addresses=10.14.32.117=.proplist=chain")
    );
    let again = app
        .call(
            "nat",
            &[("action", "add_static_nat"), ("token", &t), ("id", "40102")],
        )
        .await;
    let same = complete_nat(&app, again["callback"].as_str().expect("key")).await;
    assert_eq!(
        same["scope"],
        public.as_str(),
        "asking again keeps the mapping"
    );
    let r = app
        .call(
            "nat",
            &[
                ("action", "remove_static_nat"),
                ("token", &t),
                ("id", "40102"),
            ],
        )
        .await;
    let done = complete_nat(&app, r["callback"].as_str().expect("key")).await;
    assert_eq!(done["context"]["action"], "remove_staticnat");
    assert_eq!(done["scope"], public.as_str());
    assert!(done["debug"]
        .as_str()
        .expect("debug")
        .starts_with("/ip/firewall/nat/remove=.id=*"));
    let gone = app
        .call(
            "nat",
            &[
                ("action", "remove_static_nat"),
                ("token", &t),
                ("id", "40102"),
            ],
        )
        .await;
    assert_eq!(
        error_of(&gone),
        "nat/remove_static_nat: no static NAT is active for server 40102"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_rule_lifts_itself_after_two_hours() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    // Two rules opened at the same moment: one is checked just before its two hours are
    // up (still in force), the other just after (gone).
    let mut keys = Vec::new();
    for id in ["40102", "40103"] {
        let v = app
            .call(
                "nat",
                &[("action", "add_static_nat"), ("token", &t), ("id", id)],
            )
            .await;
        keys.push(v["callback"].as_str().expect("key").to_owned());
    }
    app.run_tasks().await;
    let done = complete_nat(&app, &keys[1]).await;
    assert!(done["scope"]
        .as_str()
        .expect("scope")
        .starts_with("193.109.86."));
    // complete_nat moved the clock 600 s; go to 1 h 59 min after the request.
    app.advance(2 * 3600 - 600 - 60).await;
    let active = app
        .call(
            "nat",
            &[
                ("action", "remove_static_nat"),
                ("token", &t),
                ("id", "40102"),
            ],
        )
        .await;
    ok(&active);
    app.advance(120).await;
    let gone = app
        .call(
            "nat",
            &[
                ("action", "remove_static_nat"),
                ("token", &t),
                ("id", "40103"),
            ],
        )
        .await;
    assert!(error_of(&gone).contains("no static NAT is active"));
    app.stop().await;
}

#[tokio::test]
async fn servers_without_ipmi_get_clear_errors() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let vm = app
        .call(
            "nat",
            &[("action", "add_static_nat"), ("token", &t), ("id", "40101")],
        )
        .await;
    assert!(error_of(&vm).contains("virtual machine"));
    let none = app
        .call(
            "nat",
            &[("action", "add_static_nat"), ("token", &t), ("id", "40105")],
        )
        .await;
    assert!(error_of(&none).contains("has no IPMI"));
    let other = app.other_token().await;
    let v = app
        .call(
            "nat",
            &[
                ("action", "add_static_nat"),
                ("token", &other),
                ("id", "40102"),
            ],
        )
        .await;
    assert!(error_of(&v).contains("permission denied"));
    app.stop().await;
}

/// Adds static NAT to 40102 and completes it; returns the public address.
async fn nat_on_40102(app: &TestApp, t: &str) -> String {
    let v = app
        .call(
            "nat",
            &[
                ("action", "add_static_nat"),
                ("token", t),
                ("id", "40102"),
                ("pin", DEMO_PIN),
            ],
        )
        .await;
    let done = complete_nat(app, v["callback"].as_str().expect("key")).await;
    assert_eq!(done["result"], "OK", "{done}");
    done["scope"].as_str().expect("scope").to_owned()
}

/// nat/clear_static_nat (`ip`) and nat/drop_nat (`id` and/or `ip`) remove the rule in force,
/// named by its public address or its server, and only the caller's.
#[tokio::test]
async fn clear_static_nat_and_drop_nat_remove_the_rule_by_address_or_server() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let public = nat_on_40102(&app, &t).await;
    // Nobody else reaches it: another account, the per-server key of 40101.
    let other = app.other_token().await;
    let scoped = app.login_key(DEMO_SERVER_KEY).await;
    for token in [&other, &scoped] {
        let v = app
            .call(
                "nat",
                &[
                    ("action", "clear_static_nat"),
                    ("token", token),
                    ("ip", &public),
                ],
            )
            .await;
        assert_eq!(
            error_of(&v),
            format!("nat/clear_static_nat: no static NAT is active on {public}")
        );
        let v = app
            .call(
                "nat",
                &[("action", "drop_nat"), ("token", token), ("ip", &public)],
            )
            .await;
        assert!(error_of(&v).contains("not found") || error_of(&v).contains("no static NAT"));
        let v = app
            .call(
                "nat",
                &[("action", "drop_nat"), ("token", token), ("id", "40102")],
            )
            .await;
        let e = error_of(&v);
        assert!(
            e.contains("not found") || e.contains("permission denied"),
            "{e}"
        );
    }
    // Both given: the rule on the address must be the server's.
    let v = app
        .call(
            "nat",
            &[
                ("action", "drop_nat"),
                ("token", &t),
                ("id", "40101"),
                ("ip", &public),
            ],
        )
        .await;
    assert_eq!(
        error_of(&v),
        format!("nat/drop_nat: no static NAT of server 40101 is active on {public}")
    );
    // clear_static_nat by the address.
    let v = app
        .call(
            "nat",
            &[
                ("action", "clear_static_nat"),
                ("token", &t),
                ("ip", &public),
            ],
        )
        .await;
    assert_eq!(v["action"], "clear_static_nat");
    let done = complete_nat(&app, v["callback"].as_str().expect("key")).await;
    assert_eq!(done["result"], "OK", "{done}");
    assert_eq!(done["context"]["action"], "remove_staticnat");
    let v = app
        .call(
            "nat",
            &[
                ("action", "clear_static_nat"),
                ("token", &t),
                ("ip", &public),
            ],
        )
        .await;
    assert_eq!(
        error_of(&v),
        format!("nat/clear_static_nat: no static NAT is active on {public}")
    );
    // drop_nat by the server, then by the address (and both).
    for by in ["id", "ip", "both"] {
        let public = nat_on_40102(&app, &t).await;
        let mut f = vec![("action", "drop_nat"), ("token", t.as_str())];
        if by != "ip" {
            f.push(("id", "40102"));
        }
        if by != "id" {
            f.push(("ip", public.as_str()));
        }
        let v = app.call("nat", &f).await;
        assert_eq!(v["action"], "drop_nat", "{by}: {v}");
        let done = complete_nat(&app, v["callback"].as_str().expect("key")).await;
        assert_eq!(done["result"], "OK", "{by}: {done}");
        let v = app
            .call(
                "nat",
                &[
                    ("action", "remove_static_nat"),
                    ("token", &t),
                    ("id", "40102"),
                ],
            )
            .await;
        assert_eq!(
            error_of(&v),
            "nat/remove_static_nat: no static NAT is active for server 40102",
            "{by}: gone"
        );
    }
    let v = app
        .call("nat", &[("action", "drop_nat"), ("token", &t)])
        .await;
    assert_eq!(error_of(&v), "nat/drop_nat: id or ip is required");
    let v = app
        .call("nat", &[("action", "clear_static_nat"), ("token", &t)])
        .await;
    assert_eq!(error_of(&v), "nat/clear_static_nat: ip is required");
    let v = app
        .call(
            "nat",
            &[("action", "clear_static_nat"), ("token", &t), ("ip", "x.y")],
        )
        .await;
    assert_eq!(error_of(&v), "nat/clear_static_nat: invalid ip 'x.y'");
    app.stop().await;
}
