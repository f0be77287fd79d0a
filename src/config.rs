//! Command-line and environment configuration (`HOSTKEY_EMU_<NAME>` for every option).

use std::net::SocketAddr;
use std::str::FromStr;

use clap::{Parser, ValueEnum};

/// hostkey-emu: a self-hosted emulator of the HOSTKEY InvAPI.
#[derive(Debug, Clone, Parser)]
#[command(name = "hostkey-emu", version = crate::VERSION, about)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "HOSTKEY_EMU_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// SQLite database file, or `:memory:` for a throw-away database.
    #[arg(long, env = "HOSTKEY_EMU_DB", default_value = "./hostkey-emu.db")]
    pub db: String,

    /// When a commit waits for the disk (SQLite's `synchronous`): `off` never (a commit
    /// survives the emulator's crash or kill, not the machine's: the operating system holds
    /// it), `normal` at each WAL checkpoint (survives a power cut, losing at most the last
    /// commits), `full` at every commit.
    #[arg(long, env = "HOSTKEY_EMU_SYNC", value_enum, default_value = "off")]
    pub sync: SyncMode,

    /// Scenario loaded into an empty database: `demo` (built in) or a path to a scenario JSON file.
    #[arg(long, env = "HOSTKEY_EMU_SCENARIO", default_value = "demo")]
    pub scenario: String,

    /// How fast simulated hardware works: `1` = realistic, `N` = N times faster, `instant`.
    #[arg(long, env = "HOSTKEY_EMU_TASK_SPEED", default_value = "1")]
    pub task_speed: TaskSpeed,

    /// Log format on stderr (levels come from RUST_LOG).
    #[arg(
        long,
        env = "HOSTKEY_EMU_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// Largest request body accepted, in bytes; larger bodies get HTTP 413.
    #[arg(long, env = "HOSTKEY_EMU_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,

    /// Seconds a completed async record stays readable after its first read.
    #[arg(long, env = "HOSTKEY_EMU_CALLBACK_RETENTION", default_value_t = 600)]
    pub callback_retention: i64,

    /// Seconds a final async record that nobody has read stays readable, counted from
    /// when it became final; then the periodic prune removes it.
    #[arg(long, env = "HOSTKEY_EMU_UNREAD_RETENTION", value_parser = clap::value_parser!(i64).range(0..), default_value_t = 7 * 86_400)]
    pub unread_retention: i64,

    /// Seconds finished jobs (the queue's rows behind the records) are kept.
    #[arg(long, env = "HOSTKEY_EMU_JOB_RETENTION", value_parser = clap::value_parser!(i64).range(0..), default_value_t = 3600)]
    pub job_retention: i64,

    /// Seconds login records of api_keys/history, outbox e-mails and finished remote-hands
    /// tickets are kept.
    #[arg(long, env = "HOSTKEY_EMU_HISTORY_RETENTION", value_parser = clap::value_parser!(i64).range(0..), default_value_t = 90 * 86_400)]
    pub history_retention: i64,

    /// Seconds of emulator time between two runs of the prune that applies the retention
    /// periods.
    #[arg(long, env = "HOSTKEY_EMU_PRUNE_INTERVAL", value_parser = clap::value_parser!(i64).range(1..), default_value_t = 60)]
    pub prune_interval: i64,

    /// Power actions (on, off, hard_off, reboot, status, sensors) queued at most per
    /// server; the next is refused until one finishes.
    #[arg(long, env = "HOSTKEY_EMU_MAX_QUEUED_POWER", value_parser = clap::value_parser!(i64).range(1..), default_value_t = 64)]
    pub max_queued_power: i64,

    /// Consecutive wrong PINs before the account's PIN checks are blocked.
    #[arg(long, env = "HOSTKEY_EMU_PIN_MAX_FAILURES", default_value_t = 5)]
    pub pin_max_failures: i64,

    /// Seconds the PIN checks stay blocked after too many failures.
    #[arg(long, env = "HOSTKEY_EMU_PIN_LOCKOUT", default_value_t = 900)]
    pub pin_lockout: i64,

    /// Require the PIN on every PIN-protected action, also for API-key sessions.
    #[arg(long, env = "HOSTKEY_EMU_REQUIRE_PIN", default_value_t = false)]
    pub require_pin: bool,

    /// Failed logins per key or user from one client address before that address's
    /// attempts are delayed (other addresses are not).
    #[arg(long, env = "HOSTKEY_EMU_LOGIN_FREE_FAILURES", default_value_t = 3)]
    pub login_free_failures: i64,

    /// First login delay in milliseconds once throttling starts; it doubles per failure.
    #[arg(long, env = "HOSTKEY_EMU_LOGIN_DELAY_MS", default_value_t = 500)]
    pub login_delay_ms: u64,

    /// Longest login delay in milliseconds.
    #[arg(long, env = "HOSTKEY_EMU_LOGIN_DELAY_MAX_MS", default_value_t = 8000)]
    pub login_delay_max_ms: u64,

    /// Argon2 memory cost in KiB for passwords and PINs (tests lower it).
    #[arg(long, env = "HOSTKEY_EMU_ARGON2_MEMORY_KIB", default_value_t = 19456)]
    pub argon2_memory_kib: u32,

    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "HOSTKEY_EMU_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,

    /// Seconds a client has to send a request's headers, counted from the moment the
    /// connection opens or its previous response was sent (so it also bounds keep-alive
    /// idling); slower connections are closed without an answer.
    #[arg(long, env = "HOSTKEY_EMU_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,

    /// Seconds shutdown waits for in-flight requests before it drops the connections left.
    #[arg(long, env = "HOSTKEY_EMU_SHUTDOWN_TIMEOUT", default_value_t = 10)]
    pub shutdown_timeout: u64,

    /// The billing cycle on the emulator's clock: renewal invoices before each due date,
    /// paid from the credit when it covers them, suspension after the grace period.
    /// `false` leaves renewals to whmcs/generate_due_invoice (cancellations still end
    /// services on their dates).
    #[arg(long, env = "HOSTKEY_EMU_BILLING_CYCLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub billing_cycle: bool,

    /// Days before a server's due date that its renewal invoice is made.
    #[arg(long, env = "HOSTKEY_EMU_INVOICE_DAYS", value_parser = clap::value_parser!(i64).range(0..=365), default_value_t = 7)]
    pub invoice_days: i64,

    /// Days an unpaid renewal may be overdue before the server is suspended.
    #[arg(long, env = "HOSTKEY_EMU_GRACE_DAYS", value_parser = clap::value_parser!(i64).range(0..=365), default_value_t = 3)]
    pub grace_days: i64,

    /// Token the control plane (`/_emu/`) requires as `Authorization: Bearer <token>`.
    /// Without one, listening beyond loopback generates one (printed once at start);
    /// on loopback the control plane stays open unless a token is set.
    #[arg(long, env = "HOSTKEY_EMU_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<AdminToken>,

    /// Address of the DNS server (UDP and TCP) that answers for the zones of pdns.php and
    /// the emulator's own addresses; `off` disables it; port 0 picks a free port.
    #[arg(long, env = "HOSTKEY_EMU_DNS_LISTEN", default_value = "127.0.0.1:8053")]
    pub dns_listen: DnsListen,
    /// Address of the S3-compatible endpoint (SigV4 with the keys of s3.php show_key);
    /// `off` disables it. A busy port is reported and the rest still starts.
    #[arg(long, env = "HOSTKEY_EMU_S3_LISTEN", default_value = "127.0.0.1:8054")]
    pub s3_listen: OptionalListen,

    /// Caps every S3 account's storage quota at this many bytes (to try quota errors
    /// without uploading gigabytes); unset, each plan's own size applies.
    #[arg(long, env = "HOSTKEY_EMU_S3_QUOTA_BYTES")]
    pub s3_quota_bytes: Option<u64>,

    /// Fault rules to start with (`/_emu/faults`): a JSON file holding an array of rules
    /// (or an object with a `faults` array). A reset brings them back.
    #[arg(long, env = "HOSTKEY_EMU_FAULTS")]
    pub faults: Option<String>,

    /// How many requests the journal (`/_emu/requests`) keeps, newest first; 0 keeps none.
    #[arg(long, env = "HOSTKEY_EMU_JOURNAL_SIZE", default_value_t = crate::journal::DEFAULT_SIZE)]
    pub journal_size: usize,
    /// Address of the F2HCloud face (scoped `X-API-Key` keys, paths under /api, Swagger UI
    /// at /docs); `off` disables it. A busy port is reported and the rest still starts.
    #[arg(long, env = "HOSTKEY_EMU_F2H_LISTEN", default_value = "127.0.0.1:8000")]
    pub f2h_listen: OptionalListen,
    /// Address of the Hestia Control Panel API (`/api/` of the panels on emulated servers,
    /// HTTPS with the local CA's certificates); `off` disables it. A busy port is reported
    /// and the rest still starts.
    #[arg(
        long,
        env = "HOSTKEY_EMU_HESTIA_LISTEN",
        default_value = "127.0.0.1:8083"
    )]
    pub hestia_listen: OptionalListen,
    /// Isolated worlds (`POST /_emu/worlds`) that may exist at once.
    #[arg(long, env = "HOSTKEY_EMU_MAX_WORLDS", default_value_t = 64)]
    pub max_worlds: usize,

    /// Address of the HTTPS listener (the same routes over TLS, and an HTTPS proxy that
    /// accepts `CONNECT invapi.hostkey.com:443`); `off` disables it. A busy port is
    /// reported and the rest still starts.
    #[arg(long, env = "HOSTKEY_EMU_TLS_LISTEN", default_value = "off")]
    pub tls_listen: OptionalListen,

    /// The HTTPS listener's certificate chain (PEM); without it, the local CA kept beside
    /// the database (`<db>.tls/`) issues one.
    #[arg(long, env = "HOSTKEY_EMU_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, env = "HOSTKEY_EMU_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Another name (or IP address) for the local CA's certificate, besides
    /// invapi.hostkey.com, invapi.hostkey.ru, api.hostkey.com, localhost and 127.0.0.1;
    /// repeatable, or comma-separated in the environment.
    #[arg(
        long = "tls-name",
        env = "HOSTKEY_EMU_TLS_NAMES",
        value_delimiter = ','
    )]
    pub tls_names: Vec<String>,

    /// A one-off command instead of serving (none: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The one-off commands (`hostkey-emu [OPTIONS] <COMMAND>`; options such as `--db` come
