//! The objects inside emulated Hestia panels (`hestia_objects`, migration 0027): one row per
//! line of a Hestia conf file, its fields a JSON object of strings; and the read-only view
//! of a panel's configuration (`hestia_panels`, which the Hestia face owns) that
//! `v-list-sys-config` prints.

use std::collections::BTreeMap;

use sqlx::FromRow;

use super::{sql, Db};

/// Fields of one object, as Hestia's conf line holds them (every value a string).
pub type Attrs = BTreeMap<String, String>;

/// One object of a panel.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Object {
    pub id: i64,
    pub panel_id: i64,
    pub kind: String,
    pub owner: String,
    pub parent: String,
    pub name: String,
    /// JSON object of strings; read it with [`Object::attrs`].
    pub attrs: String,
    /// argon2 PHC string of its password, if it has one.
    pub secret: Option<String>,
    pub created_at: i64,
}

impl Object {
    /// The object's fields (an unreadable column reads as no fields).
    pub fn attrs(&self) -> Attrs {
        serde_json::from_str(&self.attrs).unwrap_or_default()
    }
}

const COLS: &str = "id, panel_id, kind, owner, parent, name, attrs, secret, created_at";

/// Where an object sits: its panel, kind, owner and parent (a domain, or '').
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub panel_id: i64,
    pub kind: &'a str,
    pub owner: &'a str,
    pub parent: &'a str,
}

/// One object by its place and name.
pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    at: Place<'_>,
    name: &str,
) -> Result<Option<Object>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM hestia_objects WHERE panel_id = ? AND kind = ? AND owner = ? \
         AND parent = ? AND name = ?"
    ))
    .bind(at.panel_id)
    .bind(at.kind)
    .bind(at.owner)
    .bind(at.parent)
    .bind(name)
    .fetch_optional(db)
    .await
}

/// The objects at a place, in the order they were added (as lines are appended to a conf).
pub async fn list<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    at: Place<'_>,
) -> Result<Vec<Object>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM hestia_objects WHERE panel_id = ? AND kind = ? AND owner = ? \
         AND parent = ? ORDER BY id"
    ))
    .bind(at.panel_id)
    .bind(at.kind)
    .bind(at.owner)
    .bind(at.parent)
    .fetch_all(db)
    .await
}

/// Every object of a user (all kinds and parents), in the order they were added: what its
/// counters are counted from.
pub async fn owned<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
    owner: &str,
) -> Result<Vec<Object>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM hestia_objects WHERE panel_id = ? AND owner = ? ORDER BY id"
    ))
    .bind(panel_id)
    .bind(owner)
    .fetch_all(db)
    .await
}

/// Every object of a kind in the panel, whoever owns it (domains are unique panel-wide).
pub async fn of_kind<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
    kind: &str,
) -> Result<Vec<Object>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM hestia_objects WHERE panel_id = ? AND kind = ? ORDER BY id"
    ))
    .bind(panel_id)
    .bind(kind)
    .fetch_all(db)
    .await
}

/// The object of a kind with this name in the panel, whoever owns it.
pub async fn named<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
    kind: &str,
    name: &str,
) -> Result<Option<Object>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {COLS} FROM hestia_objects WHERE panel_id = ? AND kind = ? AND name = ? \
         ORDER BY id LIMIT 1"
    ))
    .bind(panel_id)
    .bind(kind)
    .bind(name)
    .fetch_optional(db)
    .await
}

