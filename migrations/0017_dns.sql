-- DNS hosting (pdns.php; the emulator's DNS server answers from these tables).

-- Zones, one per domain (pdns/list_domains id + name, list_zones, view_zone, add_zone,
-- add_domain). name is normalized: lower case, no trailing dot. The SOA is the zone's own
-- row (dns[...] of add_zone; mname/rname of add_dns); serial rises with every change.
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

-- Records of a zone (add_dns, delete_dns; view_zone rrsets and records). name is the full
-- normalized name; content the PowerDNS presentation form; given the content as the
-- client sent it (the Terraform provider compares it); priority for MX and SRV.
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

-- Subdomains of a domain pointing at a server (list_subdomains, add_subdomain,
-- edit_subdomain, delete_subdomain): name is relative to the domain; each has an A record
-- to the server's main address in the zone.
CREATE TABLE dns_subdomains (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    zone_id    INTEGER NOT NULL REFERENCES dns_zones(id) ON DELETE CASCADE,
    server_id  INTEGER NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (zone_id, name)
);