/// before the command).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Whole-database snapshots of the `--db` file.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// The local CA of `--db` (`hostkey-emu --db FILE ca export > ca.pem`).
    Ca {
        #[command(subcommand)]
        action: CaAction,
    },
    /// Checks a running emulator: exit status 0 when `URL` answers 2xx (for container
    /// health checks, where there is no shell or curl).
    Health {
        #[arg(long, default_value = "http://127.0.0.1:8080/_emu/health")]
        url: String,
    },
    /// Scenario files: check one, export the `--db` database as one, print the format's
    /// JSON Schema.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
}

/// `hostkey-emu scenario check FILE | export [--out FILE] | schema`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ScenarioCommand {
    /// Checks a scenario (a file, `demo` or `large:N`) as `--scenario` would load it:
    /// prints OK and its counts, or every problem with the path of the bad field (exit
    /// status 1).
    Check { file: String },
    /// Writes the state of the `--db` database as a scenario file (on stdout without
    /// `--out`); what it must leave out is listed on stderr.
    Export {
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Prints the JSON Schema of scenario files (docs/scenario.schema.json).
    Schema,
}

/// `hostkey-emu snapshot export|import FILE`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SnapshotCommand {
    /// Writes a consistent copy of the `--db` database (which may be in use) to FILE.
    Export { file: std::path::PathBuf },
    /// Replaces the `--db` database's state by FILE's, in one transaction (stop the
    /// emulator first, or restore through `/_emu/snapshots` instead).
    Import { file: std::path::PathBuf },
}

