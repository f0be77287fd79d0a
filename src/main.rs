//! The `hostkey-emu` binary: parse the configuration, set up logging, open the store,
//! print how to connect, serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use hostkey_emu::app::{self, AppState};
use hostkey_emu::config::{
    beyond_loopback, AdminToken, CaAction, Command, Config, DnsListen, LogFormat,
};
use hostkey_emu::tls::Tls;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    hostkey_emu::allocator::limit_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve()),
        Err(e) => {
            eprintln!("hostkey-emu: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve() -> std::process::ExitCode {
    let mut config = Config::parse();
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
    if let Some(command) = config.command.take() {
        return match one_off(&config, command).await {
            Ok(line) => {
                if let Some(line) = line {
                    println!("{line}");
                }
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hostkey-emu: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hostkey-emu: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs a one-off command (`snapshot export|import FILE`, `ca export`, `health`,
/// `scenario check|export|schema`) and says
/// what it did, when it has more to say than what it printed.
async fn one_off(
    config: &Config,
    command: Command,
) -> Result<Option<String>, Box<dyn std::error::Error>> {
    use hostkey_emu::config::SnapshotCommand;
    use hostkey_emu::store;
    let op = match command {
        Command::Ca {
            action: CaAction::Export,
        } => return ca_export(&config.db).map(|()| None),
        Command::Health { url } => {
            return health(&url, config.admin_token.as_ref())
                .await
                .map(|()| None)
        }
        Command::Snapshot(op) => op,
        Command::Scenario(command) => {
            return hostkey_emu::scenario_files::run(config, command).await;
        }
    };
    if config.db == ":memory:" {
        return Err("snapshot export and import need a database file (--db)".into());
    }
    let db = store::open_with(&config.db, config.sync).await?;
    let blobs = store::s3_blobs::Blobs::for_db(&config.db);
    let line = match op {
        SnapshotCommand::Export { file } => {
            store::backup::save(&db, &blobs, &file, None).await?;
            format!("exported {} to {}", config.db, file.display())
        }
        SnapshotCommand::Import { file } => {
            if !file.is_file() {
                return Err(format!("{}: no such file", file.display()).into());
            }
            let now = chrono::Utc::now().timestamp_millis();
            store::backup::restore(&db, &blobs, &file, now).await?;
            format!("imported {} into {}", file.display(), config.db)
        }
    };
    db.close().await;
    Ok(Some(line))
}

async fn run(mut config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    // The S3 endpoint is optional: a busy port is reported and the rest still starts.
    let s3_wanted = config.s3_listen.0;
    let s3 = match s3_wanted {
        Some(at) => match tokio::net::TcpListener::bind(at).await {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("hostkey-emu: S3 endpoint not started: cannot listen on {at}: {e}");
                None
            }
        },
        None => None,
    };
    let s3_addr = s3.as_ref().map(|l| l.local_addr()).transpose()?;
    // The F2HCloud face too: a busy port is reported and the rest still starts.
    let f2h_wanted = config.f2h_listen.0;
    let f2h = match f2h_wanted {
        Some(at) => match tokio::net::TcpListener::bind(at).await {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!(
                    "hostkey-emu: F2HCloud API not started: cannot listen on {at}: {e}; \
                     choose another with --f2h-listen, or --f2h-listen off"
                );
                None
            }
        },
        None => None,
    };
    let f2h_addr = f2h.as_ref().map(|l| l.local_addr()).transpose()?;
    // So is the HTTPS listener; its certificates must load, though.
    let tls = bind_tls(&config).await?;
    let tls_addr = tls.as_ref().map(|(l, _)| l.local_addr()).transpose()?;
    // The Hestia panels' API: a busy port is reported and the rest still starts.
    let hestia_wanted = config.hestia_listen.0;
    let hestia = bind_hestia(&config).await?;
    let hestia_addr = hestia.as_ref().map(|(l, _)| l.local_addr()).transpose()?;
    let bound: Vec<SocketAddr> = std::iter::once(addr)
        .chain(s3_addr)
        .chain(f2h_addr)
        .chain(tls_addr)
        .chain(hestia_addr)
        .collect();
    let generated = config.secure_control_plane(&bound);
    let dns = bind_dns(config.dns_listen).await;
    let state = AppState::new(config).await?;
    println!("hostkey-emu listening on http://{addr}");
    println!("{}", banner(&state, addr, generated.as_ref()));
    if let Some(sockets) = dns {
        if let Ok(at) = sockets.local_addr() {
            println!("{}", dns_line(at));
        }
        // Ends with the process, after the HTTP server's graceful shutdown.
        tokio::spawn(hostkey_emu::dns::serve(
            sockets,
            state.clone(),
            std::future::pending(),
        ));
    }
    match s3_addr {
        Some(at) => println!(
            "  S3:         http://{at}  (aws --endpoint-url http://{at}; keys from s3.php show_key)"
        ),
        None if s3_wanted.is_some() => println!("  S3:         not started (the error is above)"),
        None => println!("  S3:         off (--s3-listen off)"),
    }
    match f2h_addr {
        Some(at) => println!("{}", f2h_lines(&state, at)),
        None if f2h_wanted.is_some() => {
            println!("  F2HCloud:   not started (the error is above)")
        }
        None => println!("  F2HCloud:   off (--f2h-listen off)"),
    }
    match (&tls, tls_addr) {
        (Some((_, t)), Some(at)) => println!("{}", tls_lines(t, at, addr)),
        _ if config_tls_wanted(&state) => {
            println!("  HTTPS:      not started (the error is above)")
        }
        _ => println!("  HTTPS:      off (--tls-listen 127.0.0.1:8443 to serve as https://invapi.hostkey.com)"),
    }
    match hestia_addr {
        Some(at) => println!("{}", hestia_lines(&state, at)),
        None if hestia_wanted.is_some() => {
            println!("  Hestia:     not started (the error is above)")
        }
        None => println!("  Hestia:     off (--hestia-listen off)"),
    }
    tokio::spawn(hostkey_emu::allocator::give_back_when_quiet());
    app::serve_all_with_hestia(listener, s3, f2h, tls, hestia, state, shutdown_signal()).await?;
    Ok(())
}

/// The Hestia listener and its certificates (the local CA's), when `--hestia-listen` asks
/// for one; a busy port is reported and the rest starts without it.
async fn bind_hestia(
    config: &Config,
) -> Result<Option<(tokio::net::TcpListener, Arc<Tls>)>, Box<dyn std::error::Error>> {
    let Some(at) = config.hestia_listen.0 else {
        return Ok(None);
    };
    let tls = Tls::load_panel(&config.db)?;
    match tokio::net::TcpListener::bind(at).await {
        Ok(l) => Ok(Some((l, Arc::new(tls)))),
        Err(e) => {
            eprintln!(
                "hostkey-emu: Hestia API not started: cannot listen on {at}: {e}; \
                 choose another with --hestia-listen, or --hestia-listen off"
            );
            Ok(None)
        }
    }
}

/// The banner's Hestia lines: the endpoint and, with the demo scenario's panel, a first curl.
fn hestia_lines(state: &AppState, at: SocketAddr) -> String {
    let base = format!("https://{at}");
    let mut out = format!(
        "  Hestia:     {base}/api/  (HTTPS, local CA; panels of servers with the Hestia Control Panel software, by Host)"
    );
    if let Some(h) = &state.scenario.hestia_demo {
        out += &format!(
            "\n  try:        curl -sk {base}/api/ -d user=admin -d password={} -d cmd=v-list-users -d arg1=json",
            h.admin_password
        );
    }
    out
}

fn config_tls_wanted(state: &AppState) -> bool {
    state.config.tls_listen.0.is_some()
}

/// The HTTPS listener and its certificates, when `--tls-listen` asks for one; a busy port is
/// reported and the rest starts without it, certificates that cannot be loaded stop the start.
async fn bind_tls(
    config: &Config,
) -> Result<Option<(tokio::net::TcpListener, Arc<Tls>)>, Box<dyn std::error::Error>> {
    let Some(at) = config.tls_listen.0 else {
        return Ok(None);
    };
    let files = config.tls_cert.as_deref().zip(config.tls_key.as_deref());
    let tls = Tls::load(&config.db, &config.tls_names, files)?;
    match tokio::net::TcpListener::bind(at).await {
        Ok(l) => Ok(Some((l, Arc::new(tls)))),
        Err(e) => {
            eprintln!("hostkey-emu: HTTPS listener not started: cannot listen on {at}: {e}");
            Ok(None)
        }
    }
}

/// The banner's HTTPS lines: where, how to trust the CA and how to map the real name.
fn tls_lines(tls: &Tls, at: SocketAddr, plain: SocketAddr) -> String {
    let port = at.port();
    let ip = if at.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        at.ip().to_string()
    };
    let mut out = format!(
        "  HTTPS:      https://invapi.hostkey.com:{port}/  (also an HTTPS proxy: HTTPS_PROXY=http://{ip}:{port}; names: {})",
        tls.names().join(", ")
    );
    if tls.ca_pem().is_some() {
        out += &format!(
            "\n  trust:      curl -s http://{plain}/_emu/ca.pem -o hostkey-emu-ca.pem  \
             (or: hostkey-emu ca export > hostkey-emu-ca.pem), then NODE_EXTRA_CA_CERTS=, \
             SSL_CERT_FILE= or curl --cacert hostkey-emu-ca.pem\
             \n  map name:   curl --resolve invapi.hostkey.com:{port}:{ip}; /etc/hosts: \
             {ip} invapi.hostkey.com; Docker: extra_hosts: invapi.hostkey.com:host-gateway"
        );
    }
    out
}

/// `hostkey-emu ca export`: the local CA of `--db` on stdout.
fn ca_export(db: &str) -> Result<(), Box<dyn std::error::Error>> {
    if Tls::ca_dir(db).is_none() {
        return Err("an in-memory database keeps its CA in memory for one run: \
                    GET /_emu/ca.pem from the running emulator"
            .into());
    }
    print!("{}", hostkey_emu::tls::Ca::load_or_create(db)?.pem);
    Ok(())
}

/// `hostkey-emu health --url URL`: succeeds when the URL answers 2xx within 5 seconds,
/// sending the admin token when one is set (`HOSTKEY_EMU_ADMIN_TOKEN`). Without one, a 401
/// also counts: the emulator answers, its control plane wants the token generated at start.
async fn health(url: &str, token: Option<&AdminToken>) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token.reveal());
    }
    let response = request.send().await?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    println!("{status} {body}");
    let answering_without_token = token.is_none() && status == reqwest::StatusCode::UNAUTHORIZED;
    if !status.is_success() && !answering_without_token {
        return Err(format!("{url} answered {status}").into());
    }
    Ok(())
}

