//! Provisioning: the rows an order builds (the server, its ports, the sold stock server)
//! and those an install rewrites (OS, licences, install tags). Each function takes the
//! caller's connection, so it runs inside the order's or the install's transaction.

use super::sql;

/// The servers row of a new order. It starts `pending` and off, with no OS and no
/// licences: the deployment turns it on once the invoice is paid.
#[derive(Debug, Clone)]
pub struct NewServer {
    pub id: i64,
    pub account_id: i64,
    pub location: String,
    /// vm, bm
    pub kind: String,
    /// VPS, Dedicated, GPU
    pub r#type: String,
    /// ovirt, ipmi
    pub control: String,
    pub ipmi_model: String,
    pub preset: String,
    pub preset_description: String,
    pub hwconfig: String,
    /// eq/show `hardware` (JSON text).
    pub hardware: String,
    /// Inventory groups (JSON array).
    pub groups: String,
    pub reg_date: i64,
    pub due_date: i64,
    pub billing_cycle: String,
    pub recurring_cents: i64,
    /// TB outbound included.
    pub limit_traffic: i64,
    /// Mbit/s
    pub limit_bands: i64,
    pub created_at: i64,
}

/// Inserts a new order's server. A stock server keeps its catalogue id, so a parallel order
/// of the same one fails here with a unique violation.
pub async fn insert_server<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    s: &NewServer,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO servers (id, account_id, location, kind, type, status, power, control, ipmi_model, preset, \
         preset_description, hwconfig, hardware, groups, licenses, os, reg_date, due_date, billing_cycle, recurring_cents, \
         limit_traffic, limit_bands, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 'off', ?, ?, ?, ?, ?, ?, ?, '[]', NULL, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(s.id)
    .bind(s.account_id)
    .bind(&s.location)
    .bind(&s.kind)
    .bind(&s.r#type)
    .bind(&s.control)
    .bind(&s.ipmi_model)
    .bind(&s.preset)
    .bind(&s.preset_description)
    .bind(&s.hwconfig)
    .bind(&s.hardware)
    .bind(&s.groups)
    .bind(s.reg_date)
    .bind(s.due_date)
    .bind(&s.billing_cycle)
    .bind(s.recurring_cents)
    .bind(s.limit_traffic)
    .bind(s.limit_bands)
    .bind(s.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Does an interface already have this MAC address?
pub async fn mac_taken<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    mac: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sql::query_scalar("SELECT COUNT(*) FROM interfaces WHERE mac = ?")
        .bind(mac)
        .fetch_one(db)
        .await?;
    Ok(n > 0)
}

/// The main port (eth0) of a new server and where it is plugged in.
#[derive(Debug, Clone)]
pub struct MainPort<'a> {
    pub server_id: i64,
    pub mac: &'a str,
    pub switch_owner: &'a str,
    pub switch_model: &'a str,
    pub switch_port: &'a str,
    /// Mbit/s
    pub speed: i64,
}

/// Adds a new server's eth0, its main, physical port.
pub async fn add_main_port<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    p: &MainPort<'_>,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO interfaces (server_id, type, mac, is_main, is_virt, switch_owner, switch_model, switch_port, speed) \
         VALUES (?, 'eth0', ?, 1, 0, ?, ?, ?, ?)",
    )
    .bind(p.server_id)
    .bind(p.mac)
    .bind(p.switch_owner)
    .bind(p.switch_model)
    .bind(p.switch_port)
    .bind(p.speed)
    .execute(db)
    .await?;
    Ok(())
}

/// Adds the IPMI port of a new bare-metal server.
pub async fn add_ipmi_port<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    mac: &str,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO interfaces (server_id, type, mac, switch_model) VALUES (?, 'ipmi', ?, 'ipmi')",
    )
    .bind(server_id)
    .bind(mac)
    .execute(db)
    .await?;
    Ok(())
}

