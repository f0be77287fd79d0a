//! tags.php: list, add (create and update), remove, user_search; internal tags.

use crate::helpers::*;

#[tokio::test]
async fn add_creates_then_updates_with_the_same_id() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let id = app.server_ids(&t).await[0].to_string();
    let a = app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &id),
                ("tag", "server_number"),
                ("value", "docs_13456"),
            ],
        )
        .await;
    ok(&a);
    assert_eq!(a["action"], "add");
    assert!(a["id"].is_i64());
    assert_eq!(a["component"], "eq");
    assert_eq!(
        a["component_id"].as_i64().map(|c| c.to_string()),
        Some(id.clone())
    );
    assert_eq!(a["internal"], 0);
    assert_eq!(a["extra"], "");
    let b = app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &id),
                ("tag", "server_number"),
                ("value", "docs_654321"),
                ("extra", "x"),
            ],
        )
        .await;
    assert_eq!(b["id"], a["id"]);
    assert_eq!(b["value"], "docs_654321");
    assert_eq!(b["extra"], "x");
    let l = app
        .call("tags", &[("action", "list"), ("token", &t), ("id", &id)])
        .await;
    assert_eq!(l["action"], "list");
    let tags = l["tags"].as_array().expect("tags");
    assert_eq!(
        tags.iter().filter(|x| x["tag"] == "server_number").count(),
        1
    );
    let r = app
        .call(
            "tags",
            &[
                ("action", "remove"),
                ("token", &t),
                ("id", &id),
                ("tag", "server_number"),
            ],
        )
        .await;
    assert_eq!(r["id"], a["id"]);
    assert_eq!(r["tag"], "server_number");
    let again = app
        .call(
            "tags",
            &[
                ("action", "remove"),
                ("token", &t),
                ("id", &id),
                ("tag", "server_number"),
            ],
        )
        .await;
    assert!(error_of(&again).contains("not found"));
    let bad = app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &id),
                ("tag", "bad tag!"),
                ("value", "v"),
            ],
        )
        .await;
    assert!(error_of(&bad).starts_with("tags/add: invalid tag name"));
    let novalue = app
        .call(
            "tags",
            &[("action", "add"), ("token", &t), ("id", &id), ("tag", "x")],
        )
        .await;
    assert_eq!(error_of(&novalue), "tags/add: value is required");
    app.stop().await;
}

#[tokio::test]
async fn internal_tags_cannot_be_changed_or_removed() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let mut found = None;
    for id in app.server_ids(&t).await {
        let l = app
            .call(
                "tags",
                &[("action", "list"), ("token", &t), ("id", &id.to_string())],
            )
            .await;
        if let Some(tag) = l["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .find(|x| x["internal"] == 1)
        {
            found = Some((
                id.to_string(),
                tag["tag"].as_str().expect("name").to_owned(),
            ));
            break;
        }
    }
    let (id, tag) = found.expect("the demo scenario has an internal tag");
    let v = app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &id),
                ("tag", &tag),
                ("value", "mine"),
            ],
        )
        .await;
    assert!(error_of(&v).contains("permission denied"));
    let v = app
        .call(
            "tags",
            &[
                ("action", "remove"),
                ("token", &t),
                ("id", &id),
                ("tag", &tag),
            ],
        )
        .await;
    assert!(error_of(&v).contains("permission denied"));
    app.stop().await;
}

#[tokio::test]
async fn user_search_finds_own_servers_by_tag_name_or_value() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let ids = app.server_ids(&t).await;
    let target = ids[1].to_string();
    ok(&app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", &target),
                ("tag", "billing_ref"),
                ("value", "ACME-778899"),
            ],
        )
        .await);
    let v = app
        .call(
            "tags",
            &[
                ("action", "user_search"),
                ("token", &t),
                ("value", "acme-7788"),
            ],
        )
        .await;
    assert_eq!(v["action"], "search_user");
    assert_eq!(v["servers"], serde_json::json!([ids[1]]));
    let v = app
        .call(
            "tags",
            &[
                ("action", "user_search"),
                ("token", &t),
                ("value", "billing_ref"),
            ],
        )
        .await;
    assert_eq!(v["servers"], serde_json::json!([ids[1]]));
    // The other account does not find demo's servers.
    let o = app.other_token().await;
    let v = app
        .call(
            "tags",
            &[("action", "user_search"), ("token", &o), ("value", "ACME")],
        )
        .await;
    assert_eq!(v["servers"], serde_json::json!([]));
    // LIKE wildcards are literal.
    let v = app
        .call(
            "tags",
            &[("action", "user_search"), ("token", &t), ("value", "%")],
        )
        .await;
    assert_eq!(v["servers"], serde_json::json!([]));
    app.stop().await;
}

/// tags/search and tags/search_user are the newer names of user_search: the same answer.
#[tokio::test]
async fn search_and_search_user_answer_as_user_search() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let add = app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", "40102"),
                ("tag", "billing_ref"),
                ("value", "ACME-77"),
            ],
        )
        .await;
    ok(&add);
    let old = app
        .call(
            "tags",
            &[
                ("action", "user_search"),
                ("token", &t),
                ("value", "acme-7"),
            ],
        )
        .await;
    assert_eq!(old["servers"], serde_json::json!([40102]));
    for action in ["search", "search_user"] {
        let v = app
            .call(
                "tags",
                &[("action", action), ("token", &t), ("value", "acme-7")],
            )
            .await;
        assert_eq!(v, old, "{action}");
        let other = app.other_token().await;
        let v = app
            .call(
                "tags",
                &[("action", action), ("token", &other), ("value", "acme-7")],
            )
            .await;
        assert_eq!(v["servers"], serde_json::json!([]), "{action}");
        let v = app.call("tags", &[("action", action), ("token", &t)]).await;
        assert_eq!(error_of(&v), format!("tags/{action}: value is required"));
    }
    app.stop().await;
}
