-- through migration 27
-- Written by `HOSTKEY_EMU_WRITE_SCHEMA=1 cargo test --lib schema_sql`: the
-- schema the migrations build (src/store/schema.rs). Do not edit.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

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
, billing_profile TEXT NOT NULL DEFAULT '{}');

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

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE locations (
    code    TEXT PRIMARY KEY,                       -- NL, US, FI, DE, IS, TR, UK
    id      INTEGER NOT NULL UNIQUE,                -- location_id
    name    TEXT NOT NULL,
    dc_name TEXT NOT NULL,
    country TEXT NOT NULL
, company TEXT NOT NULL DEFAULT '');

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
, boot_dev TEXT NOT NULL DEFAULT 'disk', suspend_reason TEXT NOT NULL DEFAULT '', terminated_at INTEGER);

CREATE INDEX servers_account ON servers (account_id);

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
    speed        INTEGER NOT NULL DEFAULT 1000, blocked_by TEXT, block_reason TEXT NOT NULL DEFAULT '',
    UNIQUE (server_id, type)
);

CREATE TABLE subnets (
    id       INTEGER PRIMARY KEY,                   -- subnet_id
    location TEXT NOT NULL REFERENCES locations(code),
    network  TEXT NOT NULL,
    cidr     INTEGER NOT NULL,
    gateway  TEXT NOT NULL,
    vlan     INTEGER NOT NULL,
    kind     TEXT NOT NULL DEFAULT 'public', tag TEXT NOT NULL DEFAULT '',        -- public, ipmi, ovirt, bm, nat
    UNIQUE (network, cidr)
);

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

CREATE TABLE ip_releases (
    address     TEXT PRIMARY KEY,
    subnet_id   INTEGER NOT NULL REFERENCES subnets(id),
    released_at INTEGER NOT NULL
);

CREATE TABLE ptr_records (
    address    TEXT PRIMARY KEY,
    records    TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE ip_blocks (
    address     TEXT PRIMARY KEY,
    server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('customer','admin')),
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
);

CREATE TABLE nat_rules (
    id         INTEGER PRIMARY KEY,
    server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    public_ip  TEXT NOT NULL,
    private_ip TEXT NOT NULL,
    router_id  TEXT NOT NULL,                       -- RouterOS rule id, e.g. *42B
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX nat_rules_server ON nat_rules (server_id, expires_at);

CREATE INDEX nat_rules_public ON nat_rules (public_ip, expires_at);

CREATE TABLE invoices (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    status         TEXT NOT NULL CHECK (status IN ('Unpaid','Paid','Cancelled')),
    total_cents    INTEGER NOT NULL,
    credit_cents   INTEGER NOT NULL DEFAULT 0,      -- part paid from the credit balance
    created_at     INTEGER NOT NULL,
    due_at         INTEGER NOT NULL,
    paid_at        INTEGER,
    payment_method TEXT NOT NULL DEFAULT 'credit',
    notes          TEXT NOT NULL DEFAULT ''
, kind TEXT NOT NULL DEFAULT 'order', paid_cents INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL DEFAULT 0, cancelled_at INTEGER, refunded_at INTEGER, server_id INTEGER NOT NULL DEFAULT 0, period_due INTEGER NOT NULL DEFAULT 0, notices INTEGER NOT NULL DEFAULT 0);

CREATE TABLE invoice_items (
    id           INTEGER PRIMARY KEY,
    invoice_id   INTEGER NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    type         TEXT NOT NULL,                     -- Hosting, Addon, Traffic
    relid        INTEGER NOT NULL DEFAULT 0,        -- server id
    description  TEXT NOT NULL,
    amount_cents INTEGER NOT NULL
);

CREATE TABLE deployments (
    server_id      INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('install','reinstall')),
    invoice_id     INTEGER,
    callback_key   TEXT NOT NULL,
    os_id          INTEGER,                         -- null = own_os
    soft_id        INTEGER,
    hostname       TEXT NOT NULL,
    post_install_callback TEXT,
    deploy_notify  INTEGER NOT NULL DEFAULT 0,
    manual         INTEGER NOT NULL DEFAULT 0,      -- hwraid / no_autodeploy stock servers
    period         TEXT NOT NULL DEFAULT 'monthly',
    created_at     INTEGER NOT NULL,
    finished_at    INTEGER
);

CREATE TABLE stock_sold (
    stock_id  INTEGER PRIMARY KEY,
    server_id INTEGER NOT NULL
);

