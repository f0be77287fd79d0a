//! The scenario loader: fills an empty database with a scenario (`domain::scenario`), at
//! first start and at `/_emu/reset`. Secrets are stored only as hashes and digests.

use ipnet::Ipv4Net;

use crate::domain::hardware::HardwareSpec;
use crate::domain::scenario::ScenarioText;
use crate::domain::scenario::{large, Checker, IpSpec, Scenario, ServerSource, TagSpec};
use crate::domain::scenario::{midnight, parse_cents};
use crate::error::{Error, Result};
use crate::secrets::{self, Hasher};
use crate::store::{self, api_keys::KeyFields, sql, Db};

/// One value of a row to insert.
#[derive(Debug, Clone)]
enum Cell {
    Int(i64),
    Real(f64),
    Text(String),
    Null,
}

impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::Int(v)
    }
}
impl From<f64> for Cell {
    fn from(v: f64) -> Cell {
        Cell::Real(v)
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Cell {
        Cell::Text(v)
    }
}
impl From<&String> for Cell {
    fn from(v: &String) -> Cell {
        Cell::Text(v.clone())
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Cell {
        Cell::Text(v.to_owned())
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Cell {
        v.map_or(Cell::Null, Into::into)
    }
}

/// The rows of one table, inserted many to a statement.
struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    cells: Vec<Cell>,
}

/// Rows per `INSERT` statement, at least. Full statements share one text, so the
/// connection compiles it once and keeps it (a statement of thousands of rows compiled each
/// time cost more than the rows' own insertion); the last, shorter one is compiled for its
/// single use.
const ROWS_PER_STATEMENT: usize = 64;

/// Values per `INSERT` statement (a quarter of SQLite's limit of 32766 variables): each
/// statement costs a round trip to sqlx's SQLite thread whatever its size, so a table puts
/// as many rows in one as this allows (315 servers, 1170 tags), never fewer than
/// [`ROWS_PER_STATEMENT`]. Loading 10,000 servers took 1.0 s with 64 rows to a statement,
/// 0.85 s with 2048 values and 0.8 s with 8192, more gaining nothing (measured before the
/// hardware was rendered once per kind).
const VALUES_PER_STATEMENT: usize = 8192;

impl Rows {
    fn new(table: &'static str, columns: &'static [&'static str]) -> Rows {
        Rows {
            table,
            columns,
            cells: Vec::new(),
        }
    }

    /// Adds a row; its values in the order of the columns.
    fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "{}", self.table);
        self.cells.extend(row);
    }

    /// Rows in each full statement of this table.
    fn rows_per_statement(&self) -> usize {
        ROWS_PER_STATEMENT.max(VALUES_PER_STATEMENT / self.columns.len())
    }

