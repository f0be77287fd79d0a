//! Deployment state: running deployments and reinstalls, the per-server "install running"
//! marker, PXE configurations, sold stock servers and new server ids, temporary IPMI users,
//! console sessions.

use sqlx::{FromRow, SqliteConnection};

use super::{sql, Db};

/// A deployment or reinstall in progress (or finished).
#[derive(Debug, Clone, FromRow)]
pub struct Deployment {
    pub server_id: i64,
    pub kind: String,
    pub invoice_id: Option<i64>,
    pub callback_key: String,
    pub os_id: Option<i64>,
    pub soft_id: Option<i64>,
    pub hostname: String,
    pub post_install_callback: Option<String>,
    pub deploy_notify: i64,
    pub manual: i64,
    pub period: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const COLS: &str =
    "server_id, kind, invoice_id, callback_key, os_id, soft_id, hostname, post_install_callback, \
    deploy_notify, manual, period, created_at, finished_at";

/// Starts (or restarts) the deployment record of a server.
pub async fn start(conn: &mut SqliteConnection, d: &Deployment) -> Result<(), sqlx::Error> {
    sql::query(&format!(
        "INSERT OR REPLACE INTO deployments ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
    ))
    .bind(d.server_id)
    .bind(&d.kind)
    .bind(d.invoice_id)
    .bind(&d.callback_key)
    .bind(d.os_id)
    .bind(d.soft_id)
    .bind(&d.hostname)
    .bind(&d.post_install_callback)
    .bind(d.deploy_notify)
    .bind(d.manual)
    .bind(&d.period)
    .bind(d.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Option<Deployment>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM deployments WHERE server_id = ?"
    ))
    .bind(server_id)
    .fetch_optional(db)
    .await
}