CREATE TABLE pxe_configs (
    server_id     INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
    os_id         INTEGER,                          -- null until create_pxe
    hostname      TEXT NOT NULL DEFAULT '',
    reinstall_key TEXT,                             -- master key the installer reports to
    post_install_callback TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE ipmi_users (
    id         INTEGER PRIMARY KEY,
    server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    username   TEXT NOT NULL,
    slot       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (server_id, username)
);

CREATE TABLE console_sessions (
    token_digest TEXT PRIMARY KEY,
    server_id    INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    white_ip     TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    stopped_at   INTEGER
);

CREATE TABLE running_installs (
    server_id    INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('install','reinstall','pxe')),
    callback_key TEXT NOT NULL,
    started_at   INTEGER NOT NULL
);

CREATE TABLE "api_keys" (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
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

CREATE TABLE "tags" (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    component    TEXT NOT NULL,                     -- eq, customers, presets, ...
    component_id INTEGER NOT NULL,
    tag          TEXT NOT NULL,
    value        TEXT NOT NULL DEFAULT '',
    extra        TEXT NOT NULL DEFAULT '',
    internal     INTEGER NOT NULL DEFAULT 0,        -- 1 = set by HOSTKEY, read-only to customers
    UNIQUE (component, component_id, tag)
);

CREATE TABLE "login_failures" (
    subject        TEXT NOT NULL,
    address        TEXT NOT NULL DEFAULT '',
    failures       INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL,
    PRIMARY KEY (subject, address)
);

CREATE INDEX login_failures_age ON login_failures (last_failed_at);

CREATE INDEX callbacks_first_read ON callbacks (first_read_at) WHERE first_read_at IS NOT NULL;

CREATE INDEX callbacks_unread ON callbacks (updated_at) WHERE first_read_at IS NULL AND state IN ('ok', 'fail');

CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE INDEX api_key_history_age ON api_key_history (type, created_at);

CREATE INDEX outbox_age ON outbox (created_at);

CREATE INDEX jobs_callback ON jobs (callback_key);

CREATE TABLE ssh_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    key         TEXT NOT NULL,                        -- the one-line OpenSSH form
    fingerprint TEXT NOT NULL,                        -- SHA256:<base64>, as ssh-keygen -l prints
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  INTEGER NOT NULL,
    UNIQUE (account_id, name),
    UNIQUE (account_id, fingerprint)
);

CREATE UNIQUE INDEX ssh_keys_one_default ON ssh_keys (account_id) WHERE is_default = 1;

CREATE UNIQUE INDEX invoices_one_renewal ON invoices (server_id, period_due) WHERE kind = 'renewal';

