-- Installs running now, one row per server: a new order's deployment, a reinstall through
-- eq/order_instance, or the PXE installer started by a reboot. Backs "another reinstall in
-- progress for N, please wait" (checked by eq/order_instance, eq/reinstall and
-- eq/create_pxe inside one write transaction) and eq/show `reinstall` (002): the key the
-- running install reports to. The row goes when the install finishes.
CREATE TABLE running_installs (
    server_id    INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('install','reinstall','pxe')),
    callback_key TEXT NOT NULL,
    started_at   INTEGER NOT NULL
);

-- Deployments left running by a database made before this migration keep their marker.
INSERT INTO running_installs (server_id, kind, callback_key, started_at)
    SELECT server_id, kind, callback_key, created_at FROM deployments WHERE finished_at IS NULL;
