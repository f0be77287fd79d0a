-- F2HCloud scoped API keys (issue 17): `f2h.<id>.<secret>`, presented as `X-API-Key` to the
-- F2HCloud face (`--f2h-listen`). Only a SHA-256 digest of the secret is kept.
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

-- Anti-hack (fail2ban-style) bans on a server: an address banned by a jail until expiry.
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

-- US anti-hack unblock requests: a second one for an address within the window goes to review.
CREATE TABLE f2h_unblocks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    address     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    outcome     TEXT NOT NULL,                        -- lifted | pending_review
    created_at  INTEGER NOT NULL
);
CREATE INDEX f2h_unblocks_by_address ON f2h_unblocks (address, created_at);
