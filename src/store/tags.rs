//! Tags on servers, customers and catalogue items.

use serde::Serialize;
use sqlx::FromRow;

use super::{sql, Db};

/// A tag as tags.php and eq/show render it.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Tag {
    pub id: i64,
    pub component: String,
    pub component_id: i64,
    pub tag: String,
    pub value: String,
    pub extra: String,
    pub internal: i64,
}

const COLS: &str = "id, component, component_id, tag, value, extra, internal";

pub async fn list(db: &Db, component: &str, component_id: i64) -> Result<Vec<Tag>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM tags WHERE component = ? AND component_id = ? ORDER BY id"
    ))
    .bind(component)
    .bind(component_id)
    .fetch_all(db)
    .await
}

/// A component's tag by name, from the pool or inside a transaction.
pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    component: &str,
    component_id: i64,
    tag: &str,
) -> Result<Option<Tag>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM tags WHERE component = ? AND component_id = ? AND tag = ?"
    ))
    .bind(component)
    .bind(component_id)
    .bind(tag)
    .fetch_optional(db)
    .await
}

/// Creates the tag or updates its value and extra; the id stays the same on update.
/// Creates a customer tag or changes its value (and its extra, when given), in one
/// statement: an internal tag of that name is left as it is and `None` comes back, so the
/// check and the write cannot be separated by another request.
pub async fn set_customer<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    component: &str,
    component_id: i64,
    tag: &str,
    value: &str,
    extra: Option<&str>,
) -> Result<Option<Tag>, sqlx::Error> {
    sql::query_as(&format!(
        "INSERT INTO tags (component, component_id, tag, value, extra, internal) \
         VALUES (?1, ?2, ?3, ?4, COALESCE(?5, ''), 0) \
         ON CONFLICT(component, component_id, tag) DO UPDATE \
         SET value = excluded.value, extra = COALESCE(?5, tags.extra) WHERE tags.internal = 0 \
         RETURNING {COLS}"
    ))
    .bind(component)
    .bind(component_id)
    .bind(tag)
    .bind(value)
    .bind(extra)
    .fetch_optional(db)
    .await
}

pub async fn upsert<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    component: &str,
    component_id: i64,
    tag: &str,
    value: &str,
    extra: &str,
    internal: i64,
) -> Result<Tag, sqlx::Error> {
    sql::query_as(&format!(
        "INSERT INTO tags (component, component_id, tag, value, extra, internal) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(component, component_id, tag) DO UPDATE SET value = excluded.value, extra = excluded.extra \
         RETURNING {COLS}"
    ))
    .bind(component)
    .bind(component_id)
    .bind(tag)
    .bind(value)
    .bind(extra)
    .bind(internal)
    .fetch_one(db)
    .await
}

