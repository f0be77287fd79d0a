//! `s3.php` and the S3 endpoint over real state: an order writes an invoice and an account
//! with keys; objects put through the endpoint (SigV4-signed) show in `get_files`, and
//! `delete_file` removes them from the endpoint too; quotas refuse with S3's error; and a
//! real S3 client (boto3) works against the endpoint.

use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::*;

/// An S3 account of the demo account with its keys.
struct Keys {
    s3uid: String,
    access: String,
    secret: String,
}

async fn free_account(app: &TestApp, token: &str, bucket: &str) -> Keys {
    let v = app
        .call(
            "s3",
            &[
                ("action", "create_account"),
                ("token", token),
                ("plan_id", "1"),
                ("location", "NL"),
                ("bucket_name", bucket),
            ],
        )
        .await;
    let s3uid = ok(&v)["s3uid"].as_str().expect("s3uid").to_owned();
    keys_of(app, token, &s3uid).await
}

async fn keys_of(app: &TestApp, token: &str, s3uid: &str) -> Keys {
    let mut keys = Vec::new();
    for key_type in ["access_key", "secret_key"] {
        let v = app
            .call(
                "s3",
                &[
                    ("action", "show_key"),
                    ("token", token),
                    ("key_type", key_type),
                    ("s3uid", s3uid),
                ],
            )
            .await;
        assert_eq!(ok(&v)["key_type"], key_type);
        keys.push(v["key"].as_str().expect("key").to_owned());
    }
    Keys {
        s3uid: s3uid.to_owned(),
        secret: keys.pop().expect("secret"),
        access: keys.pop().expect("access"),
    }
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("key");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// A SigV4-signed S3 request (path-style, region us-east-1), as any S3 client sends it.
async fn s3_request(
    app: &TestApp,
    method: &str,
    path: &str,
    keys: Option<(&str, &str)>,
    body: &[u8],
) -> reqwest::Response {
    let url = format!("{}{path}", app.s3_base);
    let host = app.s3_base.trim_start_matches("http://").to_owned();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = app.client.request(method.clone(), &url).body(body.to_vec());
    if let Some((access, secret)) = keys {
        let now = Utc::now();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let date = now.format("%Y%m%d").to_string();
        let payload = hex::encode(Sha256::digest(body));
        let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
        let mut pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        pairs.sort();
        let canonical_query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let canonical = format!(
            "{method}\n{path_only}\n{canonical_query}\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz_date}\n\nhost;x-amz-content-sha256;x-amz-date\n{payload}"
        );
        let scope = format!("{date}/us-east-1/s3/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut k = hmac(format!("AWS4{secret}").as_bytes(), &date);
        for part in ["us-east-1", "s3", "aws4_request"] {
            k = hmac(&k, part);
        }
        let signature = hex::encode(hmac(&k, &to_sign));
        req = req
            .header("x-amz-date", amz_date)
            .header("x-amz-content-sha256", payload)
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}"
                ),
            );
    }
    req.send().await.expect("S3 request")
}

/// The `<Code>` of an S3 error answer.
async fn s3_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let code = text
        .split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or("")
        .to_owned();
    (status, code)
}

async fn files(
    app: &TestApp,
    token: &str,
    s3uid: &str,
    bucket: &str,
    extra: &[(&str, &str)],
) -> Value {
    let mut form = vec![
        ("action", "get_files"),
        ("token", token),
        ("account_id", s3uid),
        ("bucket", bucket),
    ];
    form.extend_from_slice(extra);
    app.call("s3", &form).await
}

