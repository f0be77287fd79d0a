//! Async records (callback keys) as the pollers show them.

use sqlx::FromRow;

use super::{sql, Db};

/// One async record.
#[derive(Debug, Clone, FromRow)]
pub struct Callback {
    pub key: String,
    pub module: String,
    pub account_id: Option<i64>,
    pub server_id: i64,
    pub action: String,
    pub state: String,
    pub scope: Option<String>,
    pub context: String,
    pub debug: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub first_read_at: Option<i64>,
}

const COLS: &str =
    "key, module, account_id, server_id, action, state, scope, context, debug, created_at, updated_at, first_read_at";

/// What a new record starts as.
#[derive(Debug, Clone)]
pub struct NewCallback<'a> {
    pub key: &'a str,
    pub module: &'a str,
    pub account_id: Option<i64>,
    pub server_id: i64,
    pub action: &'a str,
    pub context: &'a serde_json::Value,
}

/// Creates a pending record.
pub async fn create<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    c: &NewCallback<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO callbacks (key, module, account_id, server_id, action, state, context, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
    )
    .bind(c.key)
    .bind(c.module)
    .bind(c.account_id)
    .bind(c.server_id)
    .bind(c.action)
    .bind(c.context.to_string())
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Creates several pending records in one statement (each as [`create`] makes one).
pub async fn create_many<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    records: &[NewCallback<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|c| {
            serde_json::json!([
                c.key,
                c.module,
                c.account_id,
                c.server_id,
                c.action,
                c.context.to_string()
            ])
        })
        .collect();
    sql::query(
        "INSERT INTO callbacks (key, module, account_id, server_id, action, state, context, created_at, updated_at) \
         SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), \
         json_extract(j.value, '$[3]'), json_extract(j.value, '$[4]'), 'pending', json_extract(j.value, '$[5]'), ?, ? \
         FROM json_each(?) AS j ORDER BY j.key",
    )
    .bind(now)
    .bind(now)
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(db)
    .await?;
    Ok(())
}

/// Creates a record that is already final (e.g. a PIN check answered on the spot).
pub async fn create_final<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    c: &NewCallback<'_>,
    ok: bool,
    scope: &str,
    debug: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO callbacks (key, module, account_id, server_id, action, state, scope, context, debug, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(c.key)
    .bind(c.module)
    .bind(c.account_id)
    .bind(c.server_id)
    .bind(c.action)
    .bind(if ok { "ok" } else { "fail" })
    .bind(scope)
    .bind(c.context.to_string())
    .bind(debug)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// A record by key, from the pool or inside the caller's transaction.
pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    key: &str,
) -> Result<Option<Callback>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM callbacks WHERE key = ?"))
        .bind(key)
        .fetch_optional(db)
        .await
}

/// Final outcome of a record.
pub async fn finish<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    key: &str,
    ok: bool,
    scope: &str,
    context: &serde_json::Value,
    debug: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE callbacks SET state = ?, scope = ?, context = ?, debug = ?, updated_at = ? WHERE key = ?")
        .bind(if ok { "ok" } else { "fail" })
        .bind(scope)
        .bind(context.to_string())
        .bind(debug)
        .bind(now)
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// An intermediate stage of staged work (reinstall, deploy).
pub async fn stage<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    key: &str,
    scope: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE callbacks SET state = 'stage', scope = ?, updated_at = ? WHERE key = ?")
        .bind(scope)
        .bind(now)
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Starts the retention period at the first read of a final record.
pub async fn mark_read(db: &Db, key: &str, now: i64) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE callbacks SET first_read_at = ? WHERE key = ? AND first_read_at IS NULL AND state IN ('ok','fail')",
    )
    .bind(now)
    .bind(key)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes records whose retention after the first read has passed.
pub async fn purge_expired(db: &Db, now: i64, retention: i64) -> Result<u64, sqlx::Error> {
    Ok(sql::query("DELETE FROM callbacks WHERE first_read_at <= ?")
        .bind(now.saturating_sub(retention))
        .execute(db)
        .await?
        .rows_affected())
}

/// Deletes final records nobody ever read that became final `retention` seconds ago or
/// earlier. Pending and staged records (work still running) are never touched.
pub async fn purge_unread(db: &Db, now: i64, retention: i64) -> Result<u64, sqlx::Error> {
    Ok(sql::query(
        "DELETE FROM callbacks WHERE state IN ('ok', 'fail') AND updated_at <= ? \
         AND first_read_at IS NULL",
    )
    .bind(now.saturating_sub(retention))
    .execute(db)
    .await?
    .rows_affected())
}