/// Records a stock server as sold to the server built from it; a unique violation when it
/// was sold already.
pub async fn mark_sold<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    stock_id: i64,
    server_id: i64,
) -> Result<(), sqlx::Error> {
    sql::query("INSERT INTO stock_sold (stock_id, server_id) VALUES (?, ?)")
        .bind(stock_id)
        .bind(server_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A server's `hostname` tag, if it has one.
pub async fn hostname<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sql::query_scalar(
        "SELECT value FROM tags WHERE component = 'eq' AND component_id = ? AND tag = 'hostname'",
    )
    .bind(server_id)
    .fetch_optional(db)
    .await
}

/// An install is complete: the server has its new OS (eq/show `os` JSON, or NULL) and
/// licences (JSON), is on and rented.
pub async fn complete_install<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    os: Option<&str>,
    licences: &str,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE servers SET os = ?, licenses = ?, power = 'on', status = 'rent' WHERE id = ?",
    )
    .bind(os)
    .bind(licences)
    .bind(server_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes these tags of a server (internal ones too); returns how many went.
pub async fn clear_tags<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    tags: &[&str],
) -> Result<u64, sqlx::Error> {
    let names = serde_json::to_string(tags).unwrap_or_else(|_| "[]".into());
    Ok(sql::query(
        "DELETE FROM tags WHERE component = 'eq' AND component_id = ? \
         AND tag IN (SELECT value FROM json_each(?))",
    )
    .bind(server_id)
    .bind(names)
    .execute(db)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{count, demo, DEMO, NOW};
    use crate::store::{deploy, is_unique_violation, servers, tags, Db};

    /// A connection of its own for each call: the in-memory pool has only one.
    async fn c(db: &Db) -> crate::store::Conn {
        db.acquire().await.expect("conn")
    }

    fn new_server(id: i64) -> NewServer {
        NewServer {
            id,
            account_id: DEMO,
            location: "NL".into(),
            kind: "bm".into(),
            r#type: "Dedicated".into(),
            control: "ipmi".into(),
            ipmi_model: "Supermicro".into(),
            preset: "bm.e2288g.32".into(),
            preset_description: "E-2288G".into(),
            hwconfig: "E-2288G 8x3.7GHz/32Gb/960Gb NVMe".into(),
            hardware: r#"{"ram": 32}"#.into(),
            groups: r#"["1CPU","Instances"]"#.into(),
            reg_date: NOW,
            due_date: NOW + 90 * 86_400,
            billing_cycle: "Quarterly".into(),
            recurring_cents: 25_899,
            limit_traffic: 20,
            limit_bands: 1000,
            created_at: NOW,
        }
    }

    #[tokio::test]
    async fn a_new_server_is_pending_and_off_without_os_or_licences() {
        let db = demo().await;
        insert_server(&mut *c(&db).await, &new_server(40150))
            .await
            .expect("insert");
        let s = servers::get(&db, 40150).await.expect("get").expect("40150");
        assert_eq!(
            (s.account_id, s.status.as_str(), s.power.as_str(), s.os),
            (Some(DEMO), "pending", "off", None)
        );
        assert_eq!(
            (s.licenses.as_str(), s.groups.as_str()),
            ("[]", r#"["1CPU","Instances"]"#)
        );
        assert_eq!(
            (s.billing_cycle.as_str(), s.recurring_cents, s.due_date),
            ("Quarterly", 25_899, NOW + 90 * 86_400)
        );
        assert_eq!((s.limit_traffic, s.limit_bands), (20, 1000));
        let again = insert_server(&mut *c(&db).await, &new_server(40150))
            .await
            .expect_err("taken id");
        assert!(is_unique_violation(&again), "the order maps this to 'sold'");
    }

    #[tokio::test]
    async fn ports_of_a_new_server_and_macs_in_use() {
        let db = demo().await;
        insert_server(&db, &new_server(40150))
            .await
            .expect("insert");
        assert!(mac_taken(&db, "ac:1f:6b:4e:92:3a").await.expect("demo mac"));
        assert!(!mac_taken(&db, "ac:1f:00:00:00:01").await.expect("free"));
        let port = MainPort {
            server_id: 40150,
            mac: "ac:1f:00:00:00:01",
            switch_owner: "hostkey",
            switch_model: "Juniper EX4300-48T",
            switch_port: "ge-0/0/22",
            speed: 10_000,
        };
        add_main_port(&db, &port).await.expect("eth0");
        add_ipmi_port(&db, 40150, "ac:1f:00:00:00:02")
            .await
            .expect("ipmi");
        assert!(mac_taken(&db, "ac:1f:00:00:00:01")
            .await
            .expect("taken now"));
        let ifaces = servers::interfaces(&db, 40150).await.expect("ifaces");
        let eth0 = &ifaces[0];
        assert_eq!(
            (eth0.r#type.as_str(), eth0.is_main, eth0.is_virt, eth0.speed),
            ("eth0", 1, 0, 10_000)
        );
        assert_eq!(
            (eth0.switch_owner.as_str(), eth0.switch_port.as_str()),
            ("hostkey", "ge-0/0/22")
        );
        let ipmi = &ifaces[1];
        assert_eq!(
            (
                ipmi.r#type.as_str(),
                ipmi.mac.as_str(),
                ipmi.switch_model.as_str()
            ),
            ("ipmi", "ac:1f:00:00:00:02", "ipmi")
        );
        assert_eq!(
            (ipmi.is_main, ipmi.speed, ipmi.status.as_str()),
            (0, 1000, "enable")
        );
        let dup = add_ipmi_port(&db, 40101, "ac:1f:00:00:00:01")
            .await
            .expect_err("a MAC is unique");
        assert!(is_unique_violation(&dup));
    }

    #[tokio::test]
    async fn a_stock_server_is_sold_once() {
        let db = demo().await;
        assert!(!deploy::is_sold(&mut *c(&db).await, 40514)
            .await
            .expect("sold"));
        mark_sold(&db, 40514, 40514).await.expect("sell");
        assert!(deploy::is_sold(&mut *c(&db).await, 40514)
            .await
            .expect("sold"));
        let twice = mark_sold(&db, 40514, 40514).await.expect_err("twice");
        assert!(is_unique_violation(&twice));
        assert_eq!(count(&db, "stock_sold").await, 1);
    }

    #[tokio::test]
    async fn the_hostname_tag_is_read_when_there_is_one() {
        let db = demo().await;
        assert_eq!(
            hostname(&db, 40101).await.expect("tag").as_deref(),
            Some("nl-vmmini-01")
        );
        assert_eq!(hostname(&db, 1).await.expect("none"), None);
    }

    #[tokio::test]
    async fn a_complete_install_sets_os_and_licences_and_turns_the_server_on() {
        let db = demo().await;
        insert_server(&db, &new_server(40150))
            .await
            .expect("insert");
        let os = r#"{"id":187,"name":"Ubuntu 22.04"}"#;
        complete_install(&db, 40150, Some(os), r#"[{"id":38}]"#)
            .await
            .expect("complete");
        let s = servers::get(&db, 40150).await.expect("get").expect("s");
        assert_eq!(
            (
                s.status.as_str(),
                s.power.as_str(),
                s.os.as_deref(),
                s.licenses.as_str()
            ),
            ("rent", "on", Some(os), r#"[{"id":38}]"#)
        );
        complete_install(&db, 40150, None, "[]")
            .await
            .expect("own os");
        let s = servers::get(&db, 40150).await.expect("get").expect("s");
        assert_eq!((s.os, s.licenses.as_str()), (None, "[]"));
        let other = servers::get(&db, 40102).await.expect("get").expect("s");
        assert!(other.os.is_some(), "other servers keep theirs");
    }

    #[tokio::test]
    async fn only_the_named_tags_of_the_server_are_cleared() {
        let db = demo().await;
        let before = count(&db, "tags").await;
        let gone = clear_tags(&db, 40101, &["OS", "Password", "webpanel", "nonesuch"])
            .await
            .expect("clear");
        assert_eq!(gone, 3, "the internal Password tag too");
        assert_eq!(count(&db, "tags").await, before - 3);
        let left: Vec<String> = tags::list(&db, "eq", 40101)
            .await
            .expect("list")
            .into_iter()
            .map(|t| t.tag)
            .collect();
        assert!(left.contains(&"hostname".to_owned()) && left.contains(&"user_name".to_owned()));
        assert!(!left.contains(&"OS".to_owned()));
        assert!(
            tags::get(&db, "eq", 40102, "OS")
                .await
                .expect("get")
                .is_some(),
            "another server's tags stay"
        );
        assert_eq!(clear_tags(&db, 40101, &[]).await.expect("none"), 0);
    }
}
