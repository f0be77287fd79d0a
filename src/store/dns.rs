//! DNS zones, records and subdomains (`pdns.php`, the DNS server).

use sqlx::FromRow;

use super::{sql, Db};

/// A zone (a domain of `list_domains`).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Zone {
    pub id: i64,
    pub account_id: i64,
    pub server_id: i64,
    pub name: String,
    pub kind: String,
    pub masters: String,
    pub dnssec: i64,
    pub soa_ttl: i64,
    pub mname: String,
    pub rname: String,
    pub serial: i64,
    pub refresh: i64,
    pub retry: i64,
    pub expire: i64,
    pub minimum: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const ZONE_COLS: &str = "id, account_id, server_id, name, kind, masters, dnssec, soa_ttl, \
    mname, rname, serial, refresh, retry, expire, minimum, created_at, updated_at";

/// A record of a zone.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    pub zone_id: i64,
    pub name: String,
    #[sqlx(rename = "type")]
    pub rtype: String,
    pub content: String,
    pub given: String,
    pub ttl: i64,
    pub priority: i64,
    pub created_at: i64,
}

const RECORD_COLS: &str = "id, zone_id, name, type, content, given, ttl, priority, created_at";

/// A subdomain pointing at a server.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Subdomain {
    pub id: i64,
    pub zone_id: i64,
    pub server_id: i64,
    pub name: String,
    pub created_at: i64,
}

const SUB_COLS: &str = "id, zone_id, server_id, name, created_at";

/// An account's zones, oldest first.
pub async fn zones(db: &Db, account_id: i64) -> Result<Vec<Zone>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {ZONE_COLS} FROM dns_zones WHERE account_id = ? ORDER BY id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// A zone by its normalized name, whoever's it is.
pub async fn zone_named<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    name: &str,
) -> Result<Option<Zone>, sqlx::Error> {
    sql::query_as(&format!("SELECT {ZONE_COLS} FROM dns_zones WHERE name = ?"))
        .bind(name)
        .fetch_optional(db)
        .await
}

/// A zone by id, whoever's it is.
pub async fn zone_by_id<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Zone>, sqlx::Error> {
    sql::query_as(&format!("SELECT {ZONE_COLS} FROM dns_zones WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The hosted zone that holds `name` (the longest zone name that `name` is or ends in).
pub async fn zone_holding(db: &Db, name: &str) -> Result<Option<Zone>, sqlx::Error> {
    let labels: Vec<&str> = name.split('.').collect();
    let candidates: Vec<String> = (0..labels.len()).map(|i| labels[i..].join(".")).collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let marks = vec!["?"; candidates.len()].join(", ");
    let text = format!(
        "SELECT {ZONE_COLS} FROM dns_zones WHERE name IN ({marks}) ORDER BY length(name) DESC LIMIT 1"
    );
    let mut q = sql::query_as(&text);
    for c in &candidates {
        q = q.bind(c);
    }
    q.fetch_optional(db).await
}

/// Stores a new zone; returns its id.
pub async fn insert_zone<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    z: &Zone,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO dns_zones (account_id, server_id, name, kind, masters, dnssec, soa_ttl, mname, \
         rname, serial, refresh, retry, expire, minimum, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(z.account_id)
    .bind(z.server_id)
    .bind(&z.name)
    .bind(&z.kind)
    .bind(&z.masters)
    .bind(z.dnssec)
    .bind(z.soa_ttl)
    .bind(&z.mname)
    .bind(&z.rname)
    .bind(z.serial)
    .bind(z.refresh)
    .bind(z.retry)
    .bind(z.expire)
    .bind(z.minimum)
    .bind(z.created_at)
    .bind(z.updated_at)
    .fetch_one(db)
    .await
}

/// Writes a zone's SOA fields back.
pub async fn update_soa<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    z: &Zone,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE dns_zones SET soa_ttl = ?, mname = ?, rname = ?, serial = ?, refresh = ?, \
         retry = ?, expire = ?, minimum = ?, updated_at = ? WHERE id = ?",
    )
    .bind(z.soa_ttl)
    .bind(&z.mname)
    .bind(&z.rname)
    .bind(z.serial)
    .bind(z.refresh)
    .bind(z.retry)
    .bind(z.expire)
    .bind(z.minimum)
    .bind(z.updated_at)
    .bind(z.id)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes a zone with its records and subdomains.
pub async fn delete_zone<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM dns_zones WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// A zone's records, by name, type and id.
pub async fn records<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    zone_id: i64,
) -> Result<Vec<Record>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {RECORD_COLS} FROM dns_records WHERE zone_id = ? ORDER BY name, type, id"
    ))
    .bind(zone_id)
    .fetch_all(db)
    .await
}

/// Stores a record; returns its id.
pub async fn insert_record<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    r: &Record,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO dns_records (zone_id, name, type, content, given, ttl, priority, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(r.zone_id)
    .bind(&r.name)
    .bind(&r.rtype)
    .bind(&r.content)
    .bind(&r.given)
    .bind(r.ttl)
    .bind(r.priority)
    .bind(r.created_at)
    .fetch_one(db)
    .await
}

/// Sets the TTL of every record of one RRset (one TTL per name and type, as DNS has it).
pub async fn set_rrset_ttl<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    zone_id: i64,
    name: &str,
    rtype: &str,
    ttl: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE dns_records SET ttl = ? WHERE zone_id = ? AND name = ? AND type = ?")
        .bind(ttl)
        .bind(zone_id)
        .bind(name)
        .bind(rtype)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes one RRset (`content` None) or one record of it; returns how many went.
