-- Network and address management (net.php, ip.php, nat.php).

-- Addresses given back to the pool and when (net/add_ipv4 fresh_period, net/show_ipv4_free fresh).
CREATE TABLE ip_releases (
    address     TEXT PRIMARY KEY,
    subnet_id   INTEGER NOT NULL REFERENCES subnets(id),
    released_at INTEGER NOT NULL
);

-- PTR records of addresses (ip/get_ptr, ip/update_ptr): newline-separated host names.
CREATE TABLE ptr_records (
    address    TEXT PRIMARY KEY,
    records    TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Blocked addresses (net/block_ip, net/unblock_ip; eq/show IP locked + date_block).
-- kind 'customer' blocks are the customer's own; 'admin' blocks only support lifts.
-- A block with expires_at (four_hours=1) stops counting once the emulator clock passes it.
CREATE TABLE ip_blocks (
    address     TEXT PRIMARY KEY,
    server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('customer','admin')),
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
);

-- Switch-port blocks (net/port_off, net/port_on; eq/show interfaces Status): who blocked
-- the port (null = not blocked, customer, admin) and why.
ALTER TABLE interfaces ADD COLUMN blocked_by TEXT;
ALTER TABLE interfaces ADD COLUMN block_reason TEXT NOT NULL DEFAULT '';

-- On-demand static NAT from a public pool address to a server's IPMI address
-- (nat/add_static_nat, nat/remove_static_nat); a rule lifts itself at expires_at.
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
