-- S3 storage (s3.php and the S3 endpoint, issue 13 item 4). An S3 account belongs to a
-- customer account; its s3uid is `s3_user_<id>`. The secret key is not stored: it is
-- derived from the access key with the emulator's S3 master key (see src/ops/s3.rs).
CREATE TABLE s3_accounts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    plan_id      INTEGER NOT NULL,                    -- domain::s3::PLANS
    location     TEXT NOT NULL,
    access_key   TEXT NOT NULL UNIQUE,                -- the SigV4 access key id
    invoice_id   INTEGER,                             -- the order's invoice (billing ledger)
    cancel_at    INTEGER,                             -- delete_payment_account: the service ends here
    bytes_in     INTEGER NOT NULL DEFAULT 0,          -- traffic: uploaded through the endpoint
    bytes_out    INTEGER NOT NULL DEFAULT 0,          -- traffic: downloaded through the endpoint
    traffic_at   INTEGER,                             -- update_traffic_info's last run
    created_at   INTEGER NOT NULL
);
CREATE INDEX s3_accounts_by_owner ON s3_accounts (account_id);

-- Buckets: one name space for the whole endpoint (path-style requests name no account).
CREATE TABLE s3_buckets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    s3_account_id INTEGER NOT NULL REFERENCES s3_accounts(id) ON DELETE CASCADE,
    name          TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL
);

-- Objects: metadata here, bytes in the blob store beside the database (`blob`).
CREATE TABLE s3_objects (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket_id    INTEGER NOT NULL REFERENCES s3_buckets(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    size         INTEGER NOT NULL,
    etag         TEXT NOT NULL,                       -- MD5 of the bytes, hex
    content_type TEXT NOT NULL,
    blob         TEXT NOT NULL,                       -- the blob store's name for the bytes
    modified_at  INTEGER NOT NULL,
    UNIQUE (bucket_id, key)
);

-- Multipart uploads in progress (CreateMultipartUpload ... CompleteMultipartUpload): the
-- parts' bytes are blobs until the upload completes into one object or is aborted.
CREATE TABLE s3_uploads (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id    TEXT NOT NULL UNIQUE,                -- S3's UploadId
    bucket_id    INTEGER NOT NULL REFERENCES s3_buckets(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    content_type TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE TABLE s3_upload_parts (
    upload_id    INTEGER NOT NULL REFERENCES s3_uploads(id) ON DELETE CASCADE,
    part_number  INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    etag         TEXT NOT NULL,                       -- MD5 of the part, hex
    blob         TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