/// What `hostkey-emu ca` does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CaAction {
    /// Prints the CA certificate (PEM), creating the CA if the database has none yet.
    Export,
}

/// A listen address, or `off` (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalListen(pub Option<SocketAddr>);

impl FromStr for OptionalListen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(OptionalListen(None));
        }
        s.trim()
            .parse()
            .map(|a| OptionalListen(Some(a)))
            .map_err(|e| format!("expected an address like 127.0.0.1:8054, or off: {e}"))
    }
}

impl Config {
    /// The configuration a test or embedding uses: in-memory database, demo scenario.
    pub fn for_tests() -> Self {
        // No billing cycle: tests that do not test billing keep the scenario's invoices and
        // credit whatever the date (billing tests switch it on).
        Config::parse_from([
            "hostkey-emu",
            "--db",
            ":memory:",
            "--listen",
            "127.0.0.1:0",
            "--billing-cycle",
            "false",
        ])
    }

    /// Makes sure a control plane reachable beyond loopback has a token: when one of the
    /// `bound` addresses is not a loopback address and no token is set, generates one and
    /// returns it (for the start-up banner, the only place it is ever shown).
    pub fn secure_control_plane(&mut self, bound: &[SocketAddr]) -> Option<AdminToken> {
        if self.admin_token.is_some() || !bound.iter().any(|a| beyond_loopback(*a)) {
            return None;
        }
        let token = AdminToken::generate();
        self.admin_token = Some(token.clone());
        Some(token)
    }
}

