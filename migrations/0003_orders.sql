-- Orders, deployments, reinstalls and remote access (eq/order_instance, eq/reinstall,
-- eq/create_pxe, eq/boot_dev, eq/clear_pxe, eq/add_ipmi_user, eq/novnc...).

-- Invoices in the billing tables (eq/order_instance invoice + status, eq/update_servers
-- billing_servers). Amounts in cents of the account's currency.
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
);
CREATE TABLE invoice_items (
    id           INTEGER PRIMARY KEY,
    invoice_id   INTEGER NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    type         TEXT NOT NULL,                     -- Hosting, Addon, Traffic
    relid        INTEGER NOT NULL DEFAULT 0,        -- server id
    description  TEXT NOT NULL,
    amount_cents INTEGER NOT NULL
);

-- One deployment or reinstall per server at a time (deploy_keys, "another reinstall in
-- progress"). The root password is never stored.
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

-- Stock servers that have been sold (stocks/list no longer shows them).
CREATE TABLE stock_sold (
    stock_id  INTEGER PRIMARY KEY,
    server_id INTEGER NOT NULL
);

-- Boot device of a server (eq/boot_dev): disk, pxe or cd.
ALTER TABLE servers ADD COLUMN boot_dev TEXT NOT NULL DEFAULT 'disk';

-- PXE configurations (eq/create_pxe, eq/clear_pxe) and the master key of eq/reinstall.
CREATE TABLE pxe_configs (
    server_id     INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
    os_id         INTEGER,                          -- null until create_pxe
    hostname      TEXT NOT NULL DEFAULT '',
    reinstall_key TEXT,                             -- master key the installer reports to
    post_install_callback TEXT,
    created_at    INTEGER NOT NULL
);

-- Temporary IPMI users (eq/add_ipmi_user, eq/remove_ipmi_user); passwords are not kept.
CREATE TABLE ipmi_users (
    id         INTEGER PRIMARY KEY,
    server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    username   TEXT NOT NULL,
    slot       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (server_id, username)
);

-- Browser console sessions (eq/novnc, eq/recreate_novnc, eq/stop_novnc), served by the
-- emulator at /novnc/<token>; only the token's digest is kept.
CREATE TABLE console_sessions (
    token_digest TEXT PRIMARY KEY,
    server_id    INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    white_ip     TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    stopped_at   INTEGER
);
