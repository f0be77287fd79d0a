//! Remote-hands tickets (jira.php): opened by the customer, closed by the simulated duty
//! shift when its job runs.

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
}

const COLS: &str = "id, account_id, server_id, action, subject, message, callback_key, status, \
    resolution, created_at, done_at";

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
    sql::query("UPDATE remote_hands SET status = 'done', resolution = ?, done_at = ? WHERE id = ?")
        .bind(resolution)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(db: &Db, id: i64) -> Result<Option<Ticket>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM remote_hands WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Deletes tickets the duty shift closed at `before` or earlier; open ones stay.
pub async fn purge_done(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sql::query("DELETE FROM remote_hands WHERE status = 'done' AND done_at <= ?")
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
