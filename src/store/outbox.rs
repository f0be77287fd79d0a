//! The e-mail outbox: notices the emulator would have sent.

use super::{sql, Db};

/// Queues a message (inside the caller's transaction when given one).
pub async fn push<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: Option<i64>,
    to: &str,
    subject: &str,
    body: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query("INSERT INTO outbox (account_id, to_address, subject, body, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(account_id)
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// One outbox message.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Mail {
    pub id: i64,
    pub account_id: Option<i64>,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
}

/// Deletes messages queued at `before` or earlier.
pub async fn purge(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(sql::query("DELETE FROM outbox WHERE created_at <= ?")
        .bind(before)
        .execute(db)
        .await?
        .rows_affected())
}

/// Newest messages first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<Mail>, sqlx::Error> {
    sql::query_as("SELECT id, account_id, to_address, subject, body, created_at FROM outbox ORDER BY id DESC LIMIT ?")
        .bind(limit)
        .fetch_all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, NOW};

    #[tokio::test]
    async fn messages_are_listed_newest_first_up_to_the_limit() {
        let db = demo().await;
        assert!(list(&db, 10).await.expect("list").is_empty());
        push(
            &db,
            Some(DEMO),
            "demo@hostkey-emu.local",
            "first",
            "body 1",
            NOW,
        )
        .await
        .expect("push");
        let mut tx = crate::store::begin_write(&db).await.expect("tx");
        push(
            &mut *tx,
            None,
            "ops@example.com",
            "second",
            "body 2",
            NOW + 1,
        )
        .await
        .expect("push");
        tx.commit().await.expect("commit");
        let all = list(&db, 10).await.expect("list");
        assert_eq!(
            all.iter().map(|m| m.subject.as_str()).collect::<Vec<_>>(),
            vec!["second", "first"]
        );
        let first = &all[1];
        assert_eq!(
            (first.account_id, first.to_address.as_str()),
            (Some(DEMO), "demo@hostkey-emu.local")
        );
        assert_eq!((first.body.as_str(), first.created_at), ("body 1", NOW));
        assert_eq!(all[0].account_id, None);
        let one = list(&db, 1).await.expect("list");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].subject, "second");
        assert!(
            push(&db, Some(1), "x@example.com", "s", "b", NOW)
                .await
                .is_err(),
            "no such account"
        );
    }

    #[tokio::test]
    async fn messages_up_to_a_time_are_purged() {
        let db = demo().await;
        for (subject, at) in [("old", NOW), ("new", NOW + 10)] {
            push(&db, Some(DEMO), "a@example.com", subject, "b", at)
                .await
                .expect("push");
        }
        assert_eq!(purge(&db, NOW - 1).await.expect("purge"), 0);
        assert_eq!(purge(&db, NOW).await.expect("purge"), 1);
        let left = list(&db, 10).await.expect("list");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].subject, "new");
    }
}
