-- Remote-hands requests gain rhr.php's view (issue 13): one ticket store for jira.php and
-- rhr.php. A ticket may now be canceled (rhr/discard), carries rhr/add's request type
-- (KVM, UNBLOCK, SERVICE; '' for jira.php's requests, whose type follows from `action`)
-- and the moment it last changed; its conversation (rhr/chat) is a thread of messages.
-- server_id 0: a request about no server (jira/request_assistance).
CREATE TABLE remote_hands_new (
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
INSERT INTO remote_hands_new (id, account_id, server_id, action, subject, message, callback_key,
    status, resolution, created_at, done_at)
    SELECT id, account_id, server_id, action, subject, message, callback_key, status,
    resolution, created_at, done_at FROM remote_hands;
DROP TABLE remote_hands;
ALTER TABLE remote_hands_new RENAME TO remote_hands;
CREATE INDEX remote_hands_account ON remote_hands (account_id, id);

-- The thread of a ticket as rhr/chat answers it: the customer's messages and the duty
-- shift's replies, oldest first.
CREATE TABLE remote_hands_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES remote_hands(id) ON DELETE CASCADE,
    author     TEXT NOT NULL CHECK (author IN ('client', 'support')),
    message    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX remote_hands_messages_ticket ON remote_hands_messages (ticket_id, id);

-- Snapshots of oVirt VMs (vm.php get_snapshot, create_snapshot, restore_snapshot,
-- remove_snapshot). A snapshot keeps what a restore brings back: the OS and licences as
-- eq/show shows them, and the customer's (not internal) tags, as JSON.
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

-- ISO images of an account (iso.php upload, add, uploaded, list_iso, delete). The public
-- images of each location are the emulator's catalogue (ids below 1000), not rows; an
-- account's own take ids from 1001 up, never reused. A mounted image is the server's
-- internal `iso_mounted` tag (eq/show shows it; extra = the image's id).
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
