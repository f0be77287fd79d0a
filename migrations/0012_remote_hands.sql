-- Remote-hands requests (jira.php request_pon, request_poff, request_reboot, request_PXEboot,
-- request_kvm, request_check): the ticket `jira_issue` names, what was asked, and when the
-- duty shift carried it out.
CREATE TABLE remote_hands (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- the number in the RHR-<id> key
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    server_id    INTEGER NOT NULL,
    action       TEXT NOT NULL,                      -- request_pon, ...
    subject      TEXT NOT NULL,
    message      TEXT NOT NULL,
    callback_key TEXT NOT NULL,                      -- the record the duty shift completes
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    resolution   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    done_at      INTEGER
);
CREATE INDEX remote_hands_account ON remote_hands (account_id, id);
