//! The `hostkey-emu` binary: parse the configuration, set up logging, open the store,
//! print how to connect, serve until Ctrl-C or SIGTERM.

use clap::Parser;
use hostkey_emu::app::{self, AppState};
use hostkey_emu::config::{Config, LogFormat};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal, not in log files or `docker logs`.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    match run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hostkey-emu: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let state = AppState::new(config).await?;
    let addr = listener.local_addr()?;
    println!("hostkey-emu listening on http://{addr}");
    println!("{}", banner(&state, &addr.to_string()));
    app::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// What a newcomer needs after the listen line: base URL, demo credentials, a first curl.
fn banner(state: &AppState, addr: &str) -> String {
    let base = format!("http://{addr}");
    let mut out =
        format!("  base URL:   {base}/  (InvAPI modules: {base}/auth.php, {base}/eq.php, ...)\n");
    out += &format!(
        "  scenario:   {}  (database: {})\n",
        state.scenario.name, state.config.db
    );
    if let Some(a) = state.scenario.accounts.first() {
        if let Some(k) = a.api_keys.iter().find(|k| k.server_id == 0) {
            out += &format!("  API key:    {}\n", k.key);
        }
        out += &format!("  login:      {}\n  password:   {}\n", a.email, a.password);
        if let Some(pin) = &a.pin {
            out += &format!("  PIN:        {pin}\n");
        }
        if let Some(k) = a.api_keys.iter().find(|k| k.server_id == 0) {
            out += &format!(
                "  try:        curl -s {base}/auth.php -d action=login -d key={}\n",
                k.key
            );
        }
    }
    out += &format!("  control:    {base}/_emu/health  (POST /_emu/reset to start over)");
    out
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}
