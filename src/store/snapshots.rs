//! Snapshots of oVirt VMs (vm.php): what a restore brings back (the OS, the licences and
//! the customer's tags as they were), and the state a restore writes.

use serde::{Deserialize, Serialize};
use sqlx::{FromRow, SqliteConnection};

use super::{sql, Db};

/// A snapshot as vm/get_snapshot shows it.
#[derive(Debug, Clone, FromRow)]
pub struct Snapshot {
    pub id: i64,
    pub server_id: i64,
    pub name: String,
    pub r#type: String,
    pub uuid: String,
    /// `locked` while being taken, restored or removed; then `ok`.
    pub status: String,
    pub os: Option<String>,
    pub licenses: String,
    /// The customer's tags, as JSON ([`SavedTag`]s).
    pub tags: String,
    pub created_at: i64,
}

/// A customer tag kept in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromRow)]
pub struct SavedTag {
    pub tag: String,
    pub value: String,
    pub extra: String,
}

const COLS: &str = "id, server_id, name, type, uuid, status, os, licenses, tags, created_at";

/// A VM's snapshots, oldest first.
pub async fn list(db: &Db, server_id: i64) -> Result<Vec<Snapshot>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM vm_snapshots WHERE server_id = ? ORDER BY id"
    ))
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// How many snapshots a VM has.
pub async fn count(conn: &mut SqliteConnection, server_id: i64) -> Result<i64, sqlx::Error> {
    sql::query_scalar("SELECT COUNT(*) FROM vm_snapshots WHERE server_id = ?")
        .bind(server_id)
        .fetch_one(conn)
        .await
}

/// A VM's snapshot by name.
pub async fn by_name<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    name: &str,
) -> Result<Option<Snapshot>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM vm_snapshots WHERE server_id = ? AND name = ?"
    ))
    .bind(server_id)
    .bind(name)
    .fetch_optional(db)
    .await
}

/// A snapshot by id.
pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Snapshot>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM vm_snapshots WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The customer's (not internal) tags of a server, as a snapshot keeps them.
pub async fn customer_tags(
    conn: &mut SqliteConnection,
    server_id: i64,
) -> Result<Vec<SavedTag>, sqlx::Error> {
    sql::query_as(
        "SELECT tag, value, extra FROM tags WHERE component = 'eq' AND component_id = ? \
         AND internal = 0 ORDER BY id",
    )
    .bind(server_id)
    .fetch_all(conn)
    .await
}

/// Takes a snapshot (`locked` until its job is done); returns its id.
pub async fn insert(conn: &mut SqliteConnection, s: &Snapshot) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO vm_snapshots (server_id, name, type, uuid, status, os, licenses, tags, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(s.server_id)
    .bind(&s.name)
    .bind(&s.r#type)
    .bind(&s.uuid)
    .bind(&s.status)
    .bind(&s.os)
    .bind(&s.licenses)
    .bind(&s.tags)
    .bind(s.created_at)
    .fetch_one(conn)
    .await
}

/// Locks an `ok` snapshot for a restore or a removal; false when it was not `ok`.
pub async fn lock(conn: &mut SqliteConnection, id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sql::query("UPDATE vm_snapshots SET status = 'locked' WHERE id = ? AND status = 'ok'")
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Marks a snapshot `ok` again.
pub async fn unlock(conn: &mut SqliteConnection, id: i64) -> Result<(), sqlx::Error> {
    sql::query("UPDATE vm_snapshots SET status = 'ok' WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM vm_snapshots WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Brings a server back to a snapshot: its OS and licences, and its customer tags exactly
/// as kept (internal tags are left alone; a kept tag whose name is internal now is
/// skipped).
pub async fn restore(conn: &mut SqliteConnection, s: &Snapshot) -> Result<(), sqlx::Error> {
    sql::query("UPDATE servers SET os = ?, licenses = ? WHERE id = ?")
        .bind(&s.os)
        .bind(&s.licenses)
        .bind(s.server_id)
        .execute(&mut *conn)
        .await?;
    sql::query("DELETE FROM tags WHERE component = 'eq' AND component_id = ? AND internal = 0")
        .bind(s.server_id)
        .execute(&mut *conn)
        .await?;
    let kept: Vec<SavedTag> = serde_json::from_str(&s.tags).unwrap_or_default();
    for t in kept {
        sql::query(
            "INSERT INTO tags (component, component_id, tag, value, extra, internal) \
             VALUES ('eq', ?, ?, ?, ?, 0) ON CONFLICT(component, component_id, tag) DO NOTHING",
        )
        .bind(s.server_id)
        .bind(&t.tag)
        .bind(&t.value)
        .bind(&t.extra)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, NOW};

    #[tokio::test]
    async fn a_snapshot_keeps_the_state_that_a_restore_brings_back() {
        let db = demo().await;
        let mut conn = db.acquire_write().await.expect("conn");
        let tags = customer_tags(&mut conn, 40101).await.expect("tags");
        assert!(!tags.is_empty());
        let s = Snapshot {
            id: 0,
            server_id: 40101,
            name: "before".into(),
            r#type: "snapshot".into(),
            uuid: "u".into(),
            status: "locked".into(),
            os: Some("{\"name\":\"old\"}".into()),
            licenses: "[]".into(),
            tags: serde_json::to_string(&tags).expect("json"),
            created_at: NOW,
        };
        let id = insert(&mut conn, &s).await.expect("insert");
        assert!(
            !lock(&mut conn, id).await.expect("lock"),
            "still being taken"
        );
        unlock(&mut conn, id).await.expect("unlock");
        assert!(lock(&mut conn, id).await.expect("lock"));
        assert_eq!(count(&mut conn, 40101).await.expect("count"), 1);
        // The server changes, then comes back.
        sql::query("UPDATE tags SET value = 'changed' WHERE component = 'eq' AND component_id = 40101 AND internal = 0")
            .execute(&mut **conn)
            .await
            .expect("change");
        sql::query("INSERT INTO tags (component, component_id, tag, value) VALUES ('eq', 40101, 'new', 'x')")
            .execute(&mut **conn)
            .await
            .expect("add");
        let kept = get(&mut **conn, id).await.expect("get").expect("snapshot");
        restore(&mut conn, &kept).await.expect("restore");
        assert_eq!(customer_tags(&mut conn, 40101).await.expect("tags"), tags);
        let os: Option<String> = sql::query_scalar("SELECT os FROM servers WHERE id = 40101")
            .fetch_one(&mut **conn)
            .await
            .expect("os");
        assert_eq!(os.as_deref(), Some("{\"name\":\"old\"}"));
        assert!(by_name(&mut **conn, 40101, "before")
            .await
            .expect("by name")
            .is_some());
        delete(&mut conn, id).await.expect("delete");
        drop(conn);
        assert!(list(&db, 40101).await.expect("list").is_empty());
    }
}
