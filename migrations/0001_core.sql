-- hostkey-emu core schema. Times are Unix seconds of the emulator's clock unless the
-- column name ends in _ms. JSON columns hold what eq/show renders without reshaping.

-- Emulator metadata: clock offset, loaded scenario.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Customer accounts. Backs auth/login + auth/whmcslogin (customer_id, whmcs_id, email,
-- password), auth/info, whmcs/get_client (profile), and the PIN of eq/set_pin.
CREATE TABLE accounts (
    id               INTEGER PRIMARY KEY,           -- customer_id
    handle           TEXT NOT NULL UNIQUE,          -- scenario name ("demo", "other")
    whmcs_id         INTEGER NOT NULL UNIQUE,       -- whmcs_id / userid
    email            TEXT NOT NULL UNIQUE COLLATE NOCASE, -- whmcslogin user
    password_hash    TEXT NOT NULL,                 -- argon2 PHC string
    firstname        TEXT NOT NULL,
    lastname         TEXT NOT NULL,
    companyname      TEXT NOT NULL DEFAULT '',
    address1         TEXT NOT NULL DEFAULT '',
    address2         TEXT NOT NULL DEFAULT '',
    city             TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL DEFAULT '',
    postcode         TEXT NOT NULL DEFAULT '',
    country          TEXT NOT NULL DEFAULT 'NL',
    phonenumber      TEXT NOT NULL DEFAULT '',
    currency_code    TEXT NOT NULL DEFAULT 'EUR',
    credit_cents     INTEGER NOT NULL DEFAULT 0,    -- whmcs credit balance
    status           TEXT NOT NULL DEFAULT 'Active',
    billing_location TEXT NOT NULL DEFAULT 'whmcs_com',
    corporate        INTEGER NOT NULL DEFAULT 0,
    verified         INTEGER,                       -- null = never verified
    pin_hash         TEXT,                          -- argon2 PHC, null = no PIN set
    pin_failures     INTEGER NOT NULL DEFAULT 0,    -- wrong PINs in a row
    pin_locked_until INTEGER NOT NULL DEFAULT 0,    -- PIN checks fail until then
    created_at       INTEGER NOT NULL
);

-- API keys (api_keys.php). Only the SHA-256 digest of a key is kept; token_view is its
-- first 4 characters. server_id 0 = an account key.
CREATE TABLE api_keys (
    id                   INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    server_id            INTEGER NOT NULL DEFAULT 0,
    name                 TEXT NOT NULL,
    key_digest           TEXT NOT NULL UNIQUE,
    token_view           TEXT NOT NULL,
    ip                   TEXT NOT NULL DEFAULT '',  -- allow-list, space separated
    login_notify_method  TEXT NOT NULL DEFAULT 'none' CHECK (login_notify_method IN ('none','email','webhook')),
    login_notify_address TEXT,
    active               INTEGER NOT NULL DEFAULT 1,
    created_at           INTEGER NOT NULL
);

-- api_keys/history records: creations, changes, deletions and logins.
CREATE TABLE api_key_history (
    id         INTEGER PRIMARY KEY,
    api_key_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    message    TEXT NOT NULL,
    type       TEXT NOT NULL,                       -- action | login
    login      TEXT NOT NULL                        -- who did it (account e-mail)
);
CREATE INDEX api_key_history_key ON api_key_history (api_key_id, created_at);

-- Session tokens (auth.php). Only the token's digest is kept; the token itself is
-- re-derived from the salt and the credential when the same login asks again.
CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY,
    salt         TEXT NOT NULL,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    api_key_id   INTEGER,                           -- null for whmcslogin sessions
    server_id    INTEGER NOT NULL DEFAULT 0,        -- per-server key scope, 0 = account
    kind         TEXT NOT NULL CHECK (kind IN ('key','password')),
    bound_ip     TEXT,                              -- null when fix_ip=0
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_lookup ON sessions (account_id, api_key_id, kind);

-- Failed-login counters for throttling, per API key or user.
CREATE TABLE login_failures (
    subject        TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL
);

-- E-mails the emulator "sends" (login notices, deploy notices), for a later outbox view.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Data centre locations (eq/show location, eq/list location filter).
CREATE TABLE locations (
    code    TEXT PRIMARY KEY,                       -- NL, US, FI, DE, IS, TR, UK
    id      INTEGER NOT NULL UNIQUE,                -- location_id
    name    TEXT NOT NULL,
    dc_name TEXT NOT NULL,
    country TEXT NOT NULL
);

