//! Deployment state: running deployments and reinstalls, PXE configurations, sold stock
//! servers, temporary IPMI users, console sessions.

use sqlx::{FromRow, SqliteConnection};

use super::Db;

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
    sqlx::query(&format!(
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
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM deployments WHERE server_id = ?"
    ))
    .bind(server_id)
    .fetch_optional(db)
    .await
}

/// Unfinished deployments and reinstalls of an account's servers.
pub async fn running_for_account(db: &Db, account_id: i64) -> Result<Vec<Deployment>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM deployments d JOIN servers s ON s.id = d.server_id \
         WHERE s.account_id = ? AND d.finished_at IS NULL ORDER BY d.created_at",
        COLS.split(", ")
            .map(|c| format!("d.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(account_id)
    .fetch_all(db)
    .await
}

pub async fn finish(
    conn: &mut SqliteConnection,
    server_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE deployments SET finished_at = ? WHERE server_id = ?")
        .bind(now)
        .bind(server_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ids of sold stock servers.
pub async fn sold_stock(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT stock_id FROM stock_sold")
        .fetch_all(db)
        .await
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
    sqlx::query_as(
        "SELECT server_id, os_id, hostname, reinstall_key, post_install_callback, created_at FROM pxe_configs WHERE server_id = ?",
    )
    .bind(server_id)
    .fetch_optional(db)
    .await
}

/// Records the master key of eq/reinstall.
pub async fn set_master_key(
    db: &Db,
    server_id: i64,
    key: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
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
    sqlx::query(
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
    sqlx::query("UPDATE pxe_configs SET reinstall_key = NULL WHERE server_id = ?")
        .bind(server_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn clear_pxe<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM pxe_configs WHERE server_id = ?")
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
    sqlx::query("UPDATE servers SET boot_dev = ? WHERE id = ?")
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
    sqlx::query_scalar("SELECT boot_dev FROM servers WHERE id = ?")
        .bind(server_id)
        .fetch_one(db)
        .await
}

/// Adds a temporary IPMI user in the next free slot (3..=15); returns the slot.
pub async fn add_ipmi_user(
    conn: &mut SqliteConnection,
    server_id: i64,
    username: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let slot: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(slot), 2) + 1 FROM ipmi_users WHERE server_id = ?")
            .bind(server_id)
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query(
        "INSERT INTO ipmi_users (server_id, username, slot, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(server_id)
    .bind(username)
    .bind(slot)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(slot)
}

/// Temporary IPMI users of a server, newest first.
pub async fn ipmi_users(db: &Db, server_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT username FROM ipmi_users WHERE server_id = ? ORDER BY id DESC")
        .bind(server_id)
        .fetch_all(db)
        .await
}

pub async fn remove_ipmi_user(
    conn: &mut SqliteConnection,
    server_id: i64,
    username: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM ipmi_users WHERE server_id = ? AND username = ?")
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
    sqlx::query(
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
    Ok(sqlx::query("UPDATE console_sessions SET stopped_at = ? WHERE server_id = ? AND stopped_at IS NULL AND expires_at > ?")
        .bind(now)
        .bind(server_id)
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected())
}

pub async fn console(db: &Db, digest: &str) -> Result<Option<ConsoleSession>, sqlx::Error> {
    sqlx::query_as("SELECT server_id, white_ip, created_at, expires_at, stopped_at FROM console_sessions WHERE token_digest = ?")
        .bind(digest)
        .fetch_optional(db)
        .await
}
