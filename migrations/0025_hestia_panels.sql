-- Hestia Control Panels running on emulated servers (issue 18). A server ordered or
-- reinstalled with the "Hestia Control Panel" software gets one panel; its Hestia API
-- (`--hestia-listen`) answers for it, chosen by the Host header (hostname or main address).
-- The API switches are the panel's configuration keys (hestia-protocol.md A.3, A.7, A.8);
-- every other panel object (users, packages, domains, keys...) refers to this row.
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
);