CREATE TABLE credit_log (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    description  TEXT NOT NULL,                    -- "Credit Applied to Invoice #24016"
    amount_cents INTEGER NOT NULL,
    relid        INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX credit_log_account ON credit_log (account_id, id);

CREATE TABLE transactions (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    invoice_id  INTEGER NOT NULL,
    gateway     TEXT NOT NULL,
    transid     TEXT NOT NULL,                     -- the gateway's reference
    description TEXT NOT NULL,
    amount_in   INTEGER NOT NULL DEFAULT 0,
    amount_out  INTEGER NOT NULL DEFAULT 0,
    refund_of   INTEGER NOT NULL DEFAULT 0,        -- refundid: the payment a refund returns
    created_at  INTEGER NOT NULL
);

CREATE INDEX transactions_account ON transactions (account_id, invoice_id);

CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    firstname     TEXT NOT NULL DEFAULT '',
    lastname      TEXT NOT NULL DEFAULT '',
    companyname   TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL,
    country       TEXT NOT NULL DEFAULT 'NL',
    phonenumber   TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE INDEX contacts_account ON contacts (account_id);

CREATE TABLE cancellation_requests (
    id           INTEGER PRIMARY KEY,
    server_id    INTEGER NOT NULL,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    immediate    INTEGER NOT NULL CHECK (immediate IN (0, 1)),
    reason       TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    effective_at INTEGER NOT NULL,
    done_at      INTEGER,
    invoice_id   INTEGER
);

CREATE UNIQUE INDEX cancellation_one_open ON cancellation_requests (server_id) WHERE done_at IS NULL;

CREATE TABLE dns_zones (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- domain id
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    server_id  INTEGER NOT NULL DEFAULT 0,         -- add_domain server_id; 0 = none
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL DEFAULT 'Master' CHECK (kind IN ('Master', 'Slave', 'Native')),
    masters    TEXT NOT NULL DEFAULT '[]',         -- JSON array of addresses
    dnssec     INTEGER NOT NULL DEFAULT 0,
    soa_ttl    INTEGER NOT NULL,
    mname      TEXT NOT NULL,                      -- with trailing dot
    rname      TEXT NOT NULL,                      -- with trailing dot
    serial     INTEGER NOT NULL,
    refresh    INTEGER NOT NULL,
    retry      INTEGER NOT NULL,
    expire     INTEGER NOT NULL,
    minimum    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE INDEX dns_zones_account ON dns_zones (account_id);

CREATE TABLE dns_records (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    zone_id    INTEGER NOT NULL REFERENCES dns_zones(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    content    TEXT NOT NULL,
    given      TEXT NOT NULL,
    ttl        INTEGER NOT NULL,
    priority   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (zone_id, name, type, content)
);

CREATE INDEX dns_records_name ON dns_records (name);

CREATE TABLE dns_subdomains (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    zone_id    INTEGER NOT NULL REFERENCES dns_zones(id) ON DELETE CASCADE,
    server_id  INTEGER NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (zone_id, name)
);

CREATE TABLE "remote_hands" (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- the number in the RHR-<id> key
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    server_id    INTEGER NOT NULL,
    action       TEXT NOT NULL,                      -- request_pon, ..., rhr_add, request_assistance
    subject      TEXT NOT NULL,
    message      TEXT NOT NULL,
    callback_key TEXT NOT NULL,                      -- the record the duty shift completes
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'canceled')),
    resolution   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    done_at      INTEGER,
    request_type TEXT NOT NULL DEFAULT '',           -- rhr/add params[type]
    updated_at   INTEGER NOT NULL DEFAULT 0          -- last change (0: never since created)
);

CREATE INDEX remote_hands_account ON remote_hands (account_id, id);

CREATE TABLE remote_hands_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES remote_hands(id) ON DELETE CASCADE,
    author     TEXT NOT NULL CHECK (author IN ('client', 'support')),
    message    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX remote_hands_messages_ticket ON remote_hands_messages (ticket_id, id);

CREATE TABLE vm_snapshots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,                        -- a-zA-Z0-9_-. as the apidocs allow
    type       TEXT NOT NULL DEFAULT 'snapshot',
    uuid       TEXT NOT NULL,                        -- oVirt's snapshot id
    status     TEXT NOT NULL CHECK (status IN ('locked', 'ok')), -- locked: being taken, restored or removed
    os         TEXT,                                 -- servers.os when it was taken
    licenses   TEXT NOT NULL DEFAULT '[]',           -- servers.licenses when it was taken
    tags       TEXT NOT NULL DEFAULT '[]',           -- [{"tag","value","extra"}]
    created_at INTEGER NOT NULL,
    UNIQUE (server_id, name)
);

CREATE TABLE iso_images (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    url        TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL CHECK (status IN ('downloading', 'ready')),
    size       INTEGER NOT NULL DEFAULT 0,             -- bytes, once downloaded
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE s3_accounts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    plan_id      INTEGER NOT NULL,                    -- domain::s3::PLANS
    location     TEXT NOT NULL,
    access_key   TEXT NOT NULL UNIQUE,                -- the SigV4 access key id
    invoice_id   INTEGER,                             -- the order's invoice (billing ledger)
    cancel_at    INTEGER,                             -- delete_payment_account: the service ends here
    bytes_in     INTEGER NOT NULL DEFAULT 0,          -- traffic: uploaded through the endpoint
    bytes_out    INTEGER NOT NULL DEFAULT 0,          -- traffic: downloaded through the endpoint
    traffic_at   INTEGER,                             -- update_traffic_info's last run
    created_at   INTEGER NOT NULL
);

CREATE INDEX s3_accounts_by_owner ON s3_accounts (account_id);

CREATE TABLE s3_buckets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    s3_account_id INTEGER NOT NULL REFERENCES s3_accounts(id) ON DELETE CASCADE,
    name          TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL
);