pub async fn delete_records<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    zone_id: i64,
    name: &str,
    rtype: &str,
    content: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let done = sql::query(
        "DELETE FROM dns_records WHERE zone_id = ? AND name = ? AND type = ? \
         AND (? IS NULL OR content = ?)",
    )
    .bind(zone_id)
    .bind(name)
    .bind(rtype)
    .bind(content)
    .bind(content)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// An account's subdomains (of one server, when given), oldest first.
pub async fn subdomains(
    db: &Db,
    account_id: i64,
    server_id: Option<i64>,
) -> Result<Vec<Subdomain>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {} FROM dns_subdomains s JOIN dns_zones z ON z.id = s.zone_id \
         WHERE z.account_id = ? AND (? IS NULL OR s.server_id = ?) ORDER BY s.id",
        super::qualified("s", SUB_COLS)
    ))
    .bind(account_id)
    .bind(server_id)
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// A subdomain by id, whoever's it is.
pub async fn subdomain<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Subdomain>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {SUB_COLS} FROM dns_subdomains WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Stores a subdomain; returns its id.
pub async fn insert_subdomain<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    s: &Subdomain,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO dns_subdomains (zone_id, server_id, name, created_at) VALUES (?, ?, ?, ?) \
         RETURNING id",
    )
    .bind(s.zone_id)
    .bind(s.server_id)
    .bind(&s.name)
    .bind(s.created_at)
    .fetch_one(db)
    .await
}

/// Points a subdomain at a server under a name.
pub async fn update_subdomain<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    s: &Subdomain,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE dns_subdomains SET server_id = ?, name = ? WHERE id = ?")
        .bind(s.server_id)
        .bind(&s.name)
        .bind(s.id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes a subdomain.
pub async fn delete_subdomain<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM dns_subdomains WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Is this address one of the emulator's, in use (the DNS server's reverse lookups)?
pub async fn address_known(db: &Db, address: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sql::query_scalar("SELECT COUNT(*) FROM ips WHERE address = ?")
        .bind(address)
        .fetch_one(db)
        .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::demo as db_with_demo;

    fn zone(name: &str) -> Zone {
        Zone {
            id: 0,
            account_id: 38642,
            server_id: 0,
            name: name.into(),
            kind: "Master".into(),
            masters: "[]".into(),
            dnssec: 0,
            soa_ttl: 3600,
            mname: "ns1.hostkey.com.".into(),
            rname: "hostmaster.example.com.".into(),
            serial: 2026010101,
            refresh: 14400,
            retry: 3600,
            expire: 604800,
            minimum: 3600,
            created_at: 1,
            updated_at: 1,
        }
    }

    #[tokio::test]
    async fn zones_records_and_subdomains_round_trip() {
        let db = db_with_demo().await;
        let id = insert_zone(&db, &zone("example.com")).await.expect("zone");
        insert_zone(&db, &zone("sub.example.com"))
            .await
            .expect("zone");
        assert!(
            insert_zone(&db, &zone("example.com")).await.is_err(),
            "unique"
        );
        assert_eq!(zones(&db, 38642).await.expect("zones").len(), 2);
        let held = zone_holding(&db, "a.b.sub.example.com").await.expect("q");
        assert_eq!(held.map(|z| z.name).as_deref(), Some("sub.example.com"));
        let held = zone_holding(&db, "www.example.com").await.expect("q");
        assert_eq!(held.map(|z| z.id), Some(id));
        assert!(zone_holding(&db, "example.org").await.expect("q").is_none());

        let rec = |content: &str| Record {
            id: 0,
            zone_id: id,
            name: "www.example.com".into(),
            rtype: "A".into(),
            content: content.into(),
            given: content.into(),
            ttl: 3600,
            priority: 0,
            created_at: 1,
        };
        insert_record(&db, &rec("10.0.0.1")).await.expect("rec");
        insert_record(&db, &rec("10.0.0.2")).await.expect("rec");
        assert!(
            insert_record(&db, &rec("10.0.0.2")).await.is_err(),
            "duplicate"
        );
        set_rrset_ttl(&db, id, "www.example.com", "A", 120)
            .await
            .expect("ttl");
        let all = records(&db, id).await.expect("records");
        assert!(all.iter().all(|r| r.ttl == 120), "{all:?}");
        let gone = delete_records(&db, id, "www.example.com", "A", Some("10.0.0.1")).await;
        assert_eq!(gone.expect("del"), 1);
        assert_eq!(
            delete_records(&db, id, "www.example.com", "A", None)
                .await
                .expect("del"),
            1
        );

        let sid = insert_subdomain(
            &db,
            &Subdomain {
                id: 0,
                zone_id: id,
                server_id: 40101,
                name: "app".into(),
                created_at: 1,
            },
        )
        .await
        .expect("sub");
        let mut s = subdomain(&db, sid).await.expect("q").expect("found");
        s.name = "api".into();
        update_subdomain(&db, &s).await.expect("update");
        assert_eq!(
            subdomains(&db, 38642, Some(40101)).await.expect("list")[0].name,
            "api"
        );
        assert!(subdomains(&db, 38642, Some(1))
            .await
            .expect("list")
            .is_empty());
        delete_zone(&db, id).await.expect("delete");
        assert!(subdomain(&db, sid).await.expect("q").is_none(), "cascade");
        assert!(address_known(&db, "31.207.45.23").await.expect("q"));
        assert!(!address_known(&db, "192.0.2.1").await.expect("q"));
    }
}
