-- Failed logins are counted per client address as well as per subject (issue 10): the
-- throttle that holds back an address's guesses reads that address's run only, so a
-- stranger's failures never delay the owner's logins from elsewhere. `address` is the
-- client address as the throttle keys it (IPv4 in dotted form, IPv6 as its /64), or ''
-- for the subject's run from every address together (the only row of per-key PIN runs).
CREATE TABLE login_failures_new (
    subject        TEXT NOT NULL,
    address        TEXT NOT NULL DEFAULT '',
    failures       INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL,
    PRIMARY KEY (subject, address)
);
INSERT INTO login_failures_new (subject, address, failures, last_failed_at)
    SELECT subject, '', failures, last_failed_at FROM login_failures;
DROP TABLE login_failures;
ALTER TABLE login_failures_new RENAME TO login_failures;
-- The periodic prune drops runs that ended long ago.
CREATE INDEX login_failures_age ON login_failures (last_failed_at);