#[tokio::test]
async fn an_s3_account_is_ordered_read_back_and_deleted() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    // The catalogue needs no token.
    let v = app
        .call("s3", &[("action", "list_plans"), ("location", "FI")])
        .await;
    let ids: Vec<i64> = ok(&v)["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .map(|p| p["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![1, 2, 3], "the 1 TB plan is not sold in FI");
    let v = app
        .call("s3", &[("action", "get_available_locations")])
        .await;
    assert_eq!(ok(&v)["locations"], serde_json::json!(["NL", "DE", "FI"]));

    let keys = free_account(&app, &token, "first-bucket").await;
    assert!(keys.s3uid.starts_with("s3_user_"), "{}", keys.s3uid);
    assert_eq!(keys.access.len(), 20);
    assert_eq!(keys.secret.len(), 40);
    // A second free account is refused; a paid one is ordered through billing.
    let v = app
        .call(
            "s3",
            &[
                ("action", "create_account"),
                ("token", &token),
                ("plan_id", "1"),
                ("bucket", "second-bucket"),
            ],
        )
        .await;
    assert!(error_of(&v).contains("already has a free S3 account"));
    let v = app
        .call(
            "s3",
            &[
                ("action", "create_order"),
                ("token", &token),
                ("plan_id", "2"),
                ("location", "DE"),
                ("bucket", "paid-bucket"),
            ],
        )
        .await;
    let paid_uid = ok(&v)["s3uid"].as_str().expect("s3uid").to_owned();
    assert!(v["invoice_id"].as_i64().expect("invoice") > 24015, "{v}");
    let v = app
        .call("s3", &[("action", "get_users"), ("token", &token)])
        .await;
    let users = ok(&v)["users"].as_array().expect("users").clone();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["s3uid"], keys.s3uid.as_str());
    assert_eq!(users[0]["status"], "active");
    assert_eq!(users[0]["quota_bytes"], 10_000_000_000_i64);
    let v = app
        .call(
            "s3",
            &[
                ("action", "get_users"),
                ("token", &token),
                ("location", "DE"),
            ],
        )
        .await;
    assert_eq!(v["users"].as_array().map(Vec::len), Some(1));

    // Buckets: created (S3's naming rules), listed, deleted.
    let v = app
        .call(
            "s3",
            &[
                ("action", "create_bucket"),
                ("token", &token),
                ("s3uid", &keys.s3uid),
                ("bucket", "Bad_Name"),
            ],
        )
        .await;
    assert!(error_of(&v).contains("invalid bucket name"));
    let v = app
        .call(
            "s3",
            &[
                ("action", "create_bucket"),
                ("token", &token),
                ("account_id", &keys.s3uid),
                ("bucket", "paid-bucket"),
            ],
        )
        .await;
    assert!(error_of(&v).contains("already taken"));
    let v = app
        .call(
            "s3",
            &[
                ("action", "create_bucket"),
                ("token", &token),
                ("account_id", &keys.s3uid),
                ("bucket_name", "more-data"),
            ],
        )
        .await;
    assert_eq!(ok(&v)["bucket"]["name"], "more-data");
    for action in ["get_buckets", "get_buckets_rmq"] {
        let v = app
            .call(
                "s3",
                &[
                    ("action", action),
                    ("token", &token),
                    ("s3uid", &keys.s3uid),
                ],
            )
            .await;
        let names: Vec<&str> = ok(&v)["buckets"]
            .as_array()
            .expect("buckets")
            .iter()
            .map(|b| b["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, vec!["first-bucket", "more-data"], "{action}");
    }
    let v = app
        .call(
            "s3",
            &[
                ("action", "delete_bucket"),
                ("token", &token),
                ("s3uid", &keys.s3uid),
                ("bucket", "more-data"),
            ],
        )
        .await;
    ok(&v);
    let v = app
        .call(
            "s3",
            &[
                ("action", "get_buckets"),
                ("token", &token),
                ("s3uid", &keys.s3uid),
            ],
        )
        .await;
    assert_eq!(v["buckets"].as_array().map(Vec::len), Some(1));

    // A paid account's service is set to end, then goes on; the free one has no period.
    let v = app
        .call(
            "s3",
            &[
                ("action", "delete_payment_account"),
                ("token", &token),
                ("s3uid", &keys.s3uid),
            ],
        )
        .await;
    assert!(error_of(&v).contains("free plan"));
    let v = app
        .call(
            "s3",
            &[
                ("action", "delete_payment_account"),
                ("token", &token),
                ("s3uid", &paid_uid),
            ],
        )
        .await;
    assert!(ok(&v)["cancel_date"]
        .as_str()
        .is_some_and(|d| d.len() == 19));
    let v = app
        .call(
            "s3",
            &[
                ("action", "cancel_payment_account_deletion"),
                ("token", &token),
                ("s3uid", &paid_uid),
            ],
        )
        .await;
    ok(&v);
    let v = app
        .call(
            "s3",
            &[
                ("action", "update_traffic_info"),
                ("token", &token),
                ("s3uid", &paid_uid),
            ],
        )
        .await;
    assert_eq!(ok(&v)["cancel_date"], Value::Null);
    assert!(v["traffic_updated"].is_string(), "{v}");

    // Deleting an account takes its buckets with it: the name is free again.
    for uid in [&keys.s3uid, &paid_uid] {
        let v = app
            .call(
                "s3",
                &[
                    ("action", "delete_account"),
                    ("token", &token),
                    ("s3uid", uid),
                ],
            )
            .await;
        ok(&v);
    }
    let v = app
        .call("s3", &[("action", "get_users"), ("token", &token)])
        .await;
    assert_eq!(v["users"], serde_json::json!([]));
    let v = app
        .call(
            "s3",
            &[
                ("action", "show_key"),
                ("token", &token),
                ("key_type", "access_key"),
                ("s3uid", &keys.s3uid),
            ],
        )
        .await;
    assert!(error_of(&v).contains("not found"));
    free_account(&app, &token, "first-bucket").await;
    app.stop().await;
}

#[tokio::test]
async fn objects_put_through_s3_show_in_get_files_and_delete_file_removes_them() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let keys = free_account(&app, &token, "docs").await;
    let signed = Some((keys.access.as_str(), keys.secret.as_str()));
    let r = s3_request(&app, "PUT", "/docs/reports/2024.txt", signed, b"hello s3").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(
        r.headers()["etag"],
        format!("\"{}\"", "b60d991fa6dbd33863c7cec70d15dbac").as_str(),
        "the MD5 of the bytes"
    );
    s3_request(&app, "PUT", "/docs/top.txt", signed, b"top").await;
    // get_files shows folders and files; search finds by name anywhere.
    let v = files(&app, &token, &keys.s3uid, "docs", &[]).await;
    let shown: Vec<(String, String)> = ok(&v)["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["type"].as_str().unwrap_or("").to_owned(),
                f["key"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("folder".to_owned(), "reports/".to_owned()),
            ("file".to_owned(), "top.txt".to_owned())
        ]
    );
    let v = files(&app, &token, &keys.s3uid, "docs", &[("search", "2024")]).await;
    assert_eq!(v["files"][0]["key"], "reports/2024.txt");
    assert_eq!(v["files"][0]["size"], 8);
    let v = files(
        &app,
        &token,
        &keys.s3uid,
        "docs",
        &[("page", "2"), ("limit", "1")],
    )
    .await;
    assert_eq!(
        (v["total"].as_i64(), v["files"][0]["key"].as_str()),
        (Some(2), Some("top.txt"))
    );
    // The endpoint lists and reads them back; usage and traffic count.
    let r = s3_request(
        &app,
        "GET",
        "/docs?list-type=2&prefix=reports%2F",
        signed,
        b"",
    )
    .await;
    let listing = r.text().await.expect("xml");
    assert!(listing.contains("<Key>reports/2024.txt</Key>"), "{listing}");
    assert!(!listing.contains("top.txt"), "{listing}");
    let r = s3_request(&app, "GET", "/docs/reports/2024.txt", signed, b"").await;
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"hello s3");
    let v = app
        .call(
            "s3",
            &[
                ("action", "update_traffic_info"),
                ("token", &token),
                ("s3uid", &keys.s3uid),
            ],
        )
        .await;
    assert_eq!(
        (v["used_bytes"].as_i64(), v["objects"].as_i64()),
        (Some(11), Some(2))
    );
    assert_eq!(v["traffic"], serde_json::json!({"in": 11, "out": 8}));
    // delete_file through s3.php: the endpoint no longer has it.
    let v = app
        .call(
            "s3",
            &[
                ("action", "delete_file"),
                ("token", &token),
                ("s3uid", &keys.s3uid),
                ("bucket", "docs"),
                ("file", "reports/2024.txt"),
            ],
        )
        .await;
    ok(&v);
    let r = s3_request(&app, "GET", "/docs/reports/2024.txt", signed, b"").await;
    assert_eq!(s3_code(r).await, (404, "NoSuchKey".to_owned()));
    let v = app
        .call(
            "s3",
            &[
                ("action", "delete_file"),
                ("token", &token),
                ("s3uid", &keys.s3uid),
                ("bucket", "docs"),
                ("file", "reports/2024.txt"),
            ],
        )
        .await;
    assert!(error_of(&v).contains("not found"));
    // A bucket with files is kept, as S3 keeps it.
    let r = s3_request(&app, "DELETE", "/docs", signed, b"").await;
    assert_eq!(s3_code(r).await, (409, "BucketNotEmpty".to_owned()));
    app.stop().await;
}

