//! Remote-hands tickets (jira.php, rhr.php): opened by the customer, closed by the simulated
//! duty shift when its job runs, or canceled by the customer (rhr/discard); each with its
//! thread of messages (rhr/chat).

use serde::Serialize;
use sqlx::{FromRow, SqliteConnection};

use super::{sql, Db};

/// A ticket as the control plane lists it.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Ticket {
    pub id: i64,
    pub account_id: i64,
    pub server_id: i64,
    pub action: String,
    pub subject: String,
    pub message: String,
    pub callback_key: String,
    pub status: String,
    pub resolution: String,
    pub created_at: i64,
    pub done_at: Option<i64>,
    /// rhr/add's request type (`KVM`...); empty for jira.php's requests.
    pub request_type: String,
    /// The last change (0: none since it was opened).
    pub updated_at: i64,
}

const COLS: &str = "id, account_id, server_id, action, subject, message, callback_key, status, \
    resolution, created_at, done_at, request_type, updated_at";

/// A ticket as rhr.php lists it: with its server's location and host name.
#[derive(Debug, Clone, FromRow)]
pub struct Listed {
    #[sqlx(flatten)]
    pub ticket: Ticket,
    /// The server's location code ('' for a ticket about no server).
    pub location: String,
    /// The server's `hostname` tag, if it has one.
    pub hostname: Option<String>,
}

/// One message of a ticket's thread.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Message {
    pub id: i64,
    pub ticket_id: i64,
    /// `client` or `support`.
    pub author: String,
    pub message: String,
    pub created_at: i64,
}

/// Which tickets rhr/list answers.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub account_id: i64,
    /// A per-server key's server: only its tickets.
    pub server_id: Option<i64>,
    /// A location code (`NL`).
    pub location: Option<String>,
    /// Stored statuses to include (`open`, `done`, `canceled`).
    pub statuses: Vec<&'static str>,
}

/// The ticket key clients see (`jira_issue`).
pub fn key_of(id: i64) -> String {
    format!("RHR-{id}")
}

/// The ticket id of a key (`RHR-12` -> 12).
pub fn id_of(key: &str) -> Option<i64> {
    key.strip_prefix("RHR-")?.parse().ok()
}

