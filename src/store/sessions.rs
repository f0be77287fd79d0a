//! Session tokens and failed-login counters.

use sqlx::FromRow;

use super::accounts::{self, Account};
use super::{qualified, sql, Db};

/// A live session.
#[derive(Debug, Clone, FromRow)]
pub struct Session {
    pub token_digest: String,
    pub salt: String,
    pub account_id: i64,
    pub api_key_id: Option<i64>,
    pub server_id: i64,
    pub kind: String,
    pub bound_ip: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

const COLS: &str =
    "token_digest, salt, account_id, api_key_id, server_id, kind, bound_ip, created_at, expires_at";

/// A session with the account it belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct SessionAccount {
    #[sqlx(flatten)]
    pub session: Session,
    #[sqlx(flatten)]
    pub account: Account,
}

impl crate::readcache::Weigh for SessionAccount {
    /// About what a remembered session holds (its strings and the account's).
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + 512
    }
}

/// The session of a token digest with its account, in one statement: every authenticated
/// request starts with this.
pub async fn with_account(db: &Db, digest: &str) -> Result<Option<SessionAccount>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {}, {} FROM sessions s JOIN accounts a ON a.id = s.account_id \
         WHERE s.token_digest = ?",
        qualified("s", COLS),
        qualified("a", accounts::COLS)
    ))
    .bind(digest)
    .fetch_optional(db)
    .await
}

/// Live sessions opened with the same credential and the same IP binding.
pub async fn reusable(
    db: &Db,
    account_id: i64,
    api_key_id: Option<i64>,
    kind: &str,
    bound_ip: Option<&str>,
    now: i64,
) -> Result<Vec<Session>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM sessions WHERE account_id = ? AND api_key_id IS ? AND kind = ? \
         AND bound_ip IS ? AND expires_at > ? ORDER BY created_at DESC LIMIT 8"
    ))
    .bind(account_id)
    .bind(api_key_id)
    .bind(kind)
    .bind(bound_ip)
    .bind(now)
    .fetch_all(db)
    .await
}

pub async fn insert(db: &Db, s: &Session) -> Result<(), sqlx::Error> {
    sql::query(&format!(
        "INSERT INTO sessions ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&s.token_digest)
    .bind(&s.salt)
    .bind(s.account_id)
    .bind(s.api_key_id)
    .bind(s.server_id)
    .bind(&s.kind)
    .bind(&s.bound_ip)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete(db: &Db, digest: &str) -> Result<bool, sqlx::Error> {
    let r = sql::query("DELETE FROM sessions WHERE token_digest = ?")
        .bind(digest)
        .execute(db)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Ends every session opened with a key (the key was deleted or deactivated).
pub async fn delete_for_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    api_key_id: i64,
) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM sessions WHERE api_key_id = ?")
        .bind(api_key_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Drops expired sessions (housekeeping).
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sql::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(now)
        .execute(db)
        .await?
        .rows_affected())
}

/// The run of failures that still counts (0 after a quiet hour), from a stored row.
fn live_run(row: Option<(i64, i64)>, now: i64) -> i64 {
    match row {
        Some((n, at)) if now - at < 3600 => n,
        _ => 0,
    }
}

/// Failures so far for a login subject from every address together (0 after a quiet hour).
pub async fn failures(db: &Db, subject: &str, now: i64) -> Result<i64, sqlx::Error> {
    failures_from(db, subject, "", now).await
}

/// Failures so far for a login subject from one client address (0 after a quiet hour);
/// `""` is the subject's run from every address.
pub async fn failures_from(
    db: &Db,
    subject: &str,
    address: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row: Option<(i64, i64)> = sql::query_as(
        "SELECT failures, last_failed_at FROM login_failures WHERE subject = ? AND address = ?",
    )
    .bind(subject)
    .bind(address)
    .fetch_optional(db)
    .await?;
    Ok(live_run(row, now))
}

/// A subject's run of failures (from every address) and when the last one was, if it has one.
pub async fn failure_run(db: &Db, subject: &str) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sql::query_as(
        "SELECT failures, last_failed_at FROM login_failures WHERE subject = ? AND address = ''",
    )
    .bind(subject)
    .fetch_optional(db)
    .await
}

/// Counts a failure of a subject (a run restarts after a quiet hour).
pub async fn record_failure(db: &Db, subject: &str, now: i64) -> Result<(), sqlx::Error> {
    record_failure_from(db, subject, "", now).await?;
    Ok(())
}

/// Counts a failure of a subject from a client address, in the address's run and in the
/// subject's run from every address, in one statement; returns the subject's run.
pub async fn record_failure_from(
    db: &Db,
    subject: &str,
    address: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    // With address '' the two rows are one: count it once.
    let rows: Vec<(String, i64)> = sql::query_as(
        "INSERT INTO login_failures (subject, address, failures, last_failed_at) \
         SELECT ?, a.value, 1, ? FROM json_each(?) AS a WHERE true \
         ON CONFLICT(subject, address) DO UPDATE SET \
         failures = CASE WHEN excluded.last_failed_at - last_failed_at < 3600 THEN failures + 1 ELSE 1 END, \
         last_failed_at = excluded.last_failed_at \
         RETURNING address, failures",
    )
    .bind(subject)
    .bind(now)
    .bind(if address.is_empty() {
        "[\"\"]".to_owned()
    } else {
        serde_json::json!(["", address]).to_string()
    })
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .find(|(a, _)| a.is_empty())
        .map_or(1, |(_, n)| n))
}

