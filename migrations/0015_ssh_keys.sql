-- SSH public keys of an account (ssh_keys.php list, add, delete; eq/order_instance ssh_key=
-- by id or name). One name and one key (by fingerprint) per account; at most one default.
CREATE TABLE ssh_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    key         TEXT NOT NULL,                        -- the one-line OpenSSH form
    fingerprint TEXT NOT NULL,                        -- SHA256:<base64>, as ssh-keygen -l prints
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  INTEGER NOT NULL,
    UNIQUE (account_id, name),
    UNIQUE (account_id, fingerprint)
);
CREATE UNIQUE INDEX ssh_keys_one_default ON ssh_keys (account_id) WHERE is_default = 1;
