//! Embedding hostkey-emu in a Rust program or test: start it, log in, move its clock, run
//! its tasks, snapshot and restore, and let it stop when the handle is dropped.
//!
//! `cargo run --example embed`

use hostkey_emu::Emulator;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let emu = Emulator::builder()
        .scenario("demo")
        .task_speed("instant")
        .start()
        .await?;
    println!("emulator at {}", emu.base_url());
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}auth.php", emu.base_url()))
        .form(&[
            ("action", "login"),
            ("key", "deadbeef00000001-0123456789abcdef"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = login["result"]["token"].as_str().ok_or("no token")?;
    println!("logged in, token {}...", &token[..8.min(token.len())]);
    emu.snapshot("clean").await?;
    emu.advance_clock(3600).await?;
    println!("tasks run: {}", emu.run_tasks().await?);
    emu.restore("clean").await?;
    emu.reset().await?;
    emu.stop().await;
    println!("stopped");
    Ok(())
}