/// Deletes runs of failures whose last failure was at `before` or earlier (runs that no
/// longer count for anything).
pub async fn purge_failures(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sql::query("DELETE FROM login_failures WHERE last_failed_at <= ?")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// Ends every run of a subject (every address's and the subject's own).
pub async fn clear_failures(db: &Db, subject: &str) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM login_failures WHERE subject = ?")
        .bind(subject)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends one address's run of a subject (a right credential from there); the subject's run
/// from every address, which other addresses fed, stays.
pub async fn clear_failures_from(db: &Db, subject: &str, address: &str) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM login_failures WHERE subject = ? AND address = ?")
        .bind(subject)
        .bind(address)
        .execute(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{count, demo, DEMO, NOW, OTHER};

    fn session(
        digest: &str,
        account_id: i64,
        key: Option<i64>,
        ip: Option<&str>,
        created: i64,
        expires: i64,
    ) -> Session {
        Session {
            token_digest: digest.into(),
            salt: format!("salt-{digest}"),
            account_id,
            api_key_id: key,
            server_id: 0,
            kind: if key.is_some() { "key" } else { "password" }.into(),
            bound_ip: ip.map(Into::into),
            created_at: created,
            expires_at: expires,
        }
    }

    /// The session of a digest, as the token check reads it.
    async fn by_digest(db: &Db, digest: &str) -> Result<Option<Session>, sqlx::Error> {
        Ok(with_account(db, digest).await?.map(|s| s.session))
    }

    fn digests(v: &[Session]) -> Vec<&str> {
        v.iter().map(|s| s.token_digest.as_str()).collect()
    }

    #[tokio::test]
    async fn a_session_is_read_with_its_account() {
        let db = demo().await;
        let mut s = session("t1", DEMO, Some(485), Some("192.0.2.7"), NOW, NOW + 900);
        s.server_id = 40101;
        insert(&db, &s).await.expect("insert");
        insert(&db, &session("t2", OTHER, None, None, NOW, NOW + 60))
            .await
            .expect("insert");
        let got = with_account(&db, "t1")
            .await
            .expect("get")
            .expect("session");
        assert_eq!(
            (
                got.session.account_id,
                got.session.api_key_id,
                got.session.server_id
            ),
            (DEMO, Some(485), 40101)
        );
        assert_eq!(
            (
                got.session.created_at,
                got.session.expires_at,
                got.session.bound_ip
            ),
            (NOW, NOW + 900, Some("192.0.2.7".to_owned()))
        );
        let account = accounts::get(&db, DEMO).await.expect("get").expect("demo");
        assert_eq!(
            (got.account.id, got.account.email, got.account.pin_hash),
            (account.id, account.email, account.pin_hash)
        );
        let other = with_account(&db, "t2")
            .await
            .expect("get")
            .expect("session");
        assert_eq!(
            (other.account.id, other.session.kind.as_str()),
            (OTHER, "password")
        );
        assert!(with_account(&db, "t3").await.expect("get").is_none());
    }

    #[tokio::test]
    async fn sessions_are_stored_found_and_deleted_once() {
        let db = demo().await;
        let mut s = session("t1", DEMO, Some(485), Some("192.0.2.7"), NOW, NOW + 900);
        s.server_id = 40101;
        insert(&db, &s).await.expect("insert");
        let got = by_digest(&db, "t1").await.expect("get").expect("session");
        assert_eq!(
            (got.account_id, got.api_key_id, got.server_id),
            (DEMO, Some(485), 40101)
        );
        assert_eq!((got.salt.as_str(), got.kind.as_str()), ("salt-t1", "key"));
        assert_eq!(got.bound_ip.as_deref(), Some("192.0.2.7"));
        assert_eq!((got.created_at, got.expires_at), (NOW, NOW + 900));
        assert!(insert(&db, &s).await.is_err(), "a digest is stored once");
        assert!(delete(&db, "t1").await.expect("delete"));
        assert!(!delete(&db, "t1").await.expect("delete"), "already gone");
        assert!(by_digest(&db, "t1").await.expect("get").is_none());
    }

    #[tokio::test]
    async fn only_live_sessions_of_the_same_credential_and_binding_are_reusable() {
        let db = demo().await;
        for s in [
            session("old", DEMO, Some(484), None, NOW, NOW + 100),
            session("new", DEMO, Some(484), None, NOW + 1, NOW + 100),
            session(
                "bound",
                DEMO,
                Some(484),
                Some("192.0.2.7"),
                NOW + 2,
                NOW + 100,
            ),
            session("key485", DEMO, Some(485), None, NOW + 3, NOW + 100),
            session("expired", DEMO, Some(484), None, NOW + 4, NOW + 10),
            session("password", DEMO, None, None, NOW + 5, NOW + 100),
            session("foreign", OTHER, Some(484), None, NOW + 6, NOW + 100),
        ] {
            insert(&db, &s).await.expect("insert");
        }
        let r = reusable(&db, DEMO, Some(484), "key", None, NOW + 10)
            .await
            .expect("reusable");
        assert_eq!(digests(&r), vec!["new", "old"]);
        let r = reusable(&db, DEMO, Some(484), "key", Some("192.0.2.7"), NOW + 10)
            .await
            .expect("reusable");
        assert_eq!(digests(&r), vec!["bound"]);
        let r = reusable(&db, DEMO, None, "password", None, NOW + 10)
            .await
            .expect("reusable");
        assert_eq!(
            digests(&r),
            vec!["password"],
            "a null key matches only a null key"
        );
        assert!(reusable(&db, DEMO, Some(484), "password", None, NOW + 10)
            .await
            .expect("reusable")
            .is_empty());
        assert!(
            reusable(&db, DEMO, Some(484), "key", None, NOW + 100)
                .await
                .expect("reusable")
                .is_empty(),
            "expired at expires_at"
        );
        for i in 0..10 {
            insert(
                &db,
                &session(
                    &format!("many{i}"),
                    DEMO,
                    Some(490),
                    None,
                    NOW + i,
                    NOW + 100,
                ),
            )
            .await
            .expect("insert");
        }
        let r = reusable(&db, DEMO, Some(490), "key", None, NOW)
            .await
            .expect("reusable");
        assert_eq!(r.len(), 8, "at most eight");
        assert_eq!(r[0].token_digest, "many9");
    }

    #[tokio::test]
    async fn deleting_a_keys_sessions_and_purging_expired_ones_leave_the_rest() {
        let db = demo().await;
        for s in [
            session("k484a", DEMO, Some(484), None, NOW, NOW + 100),
            session("k484b", DEMO, Some(484), Some("192.0.2.7"), NOW, NOW + 100),
            session("k485", DEMO, Some(485), None, NOW, NOW + 50),
            session("pw", DEMO, None, None, NOW, NOW + 200),
        ] {
            insert(&db, &s).await.expect("insert");
        }
        delete_for_key(&db, 484).await.expect("delete for key");
        assert_eq!(count(&db, "sessions").await, 2);
        assert!(by_digest(&db, "k485").await.expect("get").is_some());
        assert_eq!(purge_expired(&db, NOW + 49).await.expect("purge"), 0);
        assert_eq!(purge_expired(&db, NOW + 50).await.expect("purge"), 1);
        assert!(by_digest(&db, "k485").await.expect("get").is_none());
        assert!(by_digest(&db, "pw").await.expect("get").is_some());
    }

    #[tokio::test]
    async fn failures_count_in_a_run_that_a_quiet_hour_or_a_clear_ends() {
        let db = demo().await;
        assert_eq!(failures(&db, "a@x", NOW).await.expect("failures"), 0);
        assert_eq!(failure_run(&db, "a@x").await.expect("run"), None);
        record_failure(&db, "a@x", NOW).await.expect("record");
        record_failure(&db, "a@x", NOW + 10).await.expect("record");
        record_failure(&db, "b@x", NOW + 10).await.expect("record");
        assert_eq!(failures(&db, "a@x", NOW + 20).await.expect("failures"), 2);
        assert_eq!(
            failure_run(&db, "a@x").await.expect("run"),
            Some((2, NOW + 10))
        );
        assert_eq!(failures(&db, "b@x", NOW + 20).await.expect("failures"), 1);
        // An hour after the last failure the run no longer counts...
        assert_eq!(
            failures(&db, "a@x", NOW + 10 + 3599)
                .await
                .expect("failures"),
            2
        );
        assert_eq!(
            failures(&db, "a@x", NOW + 10 + 3600)
                .await
                .expect("failures"),
            0
        );
        assert_eq!(
            failure_run(&db, "a@x").await.expect("run"),
            Some((2, NOW + 10)),
            "but stays stored"
        );
        // ...and the next failure starts a new one.
        record_failure(&db, "a@x", NOW + 10 + 3600)
            .await
            .expect("record");
        assert_eq!(
            failure_run(&db, "a@x").await.expect("run"),
            Some((1, NOW + 3610))
        );
        record_failure(&db, "a@x", NOW + 3611)
            .await
            .expect("record");
        assert_eq!(failures(&db, "a@x", NOW + 3612).await.expect("failures"), 2);
        clear_failures(&db, "a@x").await.expect("clear");
        assert_eq!(failure_run(&db, "a@x").await.expect("run"), None);
        assert_eq!(failures(&db, "a@x", NOW + 3612).await.expect("failures"), 0);
        assert_eq!(
            failure_run(&db, "b@x").await.expect("run"),
            Some((1, NOW + 10))
        );
    }

    #[tokio::test]
    async fn failures_count_per_address_and_for_the_subject_from_every_address() {
        let db = demo().await;
        assert_eq!(
            record_failure_from(&db, "key:k", "192.0.2.1", NOW)
                .await
                .expect("record"),
            1
        );
        record_failure_from(&db, "key:k", "192.0.2.1", NOW + 1)
            .await
            .expect("record");
        assert_eq!(
            record_failure_from(&db, "key:k", "192.0.2.2", NOW + 2)
                .await
                .expect("record"),
            3,
            "the subject's run counts every address"
        );
        let from = |a: &'static str, at: i64| {
            let db = db.clone();
            async move { failures_from(&db, "key:k", a, at).await.expect("failures") }
        };
        assert_eq!(from("192.0.2.1", NOW + 3).await, 2);
        assert_eq!(from("192.0.2.2", NOW + 3).await, 1);
        assert_eq!(from("192.0.2.3", NOW + 3).await, 0);
        assert_eq!(failures(&db, "key:k", NOW + 3).await.expect("failures"), 3);
        assert_eq!(
            failure_run(&db, "key:k").await.expect("run"),
            Some((3, NOW + 2))
        );
        // A quiet hour ends an address's run like the subject's.
        assert_eq!(from("192.0.2.1", NOW + 1 + 3600).await, 0);
        // A success from one address ends that address's run only.
        clear_failures_from(&db, "key:k", "192.0.2.1")
            .await
            .expect("clear");
        assert_eq!(from("192.0.2.1", NOW + 3).await, 0);
        assert_eq!(from("192.0.2.2", NOW + 3).await, 1);
        assert_eq!(failures(&db, "key:k", NOW + 3).await.expect("failures"), 3);
        // A subject-wide failure (a per-key PIN run) is counted once.
        record_failure(&db, "pin:key:9", NOW).await.expect("record");
        assert_eq!(
            count(&db, "login_failures WHERE subject = 'pin:key:9'").await,
            1
        );
        clear_failures(&db, "key:k").await.expect("clear");
        assert_eq!(
            count(&db, "login_failures WHERE subject = 'key:k'").await,
            0
        );
    }

    #[tokio::test]
    async fn runs_whose_last_failure_is_old_enough_are_purged() {
        let db = demo().await;
        record_failure_from(&db, "key:a", "192.0.2.1", NOW)
            .await
            .expect("record");
        record_failure(&db, "pin:key:7", NOW + 10)
            .await
            .expect("record");
        assert_eq!(purge_failures(&db, NOW - 1).await.expect("purge"), 0);
        assert_eq!(purge_failures(&db, NOW).await.expect("purge"), 2);
        assert_eq!(
            failure_run(&db, "pin:key:7").await.expect("run"),
            Some((1, NOW + 10))
        );
        assert_eq!(purge_failures(&db, NOW + 10).await.expect("purge"), 1);
        assert_eq!(count(&db, "login_failures").await, 0);
    }
}