    /// Inserts every row, [`Rows::rows_per_statement`] to a statement. The values move
    /// into the statement's arguments (text bound by value is not copied again on its way
    /// to sqlx's SQLite thread, as borrowed text would be).
    async fn insert(self, conn: &mut sqlx::SqliteConnection) -> Result<()> {
        let width = self.columns.len();
        let per_statement = self.rows_per_statement();
        let one = format!("({})", vec!["?"; width].join(", "));
        let text = |rows: usize| {
            format!(
                "INSERT INTO {} ({}) VALUES {}",
                self.table,
                self.columns.join(", "),
                vec![one.as_str(); rows].join(", ")
            )
        };
        let full = text(per_statement);
        let mut cells = self.cells.into_iter().peekable();
        while cells.peek().is_some() {
            let chunk = cells.by_ref().take(per_statement * width);
            let rows = chunk.len() / width;
            let last;
            let mut q = if rows == per_statement {
                sql::query(&full)
            } else {
                last = text(rows);
                sql::query(&last).persistent(false)
            };
            for c in chunk {
                q = match c {
                    Cell::Int(v) => q.bind(v),
                    Cell::Real(v) => q.bind(v),
                    Cell::Text(v) => q.bind(v),
                    Cell::Null => q.bind(None::<i64>),
                };
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// What the database keeps of an account's secret: the precomputed PHC string when it has
/// the emulator's costs, else a hash of the clear secret, else the precomputed one as it is.
async fn stored_secret(
    hasher: &Hasher,
    clear: Option<&str>,
    precomputed: Option<&str>,
) -> Result<Option<String>> {
    Ok(match (precomputed, clear.filter(|c| !c.is_empty())) {
        (Some(phc), _) if hasher.has_costs_of(phc) => Some(phc.to_owned()),
        (_, Some(clear)) => Some(hasher.hash(clear).await?),
        (Some(phc), None) => Some(phc.to_owned()),
        (None, None) => None,
    })
}

/// Fills an empty database with this scenario, in one transaction: the secrets are hashed
/// first (in parallel, on the hasher's pool; none for precomputed ones), then every table's
/// rows go in with as few statements as SQLite allows, the servers' a batch at a time.
///
/// The servers are checked as they go in ([`Checker`]); a server that breaks a rule ends the
/// load with [`Error::Invalid`] and the transaction is rolled back, so a scenario whose
/// servers are still text ([`ScenarioText`]) is parsed once.
pub async fn load<S: ServerSource + Sync>(
    sc: &Scenario<S>,
    db: &Db,
    hasher: &Hasher,
    now: i64,
) -> Result<()> {
    let mut checker = sc.checker().map_err(Error::Invalid)?;
    let hashed = futures_util::future::try_join_all(sc.accounts.iter().map(|a| async move {
        let pw = stored_secret(hasher, Some(&a.password), a.password_hash.as_deref()).await?;
        let pin = stored_secret(hasher, a.pin.as_deref(), a.pin_hash.as_deref()).await?;
        Ok::<_, Error>((pw.unwrap_or_default(), pin))
    }))
    .await?;

    let mut locations = Rows::new(
        "locations",
        &["code", "id", "name", "dc_name", "country", "company"],
    );
    for l in &sc.locations {
        locations.push(vec![
            (&l.code).into(),
            l.id.into(),
            (&l.name).into(),
            (&l.dc_name).into(),
            (&l.country).into(),
            l.company.join("\n").into(),
        ]);
    }
    let mut subnets = Rows::new(
        "subnets",
        &[
            "id", "location", "network", "cidr", "gateway", "vlan", "kind", "tag",
        ],
    );
    for s in &sc.subnets {
        let net: Ipv4Net = s
            .network
            .parse()
            .map_err(|_| Error::internal("bad subnet"))?;
        subnets.push(vec![
            s.id.into(),
            (&s.location).into(),
            net.network().to_string().into(),
            i64::from(net.prefix_len()).into(),
            (&s.gateway).into(),
            s.vlan.into(),
            (&s.kind).into(),
            s.stored_tag().into(),
        ]);
    }
    let mut accounts = Rows::new(
        "accounts",
        &[
            "id",
            "handle",
            "whmcs_id",
            "email",
            "password_hash",
            "firstname",
            "lastname",
            "companyname",
            "address1",
            "address2",
            "city",
            "state",
            "postcode",
            "country",
            "phonenumber",
            "currency_code",
            "credit_cents",
            "corporate",
            "verified",
            "pin_hash",
            "created_at",
            "billing_profile",
        ],
    );
    let mut tags = Rows::new("tags", TAG_COLUMNS);
    for (a, (pw, pin)) in sc.accounts.iter().zip(hashed) {
        accounts.push(vec![
            a.id.into(),
            (&a.handle).into(),
            a.whmcs_id.into(),
            (&a.email).into(),
            pw.into(),
            (&a.firstname).into(),
            (&a.lastname).into(),
            (&a.companyname).into(),
            (&a.address1).into(),
            (&a.address2).into(),
            (&a.city).into(),
            (&a.state).into(),
            (&a.postcode).into(),
            (&a.country).into(),
            (&a.phonenumber).into(),
            (&a.currency_code).into(),
            parse_cents(&a.credit).into(),
            a.corporate.into(),
            a.verified.into(),
            pin.into(),
            // Provisional when the account's age follows its servers: set once they are in.
            (now - checker.account_age_days(a) * 86400).into(),
            a.billing
                .as_ref()
                .map(|b| b.to_string())
                .unwrap_or_else(|| "{}".into())
                .into(),
        ]);
        for t in &a.tags {
            tag_row(&mut tags, "customers", a.id, t, now);
        }
    }
    let location_list = sc
        .locations
        .iter()
        .map(|l| l.code.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let owners: std::collections::HashMap<&str, i64> = sc
        .accounts
        .iter()
        .map(|a| (a.handle.as_str(), a.id))
        .collect();
    let mut tx = store::begin_write(db).await?;
    store::meta_set(&mut *tx, "scenario", &sc.name).await?;
    for rows in [locations, subnets, accounts, tags] {
        rows.insert(&mut tx).await?;
    }
    // Servers go in by batches, each batch's rows built while the previous one is written,
    // so that the rows in memory stay a batch's whatever the scenario's size. Building
    // yields after each server: sqlx runs the statements on its own thread, and the next
    // one is handed to it as soon as the last is done rather than after the whole batch.
    let servers_started = std::time::Instant::now();
    let mut builder = ServerBuilder {
        checker: &mut checker,
        owners: &owners,
        location_list: &location_list,
        now,
        hardware: Default::default(),
        spent: std::time::Duration::ZERO,
    };
    let mut pending: Option<ServerRows> = None;
    for (i, batch) in sc.servers.chunks(SERVERS_PER_BATCH).enumerate() {
        let build = builder.rows(i * SERVERS_PER_BATCH, batch);
        let rows = match pending.take() {
            Some(previous) => {
                let (written, built) = tokio::join!(previous.insert(&mut tx), build);
                written?;
                built?
            }
            None => build.await?,
        };
        pending = Some(rows);
    }
    if let Some(rows) = pending {
        rows.insert(&mut tx).await?;
    }
    tracing::debug!(
        servers_ms = servers_started.elapsed().as_millis(),
        building_ms = builder.spent.as_millis(),
        "scenario servers inserted"
    );
    for a in sc.accounts.iter().filter(|a| a.created_days_ago.is_none()) {
        let days = checker.account_age_days(a);
        if days != 30 {
            store::accounts::set_created_at(&mut *tx, a.id, now - days * 86400).await?;
        }
    }
    for a in &sc.accounts {
        for k in &a.api_keys {
            let fields = KeyFields {
                name: k.name.clone(),
                server_id: k.server_id,
                ip: k.ip.clone(),
                login_notify_method: k.login_notify_method.clone(),
                login_notify_address: k.login_notify_address.clone(),
                active: k.active,
            };
            let view: String = k.key.chars().take(4).collect();
            let created = now - 30 * 86400;
            store::api_keys::insert(
                &mut *tx,
                Some(k.id),
                a.id,
                &fields,
                &secrets::digest(&k.key),
                &view,
                created,
            )
            .await?;
            let json = serde_json::json!({"name": k.name, "ip": k.ip, "login_notify_method": k.login_notify_method,
                "active": k.active.to_string(), "server_id": k.server_id.to_string()});
            store::api_keys::add_history(
                &mut *tx,
                k.id,
                a.id,
                created,
                &format!("Created new api_key {}. json:{json}", k.id),
                "action",
                &a.email,
            )
            .await?;
        }
    }
    for (i, a) in sc.accounts.iter().enumerate() {
        load_f2h(&mut tx, i, a, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Fills an empty database with a scenario as `ScenarioInfo` keeps it: `sc` is its
/// parsed text (`ScenarioInfo::parse`); a generated scenario's servers (`large:N`) are
/// made as the loader reaches them.
pub async fn load_text(
    sc: &ScenarioText<'_>,
    generated: Option<u32>,
    db: &Db,
    hasher: &Hasher,
    now: i64,
) -> Result<()> {
    match generated {
        Some(n) => {
            let sc = sc.clone().with_servers(large::servers(n));
            load(&sc, db, hasher, now).await
        }
        None => load(sc, db, hasher, now).await,
    }
}

/// The account's F2HCloud keys (the secret as a digest only) and anti-hack bans; their
/// servers are named by hostname, so they go in after the servers.
async fn load_f2h(
    tx: &mut store::WriteTx,
    index: usize,
    a: &crate::domain::scenario::AccountSpec,
    now: i64,
) -> Result<()> {
    use crate::domain::f2h::{parse_capabilities, parse_cidrs, parse_key};
    for (i, k) in a.f2h_keys.iter().enumerate() {
        let what = format!("accounts[{index}].f2h_keys[{i}]");
        let (id, secret) = parse_key(&k.key).ok_or_else(|| {
            Error::Invalid(format!("{what}.key: key is not f2h.<16 hex>.<secret>"))
        })?;
        let caps = parse_capabilities(&k.capabilities)
            .map_err(|e| Error::Invalid(format!("{what}.capabilities: {e}")))?;
        let cidrs =
            parse_cidrs(&k.cidrs).map_err(|e| Error::Invalid(format!("{what}.cidrs: {e}")))?;
        let mut ids = Vec::new();
        for (j, host) in k.servers.iter().enumerate() {
            let id = store::f2h::server_by_hostname(&mut **tx, a.id, host)
                .await?
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "{what}.servers[{j}]: no server of account {} named '{host}'",
                        a.handle
                    ))
                })?;
            ids.push(id);
        }
        if ids.is_empty() {
            return Err(Error::Invalid(format!(
                "{what}.servers: at least one server"
            )));
        }
        store::f2h::insert_key(
            &mut **tx,
            &store::f2h::F2hKey {
                id: id.to_owned(),
                account_id: a.id,
                secret_digest: secrets::digest(secret),
                label: k.label.clone(),
                server_ids: serde_json::to_string(&ids)?,
                cidrs: serde_json::to_string(&cidrs)?,
                capabilities: serde_json::to_string(&caps)?,
                created_at: now - 7 * 86400,
                last_used_at: None,
                revoked_at: None,
            },
        )
        .await?;
    }
    for (i, b) in a.f2h_bans.iter().enumerate() {
        let what = format!("accounts[{index}].f2h_bans[{i}]");
        let ip: std::net::IpAddr =
            b.ip.parse()
                .map_err(|_| Error::Invalid(format!("{what}.ip: '{}' is no address", b.ip)))?;
        let id = store::f2h::server_by_hostname(&mut **tx, a.id, &b.server)
            .await?
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{what}.server: no server of account {} named '{}'",
                    a.handle, b.server
                ))
            })?;
        let expires = now + b.expires_in_minutes.max(1) * 60;
        store::f2h::insert_ban(&mut **tx, id, &ip.to_string(), &b.jail, now - 600, expires).await?;
    }
    Ok(())
}

/// Servers per batch of rows built and inserted together.
const SERVERS_PER_BATCH: usize = 500;

/// The rows of a batch of servers: the servers, their interfaces, addresses, blocks, tags
/// and Hestia panels.
struct ServerRows([Rows; 6]);

/// Makes the rows of the servers, a batch at a time.
struct ServerBuilder<'a, 'c> {
    checker: &'a mut Checker<'c>,
    /// Account ids by handle.
    owners: &'a std::collections::HashMap<&'c str, i64>,
    /// The location codes, as the rendered hardware lists them.
    location_list: &'a str,
    now: i64,
    /// The `hwconfig` and rendered `hardware` of each kind of hardware met so far (at most
    /// [`HARDWARE_KINDS`]): servers of one preset share their hardware, and rendering it
    /// was the largest part of making a server's rows.
    /// Indexed by `vm` (0 or 1).
    hardware: [std::collections::HashMap<HardwareSpec, (String, String)>; 2],
    /// Time spent building (not waiting).
    spent: std::time::Duration,
}

/// Kinds of hardware whose rendering the loader keeps.
const HARDWARE_KINDS: usize = 256;

impl ServerBuilder<'_, '_> {
    /// The `hwconfig` and the rendered `hardware` of a server.
    fn hardware(&mut self, hw: &HardwareSpec, vm: bool) -> (String, String) {
        let known = &mut self.hardware[usize::from(vm)];
        if let Some(made) = known.get(hw) {
            return made.clone();
        }
        let made = (hw.config(vm), hw.render(vm, self.location_list).to_string());
        if known.len() < HARDWARE_KINDS {
            known.insert(hw.clone(), made.clone());
        }
        made
    }

