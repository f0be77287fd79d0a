//! API keys and their history.

use serde::Serialize;
use sqlx::FromRow;

use super::{sql, Db};

/// An API key as api_keys.php shows it (never the key itself).
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub active: i64,
    pub ip: String,
    pub server_id: i64,
    pub token_view: String,
    pub login_notify_method: String,
    pub login_notify_address: Option<String>,
    #[serde(skip)]
    pub account_id: i64,
}

const COLS: &str =
    "id, name, active, ip, server_id, token_view, login_notify_method, login_notify_address, account_id";

/// The fields a create or edit writes.
#[derive(Debug, Clone)]
pub struct KeyFields {
    pub name: String,
    pub server_id: i64,
    pub ip: String,
    pub login_notify_method: String,
    pub login_notify_address: Option<String>,
    pub active: i64,
}

pub async fn by_digest(db: &Db, digest: &str) -> Result<Option<ApiKey>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM api_keys WHERE key_digest = ?"))
        .bind(digest)
        .fetch_optional(db)
        .await
}

/// An account's key by id, from the pool or inside a transaction.
pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    id: i64,
) -> Result<Option<ApiKey>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM api_keys WHERE account_id = ? AND id = ?"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Keys of an account; `server_id` narrows to one server's keys.
pub async fn list(
    db: &Db,
    account_id: i64,
    server_id: Option<i64>,
) -> Result<Vec<ApiKey>, sqlx::Error> {
    match server_id {
        Some(s) => {
            sql::query_as(&format!(
                "SELECT {COLS} FROM api_keys WHERE account_id = ? AND server_id = ? ORDER BY id"
            ))
            .bind(account_id)
            .bind(s)
            .fetch_all(db)
            .await
        }
        None => {
            sql::query_as(&format!(
                "SELECT {COLS} FROM api_keys WHERE account_id = ? ORDER BY id"
            ))
            .bind(account_id)
            .fetch_all(db)
            .await
        }
    }
}

/// Creates a key (with a fixed id when loading a scenario); returns its id.
pub async fn insert<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: Option<i64>,
    account_id: i64,
    f: &KeyFields,
    key_digest: &str,
    token_view: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO api_keys (id, account_id, server_id, name, key_digest, token_view, ip, \
         login_notify_method, login_notify_address, active, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(id)
    .bind(account_id)
    .bind(f.server_id)
    .bind(&f.name)
    .bind(key_digest)
    .bind(token_view)
    .bind(&f.ip)
    .bind(&f.login_notify_method)
    .bind(&f.login_notify_address)
    .bind(f.active)
    .bind(now)
    .fetch_one(db)
    .await
}

pub async fn update<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    f: &KeyFields,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE api_keys SET name = ?, ip = ?, login_notify_method = ?, login_notify_address = ?, active = ? \
         WHERE id = ?",
    )
    .bind(&f.name)
    .bind(&f.ip)
    .bind(&f.login_notify_method)
    .bind(&f.login_notify_address)
    .bind(f.active)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete<'e, E: sqlx::SqliteExecutor<'e>>(db: E, id: i64) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM api_keys WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    // The caller ends the key's sessions (sessions::delete_for_key) in the same transaction.
    Ok(())
}

/// One api_keys/history record.
#[derive(Debug, Clone, FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub created_at: i64,
    pub message: String,
    pub r#type: String,
    pub login: String,
}

pub async fn add_history<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    api_key_id: i64,
    account_id: i64,
    now: i64,
    message: &str,
    kind: &str,
    login: &str,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO api_key_history (api_key_id, account_id, created_at, message, type, login) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(api_key_id)
    .bind(account_id)
    .bind(now)
    .bind(message)
    .bind(kind)
    .bind(login)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes login records (type `login`) made at `before` or earlier. Records of what was