/// Marks a server's deployment finished. Its `post_install_callback` goes with it: the
/// install's notice has been sent, and customers put secrets in those URLs.
pub async fn finish(
    conn: &mut SqliteConnection,
    server_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE deployments SET finished_at = ?, post_install_callback = NULL WHERE server_id = ?",
    )
    .bind(now)
    .bind(server_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ids of sold stock servers.
pub async fn sold_stock(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    sql::query_scalar("SELECT stock_id FROM stock_sold")
        .fetch_all(db)
        .await
}

/// Has this stock server been sold? Read inside the order's write transaction, so two
/// orders of one stock server cannot both see it free.
pub async fn is_sold(conn: &mut SqliteConnection, stock_id: i64) -> Result<bool, sqlx::Error> {
    let n: i64 = sql::query_scalar("SELECT COUNT(*) FROM stock_sold WHERE stock_id = ?")
        .bind(stock_id)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// The id for a newly built server: one past the highest id that is not a stock server's,
/// skipping the stock ids (a stock server keeps its catalogue id when it is sold).
pub async fn next_server_id(
    conn: &mut SqliteConnection,
    stock_ids: &[i64],
) -> Result<i64, sqlx::Error> {
    let reserved = serde_json::to_string(stock_ids).unwrap_or_else(|_| "[]".into());
    let mut id: i64 = sql::query_scalar(
        "SELECT COALESCE(MAX(id), 40100) + 1 FROM servers WHERE id NOT IN (SELECT value FROM json_each(?))",
    )
    .bind(reserved)
    .fetch_one(conn)
    .await?;
    while stock_ids.contains(&id) {
        id += 1;
    }
    Ok(id)
}

/// A payment arrived: the deployment waiting for this invoice re-checks now instead of at
/// its next periodic look.
pub async fn wake_payment_wait(
    conn: &mut SqliteConnection,
    invoice_id: i64,
    now_ms: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sql::query(
        "UPDATE jobs SET due_at_ms = ? WHERE state = 'queued' AND kind IN ('deploy', 'reinstall') AND due_at_ms > ? \
         AND callback_key IN (SELECT callback_key FROM deployments WHERE invoice_id = ? AND finished_at IS NULL)",
    )
    .bind(now_ms)
    .bind(now_ms)
    .bind(invoice_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// A server's main address ('' when it has none) and its IPMI address, read inside the
/// transaction that completes an install.
pub async fn install_addresses(
    conn: &mut SqliteConnection,
    server_id: i64,
) -> Result<(String, Option<String>), sqlx::Error> {
    let main: Option<String> = sql::query_scalar(
        "SELECT address FROM ips WHERE server_id = ? AND port <> 'ipmi' ORDER BY main_ip DESC, id LIMIT 1",
    )
    .bind(server_id)
    .fetch_optional(&mut *conn)
    .await?;
    let ipmi: Option<String> =
        sql::query_scalar("SELECT address FROM ips WHERE server_id = ? AND port = 'ipmi' LIMIT 1")
            .bind(server_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok((main.unwrap_or_default(), ipmi))
}

/// An install running on a server (running_installs).
#[derive(Debug, Clone, FromRow)]
pub struct RunningInstall {
    pub server_id: i64,
    /// install (new order), reinstall (eq/order_instance with id), pxe (the PXE installer)
    pub kind: String,
    /// The record the install reports its stages to.
    pub callback_key: String,
    pub started_at: i64,
}

/// The install running on a server, if any.
pub async fn running_install<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Option<RunningInstall>, sqlx::Error> {
    sql::query_as(
        "SELECT server_id, kind, callback_key, started_at FROM running_installs WHERE server_id = ?",
    )
    .bind(server_id)
    .fetch_optional(db)
    .await
}

/// Marks an install as running; false when one already runs on the server. Call it inside
/// the write transaction that starts the install.
pub async fn claim_install(
    conn: &mut SqliteConnection,
    server_id: i64,
    kind: &str,
    callback_key: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let r = sql::query(
        "INSERT INTO running_installs (server_id, kind, callback_key, started_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT(server_id) DO NOTHING",
    )
    .bind(server_id)
    .bind(kind)
    .bind(callback_key)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The install reporting to this key is over (finished or failed).
pub async fn release_install(
    conn: &mut SqliteConnection,
    callback_key: &str,
) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM running_installs WHERE callback_key = ?")
        .bind(callback_key)
        .execute(conn)
        .await?;
    Ok(())
}

/// A PXE configuration.
#[derive(Debug, Clone, FromRow)]
pub struct PxeConfig {
    pub server_id: i64,
    pub os_id: Option<i64>,
    pub hostname: String,
    pub reinstall_key: Option<String>,
    pub post_install_callback: Option<String>,
    pub created_at: i64,
}

pub async fn pxe<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Option<PxeConfig>, sqlx::Error> {
    sql::query_as(
        "SELECT server_id, os_id, hostname, reinstall_key, post_install_callback, created_at FROM pxe_configs WHERE server_id = ?",
    )
    .bind(server_id)
    .fetch_optional(db)
    .await
}

/// Records the master key of eq/reinstall.
pub async fn set_master_key(
    db: &mut SqliteConnection,
    server_id: i64,
    key: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    // A master key that a newer eq/reinstall replaces will never be reported to: its record
    // goes, so polling it answers "not found" (clients drop it) instead of "Not ready"
    // for ever.
    sql::query(
        "DELETE FROM callbacks WHERE state = 'pending' AND key IN \
         (SELECT reinstall_key FROM pxe_configs WHERE server_id = ? AND reinstall_key IS NOT NULL AND reinstall_key <> ?)",
    )
    .bind(server_id)
    .bind(key)
    .execute(&mut *db)
    .await?;
    sql::query(
        "INSERT INTO pxe_configs (server_id, reinstall_key, created_at) VALUES (?, ?, ?) \
         ON CONFLICT(server_id) DO UPDATE SET reinstall_key = excluded.reinstall_key",
    )
    .bind(server_id)
    .bind(key)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Stores the PXE configuration of eq/create_pxe.
pub async fn configure_pxe<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    os_id: i64,
    hostname: &str,
    callback: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO pxe_configs (server_id, os_id, hostname, post_install_callback, created_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT(server_id) DO UPDATE SET os_id = excluded.os_id, hostname = excluded.hostname, \
         post_install_callback = excluded.post_install_callback",
    )
    .bind(server_id)
    .bind(os_id)
    .bind(hostname)
    .bind(callback)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// The installer has taken the master key; later installs get keys of their own.
pub async fn take_master_key(
    conn: &mut SqliteConnection,
    server_id: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE pxe_configs SET reinstall_key = NULL WHERE server_id = ?")
        .bind(server_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn clear_pxe<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM pxe_configs WHERE server_id = ?")
        .bind(server_id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn set_boot_dev<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    dev: &str,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE servers SET boot_dev = ? WHERE id = ?")
        .bind(dev)
        .bind(server_id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn boot_dev<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<String, sqlx::Error> {
    sql::query_scalar("SELECT boot_dev FROM servers WHERE id = ?")
        .bind(server_id)
        .fetch_one(db)
        .await
}

/// IPMI user slots customers get (1 and 2 belong to the BMC's own accounts).
pub const IPMI_SLOTS: std::ops::RangeInclusive<i64> = 3..=15;

/// Adds a temporary IPMI user in the lowest free slot (3..=15); returns the slot, or
/// `None` when every slot is taken.
pub async fn add_ipmi_user(
    conn: &mut SqliteConnection,
    server_id: i64,
    username: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let taken: Vec<i64> = sql::query_scalar("SELECT slot FROM ipmi_users WHERE server_id = ?")
        .bind(server_id)
        .fetch_all(&mut *conn)
        .await?;
    let Some(slot) = IPMI_SLOTS.clone().find(|s| !taken.contains(s)) else {
        return Ok(None);
    };
    sql::query(
        "INSERT INTO ipmi_users (server_id, username, slot, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(server_id)
    .bind(username)
    .bind(slot)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(Some(slot))
}

/// Temporary IPMI users of a server, newest first.
pub async fn ipmi_users<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sql::query_scalar("SELECT username FROM ipmi_users WHERE server_id = ? ORDER BY id DESC")
        .bind(server_id)
        .fetch_all(db)
        .await
}

pub async fn remove_ipmi_user(
    conn: &mut SqliteConnection,
    server_id: i64,
    username: &str,
) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM ipmi_users WHERE server_id = ? AND username = ?")
        .bind(server_id)
        .bind(username)
        .execute(conn)
        .await?;
    Ok(())
}

/// A console session.
#[derive(Debug, Clone, FromRow)]
pub struct ConsoleSession {
    pub server_id: i64,
    pub white_ip: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub stopped_at: Option<i64>,
}

pub async fn open_console(
    conn: &mut SqliteConnection,
    digest: &str,
    server_id: i64,
    white_ip: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO console_sessions (token_digest, server_id, white_ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(digest)
    .bind(server_id)
    .bind(white_ip)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends every open console session of a server; returns how many.
pub async fn stop_consoles(
    conn: &mut SqliteConnection,
    server_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sql::query("UPDATE console_sessions SET stopped_at = ? WHERE server_id = ? AND stopped_at IS NULL AND expires_at > ?")
        .bind(now)
        .bind(server_id)
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Deletes console sessions that are over (stopped or expired): their pages answer as
/// for an unknown token either way.
pub async fn purge_consoles(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sql::query("DELETE FROM console_sessions WHERE stopped_at IS NOT NULL OR expires_at <= ?")
            .bind(now)
            .execute(db)
            .await?
            .rows_affected(),
    )
}

pub async fn console(db: &Db, digest: &str) -> Result<Option<ConsoleSession>, sqlx::Error> {
    sql::query_as("SELECT server_id, white_ip, created_at, expires_at, stopped_at FROM console_sessions WHERE token_digest = ?")
        .bind(digest)
        .fetch_optional(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db_with_servers(ids: &[i64]) -> Db {
        let db = crate::store::open(":memory:").await.expect("open");
        sql::query("INSERT INTO locations (code, id, name, dc_name, country) VALUES ('NL', 1, 'NL', 'AMS', 'NL')")
            .execute(&db)
            .await
            .expect("location");
        for id in ids {
            sql::query(
                "INSERT INTO servers (id, location, kind, type, control, hwconfig, hardware, reg_date, due_date, created_at) \
                 VALUES (?, 'NL', 'vm', 'VPS', 'ovirt', '', '{}', 0, 0, 0)",
            )
            .bind(id)
            .execute(&db)
            .await
            .expect("server");
        }
        db
    }

    #[tokio::test]
    async fn new_server_ids_skip_the_stock_ids() {
        let db = db_with_servers(&[40101, 40514]).await;
        let mut conn = db.acquire().await.expect("conn");
        // 40514 is a sold stock server: it does not push new ids past it, and 40102 is taken
        // by the catalogue too.
        let id = next_server_id(&mut conn, &[40102, 40514])
            .await
            .expect("id");
        assert_eq!(id, 40103);
        assert_eq!(next_server_id(&mut conn, &[]).await.expect("id"), 40515);
    }

    #[tokio::test]
    async fn one_install_runs_per_server() {
        let db = db_with_servers(&[40101]).await;
        let mut conn = db.acquire().await.expect("conn");
        assert!(claim_install(&mut conn, 40101, "pxe", "k1", 5)
            .await
            .expect("claim"));
        assert!(!claim_install(&mut conn, 40101, "reinstall", "k2", 6)
            .await
            .expect("claim"));
        let running = running_install(&mut *conn, 40101)
            .await
            .expect("get")
            .expect("running");
        assert_eq!(
            (running.kind.as_str(), running.callback_key.as_str()),
            ("pxe", "k1")
        );
        release_install(&mut conn, "k2").await.expect("release");
        assert!(
            running_install(&mut *conn, 40101)
                .await
                .expect("get")
                .is_some(),
            "another key's release changes nothing"
        );
        release_install(&mut conn, "k1").await.expect("release");
        assert!(running_install(&mut *conn, 40101)
            .await
            .expect("get")
            .is_none());
        assert!(!is_sold(&mut conn, 40514).await.expect("sold"));
    }

    #[tokio::test]
    async fn a_pxe_configuration_keeps_its_master_key_until_cleared() {
        let db = db_with_servers(&[40102]).await;
        let fixtures = crate::store::test_support::callback;
        fixtures(&db, "k1", 40102, "reinstall").await;
        fixtures(&db, "k2", 40102, "reinstall").await;
        let mut conn = db.acquire().await.expect("conn");
        set_master_key(&mut conn, 40102, "k1", 5)
            .await
            .expect("key");
        set_master_key(&mut conn, 40102, "k2", 6)
            .await
            .expect("newer key");
        drop(conn);
        let record = |key| crate::store::callbacks::get(&db, key);
        assert!(
            record("k1").await.expect("read").is_none(),
            "a replaced master key's pending record goes"
        );
        assert!(record("k2").await.expect("read").is_some());
        configure_pxe(&db, 40102, 223, "bm1.example.com", Some("https://cb"), 7)
            .await
            .expect("configure");
        let cfg = pxe(&db, 40102).await.expect("read").expect("config");
        assert_eq!(
            (
                cfg.os_id,
                cfg.hostname.as_str(),
                cfg.reinstall_key.as_deref()
            ),
            (Some(223), "bm1.example.com", Some("k2")),
            "configuring keeps the master key"
        );
        assert_eq!(cfg.post_install_callback.as_deref(), Some("https://cb"));
        assert_eq!(
            cfg.created_at, 5,
            "the configuration dates from its first write"
        );
        clear_pxe(&db, 40102).await.expect("clear");
        assert!(pxe(&db, 40102).await.expect("read").is_none());
    }

    #[tokio::test]
    async fn ipmi_users_take_the_lowest_free_slot_and_list_newest_first() {
        let db = db_with_servers(&[40102]).await;
        let mut conn = db.acquire().await.expect("conn");
        for (name, slot) in [("u1", 3), ("u2", 4)] {
            assert_eq!(
                add_ipmi_user(&mut conn, 40102, name, 0).await.expect("add"),
                Some(slot)
            );
        }
        remove_ipmi_user(&mut conn, 40102, "u1")
            .await
            .expect("remove");
        assert_eq!(
            add_ipmi_user(&mut conn, 40102, "u3", 0).await.expect("add"),
            Some(3),
            "a freed slot is reused"
        );
        assert_eq!(
            ipmi_users(&mut *conn, 40102).await.expect("list"),
            ["u3", "u2"]
        );
        assert!(ipmi_users(&mut *conn, 40101)
            .await
            .expect("list")
            .is_empty());
    }

    #[tokio::test]
    async fn console_sessions_that_are_over_are_purged() {
        let db = db_with_servers(&[40101, 40102]).await;
        let mut conn = db.acquire().await.expect("conn");
        open_console(&mut conn, "stopped", 40101, "", 0, 100)
            .await
            .expect("open");
        stop_consoles(&mut conn, 40101, 10).await.expect("stop");
        open_console(&mut conn, "expired", 40102, "", 0, 50)
            .await
            .expect("open");
        open_console(&mut conn, "live", 40102, "", 20, 120)
            .await
            .expect("open");
        drop(conn);
        assert_eq!(
            purge_consoles(&db, 49).await.expect("purge"),
            1,
            "the stopped one"
        );
        assert_eq!(
            purge_consoles(&db, 50).await.expect("purge"),
            1,
            "expired at expires_at"
        );
        assert!(console(&db, "live").await.expect("get").is_some());
        assert!(console(&db, "expired").await.expect("get").is_none());
    }

    #[tokio::test]
    async fn a_finished_deployment_forgets_its_webhook_url() {
        let db = db_with_servers(&[40101]).await;
        let mut conn = db.acquire().await.expect("conn");
        let d = Deployment {
            server_id: 40101,
            kind: "reinstall".into(),
            invoice_id: None,
            callback_key: "k".into(),
            os_id: Some(187),
            soft_id: None,
            hostname: "web1".into(),
            post_install_callback: Some("https://hooks.example/done?secret=x".into()),
            deploy_notify: 0,
            manual: 0,
            period: "monthly".into(),
            created_at: 5,
            finished_at: None,
        };
        start(&mut conn, &d).await.expect("start");
        let got = get(&mut *conn, 40101).await.expect("get").expect("row");
        assert_eq!(got.post_install_callback, d.post_install_callback);
        finish(&mut conn, 40101, 9).await.expect("finish");
        let got = get(&mut *conn, 40101).await.expect("get").expect("row");
        assert_eq!(
            (got.finished_at, got.post_install_callback),
            (Some(9), None)
        );
        assert_eq!(got.hostname, "web1", "the rest stays");
    }
}
