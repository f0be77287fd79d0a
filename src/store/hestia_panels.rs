//! The Hestia panels (`hestia_panels`, migration 0025) as the face reads and changes them:
//! finding the panel a request is for, its API switches, creating and removing panels with
//! installs; and the face's credentials (migration 0026): access keys and legacy API keys,
//! kept as digests.

use sqlx::{FromRow, SqliteConnection};

use super::{sql, Db};

/// A panel and its API configuration (hestia-protocol.md A.3, A.7, A.8).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Panel {
    pub id: i64,
    pub server_id: i64,
    pub hostname: String,
    pub ip: String,
    pub root_user: String,
    /// `API`: `yes` lets the legacy password and key in.
    pub api: String,
    /// `API_SYSTEM`: `0` off, `1` admin keys, `2` every user's keys.
    pub api_system: String,
    /// `API_ALLOWED_IP`: comma list, `allow-all`; empty refuses everyone.
    pub api_allowed_ip: String,
    /// `enabled`, `disabled` (index.php dies) or `removed` (nginx 404).
    pub api_mode: String,
    pub version: String,
    pub created_at: i64,
    /// The admin password's PHC string of a panel loaded from a scenario and not filled yet.
    pub admin_seed: Option<String>,
}

const COLS: &str = "id, server_id, hostname, ip, root_user, api, api_system, api_allowed_ip, \
    api_mode, version, created_at, admin_seed";

/// Every panel, by server.
pub async fn list<'e, E: sqlx::SqliteExecutor<'e>>(db: E) -> Result<Vec<Panel>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM hestia_panels ORDER BY server_id"
    ))
    .fetch_all(db)
    .await
}

/// The panel a `Host` (without its port, lower-cased) names: the server's hostname or main
/// address at install time; failing that, the only panel when there is exactly one.
pub async fn for_host(db: &Db, host: &str) -> Result<Option<Panel>, sqlx::Error> {
    let found: Option<Panel> = sql::query_as(&format!(
        "SELECT {COLS} FROM hestia_panels WHERE lower(hostname) = ? OR ip = ? ORDER BY id LIMIT 1"
    ))
    .bind(host)
    .bind(host)
    .fetch_optional(db)
    .await?;
    if found.is_some() {
        return Ok(found);
    }
    let mut two: Vec<Panel> = sql::query_as(&format!(
        "SELECT {COLS} FROM hestia_panels ORDER BY id LIMIT 2"
    ))
    .fetch_all(db)
    .await?;
    Ok(if two.len() == 1 { two.pop() } else { None })
}

/// The panel of a server.
pub async fn by_server<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Option<Panel>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM hestia_panels WHERE server_id = ?"
    ))
    .bind(server_id)
    .fetch_optional(db)
    .await
}