#[tokio::test]
async fn the_endpoint_refuses_bad_signatures_strangers_and_uploads_past_the_quota() {
    let mut config = test_config();
    config.s3_quota_bytes = Some(16);
    let app = TestApp::spawn_with(config).await;
    let token = app.demo_token().await;
    let keys = free_account(&app, &token, "tight").await;
    let signed = Some((keys.access.as_str(), keys.secret.as_str()));
    let r = s3_request(&app, "PUT", "/tight/a.bin", signed, &[1; 10]).await;
    assert_eq!(r.status(), 200);
    let r = s3_request(&app, "PUT", "/tight/b.bin", signed, &[2; 10]).await;
    assert_eq!(s3_code(r).await, (403, "QuotaExceeded".to_owned()));
    // Replacing an object within the quota is fine.
    let r = s3_request(&app, "PUT", "/tight/a.bin", signed, &[3; 16]).await;
    assert_eq!(r.status(), 200);
    let wrong = Some((keys.access.as_str(), "x".repeat(40).leak() as &str));
    let r = s3_request(&app, "GET", "/tight/a.bin", wrong, b"").await;
    assert_eq!(s3_code(r).await, (403, "SignatureDoesNotMatch".to_owned()));
    let r = s3_request(
        &app,
        "GET",
        "/tight/a.bin",
        Some(("HK0000000000000000XX", "y")),
        b"",
    )
    .await;
    assert_eq!(s3_code(r).await.1, "InvalidAccessKeyId");
    let r = s3_request(&app, "GET", "/tight/a.bin", None, b"").await;
    assert_eq!(s3_code(r).await, (403, "AccessDenied".to_owned()));
    // Another account's keys reach none of demo's buckets.
    let other = app.other_token().await;
    let theirs = free_account(&app, &other, "theirs").await;
    let their_keys = Some((theirs.access.as_str(), theirs.secret.as_str()));
    for (method, path) in [
        ("GET", "/tight/a.bin"),
        ("GET", "/tight"),
        ("PUT", "/tight/x"),
        ("DELETE", "/tight/a.bin"),
    ] {
        let r = s3_request(&app, method, path, their_keys, b"").await;
        assert_eq!(
            s3_code(r).await,
            (403, "AccessDenied".to_owned()),
            "{method} {path}"
        );
    }
    let r = s3_request(&app, "PUT", "/tight", their_keys, b"").await;
    assert_eq!(s3_code(r).await.1, "BucketAlreadyExists");
    let r = s3_request(&app, "GET", "/", their_keys, b"").await;
    let text = r.text().await.expect("xml");
    assert!(
        text.contains("<Name>theirs</Name>") && !text.contains("tight"),
        "{text}"
    );
    let r = s3_request(&app, "GET", "/tight/a.bin", signed, b"").await;
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), &[3; 16]);
    app.stop().await;
}

