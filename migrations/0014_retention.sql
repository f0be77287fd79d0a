-- Retention (issue 10): a periodic prune deletes what no client can read any more. These
-- indexes let each of its deletes find its rows without reading the whole table.

-- Final records after their retention: read ones by first_read_at, unread ones by the
-- time they became final.
CREATE INDEX callbacks_first_read ON callbacks (first_read_at) WHERE first_read_at IS NOT NULL;
CREATE INDEX callbacks_unread ON callbacks (updated_at) WHERE first_read_at IS NULL AND state IN ('ok', 'fail');
-- Expired sessions.
CREATE INDEX sessions_expiry ON sessions (expires_at);
-- Login records of api_keys/history; outbox e-mails.
CREATE INDEX api_key_history_age ON api_key_history (type, created_at);
CREATE INDEX outbox_age ON outbox (created_at);
-- Deleting a record deletes its job (ON DELETE CASCADE): without this index each deleted
-- record would read the whole jobs table.
CREATE INDEX jobs_callback ON jobs (callback_key);