/// Binds the DNS server's sockets; a port that is busy is reported and the rest of the
/// emulator starts without DNS.
async fn bind_dns(listen: DnsListen) -> Option<hostkey_emu::dns::Sockets> {
    let DnsListen::At(at) = listen else {
        return None;
    };
    match hostkey_emu::dns::Sockets::bind(at).await {
        Ok(sockets) => Some(sockets),
        Err(e) => {
            eprintln!(
                "hostkey-emu: DNS server not started: cannot listen on {at} (UDP and TCP): {e}; \
                 choose another with --dns-listen, or --dns-listen off"
            );
            None
        }
    }
}

/// The banner's DNS line: where the DNS server answers, as a `dig` command.
fn dns_line(at: SocketAddr) -> String {
    format!(
        "  dns:        dig @{} -p {} example.com SOA  (UDP and TCP; zones of pdns.php, PTRs of ip/update_ptr)",
        at.ip(),
        at.port()
    )
}

/// The banner's F2HCloud lines: the base URL, Swagger UI, the scenario's keys of the first
/// account (the demo: one for one server, one for several) and a first curl.
fn f2h_lines(state: &AppState, at: SocketAddr) -> String {
    let base = format!("http://{at}");
    let mut out = format!("  F2HCloud:   {base}/api/  (Swagger UI: {base}/docs)");
    if let Some(a) = &state.scenario.first_account {
        for k in &a.f2h_keys {
            out += &format!("\n  F2H key:    {}  ({})", k.key, k.servers.join(", "));
        }
        if let Some(k) = a.f2h_keys.first() {
            out += &format!(
                "\n  try:        curl -s {base}/api/servers -H 'X-API-Key: {}'",
                k.key
            );
        }
    }
    out
}

