-- The Hestia face's credentials (issue 18, hestia-protocol.md A.3, A.9, A.10). Hestia keeps
-- them as files in /usr/local/hestia/data/access-keys/ and data/keys/; the emulator keeps
-- rows, and only SHA-256 digests of the secrets (secrets::digest), never the secrets.

-- Access keys: `ACCESS_KEY_ID:SECRET_ACCESS_KEY`, per panel user, limited to API profiles.
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

-- Legacy API keys (`hash=<32 characters>`, v-generate-api-key): act as the admin.
CREATE TABLE hestia_api_keys (
    panel_id      INTEGER NOT NULL REFERENCES hestia_panels(id) ON DELETE CASCADE,
    key_digest    TEXT NOT NULL,                      -- digest of the key
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (panel_id, key_digest)
);

-- A panel loaded from a scenario is filled (admin user, packages, IPs, services) the first
-- time the face looks it up: the scenario loader sits below the operations that fill a
-- panel. Until then this holds the admin password's precomputed argon2 PHC string.
ALTER TABLE hestia_panels ADD COLUMN admin_seed TEXT;