/// Stores a new object; returns its id.
pub async fn insert<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    at: Place<'_>,
    name: &str,
    attrs: &Attrs,
    secret: Option<&str>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let attrs = serde_json::to_string(attrs).unwrap_or_else(|_| "{}".into());
    sql::query_scalar(
        "INSERT INTO hestia_objects (panel_id, kind, owner, parent, name, attrs, secret, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(at.panel_id)
    .bind(at.kind)
    .bind(at.owner)
    .bind(at.parent)
    .bind(name)
    .bind(attrs)
    .bind(secret)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Rewrites an object's fields.
pub async fn set_attrs<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    attrs: &Attrs,
) -> Result<(), sqlx::Error> {
    let attrs = serde_json::to_string(attrs).unwrap_or_else(|_| "{}".into());
    sql::query("UPDATE hestia_objects SET attrs = ? WHERE id = ?")
        .bind(attrs)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Replaces an object's password hash.
pub async fn set_secret<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    secret: &str,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE hestia_objects SET secret = ? WHERE id = ?")
        .bind(secret)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes one object by id.
pub async fn delete<'e, E: sqlx::SqliteExecutor<'e>>(db: E, id: i64) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM hestia_objects WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes the objects below a parent (a domain's records, accounts or FTP users).
pub async fn delete_children<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    at: Place<'_>,
) -> Result<u64, sqlx::Error> {
    let done = sql::query(
        "DELETE FROM hestia_objects WHERE panel_id = ? AND kind = ? AND owner = ? AND parent = ?",
    )
    .bind(at.panel_id)
    .bind(at.kind)
    .bind(at.owner)
    .bind(at.parent)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes everything a user owns (v-delete-user; the user's own row is deleted apart).
pub async fn delete_owned<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
    owner: &str,
) -> Result<u64, sqlx::Error> {
    let done = sql::query("DELETE FROM hestia_objects WHERE panel_id = ? AND owner = ?")
        .bind(panel_id)
        .bind(owner)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// A panel's configuration as `v-list-sys-config` prints it (read-only: the face owns the row).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PanelConfig {
    pub id: i64,
    pub server_id: i64,
    pub hostname: String,
    pub ip: String,
    pub root_user: String,
    pub api: String,
    pub api_system: String,
    pub api_allowed_ip: String,
    pub version: String,
    pub created_at: i64,
}

/// A panel's configuration, if the panel exists.
pub async fn panel<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    panel_id: i64,
) -> Result<Option<PanelConfig>, sqlx::Error> {
    sql::query_as(
        "SELECT id, server_id, hostname, ip, root_user, api, api_system, api_allowed_ip, version, \
         created_at FROM hestia_panels WHERE id = ?",
    )
    .bind(panel_id)
    .fetch_optional(db)
    .await
}

/// A DNS zone of any panel, for the DNS server: the longest panel DNS domain that `name`
/// is or ends in, with its panel and owner.
pub async fn zone_holding(db: &Db, name: &str) -> Result<Option<Object>, sqlx::Error> {
    let labels: Vec<&str> = name.split('.').collect();
    let candidates: Vec<String> = (0..labels.len()).map(|i| labels[i..].join(".")).collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let marks = vec!["?"; candidates.len()].join(", ");
    let text = format!(
        "SELECT {COLS} FROM hestia_objects WHERE kind = 'dns' AND name IN ({marks}) \
         ORDER BY length(name) DESC, id LIMIT 1"
    );
    let mut q = sql::query_as(&text);
    for c in &candidates {
        q = q.bind(c);
    }
    q.fetch_optional(db).await
}

/// A bare panel row with the configuration defaults (migration 0025), as an install
/// creates it: for the model's tests and for library users that embed the emulator (the
/// Hestia face's install path creates panels with its own store functions).
pub async fn insert_panel(
    db: &Db,
    server_id: i64,
    hostname: &str,
    ip: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO hestia_panels (server_id, hostname, ip, created_at) VALUES (?, ?, ?, ?) \
         RETURNING id",
    )
    .bind(server_id)
    .bind(hostname)
    .bind(ip)
    .bind(now)
    .fetch_one(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, NOW};

    async fn panel(db: &Db) -> i64 {
        let server = crate::store::servers::ids_for_account(db, DEMO)
            .await
            .expect("servers")[0];
        insert_panel(db, server, "p.example.com", "192.0.2.1", NOW)
            .await
            .expect("panel")
    }

    fn at<'a>(panel_id: i64, kind: &'a str, owner: &'a str, parent: &'a str) -> Place<'a> {
        Place {
            panel_id,
            kind,
            owner,
            parent,
        }
    }

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn objects_round_trip_by_place_owner_kind_and_name() {
        let db = demo().await;
        let p = panel(&db).await;
        let cfg = super::panel(&db, p).await.expect("read").expect("panel");
        assert_eq!(
            (
                cfg.root_user.as_str(),
                cfg.api.as_str(),
                cfg.api_system.as_str()
            ),
            ("admin", "yes", "1")
        );
        assert_eq!(super::panel(&db, p + 1).await.expect("read"), None);
        let u = insert(
            &db,
            at(p, "user", "", ""),
            "bob",
            &attrs(&[("NAME", "Bob")]),
            Some("$argon2id$x"),
            NOW,
        )
        .await
        .expect("user");
        let w = insert(
            &db,
            at(p, "web", "bob", ""),
            "bob.com",
            &attrs(&[("IP", "192.0.2.1")]),
            None,
            NOW,
        )
        .await
        .expect("web");
        insert(
            &db,
            at(p, "dns", "bob", ""),
            "bob.com",
            &Attrs::new(),
            None,
            NOW,
        )
        .await
        .expect("dns");
        insert(
            &db,
            at(p, "record", "bob", "bob.com"),
            "1",
            &Attrs::new(),
            None,
            NOW,
        )
        .await
        .expect("record");
        insert(
            &db,
            at(p, "record", "bob", "bob.com"),
            "2",
            &Attrs::new(),
            None,
            NOW,
        )
        .await
        .expect("record");
        // One name per place.
        let dup = insert(
            &db,
            at(p, "web", "bob", ""),
            "bob.com",
            &Attrs::new(),
            None,
            NOW,
        )
        .await;
        assert!(dup.as_ref().is_err_and(crate::store::is_unique_violation));
        let got = get(&db, at(p, "user", "", ""), "bob")
            .await
            .expect("get")
            .expect("bob");
        assert_eq!(got.id, u);
        assert_eq!(got.attrs().get("NAME").map(String::as_str), Some("Bob"));
        assert_eq!(got.secret.as_deref(), Some("$argon2id$x"));
        assert_eq!(
            list(&db, at(p, "record", "bob", "bob.com"))
                .await
                .expect("list")
                .len(),
            2
        );
        assert_eq!(owned(&db, p, "bob").await.expect("owned").len(), 4);
        assert_eq!(of_kind(&db, p, "web").await.expect("kind").len(), 1);
        assert_eq!(
            named(&db, p, "web", "bob.com")
                .await
                .expect("named")
                .map(|o| o.id),
            Some(w)
        );
        set_attrs(&db, w, &attrs(&[("IP", "192.0.2.9")]))
            .await
            .expect("set");
        set_secret(&db, u, "$argon2id$y").await.expect("secret");
        let web = get(&db, at(p, "web", "bob", ""), "bob.com")
            .await
            .expect("get")
            .expect("web");
        assert_eq!(web.attrs().get("IP").map(String::as_str), Some("192.0.2.9"));
        // The DNS server finds the zone holding a name.
        let z = zone_holding(&db, "www.bob.com")
            .await
            .expect("zone")
            .expect("held");
        assert_eq!((z.kind.as_str(), z.name.as_str()), ("dns", "bob.com"));
        assert_eq!(zone_holding(&db, "bob.org").await.expect("zone"), None);
        assert_eq!(
            delete_children(&db, at(p, "record", "bob", "bob.com"))
                .await
                .expect("children"),
            2
        );
        assert_eq!(delete_owned(&db, p, "bob").await.expect("owned"), 2);
        delete(&db, u).await.expect("delete");
        assert_eq!(
            crate::store::test_support::count(&db, "hestia_objects").await,
            0
        );
    }
}
