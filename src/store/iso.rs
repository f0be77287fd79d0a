//! An account's ISO images (iso.php) and the image mounted on a server's virtual CD-ROM
//! (the server's internal `iso_mounted` tag: value the image's name, extra its id).

use sqlx::{FromRow, SqliteConnection};

use super::{sql, Db};

/// An account's image.
#[derive(Debug, Clone, FromRow)]
pub struct Image {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub url: String,
    /// `downloading` or `ready`.
    pub status: String,
    pub size: i64,
    pub created_at: i64,
}

const COLS: &str = "id, account_id, name, url, status, size, created_at";

/// The tag that says which image a server has mounted: internal, so that a customer's own
/// tag of that name (tags/add) mounts nothing.
pub const MOUNT_TAG: &str = "iso_mounted";

/// An account's images, oldest first.
pub async fn list(db: &Db, account_id: i64) -> Result<Vec<Image>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM iso_images WHERE account_id = ? ORDER BY id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// How many images an account has.
pub async fn list_in<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar("SELECT COUNT(*) FROM iso_images WHERE account_id = ?")
        .bind(account_id)
        .fetch_one(db)
        .await
}

pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Image>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM iso_images WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn by_name<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    name: &str,
) -> Result<Option<Image>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM iso_images WHERE account_id = ? AND name = ?"
    ))
    .bind(account_id)
    .bind(name)
    .fetch_optional(db)
    .await
}

/// Stores a new image; its id follows the highest ever given (from `first_id` up), so the
/// public library's ids below stay free and a deleted image's id is never reused.
pub async fn insert(
    conn: &mut SqliteConnection,
    img: &Image,
    first_id: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(&format!(
        "INSERT INTO iso_images ({COLS}) VALUES (\
         MAX(?, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'iso_images'), 0) + 1), \
         ?, ?, ?, ?, ?, ?) RETURNING id"
    ))
    .bind(first_id)
    .bind(img.account_id)
    .bind(&img.name)
    .bind(&img.url)
    .bind(&img.status)
    .bind(img.size)
    .bind(img.created_at)
    .fetch_one(conn)
    .await
}

/// A download is over: the image is ready, of this size.
pub async fn set_ready(conn: &mut SqliteConnection, id: i64, size: i64) -> Result<(), sqlx::Error> {
    sql::query("UPDATE iso_images SET status = 'ready', size = ? WHERE id = ?")
        .bind(size)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// iso/add on an existing name: a new URL.
pub async fn set_url(conn: &mut SqliteConnection, id: i64, url: &str) -> Result<(), sqlx::Error> {
    sql::query("UPDATE iso_images SET url = ? WHERE id = ?")
        .bind(url)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM iso_images WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The image mounted on a server: (its id, its name).
pub async fn mounted<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row: Option<(String, String)> = sql::query_as(
        "SELECT extra, value FROM tags WHERE component = 'eq' AND component_id = ? AND tag = ? \
         AND internal = 1",
    )
    .bind(server_id)
    .bind(MOUNT_TAG)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id, name)| (id.parse().unwrap_or(0), name)))
}

/// The servers an image is mounted on.
pub async fn mounted_on<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    iso_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sql::query_scalar(
        "SELECT component_id FROM tags WHERE component = 'eq' AND tag = ? AND extra = ? \
         AND internal = 1 ORDER BY component_id",
    )
    .bind(MOUNT_TAG)
    .bind(iso_id.to_string())
    .fetch_all(db)
    .await
}

/// Mounts an image on a server (replacing any other).
pub async fn mount(
    conn: &mut SqliteConnection,
    server_id: i64,
    iso_id: i64,
    name: &str,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO tags (component, component_id, tag, value, extra, internal) \
         VALUES ('eq', ?, ?, ?, ?, 1) ON CONFLICT(component, component_id, tag) \
         DO UPDATE SET value = excluded.value, extra = excluded.extra, internal = 1",
    )
    .bind(server_id)
    .bind(MOUNT_TAG)
    .bind(name)
    .bind(iso_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Unmounts whatever a server has mounted.
pub async fn unmount(conn: &mut SqliteConnection, server_id: i64) -> Result<(), sqlx::Error> {
    sql::query(
        "DELETE FROM tags WHERE component = 'eq' AND component_id = ? AND tag = ? AND internal = 1",
    )
    .bind(server_id)
    .bind(MOUNT_TAG)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, NOW};

    #[tokio::test]
    async fn images_take_ids_from_the_first_own_id_and_mount_as_a_tag() {
        let db = demo().await;
        let mut conn = db.acquire_write().await.expect("conn");
        let img = Image {
            id: 0,
            account_id: DEMO,
            name: "a.iso".into(),
            url: "https://x.example/a.iso".into(),
            status: "downloading".into(),
            size: 0,
            created_at: NOW,
        };
        let a = insert(&mut conn, &img, 1001).await.expect("insert");
        assert_eq!(a, 1001);
        let b = insert(
            &mut conn,
            &Image {
                name: "b.iso".into(),
                ..img.clone()
            },
            1001,
        )
        .await
        .expect("insert");
        assert_eq!(b, 1002);
        delete(&mut conn, b).await.expect("delete");
        let c = insert(
            &mut conn,
            &Image {
                name: "c.iso".into(),
                ..img.clone()
            },
            1001,
        )
        .await
        .expect("insert");
        assert_eq!(c, 1003, "never reused");
        set_ready(&mut conn, a, 42).await.expect("ready");
        set_url(&mut conn, a, "https://y.example/a.iso")
            .await
            .expect("url");
        let got = get(&mut **conn, a).await.expect("get").expect("image");
        assert_eq!(
            (got.status.as_str(), got.size, got.url.as_str()),
            ("ready", 42, "https://y.example/a.iso")
        );
        assert!(by_name(&mut **conn, DEMO, "c.iso")
            .await
            .expect("by name")
            .is_some());
        mount(&mut conn, 40101, a, "a.iso").await.expect("mount");
        assert_eq!(
            mounted(&mut **conn, 40101).await.expect("mounted"),
            Some((a, "a.iso".into()))
        );
        assert_eq!(mounted_on(&mut **conn, a).await.expect("on"), vec![40101]);
        unmount(&mut conn, 40101).await.expect("unmount");
        assert_eq!(mounted(&mut **conn, 40101).await.expect("mounted"), None);
        drop(conn);
        let names: Vec<String> = list(&db, DEMO)
            .await
            .expect("list")
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, vec!["a.iso", "c.iso"]);
    }
}