/// Can others than this host reach an address? Anything but 127.0.0.0/8 and `::1` can
/// (`0.0.0.0` and `::` listen on every interface).
pub fn beyond_loopback(addr: SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

/// The control plane's bearer token. Its `Debug` never shows it, so that no log of the
/// configuration repeats it; it is compared in constant time.
#[derive(Clone)]
pub struct AdminToken(String);

impl AdminToken {
    /// A fresh random token: 32 bytes from the thread's CSPRNG, as 64 hex digits.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        AdminToken(hex::encode(bytes))
    }

    /// The token itself, for the one banner line that shows a generated token.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// Is `presented` this token? Both are hashed first, so the comparison takes the same
    /// time whatever their lengths and wherever they first differ.
    pub fn matches(&self, presented: &str) -> bool {
        use sha2::{Digest, Sha256};
        let (want, got) = (
            Sha256::digest(self.0.as_bytes()),
            Sha256::digest(presented.as_bytes()),
        );
        let diff = want
            .iter()
            .zip(got.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl FromStr for AdminToken {
    type Err = String;
    /// A token must fit an `Authorization` header: visible ASCII, no spaces, not empty.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the admin token must be non-empty visible ASCII without spaces".into());
        }
        Ok(AdminToken(s.to_owned()))
    }
}

/// Where the DNS server listens, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsListen {
    Off,
    At(SocketAddr),
}

impl FromStr for DnsListen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(DnsListen::Off);
        }
        s.parse()
            .map(DnsListen::At)
            .map_err(|_| format!("expected an address such as 127.0.0.1:8053, or off; got '{s}'"))
    }
}

/// Speed of simulated hardware.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TaskSpeed {
    /// Tasks complete as soon as the worker picks them up.
    Instant,
    /// Realistic durations divided by this factor.
    Factor(f64),
}