/// Opens a ticket; returns its id.
#[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
pub async fn open(
    conn: &mut SqliteConnection,
    account_id: i64,
    server_id: i64,
    action: &str,
    subject: &str,
    message: &str,
    callback_key: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO remote_hands (account_id, server_id, action, subject, message, callback_key, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(account_id)
    .bind(server_id)
    .bind(action)
    .bind(subject)
    .bind(message)
    .bind(callback_key)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Sets the request type of a ticket (rhr/add), in the transaction that opened it.
pub async fn set_type(
    conn: &mut SqliteConnection,
    id: i64,
    request_type: &str,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE remote_hands SET request_type = ? WHERE id = ?")
        .bind(request_type)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds a message to a ticket's thread (and notes the change); returns its id.
pub async fn add_message(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    author: &str,
    message: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sql::query("UPDATE remote_hands SET updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(ticket_id)
        .execute(&mut *conn)
        .await?;
    sql::query_scalar(
        "INSERT INTO remote_hands_messages (ticket_id, author, message, created_at) \
         VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(ticket_id)
    .bind(author)
    .bind(message)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// A ticket's thread, oldest first.
pub async fn messages<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    ticket_id: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    sql::query_as(
        "SELECT id, ticket_id, author, message, created_at FROM remote_hands_messages \
         WHERE ticket_id = ? ORDER BY id",
    )
    .bind(ticket_id)
    .fetch_all(db)
    .await
}

/// Cancels an open ticket; false when it was not open (any more).
pub async fn cancel(conn: &mut SqliteConnection, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    Ok(sql::query(
        "UPDATE remote_hands SET status = 'canceled', resolution = 'Canceled by the customer', \
         done_at = ?, updated_at = ? WHERE id = ? AND status = 'open'",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// The account's tickets that `filter` admits, newest first, with their servers' location
/// and host name.
pub async fn list_for(db: &Db, filter: &ListFilter) -> Result<Vec<Listed>, sqlx::Error> {
    let cols = COLS
        .split(", ")
        .map(|c| format!("r.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let statuses = vec!["?"; filter.statuses.len().max(1)].join(", ");
    let text = format!(
        "SELECT {cols}, COALESCE(s.location, '') AS location, \
         (SELECT t.value FROM tags t WHERE t.component = 'eq' AND t.component_id = r.server_id \
          AND t.tag = 'hostname') AS hostname \
         FROM remote_hands r LEFT JOIN servers s ON s.id = r.server_id \
         WHERE r.account_id = ? AND (? IS NULL OR r.server_id = ?) \
         AND (? IS NULL OR s.location = ?) AND r.status IN ({statuses}) \
         ORDER BY r.id DESC LIMIT 500"
    );
    let mut q = sql::query_as(&text)
        .bind(filter.account_id)
        .bind(filter.server_id)
        .bind(filter.server_id)
        .bind(filter.location.as_deref())
        .bind(filter.location.as_deref());
    if filter.statuses.is_empty() {
        q = q.bind("");
    }
    for s in &filter.statuses {
        q = q.bind(*s);
    }
    q.fetch_all(db).await
}

/// The ticket a job completes.
pub async fn by_callback(
    conn: &mut SqliteConnection,
    callback_key: &str,
) -> Result<Option<Ticket>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM remote_hands WHERE callback_key = ?"
    ))
    .bind(callback_key)
    .fetch_optional(conn)
    .await
}

/// Closes a ticket with what the duty shift did.
pub async fn close(
    conn: &mut SqliteConnection,
    id: i64,
    resolution: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE remote_hands SET status = 'done', resolution = ?, done_at = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(resolution)
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Ticket>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM remote_hands WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Deletes tickets the duty shift closed (or the customer canceled) at `before` or earlier,
/// with their threads; open ones stay.
pub async fn purge_done(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sql::query("DELETE FROM remote_hands WHERE status <> 'open' AND done_at <= ?")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// The newest tickets first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<Ticket>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM remote_hands ORDER BY id DESC LIMIT ?"
    ))
    .bind(limit)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, NOW, OTHER};

    #[test]
    fn ticket_keys_round_trip() {
        assert_eq!(key_of(17), "RHR-17");
        assert_eq!(id_of("RHR-17"), Some(17));
        assert_eq!(id_of("RHR-x"), None);
        assert_eq!(id_of("VRI-17"), None);
    }

    #[tokio::test]
    async fn tickets_are_opened_found_by_their_record_and_closed() {
        let db = demo().await;
        let mut conn = db.acquire().await.expect("conn");
        let first = open(
            &mut conn,
            DEMO,
            40102,
            "request_pon",
            "Power on",
            "please",
            "k1",
            NOW,
        )
        .await
        .expect("open");
        let second = open(
            &mut conn,
            OTHER,
            40108,
            "request_poff",
            "Power off",
            "now",
            "k2",
            NOW + 1,
        )
        .await
        .expect("open");
        assert!(second > first);
        let t = by_callback(&mut conn, "k2")
            .await
            .expect("get")
            .expect("ticket");
        assert_eq!((t.id, t.account_id, t.server_id), (second, OTHER, 40108));
        assert_eq!(
            (t.action.as_str(), t.subject.as_str(), t.message.as_str()),
            ("request_poff", "Power off", "now")
        );
        assert_eq!(
            (t.status.as_str(), t.resolution.as_str(), t.done_at),
            ("open", "", None)
        );
        assert!(by_callback(&mut conn, "nope").await.expect("get").is_none());
        close(&mut conn, first, "Powered on by the duty shift", NOW + 60)
            .await
            .expect("close");
        drop(conn);
        let done = get(&db, first).await.expect("get").expect("ticket");
        assert_eq!(
            (done.status.as_str(), done.done_at),
            ("done", Some(NOW + 60))
        );
        assert_eq!(done.resolution, "Powered on by the duty shift");
        assert_eq!(
            get(&db, second).await.expect("get").expect("ticket").status,
            "open"
        );
        assert!(get(&db, 999).await.expect("get").is_none());
        let ids: Vec<i64> = list(&db, 10)
            .await
            .expect("list")
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, vec![second, first]);
        assert_eq!(list(&db, 1).await.expect("list").len(), 1);
        assert_eq!(id_of(&key_of(second)), Some(second));
    }

    #[tokio::test]
    async fn closed_tickets_are_purged_and_open_ones_stay() {
        let db = demo().await;
        let mut conn = db.acquire().await.expect("conn");
        let done = open(&mut conn, DEMO, 40105, "request_pon", "s", "m", "k1", NOW)
            .await
            .expect("open");
        let open_one = open(&mut conn, DEMO, 40105, "request_poff", "s", "m", "k2", NOW)
            .await
            .expect("open");
        close(&mut conn, done, "done", NOW + 100)
            .await
            .expect("close");
        drop(conn);
        assert_eq!(purge_done(&db, NOW + 99).await.expect("purge"), 0);
        assert_eq!(purge_done(&db, i64::MAX).await.expect("purge"), 1);
        assert!(get(&db, done).await.expect("get").is_none());
        assert!(get(&db, open_one).await.expect("get").is_some());
    }
}