/// A real S3 client: boto3 (the AWS SDK for Python) runs `tests/api/s3_boto3.py` against
/// the endpoint: bucket create/list/delete, put/list (v1 and v2, delimiter, paging)/get/
/// head/delete, DeleteObjects, and a wrong secret refused. It leaves one object, which
/// `get_files` must show. Skipped, saying so, where boto3 is not installed.
#[tokio::test]
async fn boto3_works_against_the_endpoint() {
    let have_boto3 = std::process::Command::new("python3")
        .args(["-c", "import boto3"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_boto3 {
        eprintln!("SKIPPED boto3_works_against_the_endpoint: python3 with boto3 is not available (pip install boto3)");
        return;
    }
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let keys = free_account(&app, &token, "boto-first").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/s3_boto3.py");
    let (endpoint, access, secret) = (
        app.s3_base.clone(),
        keys.access.clone(),
        keys.secret.clone(),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .env("S3_ENDPOINT", endpoint)
            .env("S3_ACCESS_KEY", access)
            .env("S3_SECRET_KEY", secret)
            .output()
            .expect("python3")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "boto3 script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("boto3 ok"), "{stdout}");
    let v = files(
        &app,
        &token,
        &keys.s3uid,
        "boto-first",
        &[("search", "kept")],
    )
    .await;
    assert_eq!(v["files"][0]["key"], "kept/by-boto3.txt", "{v}");
    assert_eq!(v["files"][0]["size"], 15);
    app.stop().await;
}

/// A paid order the credit does not cover leaves its invoice unpaid: the endpoint refuses
/// the account until the invoice is paid; a service that has ended is refused too.
#[tokio::test]
async fn the_endpoint_serves_an_account_once_its_invoice_is_paid_and_until_its_service_ends() {
    let app = TestApp::spawn().await;
    let other = app.other_token().await;
    // 57.20 EUR of credit: three 16 EUR plans are paid from it, the fourth is not.
    let mut last = Value::Null;
    for i in 0..4 {
        last = app
            .call(
                "s3",
                &[
                    ("action", "create_order"),
                    ("token", &other),
                    ("plan_id", "4"),
                    ("bucket", &format!("big-{i}")),
                ],
            )
            .await;
        assert_eq!(ok(&last)["paid"], i64::from(i < 3), "order {i}: {last}");
    }
    let uid = last["s3uid"].as_str().expect("s3uid").to_owned();
    let keys = keys_of(&app, &other, &uid).await;
    let signed = Some((keys.access.as_str(), keys.secret.as_str()));
    let v = app
        .call("s3", &[("action", "get_users"), ("token", &other)])
        .await;
    assert_eq!(v["users"][3]["status"], "awaiting_payment");
    let r = s3_request(&app, "GET", "/", signed, b"").await;
    assert_eq!(s3_code(r).await, (403, "AccessDenied".to_owned()));
    let invoice = last["invoice_id"].as_i64().expect("invoice");
    let r = app
        .client
        .post(format!("{}/_emu/invoices/{invoice}/pay", app.base))
        .send()
        .await
        .expect("pay");
    assert_eq!(r.status(), 200);
    let r = s3_request(&app, "PUT", "/big-3/paid.txt", signed, b"paid").await;
    assert_eq!(r.status(), 200);
    // Its service set to end: refused once the emulator clock passes the date.
    let v = app
        .call(
            "s3",
            &[
                ("action", "delete_payment_account"),
                ("token", &other),
                ("s3uid", &uid),
            ],
        )
        .await;
    ok(&v);
    app.advance(31 * 86_400).await;
    // (The session has expired meanwhile.)
    let other = app.other_token().await;
    let r = s3_request(&app, "GET", "/big-3/paid.txt", signed, b"").await;
    assert_eq!(s3_code(r).await, (403, "AccessDenied".to_owned()));
    let v = app
        .call("s3", &[("action", "get_users"), ("token", &other)])
        .await;
    assert_eq!(v["users"][3]["status"], "terminated");
    let v = app
        .call(
            "s3",
            &[
                ("action", "cancel_payment_account_deletion"),
                ("token", &other),
                ("s3uid", &uid),
            ],
        )
        .await;
    assert!(error_of(&v).contains("already ended"));
    app.stop().await;
}

/// Junk at the S3 endpoint gets S3's XML errors, never a 5xx: malformed signatures, odd
/// paths and query strings, broken XML bodies, bad part numbers and ranges.
#[tokio::test]
async fn junk_at_the_endpoint_gets_s3_errors_never_a_5xx() {
    let app = TestApp::spawn().await;
    let token = app.demo_token().await;
    let keys = free_account(&app, &token, "junk").await;
    let signed = Some((keys.access.as_str(), keys.secret.as_str()));
    s3_request(&app, "PUT", "/junk/a.txt", signed, b"abc").await;
    let signed_calls: &[(&str, &str, &[u8])] = &[
        ("POST", "/junk?delete", b"<Delete><Object>"),
        ("POST", "/junk?delete", b"not xml at all"),
        ("POST", "/junk/a.txt?uploads", b""),
        ("PUT", "/junk/a.txt?partNumber=0&uploadId=nope", b"x"),
        ("PUT", "/junk/a.txt?partNumber=99999&uploadId=nope", b"x"),
        ("PUT", "/junk/a.txt?partNumber=x&uploadId=nope", b"x"),
        (
            "POST",
            "/junk/a.txt?uploadId=nope",
            b"<CompleteMultipartUpload></CompleteMultipartUpload>",
        ),
        ("POST", "/junk/a.txt?uploadId=nope", b"<<<"),
        ("DELETE", "/junk/a.txt?uploadId=nope", b""),
        ("GET", "/junk?list-type=2&max-keys=-5", b""),
        ("GET", "/junk?list-type=2&max-keys=abc", b""),
        ("GET", "/junk?list-type=2&continuation-token=zz", b""),
        ("GET", "/junk?list-type=2&delimiter=%2F&prefix=%FF", b""),
        ("GET", "/junk/missing", b""),
        ("GET", "/no-such-bucket/x", b""),
        ("PUT", "/UPPER_case", b""),
        ("PUT", "/ab", b""),
        ("GET", "/junk?acl", b""),
        ("GET", "/no-such-bucket?location", b""),
        ("PUT", "/junk?versioning", b"<x/>"),
        ("GET", "/junk/a.txt?tagging", b""),
        ("DELETE", "/junk", b""),
        ("HEAD", "/nope", b""),
    ];
    for (method, path, body) in signed_calls {
        let r = s3_request(&app, method, path, signed, body).await;
        let status = r.status();
        let text = r.text().await.expect("body");
        // S3's own 501 for what the endpoint does not serve is the one 5xx allowed.
        assert!(
            !status.is_server_error()
                || status == 501 && text.contains("<Code>NotImplemented</Code>"),
            "{method} {path}: {status} {text}"
        );
        if path.ends_with("?uploads") {
            assert!(text.contains("<UploadId>"), "{text}");
        } else if status.is_success() {
            // CompleteMultipartUpload answers 200 at once and its error in the body, as S3
            // does (it may take long).
            assert!(
                path.contains("uploadId") && *method == "POST",
                "{method} {path}: {status}"
            );
            assert!(text.contains("<Error><Code>"), "{method} {path}: {text}");
        } else if *method != "HEAD" {
            assert!(text.contains("<Error>"), "{method} {path}: {text}");
        }
    }
    let r = s3_request(&app, "GET", "/junk/a.txt", signed, b"").await;
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    let r = s3_request(&app, "GET", "/junk?location", signed, b"").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("xml").contains("LocationConstraint"));
    let url = format!("{}/junk/a.txt", app.s3_base);
    let r = app
        .client
        .get(&url)
        .header("authorization", "AWS4-HMAC-SHA256 Credential=junk")
        .send()
        .await
        .expect("request");
    assert!(r.status().is_client_error(), "{}", r.status());
    for auth in [
        "",
        "Bearer x",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00",
        "AWS abc:def",
    ] {
        let r = app
            .client
            .get(format!("{}/", app.s3_base))
            .header("authorization", auth)
            .header("x-amz-date", "nonsense")
            .send()
            .await
            .expect("request");
        assert!(r.status().is_client_error(), "{auth}: {}", r.status());
        let text = r.text().await.expect("body");
        assert!(
            text.contains("<Error>") || text.is_empty(),
            "{auth}: {text}"
        );
    }
    app.stop().await;
}

/// A restart on the same database keeps the S3 accounts, their secret keys (the master key
/// is read back from beside the database) and their objects (read back from disk).
#[tokio::test]
async fn a_restart_keeps_s3_keys_and_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config();
    config.db = dir.path().join("emu.db").to_string_lossy().into_owned();
    let app = TestApp::spawn_with(config.clone()).await;
    let token = app.demo_token().await;
    let keys = free_account(&app, &token, "lasting").await;
    let signed = Some((keys.access.as_str(), keys.secret.as_str()));
    let r = s3_request(&app, "PUT", "/lasting/note.txt", signed, b"still here").await;
    assert_eq!(r.status(), 200);
    app.stop().await;
    let key_file = dir.path().join("emu.db.s3").join("master.key");
    let text = std::fs::read_to_string(&key_file).expect("master key");
    assert!(
        !text.contains(&keys.secret),
        "the file holds the master key, not a secret"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let app = TestApp::spawn_with(config).await;
    let token = app.demo_token().await;
    let again = keys_of(&app, &token, &keys.s3uid).await;
    assert_eq!((&again.access, &again.secret), (&keys.access, &keys.secret));
    let r = s3_request(&app, "GET", "/lasting/note.txt", signed, b"").await;
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"still here");
    app.stop().await;
}

/// The blob files of an on-disk emulator (`<db>.s3/objects/`), temporary ones left out.
fn blob_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("emu.db.s3").join("objects"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| !n.ends_with(".part"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A snapshot holds the objects' bytes: an object deleted after it comes back whole with a
/// restore, one put after it goes (and so do its bytes), in memory and on disk alike.
#[tokio::test]
async fn a_snapshot_restore_brings_back_the_bytes_of_objects_deleted_since() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut on_disk = test_config();
    on_disk.db = dir.path().join("emu.db").to_string_lossy().into_owned();
    let mut s3uid = String::new();
    for config in [test_config(), on_disk] {
        let disk = config.db != ":memory:";
        let app = TestApp::spawn_with(config).await;
        let token = app.demo_token().await;
        let keys = free_account(&app, &token, "kept").await;
        let signed = Some((keys.access.as_str(), keys.secret.as_str()));
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for (path, body) in [
            ("/kept/a.txt", &b"first bytes"[..]),
            ("/kept/big.bin", &big),
        ] {
            let r = s3_request(&app, "PUT", path, signed, body).await;
            assert_eq!(r.status(), 200, "{path}");
        }
        let before = if disk {
            blob_files(dir.path())
        } else {
            Vec::new()
        };
        assert_eq!(before.len(), if disk { 2 } else { 0 });
        let (status, v) = emu(
            &app,
            reqwest::Method::POST,
            "/_emu/snapshots",
            Some(serde_json::json!({"name": "s1"})),
        )
        .await;
        assert_eq!(status, 201, "{v}");

        for path in ["/kept/a.txt", "/kept/big.bin"] {
            let r = s3_request(&app, "DELETE", path, signed, b"").await;
            assert_eq!(r.status(), 204, "{path}");
        }
        let r = s3_request(
            &app,
            "PUT",
            "/kept/later.txt",
            signed,
            b"after the snapshot",
        )
        .await;
        assert_eq!(r.status(), 200);
        if disk {
            assert_eq!(
                blob_files(dir.path()).len(),
                1,
                "the deleted objects' bytes are gone"
            );
        }

        let (status, v) = emu(
            &app,
            reqwest::Method::POST,
            "/_emu/snapshots/s1/restore",
            None,
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let r = s3_request(&app, "GET", "/kept/a.txt", signed, b"").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"first bytes");
        let r = s3_request(&app, "GET", "/kept/big.bin", signed, b"").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.expect("bytes").as_ref(), &big[..]);
        let r = s3_request(&app, "GET", "/kept/later.txt", signed, b"").await;
        assert_eq!(s3_code(r).await, (404, "NoSuchKey".to_owned()));
        let v = files(&app, &token, &keys.s3uid, "kept", &[]).await;
        assert_eq!(ok(&v)["files"].as_array().map(Vec::len), Some(2));
        if disk {
            assert_eq!(
                blob_files(dir.path()),
                before,
                "the same blobs as at the snapshot: put back, and the later one removed"
            );
        }
        s3uid = keys.s3uid.clone();
        app.stop().await;
    }

    // `snapshot export` carries the bytes too: with the blob store lost, an import brings
    // them back.
    let db = dir.path().join("emu.db").to_string_lossy().into_owned();
    let file = dir.path().join("export.db").to_string_lossy().into_owned();
    let out = run_binary(
        &["--db", &db, "snapshot", "export", &file],
        std::time::Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::remove_dir_all(dir.path().join("emu.db.s3").join("objects")).expect("rm");
    let out = run_binary(
        &["--db", &db, "snapshot", "import", &file],
        std::time::Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(blob_files(dir.path()).len(), 2);
    let mut config = test_config();
    config.db = db;
    let app = TestApp::spawn_with(config).await;
    let token = app.demo_token().await;
    let keys = keys_of(&app, &token, &s3uid).await;
    let signed = Some((keys.access.as_str(), keys.secret.as_str()));
    let r = s3_request(&app, "GET", "/kept/a.txt", signed, b"").await;
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"first bytes");
    app.stop().await;
}