    /// Parses and checks a batch of servers, `first` the index of its first one, then
    /// makes their rows; yields after each server.
    async fn rows<S: ServerSource>(&mut self, first: usize, batch: &[S]) -> Result<ServerRows> {
        let now = self.now;
        let mut servers = Rows::new(
            "servers",
            &[
                "id",
                "account_id",
                "location",
                "kind",
                "type",
                "status",
                "power",
                "control",
                "ipmi_model",
                "preset",
                "preset_description",
                "hwconfig",
                "hardware",
                "groups",
                "licenses",
                "os",
                "reg_date",
                "due_date",
                "billing_cycle",
                "recurring_cents",
                "limit_traffic",
                "cost_traffic",
                "limit_bands",
                "traffic_in_gb",
                "traffic_out_gb",
                "created_at",
            ],
        );
        let mut interfaces = Rows::new(
            "interfaces",
            &[
                "id",
                "server_id",
                "type",
                "mac",
                "is_main",
                "is_virt",
                "switch_owner",
                "switch_model",
                "switch_port",
                "speed",
                "status",
                "blocked_by",
                "block_reason",
            ],
        );
        let mut ips = Rows::new(
            "ips",
            &[
                "address",
                "subnet_id",
                "server_id",
                "port",
                "main_ip",
                "description",
                "license_id",
                "license_name",
                "updated_at",
            ],
        );
        let mut blocks = Rows::new(
            "ip_blocks",
            &["address", "server_id", "kind", "description", "created_at"],
        );
        let mut tags = Rows::new("tags", TAG_COLUMNS);
        // Filled by the Hestia face the first time it is asked for the panel (`admin_seed`).
        let mut panels = Rows::new(
            "hestia_panels",
            &[
                "server_id",
                "hostname",
                "ip",
                "api",
                "api_system",
                "api_allowed_ip",
                "created_at",
                "admin_seed",
            ],
        );
        for (i, source) in batch.iter().enumerate() {
            if i > 0 {
                tokio::task::yield_now().await;
            }
            let started = std::time::Instant::now();
            let at = first + i;
            let s = source
                .spec()
                .map_err(|e| Error::Invalid(e.under(&format!("servers[{at}]")).to_string()))?;
            let s = s.as_ref();
            self.checker
                .server(at, s)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            let account_id = s
                .account
                .as_deref()
                .and_then(|h| self.owners.get(h).copied());
            let vm = s.kind == "vm";
            let (hwconfig, hardware) = self.hardware(&s.hardware, vm);
            servers.push(vec![
                s.id.into(),
                account_id.into(),
                (&s.location).into(),
                (&s.kind).into(),
                (&s.server_type).into(),
                (&s.status).into(),
                (&s.power).into(),
                (&s.control).into(),
                (&s.ipmi_model).into(),
                (&s.preset).into(),
                (&s.preset_description).into(),
                hwconfig.into(),
                hardware.into(),
                serde_json::to_string(&s.groups)?.into(),
                serde_json::to_string(&s.licenses)?.into(),
                s.os.as_ref().map(|o| o.to_string()).into(),
                (midnight(now) - s.registered_days_ago * 86400).into(),
                s.due_date(now).into(),
                (&s.billing_cycle).into(),
                parse_cents(&s.recurring).into(),
                s.limit_traffic.into(),
                s.cost_traffic.into(),
                s.limit_bands.into(),
                s.traffic_in_gb.into(),
                s.traffic_out_gb.into(),
                (now - s.registered_days_ago * 86400).into(),
            ]);
            for i in &s.interfaces {
                interfaces.push(vec![
                    i.id.into(),
                    s.id.into(),
                    (&i.iface_type).into(),
                    (&i.mac).into(),
                    i64::from(i.main).into(),
                    i64::from(i.virt).into(),
                    (&i.switch_owner).into(),
                    (&i.switch_model).into(),
                    (&i.switch_port).into(),
                    i.speed.into(),
                    if i.admin_block.is_some() {
                        "disable"
                    } else {
                        "enable"
                    }
                    .into(),
                    i.admin_block.as_ref().map(|_| "admin").into(),
                    i.admin_block.clone().unwrap_or_default().into(),
                ]);
                for ip in &i.ips {
                    ip_rows(
                        &mut ips,
                        &mut blocks,
                        self.checker,
                        s.id,
                        &i.iface_type,
                        ip,
                        now,
                    )?;
                }
            }
            if let Some(ipmi) = &s.ipmi {
                interfaces.push(vec![
                    ipmi.id.into(),
                    s.id.into(),
                    "ipmi".into(),
                    (&ipmi.mac).into(),
                    0i64.into(),
                    0i64.into(),
                    "".into(),
                    "ipmi".into(),
                    "".into(),
                    1000i64.into(),
                    "enable".into(),
                    Cell::Null,
                    "".into(),
                ]);
                let spec = IpSpec {
                    address: ipmi.ip.clone(),
                    main: false,
                    description: String::new(),
                    license_id: None,
                    license_name: None,
                    admin_block: None,
                };
                ip_rows(
                    &mut ips,
                    &mut blocks,
                    self.checker,
                    s.id,
                    "ipmi",
                    &spec,
                    now,
                )?;
            }
            for t in &s.tags {
                tag_row(&mut tags, "eq", s.id, t, now);
            }
            if let Some(h) = &s.hestia {
                let hostname = s
                    .tags
                    .iter()
                    .find(|t| t.tag == "hostname")
                    .map_or_else(|| s.id.to_string(), |t| t.value.clone());
                let ip = s
                    .interfaces
                    .iter()
                    .flat_map(|i| &i.ips)
                    .find(|ip| ip.main)
                    .map(|ip| ip.address.clone())
                    .unwrap_or_default();
                panels.push(vec![
                    s.id.into(),
                    hostname.into(),
                    ip.into(),
                    (&h.api).into(),
                    (&h.api_system).into(),
                    (&h.api_allowed_ip).into(),
                    (now - s.registered_days_ago * 86400).into(),
                    (&h.admin_password_hash).into(),
                ]);
            }
            self.spent += started.elapsed();
        }
        Ok(ServerRows([servers, interfaces, ips, blocks, tags, panels]))
    }
}

impl ServerRows {
    async fn insert(self, conn: &mut sqlx::SqliteConnection) -> Result<()> {
        for rows in self.0 {
            rows.insert(&mut *conn).await?;
        }
        Ok(())
    }
}

/// The columns of a tag's row.
const TAG_COLUMNS: &[&str] = &[
    "id",
    "component",
    "component_id",
    "tag",
    "value",
    "extra",
    "internal",
];

/// A tag's row.
fn tag_row(tags: &mut Rows, component: &str, id: i64, t: &TagSpec, now: i64) {
    let extra = match t.extra_days_ago {
        Some(days) => (now - days * 86400).to_string(),
        None => t.extra.clone(),
    };
    tags.push(vec![
        t.id.into(),
        component.into(),
        id.into(),
        (&t.tag).into(),
        (&t.value).into(),
        extra.into(),
        t.internal.into(),
    ]);
}

/// An address's row, and its block's when it has an admin block.
fn ip_rows(
    ips: &mut Rows,
    blocks: &mut Rows,
    checker: &Checker<'_>,
    server_id: i64,
    port: &str,
    ip: &IpSpec,
    now: i64,
) -> Result<()> {
    let subnet = ip
        .address
        .parse()
        .ok()
        .and_then(|a| checker.subnet(a))
        .map(|(_, s)| s)
        .ok_or_else(|| Error::internal(format!("{} is in no subnet", ip.address)))?;
    ips.push(vec![
        (&ip.address).into(),
        subnet.id.into(),
        server_id.into(),
        port.into(),
        i64::from(ip.main).into(),
        (&ip.description).into(),
        ip.license_id.into(),
        ip.license_name.clone().into(),
        (now - 86400 * 13).into(),
    ]);
    if let Some(reason) = &ip.admin_block {
        blocks.push(vec![
            (&ip.address).into(),
            server_id.into(),
            "admin".into(),
            reason.into(),
            (now - 86400 * 3).into(),
        ]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

    #[tokio::test]
    async fn the_demo_scenario_loads() {
        let db = store::open(":memory:").await.expect("db");
        let s = Scenario::resolve("demo").expect("demo");
        load(&s, &db, &Hasher::new(64), 1_700_000_000)
            .await
            .expect("loads");
        assert!(!store::is_empty(&db).await.expect("count"));
    }

    #[tokio::test]
    async fn the_demo_hashes_are_those_of_its_secrets() {
        let s = Scenario::resolve("demo").expect("demo");
        let h = Hasher::new(19456);
        for a in &s.accounts {
            let pw = a.password_hash.as_deref().expect("precomputed password");
            let pin = a.pin_hash.as_deref().expect("precomputed PIN");
            assert!(h.has_costs_of(pw) && h.has_costs_of(pin), "{}", a.handle);
            assert!(h.verify(&a.password, pw).await, "{} password", a.handle);
            assert!(
                h.verify(a.pin.as_deref().expect("pin"), pin).await,
                "{} PIN",
                a.handle
            );
            assert!(!h.verify("wrong", pw).await);
        }
    }

    #[tokio::test]
    async fn precomputed_hashes_are_stored_only_when_their_costs_are_the_emulators() {
        let s = Scenario::resolve("demo").expect("demo");
        let stored = |db: Db| async move {
            sql::query_scalar::<String>("SELECT password_hash FROM accounts WHERE handle = 'demo'")
                .fetch_one(&db)
                .await
                .expect("hash")
        };
        let db = store::open(":memory:").await.expect("db");
        let default = Hasher::new(19456);
        load(&s, &db, &default, 1_700_000_000).await.expect("loads");
        assert_eq!(Some(stored(db).await), s.accounts[0].password_hash);
        // Other costs (the tests' cheap ones): the clear password is hashed with them.
        let db = store::open(":memory:").await.expect("db");
        let cheap = Hasher::new(64);
        load(&s, &db, &cheap, 1_700_000_000).await.expect("loads");
        let phc = stored(db).await;
        assert!(cheap.has_costs_of(&phc), "{phc}");
        assert!(cheap.verify("Demo-pass-1", &phc).await);
    }

    /// Every row of the tables a scenario fills, as text, in insertion order.
    async fn dump(db: &Db) -> Vec<String> {
        let mut out = Vec::new();
        for table in [
            "locations",
            "subnets",
            "accounts",
            "servers",
            "interfaces",
            "ips",
            "ip_blocks",
            "tags",
            "api_keys",
        ] {
            let columns: Vec<String> =
                sql::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(db)
                    .await
                    .expect("columns");
            let row = columns
                .iter()
                .map(|c| format!("quote({c})"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let rows: Vec<String> =
                sql::query_scalar(&format!("SELECT {row} FROM {table} ORDER BY rowid"))
                    .fetch_all(db)
                    .await
                    .expect("rows");
            out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
        }
        out
    }

    #[tokio::test]
    async fn a_scenario_as_text_loads_the_same_rows_as_the_parsed_one() {
        // Without given ages, accounts are opened a month before their oldest server, which
        // the loader knows only once every server is in.
        let mut doc: serde_json::Value =
            serde_json::from_str(crate::domain::scenario::DEMO).expect("demo");
        for a in doc["accounts"].as_array_mut().expect("accounts") {
            a.as_object_mut()
                .expect("account")
                .remove("created_days_ago");
        }
        let text = doc.to_string();
        let parsed: Scenario = serde_json::from_str(&text).expect("parse");
        parsed.check().expect("consistent");
        let hasher = Hasher::new(19456);
        let now = 1_700_000_000;
        let from_parsed = store::open(":memory:").await.expect("db");
        load(&parsed, &from_parsed, &hasher, now)
            .await
            .expect("loads");
        let from_text = store::open(":memory:").await.expect("db");
        let sc = crate::domain::scenario::ScenarioText::parse(&text, "t").expect("parse");
        load(&sc, &from_text, &hasher, now).await.expect("loads");
        let rows = dump(&from_text).await;
        assert!(rows.len() > 100, "{} rows", rows.len());
        assert_eq!(rows, dump(&from_parsed).await);
        for a in &parsed.accounts {
            let created: i64 = sql::query_scalar("SELECT created_at FROM accounts WHERE id = ?")
                .bind(a.id)
                .fetch_one(&from_text)
                .await
                .expect("account");
            assert_eq!(
                created,
                now - parsed.account_age_days(a) * 86400,
                "{}",
                a.handle
            );
        }
        assert!(
            parsed
                .accounts
                .iter()
                .any(|a| parsed.account_age_days(a) > 30),
            "an account whose age comes from its servers"
        );
    }

    #[tokio::test]
    async fn a_server_that_breaks_a_rule_ends_the_load_and_leaves_nothing() {
        let mut doc: serde_json::Value =
            serde_json::from_str(crate::domain::scenario::DEMO).expect("demo");
        let servers = doc["servers"].as_array_mut().expect("servers");
        let first_mac = servers[0]["interfaces"][0]["mac"].clone();
        let last = servers.last_mut().expect("a server");
        last["interfaces"][0]["mac"] = first_mac;
        let text = doc.to_string();
        let sc = crate::domain::scenario::ScenarioText::parse(&text, "t").expect("parse");
        let db = store::open(":memory:").await.expect("db");
        let e = load(&sc, &db, &Hasher::new(64), 1_700_000_000)
            .await
            .expect_err("refused");
        assert!(
            matches!(&e, Error::Invalid(m) if m.contains("duplicate MAC")),
            "{e:?}"
        );
        assert!(store::is_empty(&db).await.expect("count"), "rolled back");
        assert_eq!(sc.check().expect_err("the same rule"), e.to_string());
        // A server that is not one at all.
        let mut doc: serde_json::Value =
            serde_json::from_str(crate::domain::scenario::DEMO).expect("demo");
        doc["servers"][2]["interfaces"] = serde_json::json!("none");
        let text = doc.to_string();
        let sc = crate::domain::scenario::ScenarioText::parse(&text, "t").expect("parse");
        let e = load(&sc, &db, &Hasher::new(64), 1_700_000_000)
            .await
            .expect_err("refused");
        assert!(
            e.to_string().starts_with(
                "servers[2].interfaces: invalid type: string \"none\", expected a sequence"
            ),
            "{e}"
        );
        assert_eq!(sc.check().expect_err("the same"), e.to_string());
        assert!(store::is_empty(&db).await.expect("count"), "rolled back");
    }

    #[tokio::test]
    async fn servers_sharing_their_hardware_keep_each_its_own_rendering() {
        // Demo servers plus two copies of each (same hardware): one of the same kind, one
        // made a VM or not the other way round. What is kept must follow the spec and `vm`.
        let mut doc: serde_json::Value =
            serde_json::from_str(crate::domain::scenario::DEMO).expect("demo");
        let servers = doc["servers"].as_array_mut().expect("servers");
        let mut copies = Vec::new();
        for (i, s) in servers.iter().enumerate() {
            for flip in [false, true] {
                let n = 2 * i + usize::from(flip);
                let mut c = s.clone();
                c["id"] = serde_json::json!(70_000 + n);
                if flip {
                    c["kind"] = serde_json::json!(if s["kind"] == "vm" { "bm" } else { "vm" });
                }
                c["ipmi"] = serde_json::Value::Null;
                c["tags"] = serde_json::json!([]);
                c["hestia"] = serde_json::Value::Null;
                for (j, iface) in c["interfaces"]
                    .as_array_mut()
                    .expect("ifaces")
                    .iter_mut()
                    .enumerate()
                {
                    iface["id"] = serde_json::json!(700_000 + 10 * n + j);
                    iface["mac"] = serde_json::json!(format!("02:bb:00:00:{n:02x}:{j:02x}"));
                    iface["ips"] = serde_json::json!([]);
                }
                copies.push(c);
            }
        }
        servers.extend(copies);
        let sc: Scenario = serde_json::from_value(doc).expect("parse");
        sc.check().expect("consistent");
        let db = store::open(":memory:").await.expect("db");
        load(&sc, &db, &Hasher::new(64), 1_700_000_000)
            .await
            .expect("loads");
        let list = sc
            .locations
            .iter()
            .map(|l| l.code.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let mut kinds = std::collections::HashSet::new();
        for s in &sc.servers {
            let (config, hardware): (String, String) =
                sql::query_as("SELECT hwconfig, hardware FROM servers WHERE id = ?")
                    .bind(s.id)
                    .fetch_one(&db)
                    .await
                    .expect("server");
            let vm = s.kind == "vm";
            assert_eq!(config, s.hardware.config(vm), "{}", s.id);
            assert_eq!(
                hardware,
                s.hardware.render(vm, &list).to_string(),
                "{}",
                s.id
            );
            kinds.insert((vm, hardware));
        }
        assert!(
            kinds.len() < sc.servers.len(),
            "some servers share hardware"
        );
        assert!(kinds.iter().any(|(vm, _)| *vm) && kinds.iter().any(|(vm, _)| !*vm));
    }

    #[tokio::test]
    async fn a_big_scenario_loads_in_few_statements() {
        let mut sc: serde_json::Value =
            serde_json::from_str(crate::domain::scenario::DEMO).expect("demo");
        let model = sc["servers"][1].clone();
        let servers = sc["servers"].as_array_mut().expect("servers");
        for i in 0..300 {
            let mut s = model.clone();
            s["id"] = serde_json::json!(60_000 + i);
            s["ipmi"] = serde_json::Value::Null;
            s["tags"] = serde_json::json!([]);
            for (j, iface) in s["interfaces"]
                .as_array_mut()
                .expect("ifaces")
                .iter_mut()
                .enumerate()
            {
                iface["id"] = serde_json::json!(600_000 + 10 * i + j);
                iface["mac"] =
                    serde_json::json!(format!("02:aa:00:{:02x}:{:02x}:{j:02x}", i / 256, i % 256));
                iface["ips"] = serde_json::json!([]);
            }
            servers.push(s);
        }
        let sc: Scenario = serde_json::from_value(sc).expect("parse");
        sc.check().expect("consistent");
        let db = store::open(":memory:").await.expect("db");
        let (r, n) = store::counting(load(&sc, &db, &Hasher::new(19456), 1_700_000_000)).await;
        r.expect("loads");
        let count: i64 = sql::query_scalar("SELECT COUNT(*) FROM servers")
            .fetch_one(&db)
            .await
            .expect("count");
        assert!(count > 300);
        let mut rows = 0;
        for table in ["servers", "interfaces", "ips", "tags"] {
            rows += store::test_support::count(&db, table).await;
        }
        // A statement per ROWS_PER_STATEMENT rows and per table's remainder, plus the few
        // of the accounts, their keys and the transaction.
        let most = rows as u32 / ROWS_PER_STATEMENT as u32 + 40;
        assert!(n <= most, "{n} statements for {rows} rows");
        assert!(rows > 900, "{rows}");
    }
}
