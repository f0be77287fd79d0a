//! license.php: list (the licences eq/show shows, per server).

use serde_json::Value;

use crate::helpers::*;

async fn licenses(app: &TestApp, token: &str) -> Vec<Value> {
    let v = app
        .call("license", &[("action", "list"), ("token", token)])
        .await;
    ok(&v);
    v["licenses"].as_array().expect("licenses").clone()
}

#[tokio::test]
async fn list_shows_the_licences_of_the_scopes_servers_as_eq_show_does() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let all = licenses(&app, &t).await;
    let show = app.show(&t, 40101).await;
    let shown = show["licenses"].as_array().expect("licenses");
    assert!(!shown.is_empty());
    let of_40101: Vec<Value> = all
        .iter()
        .filter(|l| l["server_id"] == 40101)
        .map(|l| {
            let mut l = l.clone();
            l.as_object_mut().expect("object").remove("server_id");
            l
        })
        .collect();
    assert_eq!(&of_40101, shown);
    assert_eq!(all[0]["id"], 3187);
    // A per-server key sees its server's; another account none of demo's.
    let scoped = app.login_key(DEMO_SERVER_KEY).await;
    let mine = licenses(&app, &scoped).await;
    assert!(mine.iter().all(|l| l["server_id"] == 40101));
    let other = app.other_token().await;
    let theirs = licenses(&app, &other).await;
    assert!(theirs.iter().all(|l| l["id"] != 3187), "{theirs:?}");
    let v = app.call("license", &[("action", "list")]).await;
    assert_eq!(error_of(&v), "auth: invalid token");
    app.stop().await;
}