/// Removes a customer's (not internal) tag of a component, if there is one.
pub async fn delete_own<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    component: &str,
    component_id: i64,
    tag: &str,
) -> Result<(), sqlx::Error> {
    sql::query(
        "DELETE FROM tags WHERE component = ? AND component_id = ? AND tag = ? AND internal = 0",
    )
    .bind(component)
    .bind(component_id)
    .bind(tag)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes a tag by id (the caller has checked it may: see `delete_own` for the rule).
pub async fn delete<'e, E: sqlx::SqliteExecutor<'e>>(db: E, id: i64) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM tags WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Server ids of an account whose tag name or value contains the pattern (case-insensitive).
pub async fn search_servers(
    db: &Db,
    account_id: i64,
    pattern: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    let like = format!(
        "%{}%",
        pattern
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    sql::query_scalar(
        "SELECT DISTINCT s.id FROM servers s JOIN tags t ON t.component = 'eq' AND t.component_id = s.id \
         WHERE s.account_id = ? AND (t.tag LIKE ? ESCAPE '\\' OR t.value LIKE ? ESCAPE '\\') ORDER BY s.id",
    )
    .bind(account_id)
    .bind(&like)
    .bind(&like)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, OTHER};

    #[tokio::test]
    async fn set_customer_creates_changes_and_keeps_extra_but_leaves_internal_tags_alone() {
        let db = demo().await;
        let t = set_customer(&db, "eq", 40102, "role", "web", Some("note"))
            .await
            .expect("set")
            .expect("created");
        assert_eq!(
            (t.value.as_str(), t.extra.as_str(), t.internal),
            ("web", "note", 0)
        );
        // A new value without an extra keeps the extra it had.
        let t = set_customer(&db, "eq", 40102, "role", "db", None)
            .await
            .expect("set")
            .expect("changed");
        assert_eq!((t.value.as_str(), t.extra.as_str()), ("db", "note"));
        assert_eq!(
            set_customer(&db, "eq", 40102, "fresh", "x", None)
                .await
                .expect("set")
                .expect("created")
                .extra,
            ""
        );
        // 40101's billing_product_id is internal: refused, and unchanged.
        let before = get(&db, "eq", 40101, "billing_product_id")
            .await
            .expect("get")
            .expect("tag");
        assert!(
            set_customer(&db, "eq", 40101, "billing_product_id", "1", Some("x"))
                .await
                .expect("set")
                .is_none()
        );
        let after = get(&db, "eq", 40101, "billing_product_id")
            .await
            .expect("get")
            .expect("tag");
        assert_eq!((after.value, after.extra), (before.value, before.extra));
    }

    #[tokio::test]
    async fn delete_own_removes_a_customer_tag_and_never_an_internal_one() {
        let db = demo().await;
        upsert(&db, "eq", 40102, "block", "maint", "eth0", 0)
            .await
            .expect("tag");
        delete_own(&db, "eq", 40102, "block").await.expect("delete");
        assert!(get(&db, "eq", 40102, "block").await.expect("get").is_none());
        // 40101's billing_product_id is internal: it stays.
        delete_own(&db, "eq", 40101, "billing_product_id")
            .await
            .expect("delete");
        assert!(get(&db, "eq", 40101, "billing_product_id")
            .await
            .expect("get")
            .is_some());
        // Nothing to remove is no error.
        delete_own(&db, "eq", 40101, "nope").await.expect("none");
    }

    #[tokio::test]
    async fn tags_are_listed_by_id_and_read_by_name() {
        let db = demo().await;
        let all = list(&db, "eq", 40101).await.expect("list");
        assert_eq!(all.len(), 7);
        assert_eq!(all[0].id, 812301);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        let t = get(&db, "eq", 40101, "hostname")
            .await
            .expect("get")
            .expect("tag");
        assert_eq!(t.value, "nl-vmmini-01");
        // 40102 has Hestia's `webpanel` tag; 40103 has none.
        assert!(get(&db, "eq", 40103, "webpanel")
            .await
            .expect("get")
            .is_none());
        assert!(get(&db, "customers", 40101, "hostname")
            .await
            .expect("get")
            .is_none());
        assert_eq!(list(&db, "customers", DEMO).await.expect("list").len(), 1);
    }

    #[tokio::test]
    async fn upsert_keeps_the_id_on_update_and_ids_are_not_reused() {
        let db = demo().await;
        let created = upsert(&db, "eq", 40101, "env", "prod", "", 0)
            .await
            .expect("create");
        assert_eq!(created.id, 903742, "after the scenario's highest tag id");
        assert_eq!(
            (created.component.as_str(), created.component_id),
            ("eq", 40101)
        );
        let updated = upsert(&db, "eq", 40101, "env", "staging", "x", 1)
            .await
            .expect("update");
        assert_eq!(updated.id, created.id);
        assert_eq!(
            (updated.value.as_str(), updated.extra.as_str()),
            ("staging", "x")
        );
        assert_eq!(updated.internal, 0, "an update leaves the internal flag");
        assert_eq!(list(&db, "eq", 40101).await.expect("list").len(), 8);
        // The same name on another server is another tag.
        let elsewhere = upsert(&db, "eq", 40102, "env", "prod", "", 0)
            .await
            .expect("create");
        assert_ne!(elsewhere.id, created.id);
        delete(&db, created.id).await.expect("delete");
        assert!(get(&db, "eq", 40101, "env").await.expect("get").is_none());
        assert!(get(&db, "eq", 40102, "env").await.expect("get").is_some());
        let again = upsert(&db, "eq", 40101, "env", "prod", "", 0)
            .await
            .expect("create");
        assert!(
            again.id > elsewhere.id,
            "a deleted id is not handed out again"
        );
    }

    #[tokio::test]
    async fn server_search_matches_names_and_values_of_the_accounts_servers_only() {
        let db = demo().await;
        let search = |acct, p: &'static str| {
            let db = db.clone();
            async move { search_servers(&db, acct, p).await.expect("search") }
        };
        assert_eq!(search(OTHER, "AURORA").await, vec![40107, 40108]);
        assert!(search(DEMO, "aurora").await.is_empty());
        assert_eq!(
            search(DEMO, "dc_rack").await,
            vec![40102, 40103, 40104, 40105]
        );
        assert_eq!(search(DEMO, "nl-bm").await, vec![40102]);
        // LIKE wildcards in the pattern are plain characters.
        upsert(&db, "eq", 40101, "promo", "50%off", "", 0)
            .await
            .expect("tag");
        upsert(&db, "eq", 40102, "code", "a_b", "", 0)
            .await
            .expect("tag");
        upsert(&db, "eq", 40103, "code", "axb", "", 0)
            .await
            .expect("tag");
        assert_eq!(search(DEMO, "%").await, vec![40101]);
        assert_eq!(search(DEMO, "a_b").await, vec![40102]);
        assert!(search(DEMO, "\\").await.is_empty());
    }

    #[tokio::test]
    async fn reads_and_deletes_run_inside_a_callers_transaction() {
        let db = demo().await;
        let t = upsert(&db, "eq", 40102, "ref", "x", "", 0)
            .await
            .expect("tag");
        let mut tx = crate::store::begin_write(&db).await.expect("begin");
        let inside = get(&mut *tx, "eq", 40102, "ref")
            .await
            .expect("get")
            .expect("tag");
        assert_eq!(inside.id, t.id);
        delete(&mut *tx, t.id).await.expect("delete");
        assert!(get(&mut *tx, "eq", 40102, "ref")
            .await
            .expect("get")
            .is_none());
        tx.rollback().await.expect("rollback");
        assert!(
            get(&db, "eq", 40102, "ref").await.expect("get").is_some(),
            "a rolled-back delete keeps the tag"
        );
    }
}
