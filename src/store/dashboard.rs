//! What the web dashboard (`src/dashboard/`) reads and nothing else needs: whole-world
//! lists across accounts (servers with their host names and main addresses, tasks with
//! their jobs, accounts with their PIN state, live sessions). Read-only.

use sqlx::FromRow;

use super::{sql, Db};

/// A server as the dashboard's table lists it.
#[derive(Debug, Clone, FromRow)]
pub struct ServerRow {
    pub id: i64,
    pub account_id: Option<i64>,
    pub kind: String,
    pub location: String,
    pub power: String,
    pub status: String,
    pub os: Option<String>,
    pub due_date: i64,
    pub hostname: Option<String>,
    pub main_ip: Option<String>,
}

/// Every server, by id, with its host name tag and main address.
pub async fn servers(db: &Db) -> Result<Vec<ServerRow>, sqlx::Error> {
    sql::query_as(
        "SELECT s.id, s.account_id, s.kind, s.location, s.power, s.status, s.os, s.due_date, \
         (SELECT t.value FROM tags t WHERE t.component = 'eq' AND t.component_id = s.id \
          AND t.tag = 'hostname') AS hostname, \
         (SELECT i.address FROM ips i WHERE i.server_id = s.id AND i.main_ip = 1 \
          ORDER BY i.id LIMIT 1) AS main_ip \
         FROM servers s ORDER BY s.id",
    )
    .fetch_all(db)
    .await
}

/// An async record with its latest job, as the Tasks page shows it.
#[derive(Debug, Clone, FromRow)]
pub struct TaskRow {
    pub key: String,
    pub module: String,
    pub account_id: Option<i64>,
    pub server_id: i64,
    pub action: String,
    pub state: String,
    pub scope: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub job_state: Option<String>,
    pub job_stage: Option<i64>,
    pub due_at_ms: Option<i64>,
}

/// The newest `limit` records (of one server when `server_id` is given), newest first.
pub async fn tasks(
    db: &Db,
    server_id: Option<i64>,
    limit: i64,
) -> Result<Vec<TaskRow>, sqlx::Error> {
    sql::query_as(
        "SELECT c.key, c.module, c.account_id, c.server_id, c.action, c.state, c.scope, \
         c.created_at, c.updated_at, j.state AS job_state, j.stage AS job_stage, j.due_at_ms \
         FROM callbacks c \
         LEFT JOIN jobs j ON j.id = (SELECT MAX(id) FROM jobs WHERE callback_key = c.key) \
         WHERE (? IS NULL OR c.server_id = ?) \
         ORDER BY c.created_at DESC, c.rowid DESC LIMIT ?",
    )
    .bind(server_id)
    .bind(server_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// An account as the Accounts page shows it (never its password or PIN hash).
#[derive(Debug, Clone, FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub handle: String,
    pub email: String,
    pub status: String,
    pub currency_code: String,
    pub credit_cents: i64,
    pub has_pin: bool,
    pub pin_failures: i64,
    pub pin_locked_until: i64,
    pub servers: i64,
}

/// Every account, by id.
pub async fn accounts(db: &Db) -> Result<Vec<AccountRow>, sqlx::Error> {
    sql::query_as(
        "SELECT a.id, a.handle, a.email, a.status, a.currency_code, a.credit_cents, \
         a.pin_hash IS NOT NULL AS has_pin, a.pin_failures, a.pin_locked_until, \
         (SELECT COUNT(*) FROM servers s WHERE s.account_id = a.id) AS servers \
         FROM accounts a ORDER BY a.id",
    )
    .fetch_all(db)
    .await
}

/// A live session (its token is never stored, so never shown).
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub account_id: i64,
    pub api_key_id: Option<i64>,
    pub server_id: i64,
    pub kind: String,
    pub bound_ip: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Sessions not expired at `now`, newest first.
pub async fn sessions(db: &Db, now: i64) -> Result<Vec<SessionRow>, sqlx::Error> {
    sql::query_as(
        "SELECT account_id, api_key_id, server_id, kind, bound_ip, created_at, expires_at \
         FROM sessions WHERE expires_at > ? ORDER BY created_at DESC LIMIT 500",
    )
    .bind(now)
    .fetch_all(db)
    .await
}

/// Every API key (the shown part only: `token_view`), by account and id.
pub async fn api_keys(db: &Db) -> Result<Vec<super::api_keys::ApiKey>, sqlx::Error> {
    sql::query_as(
        "SELECT id, name, active, ip, server_id, token_view, login_notify_method, \
         login_notify_address, account_id FROM api_keys ORDER BY account_id, id",
    )
    .fetch_all(db)
    .await
}

/// Every invoice, newest first (of one server when `server_id` is given).
pub async fn invoices(
    db: &Db,
    server_id: Option<i64>,
) -> Result<Vec<super::billing::Invoice>, sqlx::Error> {
    sql::query_as(
        "SELECT id, account_id, status, total_cents, credit_cents, created_at, due_at, paid_at, \
         kind, paid_cents, updated_at, cancelled_at, refunded_at, server_id, period_due, \
         payment_method, notes, notices FROM invoices \
         WHERE (? IS NULL OR server_id = ?) ORDER BY id DESC LIMIT 500",
    )
    .bind(server_id)
    .bind(server_id)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, NOW};

    #[tokio::test]
    async fn the_demo_world_is_listed_whole() {
        let db = demo().await;
        let servers = servers(&db).await.expect("servers");
        assert!(!servers.is_empty());
        assert!(servers.windows(2).all(|w| w[0].id < w[1].id));
        assert!(servers
            .iter()
            .any(|s| s.hostname.is_some() && s.main_ip.is_some()));
        let accounts = accounts(&db).await.expect("accounts");
        let demo_account = accounts.iter().find(|a| a.id == DEMO).expect("demo");
        assert!(demo_account.servers > 0);
        assert!(demo_account.has_pin);
        let keys = api_keys(&db).await.expect("keys");
        assert!(keys.iter().any(|k| k.account_id == DEMO));
        assert!(tasks(&db, None, 10).await.expect("tasks").len() <= 10);
        assert!(sessions(&db, NOW).await.is_ok());
        let all = invoices(&db, None).await.expect("invoices");
        let one = servers[0].id;
        assert!(invoices(&db, Some(one))
            .await
            .expect("of one")
            .iter()
            .all(|i| i.server_id == one && all.iter().any(|a| a.id == i.id)));
    }
}
