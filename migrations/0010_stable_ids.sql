-- Ids that clients keep in their state (api_keys/add "id", tags/add "id") are never handed
-- out again after a delete: both tables move to AUTOINCREMENT, whose high-water mark
-- (sqlite_sequence) survives deletions. No other table references either one.
CREATE TABLE api_keys_new (
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
INSERT INTO api_keys_new SELECT id, account_id, server_id, name, key_digest, token_view, ip,
    login_notify_method, login_notify_address, active, created_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;

CREATE TABLE tags_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    component    TEXT NOT NULL,                     -- eq, customers, presets, ...
    component_id INTEGER NOT NULL,
    tag          TEXT NOT NULL,
    value        TEXT NOT NULL DEFAULT '',
    extra        TEXT NOT NULL DEFAULT '',
    internal     INTEGER NOT NULL DEFAULT 0,        -- 1 = set by HOSTKEY, read-only to customers
    UNIQUE (component, component_id, tag)
);
INSERT INTO tags_new SELECT id, component, component_id, tag, value, extra, internal FROM tags;
DROP TABLE tags;
ALTER TABLE tags_new RENAME TO tags;