/// The panel with this id.
pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Panel>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM hestia_panels WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// A new panel on a server (the configuration of a fresh install); its id.
pub async fn insert(
    conn: &mut SqliteConnection,
    server_id: i64,
    hostname: &str,
    ip: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO hestia_panels (server_id, hostname, ip, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(server_id)
    .bind(hostname)
    .bind(ip)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Removes the panel of a server (with everything in it); whether there was one.
pub async fn delete_for_server(
    conn: &mut SqliteConnection,
    server_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sql::query("DELETE FROM hestia_panels WHERE server_id = ?")
        .bind(server_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The API switches that can change (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct Switches {
    pub api: Option<String>,
    pub api_system: Option<String>,
    pub api_allowed_ip: Option<String>,
    pub api_mode: Option<String>,
}

/// Changes a panel's API switches.
pub async fn set_switches<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    s: &Switches,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE hestia_panels SET api = coalesce(?, api), api_system = coalesce(?, api_system), \
         api_allowed_ip = coalesce(?, api_allowed_ip), api_mode = coalesce(?, api_mode) WHERE id = ?",
    )
    .bind(&s.api)
    .bind(&s.api_system)
    .bind(&s.api_allowed_ip)
    .bind(&s.api_mode)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes a scenario panel's admin seed (once: the panel is then filled); `None` when it
/// has none left.
pub async fn take_admin_seed(
    conn: &mut SqliteConnection,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let seed: Option<Option<String>> =
        sql::query_scalar("SELECT admin_seed FROM hestia_panels WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let seed = seed.flatten();
    if seed.is_some() {
        sql::query("UPDATE hestia_panels SET admin_seed = NULL WHERE id = ?")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(seed)
}

/// An access key (the secret only as its digest).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AccessKey {
    pub panel_id: i64,
    pub id: String,
    pub secret_digest: String,
    pub user: String,
    pub permissions: String,
    pub comment: String,
    pub created_at: i64,
}

const KEY_COLS: &str = "panel_id, id, secret_digest, user, permissions, comment, created_at";

/// Stores a new access key.
pub async fn insert_access_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    k: &AccessKey,
) -> Result<(), sqlx::Error> {
    sql::query(&format!(
        "INSERT INTO hestia_access_keys ({KEY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(k.panel_id)
    .bind(&k.id)
    .bind(&k.secret_digest)
    .bind(&k.user)
    .bind(&k.permissions)
    .bind(&k.comment)
    .bind(k.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// A panel's access key by id.
pub async fn access_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
    id: &str,
) -> Result<Option<AccessKey>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {KEY_COLS} FROM hestia_access_keys WHERE panel_id = ? AND id = ?"
    ))
    .bind(panel_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A panel's access keys (of one user, or all), oldest first.
pub async fn access_keys<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
    user: Option<&str>,
) -> Result<Vec<AccessKey>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {KEY_COLS} FROM hestia_access_keys WHERE panel_id = ? AND (? IS NULL OR user = ?) \
         ORDER BY created_at, id"
    ))
    .bind(panel_id)
    .bind(user)
    .bind(user)
    .fetch_all(db)
    .await
}

/// Deletes an access key; whether there was one.
pub async fn delete_access_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sql::query("DELETE FROM hestia_access_keys WHERE panel_id = ? AND id = ?")
        .bind(panel_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Stores a legacy API key's digest.
pub async fn insert_api_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
    digest: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query("INSERT INTO hestia_api_keys (panel_id, key_digest, created_at) VALUES (?, ?, ?)")
        .bind(panel_id)
        .bind(digest)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// Whether the panel has a legacy API key with this digest.
pub async fn has_api_key(db: &Db, panel_id: i64, digest: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sql::query_scalar(
        "SELECT COUNT(*) FROM hestia_api_keys WHERE panel_id = ? AND key_digest = ?",
    )
    .bind(panel_id)
    .bind(digest)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// Deletes a legacy API key; whether there was one.
pub async fn delete_api_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
    digest: &str,
) -> Result<bool, sqlx::Error> {
    let done = sql::query("DELETE FROM hestia_api_keys WHERE panel_id = ? AND key_digest = ?")
        .bind(panel_id)
        .bind(digest)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db_with_servers() -> Db {
        crate::store::test_support::demo().await
    }

    #[tokio::test]
    async fn panels_are_found_by_host_and_the_only_one_answers_for_any_host() {
        let db = db_with_servers().await;
        let mut tx = crate::store::begin_write(&db).await.expect("tx");
        // The demo scenario may bring a panel of its own: start from none.
        for p in list(&mut *tx).await.expect("list") {
            delete_for_server(&mut tx, p.server_id)
                .await
                .expect("delete");
        }
        let a = insert(&mut tx, 40101, "nl-vmmini-01", "31.207.45.23", 5)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        let only = for_host(&db, "anything.example").await.expect("find");
        assert_eq!(only.map(|p| p.id), Some(a), "the only panel");
        let mut tx = crate::store::begin_write(&db).await.expect("tx");
        let b = insert(&mut tx, 40104, "us-gpu-01", "45.145.166.78", 5)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        assert_eq!(
            for_host(&db, "us-gpu-01")
                .await
                .expect("find")
                .map(|p| p.id),
            Some(b)
        );
        assert_eq!(
            for_host(&db, "31.207.45.23")
                .await
                .expect("find")
                .map(|p| p.id),
            Some(a)
        );
        assert_eq!(for_host(&db, "elsewhere").await.expect("find"), None);
        let p = get(&db, b).await.expect("get").expect("there");
        assert_eq!(
            (
                p.api.as_str(),
                p.api_system.as_str(),
                p.api_allowed_ip.as_str()
            ),
            ("yes", "1", ""),
            "a fresh install's switches"
        );
        set_switches(
            &db,
            b,
            &Switches {
                api_allowed_ip: Some("allow-all".into()),
                ..Switches::default()
            },
        )
        .await
        .expect("set");
        let p = by_server(&db, 40104).await.expect("get").expect("there");
        assert_eq!(
            (p.api_allowed_ip.as_str(), p.api.as_str()),
            ("allow-all", "yes")
        );
        let mut tx = crate::store::begin_write(&db).await.expect("tx");
        assert!(delete_for_server(&mut tx, 40104).await.expect("delete"));
        assert!(!delete_for_server(&mut tx, 40104).await.expect("delete"));
        tx.commit().await.expect("commit");
    }

    #[tokio::test]
    async fn keys_are_kept_as_digests_and_deleted_with_their_panel() {
        let db = db_with_servers().await;
        let mut tx = crate::store::begin_write(&db).await.expect("tx");
        let _ = delete_for_server(&mut tx, 40104).await;
        let panel = insert(&mut tx, 40104, "us-gpu-01", "45.145.166.78", 5)
            .await
            .expect("insert");
        let k = AccessKey {
            panel_id: panel,
            id: "A".repeat(20),
            secret_digest: crate::secrets::digest("secret"),
            user: "admin".into(),
            permissions: "billing".into(),
            comment: "c".into(),
            created_at: 7,
        };
        insert_access_key(&mut *tx, &k).await.expect("key");
        insert_api_key(&mut *tx, panel, "d1", 7)
            .await
            .expect("api key");
        tx.commit().await.expect("commit");
        assert_eq!(
            access_key(&db, panel, &k.id).await.expect("get"),
            Some(k.clone())
        );
        assert_eq!(
            access_keys(&db, panel, Some("bob")).await.expect("list"),
            []
        );
        assert_eq!(access_keys(&db, panel, None).await.expect("list").len(), 1);
        assert!(has_api_key(&db, panel, "d1").await.expect("has"));
        assert!(delete_api_key(&db, panel, "d1").await.expect("delete"));
        assert!(!has_api_key(&db, panel, "d1").await.expect("has"));
        let mut tx = crate::store::begin_write(&db).await.expect("tx");
        delete_for_server(&mut tx, 40104).await.expect("delete");
        tx.commit().await.expect("commit");
        assert_eq!(access_key(&db, panel, &k.id).await.expect("get"), None);
    }
}