/// What a newcomer needs after the listen line: base URL, demo credentials, a first curl;
/// then how the control plane is protected, with a warning when others can reach the port.
/// A generated admin token is shown here and nowhere else; a token that was set never is.
fn banner(state: &AppState, addr: SocketAddr, generated: Option<&AdminToken>) -> String {
    let base = format!("http://{addr}");
    let mut out =
        format!("  base URL:   {base}/  (InvAPI modules: {base}/auth.php, {base}/eq.php, ...)\n");
    out += &format!(
        "  scenario:   {}  (database: {})\n",
        state.scenario.name, state.config.db
    );
    if let Some(a) = &state.scenario.first_account {
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
    out += &format!("  dashboard:  {base}/  (open it in a browser)\n");
    out += &format!("  control:    {base}/_emu/health  (POST /_emu/reset to start over)");
    match (generated, &state.config.admin_token) {
        (Some(token), _) => {
            out += &format!(
                "\n  admin:      /_emu/ needs Authorization: Bearer {}  (generated for this run; \
                 set --admin-token or HOSTKEY_EMU_ADMIN_TOKEN to choose one)",
                token.reveal()
            );
        }
        (None, Some(_)) => {
            out += "\n  admin:      /_emu/ needs Authorization: Bearer <the token set by --admin-token>";
        }
        (None, None) => {}
    }
    if beyond_loopback(addr) {
        out += &format!(
            "\n  WARNING:    listening beyond loopback ({addr}): anyone who can reach this port \
             can use the API; the control plane needs the admin token"
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn state(token: Option<&str>) -> AppState {
        let mut config = Config::for_tests();
        config.admin_token = token.map(|t| t.parse().expect("token"));
        AppState::new(config).await.expect("state")
    }

    #[tokio::test]
    async fn the_hestia_lines_show_the_demo_panel_and_a_first_curl() {
        let state = state(None).await;
        let at: SocketAddr = "127.0.0.1:8083".parse().expect("addr");
        let text = hestia_lines(&state, at);
        assert!(text.contains("https://127.0.0.1:8083/api/"), "{text}");
        assert!(
            text.contains(
                "curl -sk https://127.0.0.1:8083/api/ -d user=admin -d password=Hestia-demo-1"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_tls_lines_say_how_to_trust_the_ca_and_map_the_name() {
        let tls = Tls::load(":memory:", &[], None).expect("tls");
        let at: SocketAddr = "0.0.0.0:8443".parse().expect("addr");
        let plain: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let text = tls_lines(&tls, at, plain);
        for needle in [
            "https://invapi.hostkey.com:8443/",
            "HTTPS_PROXY=http://127.0.0.1:8443",
            "http://127.0.0.1:8080/_emu/ca.pem",
            "NODE_EXTRA_CA_CERTS",
            "SSL_CERT_FILE",
            "curl --cacert",
            "curl --resolve invapi.hostkey.com:8443:127.0.0.1",
            "/etc/hosts: 127.0.0.1 invapi.hostkey.com",
            "extra_hosts",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
    }

    #[tokio::test]
    async fn the_f2h_lines_show_the_demo_keys_and_a_first_curl() {
        let at: SocketAddr = "127.0.0.1:8000".parse().expect("addr");
        let text = f2h_lines(&state(None).await, at);
        assert!(text.contains("http://127.0.0.1:8000/docs"), "{text}");
        assert!(
            text.contains("f2h.deadbeefcafe0001.DemoSingleServerKey0123456789abcdef  (nl-bm-01)"),
            "{text}"
        );
        assert!(text.contains("f2h.deadbeefcafe0002."), "{text}");
        assert!(text.contains("curl -s http://127.0.0.1:8000/api/servers -H 'X-API-Key: f2h."));
    }

    #[tokio::test]
    async fn a_busy_dns_port_is_reported_and_off_binds_nothing() {
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let at = taken.local_addr().expect("addr");
        assert!(bind_dns(DnsListen::At(at)).await.is_none());
        assert!(bind_dns(DnsListen::Off).await.is_none());
        let free = bind_dns(DnsListen::At("127.0.0.1:0".parse().expect("addr")))
            .await
            .expect("bound");
        let line = dns_line(free.local_addr().expect("addr"));
        assert!(line.contains("dig @127.0.0.1 -p "), "{line}");
    }

    #[tokio::test]
    async fn the_banner_shows_a_generated_token_once_and_warns_beyond_loopback() {
        let loopback: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let open = banner(&state(None).await, loopback, None);
        assert!(
            !open.contains("admin:") && !open.contains("WARNING"),
            "{open}"
        );

        let everywhere: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
        let generated: AdminToken = "f00d".repeat(16).parse().expect("token");
        let text = banner(
            &state(Some(generated.reveal())).await,
            everywhere,
            Some(&generated),
        );
        assert_eq!(text.matches(generated.reveal()).count(), 1, "{text}");
        assert!(text.contains("(generated for this run;"), "{text}");
        assert!(
            text.contains("WARNING:    listening beyond loopback (0.0.0.0:8080)"),
            "{text}"
        );

        let chosen = banner(&state(Some("my-own-s3cret")).await, everywhere, None);
        assert!(
            !chosen.contains("my-own-s3cret"),
            "a token that was set is never shown"
        );
        assert!(
            chosen.contains("Bearer <the token set by --admin-token>"),
            "{chosen}"
        );
        assert!(chosen.contains("WARNING"), "{chosen}");
    }
}
