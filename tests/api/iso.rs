//! iso.php: the public library and the account's own images (downloaded on the emulator's
//! clock), virtual media through oVirt or IPMI, and a reboot that boots the image.

use serde_json::Value;

use crate::helpers::*;

const VM: &str = "40101"; // oVirt VM, NL

async fn iso(app: &TestApp, token: &str, form: &[(&str, &str)]) -> Value {
    let mut f = vec![("token", token)];
    f.extend_from_slice(form);
    app.call("iso", &f).await
}

fn ids(v: &Value) -> Vec<i64> {
    ok(v)["isos"]
        .as_array()
        .expect("isos")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

async fn mounted(app: &TestApp, token: &str, id: &str) -> Option<String> {
    let show = app.show(token, id).await;
    show["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t["tag"] == "iso_mounted")
        .map(|t| t["value"].as_str().expect("value").to_owned())
}

#[tokio::test]
async fn an_image_is_uploaded_mounted_booted_unmounted_and_deleted() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    // The public library depends on the location.
    let nl = ids(&iso(&app, &t, &[("action", "list_iso"), ("server_id", VM)]).await);
    assert!(nl.contains(&1) && nl.contains(&7), "{nl:?}");
    let is = ids(&iso(&app, &t, &[("action", "list_iso"), ("server_id", "40106")]).await);
    assert!(is.contains(&1) && !is.contains(&7), "{is:?}");
    // An upload: downloading, then ready.
    let v = iso(
        &app,
        &t,
        &[
            ("action", "upload"),
            ("url", "https://releases.example.com/v3.20/alpine-3.20.iso"),
        ],
    )
    .await;
    let img = ok(&v)["iso"].clone();
    let img_id = img["id"].as_i64().expect("id");
    assert!(img_id >= 1001);
    assert_eq!(img["name"], "alpine-3.20.iso");
    assert_eq!(img["status"], "downloading");
    let key = v["callback"].as_str().expect("key").to_owned();
    let up = iso(&app, &t, &[("action", "uploaded")]).await;
    assert_eq!(ids(&up), vec![img_id]);
    assert!(
        !ids(&iso(&app, &t, &[("action", "list_iso"), ("server_id", VM)]).await).contains(&img_id)
    );
    let done = app.complete(&key).await;
    assert_eq!(done["result"], "OK");
    assert!(done["scope"]
        .as_str()
        .expect("scope")
        .starts_with("ISO image alpine-3.20.iso downloaded: "));
    assert!(
        ids(&iso(&app, &t, &[("action", "list_iso"), ("server_id", VM)]).await).contains(&img_id)
    );
    let id_s = img_id.to_string();
    // Mounted through oVirt: eq/show shows it.
    let v = iso(
        &app,
        &t,
        &[("action", "mount_iso"), ("id", VM), ("iso_id", &id_s)],
    )
    .await;
    let key = ok(&v)["callback"].as_str().expect("key").to_owned();
    let done = app.complete(&key).await;
    assert_eq!(done["result"], "OK");
    let scope = done["scope"].as_str().expect("scope");
    assert!(
        scope.starts_with("CD alpine-3.20.iso was inserted to VM "),
        "{scope}"
    );
    assert_eq!(
        mounted(&app, &t, VM).await.as_deref(),
        Some("alpine-3.20.iso")
    );
    // Refusals while mounted.
    let e = error_of(&iso(&app, &t, &[("action", "delete"), ("id", &id_s)]).await);
    assert_eq!(
        e,
        format!("iso/delete: ISO image {img_id} is mounted on server 40101, unmount it first (iso/unmount_iso)")
    );
    let e = error_of(
        &iso(
            &app,
            &t,
            &[("action", "mount_iso"), ("id", VM), ("iso_id", "1")],
        )
        .await,
    );
    assert!(
        e.contains("already has ISO image 'alpine-3.20.iso' mounted"),
        "{e}"
    );
    // A reboot boots it.
    let r = app
        .call("eq", &[("action", "reboot"), ("token", &t), ("id", VM)])
        .await;
    let key = ok(&r)["callback"].as_str().expect("key").to_owned();
    let done = app.complete(&key).await;
    assert_eq!(done["context"]["booted_iso"], "alpine-3.20.iso", "{done}");
    // Unmounted, then deleted: gone.
    let v = iso(&app, &t, &[("action", "unmount_iso"), ("id", VM)]).await;
    let key = ok(&v)["callback"].as_str().expect("key").to_owned();
    assert!(app.complete(&key).await["scope"]
        .as_str()
        .expect("scope")
        .starts_with("CD was ejected from VM"));
    assert_eq!(mounted(&app, &t, VM).await, None);
    let e = error_of(&iso(&app, &t, &[("action", "unmount_iso"), ("id", VM)]).await);
    assert_eq!(
        e,
        "iso/unmount_iso: no ISO image is mounted on server 40101"
    );
    let v = iso(&app, &t, &[("action", "delete"), ("id", &id_s)]).await;
    assert_eq!(ok(&v)["id"], img_id);
    assert_eq!(
        ids(&iso(&app, &t, &[("action", "uploaded")]).await),
        Vec::<i64>::new()
    );
    let e = error_of(&iso(&app, &t, &[("action", "delete"), ("id", &id_s)]).await);
    assert_eq!(e, format!("iso/delete: ISO image {img_id} not found"));
    app.stop().await;
}

#[tokio::test]
async fn bare_metal_mounts_through_ipmi_and_images_are_added_by_name() {
    let app = TestApp::spawn().await;
    let t = app.long_token().await;
    // A customer's own tag of the mount's name mounts nothing.
    let v = app
        .call(
            "tags",
            &[
                ("action", "add"),
                ("token", &t),
                ("id", "40102"),
                ("tag", "iso_mounted"),
                ("value", "x.iso"),
            ],
        )
        .await;
    ok(&v);
    let e = error_of(&iso(&app, &t, &[("action", "unmount_iso"), ("id", "40102")]).await);
    assert_eq!(
        e,
        "iso/unmount_iso: no ISO image is mounted on server 40102"
    );
    // By name, on a Supermicro BMC.
    let v = iso(
        &app,
        &t,
        &[
            ("action", "mount_iso"),
            ("id", "40102"),
            ("name", "debian-12.8.0-amd64-netinst.iso"),
        ],
    )
    .await;
    let key = ok(&v)["callback"].as_str().expect("key").to_owned();
    let done = app.complete(&key).await;
    assert!(done["scope"]
        .as_str()
        .expect("scope")
        .starts_with("Virtual media: debian-12.8.0-amd64-netinst.iso mounted"));
    assert_eq!(
        mounted(&app, &t, "40102").await.as_deref(),
        Some("debian-12.8.0-amd64-netinst.iso")
    );
    // No remote control: remote hands.
    let e = error_of(
        &iso(
            &app,
            &t,
            &[("action", "mount_iso"), ("id", "40105"), ("iso_id", "1")],
        )
        .await,
    );
    assert!(e.contains("has no remote control"), "{e}");
    // add: new, then the same name changes its URL.
    let v = iso(
        &app,
        &t,
        &[
            ("action", "add"),
            ("name", "tools.iso"),
            ("url", "https://a.example.com/tools.iso"),
        ],
    )
    .await;
    assert_eq!(ok(&v)["created"], 1);
    let id = v["iso"]["id"].as_i64().expect("id");
    assert_eq!(v["iso"]["status"], "ready");
    let v = iso(
        &app,
        &t,
        &[
            ("action", "add"),
            ("name", "tools.iso"),
            ("url", "http://b.example.com/t2.iso"),
        ],
    )
    .await;
    assert_eq!(ok(&v)["created"], 0);
    assert_eq!(v["iso"]["id"], id);
    assert_eq!(v["iso"]["url"], "http://b.example.com/t2.iso");
    // Bad input.
    for (form, want) in [
        (vec![("action", "upload")], "iso/upload: url is required"),
        (
            vec![("action", "upload"), ("url", "ftp://a.example.com/x.iso")],
            "iso/upload: invalid url 'ftp://a.example.com/x.iso': expected an http(s) URL with a host whose path ends in .iso",
        ),
        (
            vec![("action", "upload"), ("url", "https://a.example.com/x.img")],
            "iso/upload: invalid url 'https://a.example.com/x.img': expected an http(s) URL with a host whose path ends in .iso",
        ),
        (
            vec![("action", "upload"), ("url", "https://a.example.com/x.iso"), ("name", "tools.iso")],
            "iso/upload: an ISO image named 'tools.iso' already exists",
        ),
        (
            vec![("action", "add"), ("name", "bad name")],
            "iso/add: invalid name 'bad name': use 1 to 128 of A-Z a-z 0-9 . _ - +",
        ),
        (vec![("action", "mount_iso"), ("id", VM)], "iso/mount_iso: iso_id or name is required"),
        (
            vec![("action", "mount_iso"), ("id", "40103"), ("iso_id", "8")],
            "iso/mount_iso: ISO image 8 not found among the images of server 40103's location and your own",
        ),
        (vec![("action", "delete"), ("id", "1")], "iso/delete: permission denied, ISO image 1 is a public image"),
        (vec![("action", "list_iso"), ("server_id", "x")], "iso/list_iso: invalid server_id 'x'"),
    ] {
        assert_eq!(error_of(&iso(&app, &t, &form).await), want, "{form:?}");
    }
    app.stop().await;
}