impl TaskSpeed {
    /// Scales a realistic duration (milliseconds) to this speed.
    pub fn scale(self, realistic_ms: i64) -> i64 {
        match self {
            TaskSpeed::Instant => 0,
            TaskSpeed::Factor(f) => (realistic_ms as f64 / f).round() as i64,
        }
    }
}

impl FromStr for TaskSpeed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("instant") {
            return Ok(TaskSpeed::Instant);
        }
        match s.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(TaskSpeed::Factor(f)),
            _ => Err(format!(
                "task speed must be `instant` or a positive number, not `{s}`"
            )),
        }
    }
}

/// How a database file's commits reach the disk (SQLite's `synchronous` in WAL mode).
/// `off` is the default: a WAL checkpoint's fsyncs took 27-159 ms on ordinary disks,
/// during which every write waits, and an emulator's state needs to survive its own crash,
/// which `off` does, more than a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SyncMode {
    #[default]
    Off,
    Normal,
    Full,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s3_endpoint_listens_on_8054_by_default_and_off_disables_it() {
        assert_eq!(
            Config::for_tests().s3_listen.0,
            Some("127.0.0.1:8054".parse().expect("addr"))
        );
        let c = Config::parse_from(["hostkey-emu", "--s3-listen", "off", "--s3-quota-bytes", "5"]);
        assert_eq!((c.s3_listen.0, c.s3_quota_bytes), (None, Some(5)));
        assert!(Config::try_parse_from(["hostkey-emu", "--s3-listen", "nowhere"]).is_err());
        assert_eq!(
            Config::for_tests().f2h_listen.0,
            Some("127.0.0.1:8000".parse().expect("addr"))
        );
        let c = Config::parse_from(["hostkey-emu", "--f2h-listen", "off"]);
        assert_eq!(c.f2h_listen.0, None);
        assert_eq!(
            Config::for_tests().hestia_listen.0,
            Some("127.0.0.1:8083".parse().expect("addr"))
        );
        let c = Config::parse_from(["hostkey-emu", "--hestia-listen", "off"]);
        assert_eq!(c.hestia_listen.0, None);
    }

    #[test]
    fn a_listener_beyond_loopback_gets_a_generated_token_and_loopback_stays_open() {
        let addr = |s: &str| s.parse::<SocketAddr>().expect("addr");
        let mut config = Config::for_tests();
        assert!(config
            .secure_control_plane(&[addr("127.0.0.1:8080"), addr("[::1]:8080")])
            .is_none());
        assert!(config.admin_token.is_none(), "loopback stays open");
        let generated = config
            .secure_control_plane(&[addr("127.0.0.1:8080"), addr("0.0.0.0:8080")])
            .expect("generated");
        assert_eq!(generated.reveal().len(), 64);
        assert!(config
            .admin_token
            .as_ref()
            .expect("set")
            .matches(generated.reveal()));
        assert!(
            config
                .secure_control_plane(&[addr("0.0.0.0:8080")])
                .is_none(),
            "a token already set is kept"
        );
        assert_ne!(AdminToken::generate().reveal(), generated.reveal());
    }

    #[test]
    fn the_admin_token_matches_itself_only_and_never_shows_in_debug() {
        let token: AdminToken = " s3cret-Token ".parse().expect("token");
        assert!(token.matches("s3cret-Token"));
        for wrong in [
            "",
            "s3cret-token",
            "s3cret-Token ",
            "s3cret-Tokenx",
            "s3cret",
        ] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
        assert_eq!(format!("{token:?}"), "AdminToken(<redacted>)");
        let config = Config::parse_from(["hostkey-emu", "--admin-token", "s3cret-Token"]);
        assert!(!format!("{config:?}").contains("s3cret"));
        for bad in ["", "   ", "two words", "tab\there"] {
            assert!(bad.parse::<AdminToken>().is_err(), "{bad:?}");
        }
    }
}