/// Is a job for this server and action still unfinished (e.g. a reinstall in progress)?
pub async fn pending_for_server(
    db: &Db,
    server_id: i64,
    actions: &[&str],
) -> Result<Option<String>, sqlx::Error> {
    let list = actions.iter().map(|_| "?").collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT key FROM callbacks WHERE server_id = ? AND state IN ('pending','stage') AND action IN ({list}) LIMIT 1"
    );
    let mut q = sql::query_scalar(&sql).bind(server_id);
    for a in actions {
        q = q.bind(*a);
    }
    q.fetch_optional(db).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{count, empty, NOW};

    fn new<'a>(
        key: &'a str,
        server_id: i64,
        action: &'a str,
        ctx: &'a serde_json::Value,
    ) -> NewCallback<'a> {
        NewCallback {
            key,
            module: "eq",
            account_id: Some(7),
            server_id,
            action,
            context: ctx,
        }
    }

    async fn state(db: &Db, key: &str) -> String {
        get(db, key).await.expect("get").expect("record").state
    }

    #[tokio::test]
    async fn create_many_makes_the_records_create_makes_one_by_one() {
        let db = empty().await;
        let a = serde_json::json!({"action": "remove_ipv4", "id": "40101", "ip": "10.0.0.2"});
        let b = serde_json::json!({"n": 1.25, "quote": "a\"b", "none": null});
        create(&db, &new("one-a", 40101, "remove_ipv4", &a), NOW)
            .await
            .expect("create");
        create(&db, &new("one-b", 0, "x", &b), NOW)
            .await
            .expect("create");
        let mut nobody = new("many-b", 0, "x", &b);
        nobody.account_id = None;
        nobody.module = "nat";
        create(&db, &nobody, NOW).await.expect("create");
        nobody.key = "many-c";
        create_many(
            &db,
            &[
                new("many-a", 40101, "remove_ipv4", &a),
                new("many-b2", 0, "x", &b),
                nobody,
            ],
            NOW,
        )
        .await
        .expect("create");
        create_many(&db, &[], NOW).await.expect("nothing");
        let same = |one: &str, many: &str| {
            let db = db.clone();
            let (one, many) = (one.to_owned(), many.to_owned());
            async move {
                let mut x = get(&db, &one).await.expect("get").expect("one");
                let y = get(&db, &many).await.expect("get").expect("many");
                x.key = y.key.clone();
                assert_eq!(format!("{x:?}"), format!("{y:?}"));
            }
        };
        same("one-a", "many-a").await;
        same("one-b", "many-b2").await;
        same("many-b", "many-c").await;
        assert_eq!(count(&db, "callbacks").await, 6);
    }

    #[tokio::test]
    async fn a_record_starts_pending_passes_stages_and_finishes() {
        let db = empty().await;
        let ctx = serde_json::json!({"os_id": 12});
        create(&db, &new("k1", 40101, "reinstall", &ctx), NOW)
            .await
            .expect("create");
        let c = get(&db, "k1").await.expect("get").expect("record");
        assert_eq!(
            (c.module.as_str(), c.account_id, c.server_id),
            ("eq", Some(7), 40101)
        );
        assert_eq!(
            (c.action.as_str(), c.state.as_str()),
            ("reinstall", "pending")
        );
        assert_eq!((c.scope, c.debug, c.first_read_at), (None, None, None));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&c.context).expect("json"),
            ctx
        );
        assert_eq!((c.created_at, c.updated_at), (NOW, NOW));
        let dup = create(&db, &new("k1", 1, "x", &ctx), NOW)
            .await
            .expect_err("same key");
        assert!(crate::store::is_unique_violation(&dup));

        stage(&db, "k1", "installing", NOW + 5)
            .await
            .expect("stage");
        let c = get(&db, "k1").await.expect("get").expect("record");
        assert_eq!(
            (c.state.as_str(), c.scope.as_deref(), c.updated_at),
            ("stage", Some("installing"), NOW + 5)
        );

        let done = serde_json::json!({"result": "ok"});
        let mut tx = crate::store::begin_write(&db).await.expect("tx");
        finish(
            &mut *tx,
            "k1",
            false,
            "failed",
            &done,
            Some("disk"),
            NOW + 9,
        )
        .await
        .expect("finish");
        let inside = get(&mut *tx, "k1").await.expect("get").expect("record");
        assert_eq!(inside.state, "fail");
        tx.commit().await.expect("commit");
        let c = get(&db, "k1").await.expect("get").expect("record");
        assert_eq!(
            (c.scope.as_deref(), c.debug.as_deref()),
            (Some("failed"), Some("disk"))
        );
        assert_eq!(c.context, done.to_string());
        assert_eq!((c.created_at, c.updated_at), (NOW, NOW + 9));
        finish(&db, "k1", true, "done", &done, None, NOW + 10)
            .await
            .expect("finish");
        assert_eq!(state(&db, "k1").await, "ok");
        assert!(get(&db, "nope").await.expect("get").is_none());
    }

    #[tokio::test]
    async fn a_final_record_can_be_created_at_once() {
        let db = empty().await;
        let ctx = serde_json::json!({});
        create_final(
            &db,
            &new("ok", 0, "check_pin", &ctx),
            true,
            "pin",
            None,
            NOW,
        )
        .await
        .expect("ok");
        create_final(
            &db,
            &new("bad", 0, "check_pin", &ctx),
            false,
            "pin",
            Some("wrong"),
            NOW,
        )
        .await
        .expect("fail");
        let ok = get(&db, "ok").await.expect("get").expect("record");
        assert_eq!(
            (ok.state.as_str(), ok.scope.as_deref(), ok.debug),
            ("ok", Some("pin"), None)
        );
        let bad = get(&db, "bad").await.expect("get").expect("record");
        assert_eq!(
            (bad.state.as_str(), bad.debug.as_deref()),
            ("fail", Some("wrong"))
        );
    }

    #[tokio::test]
    async fn retention_starts_at_the_first_read_of_a_final_record() {
        let db = empty().await;
        let ctx = serde_json::json!({});
        create(&db, &new("pending", 1, "reboot", &ctx), NOW)
            .await
            .expect("create");
        create_final(&db, &new("final", 1, "reboot", &ctx), true, "", None, NOW)
            .await
            .expect("create");
        create_final(&db, &new("unread", 1, "reboot", &ctx), true, "", None, NOW)
            .await
            .expect("create");
        mark_read(&db, "pending", NOW + 1).await.expect("read");
        assert_eq!(
            get(&db, "pending")
                .await
                .expect("get")
                .expect("r")
                .first_read_at,
            None,
            "not final yet"
        );
        mark_read(&db, "final", NOW + 10).await.expect("read");
        mark_read(&db, "final", NOW + 50).await.expect("read again");
        assert_eq!(
            get(&db, "final")
                .await
                .expect("get")
                .expect("r")
                .first_read_at,
            Some(NOW + 10),
            "the first read counts"
        );
        assert_eq!(
            purge_expired(&db, NOW + 10 + 99, 100).await.expect("purge"),
            0
        );
        assert_eq!(count(&db, "callbacks").await, 3);
        assert_eq!(
            purge_expired(&db, NOW + 10 + 100, 100)
                .await
                .expect("purge"),
            1
        );
        assert!(get(&db, "final").await.expect("get").is_none());
        assert_eq!(
            purge_expired(&db, i64::MAX / 2, 100).await.expect("purge"),
            0,
            "unread records stay"
        );
        assert_eq!(count(&db, "callbacks").await, 2);
    }

    #[tokio::test]
    async fn pending_work_is_found_per_server_and_action() {
        let db = empty().await;
        let ctx = serde_json::json!({});
        create(&db, &new("r1", 40101, "reinstall", &ctx), NOW)
            .await
            .expect("create");
        create(&db, &new("p1", 40102, "reboot", &ctx), NOW)
            .await
            .expect("create");
        create_final(
            &db,
            &new("d1", 40103, "reinstall", &ctx),
            true,
            "",
            None,
            NOW,
        )
        .await
        .expect("create");
        let find = |server, actions: &'static [&'static str]| {
            let db = db.clone();
            async move {
                pending_for_server(&db, server, actions)
                    .await
                    .expect("pending")
            }
        };
        assert_eq!(
            find(40101, &["reinstall", "deploy"]).await.as_deref(),
            Some("r1")
        );
        assert_eq!(find(40101, &["deploy"]).await, None);
        assert_eq!(find(40102, &["reinstall"]).await, None);
        assert_eq!(
            find(40103, &["reinstall"]).await,
            None,
            "finished work is not pending"
        );
        stage(&db, "r1", "copying", NOW + 1).await.expect("stage");
        assert_eq!(
            find(40101, &["reinstall"]).await.as_deref(),
            Some("r1"),
            "a staged job still is"
        );
        finish(&db, "r1", true, "", &ctx, None, NOW + 2)
            .await
            .expect("finish");
        assert_eq!(find(40101, &["reinstall"]).await, None);
    }

    #[tokio::test]
    async fn unread_final_records_are_purged_after_their_age_and_nothing_else() {
        let db = empty().await;
        let ctx = serde_json::json!({});
        create(&db, &new("pending", 1, "reboot", &ctx), NOW)
            .await
            .expect("create");
        create(&db, &new("staged", 1, "reinstall", &ctx), NOW)
            .await
            .expect("create");
        stage(&db, "staged", "copying", NOW).await.expect("stage");
        create_final(&db, &new("read", 1, "on", &ctx), true, "", None, NOW)
            .await
            .expect("create");
        mark_read(&db, "read", NOW).await.expect("read");
        create_final(&db, &new("unread", 1, "on", &ctx), false, "", None, NOW)
            .await
            .expect("create");
        create(&db, &new("late", 1, "off", &ctx), NOW)
            .await
            .expect("create");
        finish(&db, "late", true, "", &ctx, None, NOW + 50)
            .await
            .expect("finish");
        assert_eq!(
            purge_unread(&db, NOW + 99, 100).await.expect("purge"),
            0,
            "younger than the age"
        );
        assert_eq!(purge_unread(&db, NOW + 100, 100).await.expect("purge"), 1);
        assert!(get(&db, "unread").await.expect("get").is_none());
        assert_eq!(
            purge_unread(&db, NOW + 150, 100).await.expect("purge"),
            1,
            "counted from when it became final"
        );
        assert_eq!(
            purge_unread(&db, i64::MAX, 100).await.expect("purge"),
            0,
            "pending, staged and read records are not the unread ones"
        );
        assert_eq!(count(&db, "callbacks").await, 3);
    }
}
