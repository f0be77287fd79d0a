//! Address-allocation benchmark on loopback: W workers each run C add_ipv4 / get_ip /
//! remove_ipv4 cycles against one server; reports operations per second and how many addresses were
//! ever held by two workers at once (must be 0).
//!
//! cargo run --release --example ipam_bench -- [workers] [cycles]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hostkey_emu::app::{self, AppState};
use hostkey_emu::config::Config;
use serde_json::Value;

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let workers = args.first().copied().unwrap_or(16);
    let cycles = args.get(1).copied().unwrap_or(50);
    let dir = std::env::temp_dir().join(format!("hostkey-emu-ipam-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut config = Config::for_tests();
    config.db = dir.join("bench.db").to_string_lossy().into_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let state = AppState::new(config).await.expect("state");
    tokio::spawn(app::serve(listener, state, std::future::pending()));
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/auth.php"))
        .form(&[
            ("action", "login"),
            ("key", "deadbeef00000001-0123456789abcdef"),
        ])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["result"]["token"].as_str().expect("token").to_owned();
    let free_before = free_count(&client, &base, &token).await;
    let held: Arc<Mutex<HashSet<String>>> = Arc::default();
    let duplicates = Arc::new(Mutex::new(0usize));
    let errors = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (held, duplicates, errors) = (held.clone(), duplicates.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..cycles {
                let v: Value = match client
                    .post(format!("{base}/net.php"))
                    .form(&[
                        ("action", "add_ipv4"),
                        ("token", &token),
                        ("id", "40101"),
                        ("amount", "1"),
                    ])
                    .send()
                    .await
                {
                    Ok(r) => r.json().await.unwrap_or_default(),
                    Err(_) => Value::Null,
                };
                let Some(ip) = v["ips"][0]["IP"].as_str().map(str::to_owned) else {
                    *errors.lock().expect("lock") += 1;
                    continue;
                };
                if !held.lock().expect("lock").insert(ip.clone()) {
                    *duplicates.lock().expect("lock") += 1;
                }
                // Use the address while holding it: the server must say it is in our subnet.
                let g: Value = match client
                    .post(format!("{base}/ip.php"))
                    .form(&[("action", "get_ip"), ("token", &token), ("ip", &ip)])
                    .send()
                    .await
                {
                    Ok(r) => r.json().await.unwrap_or_default(),
                    Err(_) => Value::Null,
                };
                if g["ip"] != ip.as_str() {
                    *errors.lock().expect("lock") += 1;
                }
                // Forget it before giving it back, so a later holder is no false duplicate.
                held.lock().expect("lock").remove(&ip);
                let r: Value = match client
                    .post(format!("{base}/net.php"))
                    .form(&[
                        ("action", "remove_ipv4"),
                        ("token", &token),
                        ("id", "40101"),
                        ("ip", &ip),
                    ])
                    .send()
                    .await
                {
                    Ok(r) => r.json().await.unwrap_or_default(),
                    Err(_) => Value::Null,
                };
                if r["result"] != "OK" {
                    *errors.lock().expect("lock") += 1;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    let secs = started.elapsed().as_secs_f64();
    let ops = workers * cycles * 3;
    println!("workers: {workers}, cycles each: {cycles}, operations: {ops}");
    println!(
        "elapsed: {secs:.2} s, {:.0} operations/s",
        ops as f64 / secs
    );
    println!("duplicates: {}", duplicates.lock().expect("lock"));
    println!("errors: {}", errors.lock().expect("lock"));
    let show: Value = client
        .post(format!("{base}/eq.php"))
        .form(&[("action", "show"), ("token", &token), ("id", "40101")])
        .send()
        .await
        .expect("show")
        .json()
        .await
        .expect("json");
    let left = show["IP"].as_array().map(Vec::len).unwrap_or(0);
    let free_after = free_count(&client, &base, &token).await;
    println!("addresses on the server afterwards: {left} (2 before the run)");
    println!("free addresses in the pool: {free_before} before, {free_after} after");
    let _ = std::fs::remove_dir_all(&dir);
    let dups = *duplicates.lock().expect("lock");
    let errs = *errors.lock().expect("lock");
    if dups > 0 || errs > 0 || left != 2 || free_after != free_before {
        eprintln!("FAILED: addresses were shared, lost or leaked");
        std::process::exit(1);
    }
}

/// Free addresses of the VM's pools (show_ipv4_free total).
async fn free_count(client: &reqwest::Client, base: &str, token: &str) -> i64 {
    let v: Value = client
        .post(format!("{base}/net.php"))
        .form(&[
            ("action", "show_ipv4_free"),
            ("token", token),
            ("id", "40101"),
        ])
        .send()
        .await
        .expect("free")
        .json()
        .await
        .expect("json");
    v["total_ips"].as_i64().expect("total_ips")
}
