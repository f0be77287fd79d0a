//! The `hostkey-emu scenario` one-off commands: `check FILE` (parse, check and load into a
//! throw-away database, each problem with the path of the bad field), `export [--out FILE]`
//! (the `--db` database as a scenario file) and `schema` (the format's JSON Schema).

use crate::config::{Config, ScenarioCommand};
use crate::domain::scenario::{self, ScenarioInfo};
use crate::secrets::Hasher;
use crate::store;

/// The most problems `scenario check` lists.
const MOST_PROBLEMS: usize = 50;

type Failure = Box<dyn std::error::Error>;

/// Runs a `scenario` command; `Ok(Some(line))`: a last line for stdout.
pub async fn run(config: &Config, command: ScenarioCommand) -> Result<Option<String>, Failure> {
    match command {
        ScenarioCommand::Schema => {
            print!("{}", scenario::schema_text());
            Ok(None)
        }
        ScenarioCommand::Check { file } => match check(&file).await {
            Ok(summary) => Ok(Some(summary)),
            Err(problems) => {
                for p in &problems {
                    eprintln!("{p}");
                }
                let n = problems.len();
                let s = if n == 1 { "" } else { "s" };
                Err(format!("scenario {file}: {n} problem{s}").into())
            }
        },
        ScenarioCommand::Export { out } => {
            let (text, summary, left_out) = export(config).await?;
            for line in &left_out {
                eprintln!("left out: {line}");
            }
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    Ok(Some(format!("{summary} to {}", path.display())))
                }
                None => {
                    print!("{text}");
                    eprintln!("{summary}");
                    Ok(None)
                }
            }
        }
    }
}

/// `scenario check`: a scenario given as `--scenario` takes it is parsed, checked, then
/// loaded into a throw-away in-memory database (which finds what only loading can, such
/// as an F2HCloud key naming a server that has no such hostname). `Ok`: the summary line;
/// `Err`: every problem found, one line each, starting with the bad field's path.
pub async fn check(name_or_path: &str) -> Result<String, Vec<String>> {
    let info = ScenarioInfo::read(name_or_path).map_err(|e| vec![e])?;
    let sc = info.parse().map_err(|e| vec![e])?;
    let problems = sc.problems(MOST_PROBLEMS);
    if !problems.is_empty() {
        return Err(problems.iter().map(ToString::to_string).collect());
    }
    let db = store::open(":memory:")
        .await
        .map_err(|e| vec![format!("database: {e}")])?;
    // Cheap costs: a throw-away database.
    let hasher = Hasher::new(64);
    let now = chrono::Utc::now().timestamp();
    store::scenario::load_text(&sc, info.generated, &db, &hasher, now)
        .await
        .map_err(|e| vec![e.to_string()])?;
    db.close().await;
    let servers = sc.servers.len() + info.generated.unwrap_or(0) as usize;
    Ok(format!(
        "OK: scenario {} ({name_or_path}): {}, {}, {}, {}",
        sc.name,
        count(sc.locations.len(), "location"),
        count(sc.subnets.len(), "subnet"),
        count(sc.accounts.len(), "account"),
        count(servers, "server"),
    ))
}

/// `1 server`, `2 servers`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `scenario export`: the `--db` database at the emulator's clock as scenario text, a
/// summary line and what had to be left out. The keys of `--scenario` (the scenario the
/// database was loaded from) are exported in clear where the database holds their digest,
/// and so are its accounts' passwords and PINs where they still match.
pub async fn export(config: &Config) -> Result<(String, String, Vec<String>), Failure> {
    if config.db == ":memory:" || !std::path::Path::new(&config.db).is_file() {
        return Err(format!(
            "scenario export needs an existing database file (--db; {} is none)",
            config.db
        )
        .into());
    }
    let db = store::open_with(&config.db, config.sync).await?;
    let offset = store::meta_get(&db, "clock_offset_ms")
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let now = crate::clock::Clock::with_offset(offset).now();
    let known = ScenarioInfo::read(&config.scenario).and_then(|info| {
        let sc = info.parse()?;
        Ok(sc.accounts.clone())
    });
    let (known, mut left_out) = match known {
        Ok(accounts) => (accounts, Vec::new()),
        Err(e) => (
            Vec::new(),
            vec![format!("no keys or passwords in clear: {e}")],
        ),
    };
    let keys: Vec<String> = known
        .iter()
        .flat_map(|a| {
            a.api_keys
                .iter()
                .map(|k| k.key.clone())
                .chain(a.f2h_keys.iter().map(|k| k.key.clone()))
        })
        .collect();
    let mut out = store::scenario_export::export(&db, now, &keys).await?;
    db.close().await;
    // Clear passwords and PINs where the scenario's still match (the start-up banner
    // shows the first account's).
    let hasher = Hasher::new(config.argon2_memory_kib);
    for a in &mut out.scenario.accounts {
        let Some(k) = known.iter().find(|k| k.handle == a.handle) else {
            continue;
        };
        if let Some(phc) = &a.password_hash {
            if !k.password.is_empty() && hasher.verify(&k.password, phc).await {
                a.password = k.password.clone();
            }
        }
        if let (Some(pin), Some(phc)) = (&k.pin, &a.pin_hash) {
            if hasher.verify(pin, phc).await {
                a.pin = Some(pin.clone());
            }
        }
    }
    left_out.append(&mut out.left_out);
    let mut text = serde_json::to_string_pretty(&out.scenario)?;
    text.push('\n');
    let summary = format!(
        "exported {} ({}, {})",
        config.db,
        count(out.scenario.accounts.len(), "account"),
        count(out.scenario.servers.len(), "server"),
    );
    Ok((text, summary, left_out))
}
