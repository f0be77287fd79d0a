//! Tags on servers, customers and catalogue items.

use serde::Serialize;
use sqlx::FromRow;

use super::Db;

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
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM tags WHERE component = ? AND component_id = ? ORDER BY id"
    ))
    .bind(component)
    .bind(component_id)
    .fetch_all(db)
    .await
}

pub async fn get(
    db: &Db,
    component: &str,
    component_id: i64,
    tag: &str,
) -> Result<Option<Tag>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM tags WHERE component = ? AND component_id = ? AND tag = ?"
    ))
    .bind(component)
    .bind(component_id)
    .bind(tag)
    .fetch_optional(db)
    .await
}

/// Creates the tag or updates its value and extra; the id stays the same on update.
pub async fn upsert<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    component: &str,
    component_id: i64,
    tag: &str,
    value: &str,
    extra: &str,
    internal: i64,
) -> Result<Tag, sqlx::Error> {
    sqlx::query_as(&format!(
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

pub async fn delete(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM tags WHERE id = ?")
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
    sqlx::query_scalar(
        "SELECT DISTINCT s.id FROM servers s JOIN tags t ON t.component = 'eq' AND t.component_id = s.id \
         WHERE s.account_id = ? AND (t.tag LIKE ? ESCAPE '\\' OR t.value LIKE ? ESCAPE '\\') ORDER BY s.id",
    )
    .bind(account_id)
    .bind(&like)
    .bind(&like)
    .fetch_all(db)
    .await
}