CREATE TABLE s3_objects (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket_id    INTEGER NOT NULL REFERENCES s3_buckets(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    size         INTEGER NOT NULL,
    etag         TEXT NOT NULL,                       -- MD5 of the bytes, hex
    content_type TEXT NOT NULL,
    blob         TEXT NOT NULL,                       -- the blob store's name for the bytes
    modified_at  INTEGER NOT NULL,
    UNIQUE (bucket_id, key)
);

CREATE TABLE s3_uploads (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id    TEXT NOT NULL UNIQUE,                -- S3's UploadId
    bucket_id    INTEGER NOT NULL REFERENCES s3_buckets(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    content_type TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE s3_upload_parts (
    upload_id    INTEGER NOT NULL REFERENCES s3_uploads(id) ON DELETE CASCADE,
    part_number  INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    etag         TEXT NOT NULL,                       -- MD5 of the part, hex
    blob         TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);

CREATE TABLE f2h_keys (
    id            TEXT PRIMARY KEY,                   -- 16 lowercase hex, the key's public part
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    secret_digest TEXT NOT NULL,                      -- secrets::digest(secret)
    label         TEXT NOT NULL DEFAULT '',
    server_ids    TEXT NOT NULL DEFAULT '[]',         -- JSON array of server ids (chosen by hostname)
    cidrs         TEXT NOT NULL DEFAULT '[]',         -- JSON array of networks; empty: anywhere
    capabilities  TEXT NOT NULL,                      -- JSON array of capability names
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

CREATE INDEX f2h_keys_by_owner ON f2h_keys (account_id);

CREATE TABLE f2h_bans (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    address     TEXT NOT NULL,
    jail        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    lifted_at   INTEGER                               -- unbanned (kept, so a simulated ban is not made again)
);

CREATE UNIQUE INDEX f2h_bans_once ON f2h_bans (server_id, address, jail, created_at);

CREATE TABLE f2h_unblocks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    address     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    outcome     TEXT NOT NULL,                        -- lifted | pending_review
    created_at  INTEGER NOT NULL
);

CREATE INDEX f2h_unblocks_by_address ON f2h_unblocks (address, created_at);

CREATE TABLE hestia_panels (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id       INTEGER NOT NULL UNIQUE REFERENCES servers(id) ON DELETE CASCADE,
    hostname        TEXT NOT NULL,                    -- the server's hostname at install time
    ip              TEXT NOT NULL,                    -- its main IPv4: web and mail domains use it
    root_user       TEXT NOT NULL DEFAULT 'admin',    -- ROOT_USER
    api             TEXT NOT NULL DEFAULT 'yes',      -- API: 'yes' | 'no' (legacy password and key)
    api_system      TEXT NOT NULL DEFAULT '1',        -- API_SYSTEM: '0' off, '1' admin keys, '2' all users
    api_allowed_ip  TEXT NOT NULL DEFAULT '',         -- API_ALLOWED_IP: comma list, 'allow-all'; '' refuses all
    api_mode        TEXT NOT NULL DEFAULT 'enabled',  -- 'enabled' | 'disabled' (die("Error: Disabled")) | 'removed' (404)
    version         TEXT NOT NULL DEFAULT '1.10.3',   -- VERSION in v-list-sys-config / v-list-sys-info
    created_at      INTEGER NOT NULL                  -- emulator clock, unix seconds
, admin_seed TEXT);

CREATE TABLE hestia_access_keys (
    panel_id      INTEGER NOT NULL REFERENCES hestia_panels(id) ON DELETE CASCADE,
    id            TEXT NOT NULL,                      -- ACCESS_KEY_ID: 20 characters [0-9A-Za-z]
    secret_digest TEXT NOT NULL,                      -- digest of SECRET_ACCESS_KEY (40 characters)
    user          TEXT NOT NULL,                      -- USER: the panel user the key acts as
    permissions   TEXT NOT NULL DEFAULT '',           -- PERMISSIONS: comma list of API profiles; '' = all (ROOT_USER only)
    comment       TEXT NOT NULL DEFAULT '',           -- COMMENT
    created_at    INTEGER NOT NULL,                   -- TIME and DATE (emulator clock)
    PRIMARY KEY (panel_id, id)
);

CREATE TABLE hestia_api_keys (
    panel_id      INTEGER NOT NULL REFERENCES hestia_panels(id) ON DELETE CASCADE,
    key_digest    TEXT NOT NULL,                      -- digest of the key
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (panel_id, key_digest)
);

CREATE TABLE hestia_objects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    panel_id    INTEGER NOT NULL REFERENCES hestia_panels(id) ON DELETE CASCADE,
    -- 'user' | 'package' | 'ip' | 'web' | 'dns' | 'record' | 'mail' | 'account' | 'db'
    -- | 'cron' | 'backup' | 'ftp'
    kind        TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',   -- the panel user it belongs to ('' for users, packages, IPs)
    parent      TEXT NOT NULL DEFAULT '',   -- the domain of a DNS record or a mail account
    name        TEXT NOT NULL,              -- user, package, domain, record id, account, database, job id, file
    attrs       TEXT NOT NULL DEFAULT '{}', -- the conf line's fields, JSON object of strings
    secret      TEXT,                       -- argon2 PHC of its password (users, accounts, databases, FTP), never clear
    created_at  INTEGER NOT NULL,           -- emulator clock, unix seconds
    UNIQUE (panel_id, kind, owner, parent, name)
);

CREATE INDEX hestia_objects_owner ON hestia_objects (panel_id, owner, kind);

CREATE INDEX hestia_objects_name ON hestia_objects (kind, name);
