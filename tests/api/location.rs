//! location.php: list.

use crate::helpers::*;

#[tokio::test]
async fn list_shows_every_location_with_its_id() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = app
        .call("location", &[("action", "list"), ("token", &t)])
        .await;
    ok(&v);
    let locations = v["locations"].as_array().expect("locations");
    let codes: Vec<&str> = locations
        .iter()
        .filter_map(|l| l["code"].as_str())
        .collect();
    assert!(codes.contains(&"NL") && codes.contains(&"US"), "{codes:?}");
    assert!(locations.iter().all(|l| l["id"].is_i64()));
    // The ids are the ones eq/show reports for a server's location.
    let show = app.show(&t, 40101).await;
    let code = &show["location"]["dc_location"];
    let loc = locations
        .iter()
        .find(|l| &l["code"] == code)
        .expect("listed");
    assert_eq!(
        show["location"]["location_id"], loc["id"],
        "{}",
        show["location"]
    );
    let v = app.call("location", &[("action", "list")]).await;
    assert_eq!(error_of(&v), "auth: invalid token");
    app.stop().await;
}
