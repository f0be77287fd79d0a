-- What runs inside an emulated Hestia panel (issue 18): its users, packages, web, DNS and
-- mail domains, DNS records, mail accounts, databases, cron jobs, backups and IPs. Hestia
-- keeps each of them as one line of KEY='value' pairs in a conf file (user.conf, web.conf,
-- dns/<domain>.conf...); a row here is such a line: `attrs` holds its fields as a JSON
-- object of strings, which the v-list-* commands print in their fixed key order
-- (hestia-protocol.md B.1). Counters (U_*) are not stored: they are counted when listed,
-- so they are always true.
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