/// done to keys stay: they tell which keys an account ever had.
pub async fn purge_logins(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sql::query("DELETE FROM api_key_history WHERE type = 'login' AND created_at <= ?")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// History of one key, newest first, within `[from, to)` (Unix seconds).
pub async fn history(
    db: &Db,
    account_id: i64,
    api_key_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sql::query_as(
        "SELECT id, created_at, message, type, login FROM api_key_history \
         WHERE account_id = ? AND api_key_id = ? AND created_at >= ? AND created_at < ? \
         ORDER BY created_at DESC, id DESC",
    )
    .bind(account_id)
    .bind(api_key_id)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// Has this account ever had a key with this id (for history of deleted keys)?
pub async fn had_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    api_key_id: i64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sql::query_scalar(
        "SELECT COUNT(*) FROM api_key_history WHERE account_id = ? AND api_key_id = ?",
    )
    .bind(account_id)
    .bind(api_key_id)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, NOW, OTHER};

    fn fields(name: &str, server_id: i64) -> KeyFields {
        KeyFields {
            name: name.into(),
            server_id,
            ip: String::new(),
            login_notify_method: "none".into(),
            login_notify_address: None,
            active: 1,
        }
    }

    fn ids(keys: &[ApiKey]) -> Vec<i64> {
        keys.iter().map(|k| k.id).collect()
    }

    #[tokio::test]
    async fn keys_are_found_by_digest_and_only_within_their_account() {
        let db = demo().await;
        let digest = crate::secrets::digest("deadbeef00000001-0123456789abcdef");
        let k = by_digest(&db, &digest).await.expect("get").expect("key");
        assert_eq!((k.id, k.account_id, k.server_id), (484, DEMO, 0));
        assert_eq!(k.token_view, "dead");
        assert!(by_digest(&db, "nope").await.expect("get").is_none());
        assert!(get(&db, DEMO, 484).await.expect("get").is_some());
        assert!(get(&db, OTHER, 484).await.expect("get").is_none());
        assert_eq!(
            ids(&list(&db, DEMO, None).await.expect("list")),
            vec![484, 485]
        );
        assert_eq!(
            ids(&list(&db, DEMO, Some(40101)).await.expect("list")),
            vec![485]
        );
        assert!(list(&db, DEMO, Some(40102)).await.expect("list").is_empty());
        assert_eq!(ids(&list(&db, OTHER, None).await.expect("list")), vec![490]);
    }

    #[tokio::test]
    async fn insert_update_and_delete_change_only_their_key() {
        let db = demo().await;
        let id = insert(&db, None, DEMO, &fields("ci", 40102), "dig-a", "abcd", NOW)
            .await
            .expect("insert");
        let k = get(&db, DEMO, id).await.expect("get").expect("new key");
        assert_eq!((k.name.as_str(), k.server_id, k.active), ("ci", 40102, 1));
        assert_eq!(
            by_digest(&db, "dig-a").await.expect("get").map(|k| k.id),
            Some(id)
        );
        let dup = insert(&db, None, DEMO, &fields("again", 0), "dig-a", "abcd", NOW)
            .await
            .expect_err("same digest");
        assert!(crate::store::is_unique_violation(&dup));

        let mut changed = fields("renamed", 40101);
        changed.ip = "192.0.2.1 192.0.2.2".into();
        changed.login_notify_method = "email".into();
        changed.login_notify_address = Some("ops@example.com".into());
        changed.active = 0;
        update(&db, id, &changed).await.expect("update");
        let k = get(&db, DEMO, id).await.expect("get").expect("key");
        assert_eq!(k.name, "renamed");
        assert_eq!(k.ip, "192.0.2.1 192.0.2.2");
        assert_eq!(k.login_notify_method, "email");
        assert_eq!(k.login_notify_address.as_deref(), Some("ops@example.com"));
        assert_eq!(k.active, 0);
        assert_eq!(
            k.server_id, 40102,
            "an edit does not move a key to another server"
        );
        assert_eq!(k.token_view, "abcd");
        let untouched = get(&db, DEMO, 484).await.expect("get").expect("484");
        assert_eq!(untouched.name, "demo automation");

        delete(&db, id).await.expect("delete");
        assert!(get(&db, DEMO, id).await.expect("get").is_none());
        assert_eq!(
            ids(&list(&db, DEMO, None).await.expect("list")),
            vec![484, 485]
        );
    }

    #[tokio::test]
    async fn ids_are_never_reused_after_a_delete() {
        let db = demo().await;
        let first = insert(&db, None, DEMO, &fields("a", 0), "dig-1", "x", NOW)
            .await
            .expect("insert");
        assert_eq!(first, 491, "after the scenario's highest id");
        delete(&db, first).await.expect("delete");
        let second = insert(&db, None, OTHER, &fields("b", 0), "dig-2", "x", NOW)
            .await
            .expect("insert");
        assert_eq!(
            second,
            first + 1,
            "the deleted highest id is not handed out again"
        );
        let fixed = insert(&db, Some(700), DEMO, &fields("c", 0), "dig-3", "x", NOW)
            .await
            .expect("insert with an id");
        assert_eq!(fixed, 700);
    }

    #[tokio::test]
    async fn history_is_per_account_and_key_newest_first_in_a_half_open_range() {
        let db = demo().await;
        // The scenario records each key's creation, thirty days back.
        let seeded = history(&db, DEMO, 484, 0, i64::MAX).await.expect("history");
        assert_eq!(seeded.len(), 1);
        assert!(seeded[0].message.starts_with("Created new api_key 484."));
        assert_eq!(
            (seeded[0].r#type.as_str(), seeded[0].login.as_str()),
            ("action", "demo@hostkey-emu.local")
        );
        for (at, msg) in [
            (NOW, "a"),
            (NOW + 10, "b"),
            (NOW + 10, "c"),
            (NOW + 20, "d"),
        ] {
            add_history(&db, 484, DEMO, at, msg, "login", "demo@hostkey-emu.local")
                .await
                .expect("add");
        }
        add_history(&db, 485, DEMO, NOW + 10, "other key", "action", "x")
            .await
            .expect("add");
        let rows = history(&db, DEMO, 484, NOW, NOW + 20)
            .await
            .expect("history");
        let msgs: Vec<&str> = rows.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec!["c", "b", "a"],
            "newest first, ties by id; `to` excluded"
        );
        assert!(history(&db, OTHER, 484, 0, i64::MAX)
            .await
            .expect("history")
            .is_empty());

        // A deleted key's history stays readable, and tells which account had it.
        delete(&db, 484).await.expect("delete");
        assert!(had_key(&db, DEMO, 484).await.expect("had"));
        assert!(!had_key(&db, OTHER, 484).await.expect("had"));
        assert!(!had_key(&db, DEMO, 490).await.expect("had"));
        assert!(!had_key(&db, DEMO, 9999).await.expect("had"));
        assert_eq!(
            history(&db, DEMO, 484, 0, i64::MAX)
                .await
                .expect("history")
                .len(),
            5
        );
    }

    #[tokio::test]
    async fn keys_and_their_past_are_read_inside_a_callers_transaction() {
        let db = demo().await;
        let mut tx = crate::store::begin_write(&db).await.expect("begin");
        delete(&mut *tx, 485).await.expect("delete");
        assert!(get(&mut *tx, DEMO, 485).await.expect("get").is_none());
        assert!(get(&mut *tx, DEMO, 484).await.expect("get").is_some());
        assert!(had_key(&mut *tx, DEMO, 485).await.expect("had"));
        tx.rollback().await.expect("rollback");
        assert!(get(&db, DEMO, 485).await.expect("get").is_some());
    }

    #[tokio::test]
    async fn only_login_records_are_purged_from_the_history() {
        let db = demo().await;
        let before = history(&db, DEMO, 484, i64::MIN, i64::MAX)
            .await
            .expect("history")
            .len();
        add_history(&db, 484, DEMO, NOW, "Login with api_key 484", "login", "d")
            .await
            .expect("add");
        add_history(&db, 484, DEMO, NOW, "Changed api_key 484", "action", "d")
            .await
            .expect("add");
        add_history(
            &db,
            484,
            DEMO,
            NOW + 5,
            "Login with api_key 484",
            "login",
            "d",
        )
        .await
        .expect("add");
        assert_eq!(purge_logins(&db, NOW - 1).await.expect("purge"), 0);
        assert_eq!(purge_logins(&db, NOW).await.expect("purge"), 1);
        let h = history(&db, DEMO, 484, i64::MIN, i64::MAX)
            .await
            .expect("history");
        assert_eq!(h.len(), before + 2, "the change and the later login stay");
        assert_eq!(purge_logins(&db, i64::MAX).await.expect("purge"), 1);
        assert!(h.iter().any(|r| r.r#type == "action"));
        assert!(had_key(&db, DEMO, 484).await.expect("had"));
    }
}