-- Servers: VMs and bare metal. Backs eq/list, eq/show, power state, status.
CREATE TABLE servers (
    id                 INTEGER PRIMARY KEY,
    account_id         INTEGER REFERENCES accounts(id) ON DELETE CASCADE, -- null = not rented
    location           TEXT NOT NULL REFERENCES locations(code),
    kind               TEXT NOT NULL CHECK (kind IN ('vm','bm')),
    type               TEXT NOT NULL,               -- server_data.type: VPS, Dedicated, GPU
    status             TEXT NOT NULL DEFAULT 'rent',-- rent | power_off (suspended)
    power              TEXT NOT NULL DEFAULT 'on' CHECK (power IN ('on','off')),
    control            TEXT NOT NULL CHECK (control IN ('ovirt','ipmi','none')),
    ipmi_model         TEXT NOT NULL DEFAULT '',    -- IPMI.model: ovirt, Supermicro, iDRAC9
    preset             TEXT NOT NULL DEFAULT '',
    preset_description TEXT NOT NULL DEFAULT '',
    hwconfig           TEXT NOT NULL,
    hardware           TEXT NOT NULL,               -- JSON, eq/show "hardware"
    groups             TEXT NOT NULL DEFAULT '[]',  -- JSON array of group codes
    licenses           TEXT NOT NULL DEFAULT '[]',  -- JSON, eq/show "licenses"
    os                 TEXT,                        -- JSON {id,name} or null
    reg_date           INTEGER NOT NULL,
    due_date           INTEGER NOT NULL,
    billing_cycle      TEXT NOT NULL DEFAULT 'Monthly',
    recurring_cents    INTEGER NOT NULL DEFAULT 0,
    limit_traffic      INTEGER NOT NULL DEFAULT 0,  -- TB outbound included
    limit_traffic_in   INTEGER NOT NULL DEFAULT 999,
    cost_traffic       INTEGER NOT NULL DEFAULT 0,
    limit_bands        INTEGER NOT NULL DEFAULT 1000, -- Mbit/s
    is_shape           INTEGER NOT NULL DEFAULT 1,
    traffic_in_gb      REAL NOT NULL DEFAULT 0,
    traffic_out_gb     REAL NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL
);
CREATE INDEX servers_account ON servers (account_id);

-- Network interfaces of servers (eq/show "interfaces", "IP".MAC, eq/list mac filter).
CREATE TABLE interfaces (
    id           INTEGER PRIMARY KEY,
    server_id    INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    type         TEXT NOT NULL,                     -- eth0, eth1, ipmi
    mac          TEXT NOT NULL UNIQUE,
    is_main      INTEGER NOT NULL DEFAULT 0,
    is_virt      INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'enable',
    switch_owner TEXT NOT NULL DEFAULT '',
    switch_model TEXT NOT NULL DEFAULT '',
    switch_port  TEXT NOT NULL DEFAULT '',
    speed        INTEGER NOT NULL DEFAULT 1000,
    UNIQUE (server_id, type)
);

-- Subnets per location and VLAN (ip/get_ip, address management).
CREATE TABLE subnets (
    id       INTEGER PRIMARY KEY,                   -- subnet_id
    location TEXT NOT NULL REFERENCES locations(code),
    network  TEXT NOT NULL,
    cidr     INTEGER NOT NULL,
    gateway  TEXT NOT NULL,
    vlan     INTEGER NOT NULL,
    kind     TEXT NOT NULL DEFAULT 'public',        -- public, ipmi, ovirt, bm, nat
    UNIQUE (network, cidr)
);

-- Addresses in use (eq/show "IP", IPMI interfaces, eq/list ip filter).
CREATE TABLE ips (
    id          INTEGER PRIMARY KEY,
    address     TEXT NOT NULL UNIQUE,
    subnet_id   INTEGER NOT NULL REFERENCES subnets(id),
    server_id   INTEGER REFERENCES servers(id) ON DELETE SET NULL,
    port        TEXT NOT NULL DEFAULT 'eth0',       -- interface type; 'ipmi' for IPMI
    main_ip     INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'enable',
    locked      INTEGER NOT NULL DEFAULT 0,
    date_block  INTEGER,
    license_id  INTEGER,
    license_name TEXT,
    white_ddos  INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
);
CREATE INDEX ips_server ON ips (server_id);

-- Tags on any component (tags.php, eq/show "tags", auth/info customer tags).
CREATE TABLE tags (
    id           INTEGER PRIMARY KEY,
    component    TEXT NOT NULL,                     -- eq, customers, presets, ...
    component_id INTEGER NOT NULL,
    tag          TEXT NOT NULL,
    value        TEXT NOT NULL DEFAULT '',
    extra        TEXT NOT NULL DEFAULT '',
    internal     INTEGER NOT NULL DEFAULT 0,        -- 1 = set by HOSTKEY, read-only to customers
    UNIQUE (component, component_id, tag)
);

-- Async records as eq_callback.php / nat_callback.php show them.
CREATE TABLE callbacks (
    key           TEXT PRIMARY KEY,                 -- 32 lowercase hex
    module        TEXT NOT NULL DEFAULT 'eq',       -- eq | nat: which poller answers
    account_id    INTEGER,
    server_id     INTEGER NOT NULL DEFAULT 0,
    action        TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending','stage','ok','fail')),
    scope         TEXT,
    context       TEXT NOT NULL,                    -- JSON object
    debug         TEXT,                             -- null renders as JSON null
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    first_read_at INTEGER                           -- retention starts at the first read of a final record
);

-- Durable job queue: the work behind each pending callback.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    callback_key TEXT NOT NULL REFERENCES callbacks(key) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','running','done')),
    stage        INTEGER NOT NULL DEFAULT 0,
    due_at_ms    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE INDEX jobs_due ON jobs (state, due_at_ms);
