//! Address management and network state: subnets, assigned and released addresses, PTR
//! records, address blocks, port blocks and static NAT rules.

use std::collections::HashSet;

use sqlx::{FromRow, SqliteConnection};

use super::servers::Subnet;
use super::{sql, Db};

/// Subnets of a location of one kind (public, ipmi, nat), optionally only those serving one
/// tag (ovirt, bm: untagged pools serve every tag) and one VLAN, by id.
pub async fn subnets_in(
    conn: &mut SqliteConnection,
    location: &str,
    kind: &str,
    tag: Option<&str>,
    vlan: Option<i64>,
) -> Result<Vec<Subnet>, sqlx::Error> {
    sql::query_as(
        "SELECT id, location, network, cidr, gateway, vlan, kind, tag FROM subnets \
         WHERE location = ? AND kind = ? AND (? IS NULL OR tag = ? OR tag = '') \
         AND (? IS NULL OR vlan = ?) ORDER BY id",
    )
    .bind(location)
    .bind(kind)
    .bind(tag)
    .bind(tag)
    .bind(vlan)
    .bind(vlan)
    .fetch_all(conn)
    .await
}

/// The subnet an address belongs to (the most specific one).
pub async fn subnet_of(db: &Db, address: &str) -> Result<Option<Subnet>, sqlx::Error> {
    let ip: std::net::Ipv4Addr = match address.parse() {
        Ok(ip) => ip,
        Err(_) => return Ok(None),
    };
    let all = super::servers::subnets(db).await?;
    Ok(all
        .into_iter()
        .filter(|s| {
            format!("{}/{}", s.network, s.cidr)
                .parse::<ipnet::Ipv4Net>()
                .is_ok_and(|n| n.contains(&ip))
        })
        .max_by_key(|s| s.cidr))
}

/// Addresses assigned in a subnet.
pub async fn taken(
    conn: &mut SqliteConnection,
    subnet_id: i64,
) -> Result<HashSet<String>, sqlx::Error> {
    let v: Vec<String> = sql::query_scalar("SELECT address FROM ips WHERE subnet_id = ?")
        .bind(subnet_id)
        .fetch_all(conn)
        .await?;
    Ok(v.into_iter().collect())
}

/// Addresses of a subnet released at or after `since` (still "fresh").
pub async fn released_since(
    conn: &mut SqliteConnection,
    subnet_id: i64,
    since: i64,
) -> Result<HashSet<String>, sqlx::Error> {
    let v: Vec<String> = sql::query_scalar(
        "SELECT address FROM ip_releases WHERE subnet_id = ? AND released_at >= ?",
    )
    .bind(subnet_id)
    .bind(since)
    .fetch_all(conn)
    .await?;
    Ok(v.into_iter().collect())
}

/// Assigns an address to a server's port.
pub async fn assign(
    conn: &mut SqliteConnection,
    address: &str,
    subnet_id: i64,
    server_id: i64,
    port: &str,
    main: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO ips (address, subnet_id, server_id, port, main_ip, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(address)
    .bind(subnet_id)
    .bind(server_id)
    .bind(port)
    .bind(i64::from(main))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sql::query("DELETE FROM ip_releases WHERE address = ?")
        .bind(address)
        .execute(&mut *conn)
        .await?;
    // A customer block of the address's previous holder does not follow it to a new one.
    sql::query("DELETE FROM ip_blocks WHERE address = ? AND kind = 'customer'")
        .bind(address)
        .execute(conn)
        .await?;
    Ok(())
}

/// The server holding an address now, if any.
pub async fn holder_of(
    conn: &mut SqliteConnection,
    address: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<Option<i64>> = sql::query_scalar("SELECT server_id FROM ips WHERE address = ?")
        .bind(address)
        .fetch_optional(conn)
        .await?;
    Ok(row.flatten())
}

/// A server's ports the customer switched off, with the reasons given, in port order.
pub async fn customer_port_blocks(
    conn: &mut SqliteConnection,
    server_id: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sql::query_as(
        "SELECT type, block_reason FROM interfaces WHERE server_id = ? AND blocked_by = 'customer' ORDER BY id",
    )
    .bind(server_id)
    .fetch_all(conn)
    .await
}

/// Gives a server's addresses (with their subnets) back to the pool: their PTR records and
/// customer blocks go with them and the release is noted (for `fresh_period`), in four
/// statements for any number. Returns the addresses the server does not hold, in the order given; when there are any, nothing more is done and the
/// caller rolls back.
pub async fn release_many(
    conn: &mut SqliteConnection,
    server_id: i64,
    addresses: &[(&str, i64)],
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let list = serde_json::json!(addresses.iter().map(|(a, _)| a).collect::<Vec<_>>()).to_string();
    let gone: HashSet<String> = sql::query_scalar(
        "DELETE FROM ips WHERE server_id = ? AND address IN (SELECT value FROM json_each(?)) RETURNING address",
    )
    .bind(server_id)
    .bind(&list)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let missing: Vec<String> = addresses
        .iter()
        .filter(|(a, _)| !gone.contains(*a))
        .map(|(a, _)| (*a).to_owned())
        .collect();
    if !missing.is_empty() {
        return Ok(missing);
    }
    sql::query("DELETE FROM ptr_records WHERE address IN (SELECT value FROM json_each(?))")
        .bind(&list)
        .execute(&mut *conn)
        .await?;
    sql::query(
        "DELETE FROM ip_blocks WHERE kind = 'customer' AND address IN (SELECT value FROM json_each(?))",
    )
    .bind(&list)
    .execute(&mut *conn)
    .await?;
    // `WHERE true`: an INSERT ... SELECT with an upsert clause needs a WHERE to parse.
    sql::query(
        "INSERT INTO ip_releases (address, subnet_id, released_at) \
         SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), ? FROM json_each(?) AS j WHERE true \
         ON CONFLICT(address) DO UPDATE SET released_at = excluded.released_at",
    )
    .bind(now)
    .bind(serde_json::json!(addresses).to_string())
    .execute(conn)
    .await?;
    Ok(Vec::new())
}

/// Makes one address the server's main address (and no other). Returns false, changing
/// nothing, when the server holds no such (non-IPMI) address.
pub async fn set_main(
    conn: &mut SqliteConnection,
    server_id: i64,
    address: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let held: i64 = sql::query_scalar(
        "SELECT COUNT(*) FROM ips WHERE server_id = ? AND address = ? AND port <> 'ipmi'",
    )
    .bind(server_id)
    .bind(address)
    .fetch_one(&mut *conn)
    .await?;
    if held == 0 {
        return Ok(false);
    }
    sql::query(
        "UPDATE ips SET main_ip = CASE WHEN address = ? THEN 1 ELSE 0 END, updated_at = ? \
         WHERE server_id = ? AND port <> 'ipmi'",
    )
    .bind(address)
    .bind(now)
    .bind(server_id)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Does the server have a main (non-IPMI) address?
pub async fn has_main<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sql::query_scalar(
        "SELECT COUNT(*) FROM ips WHERE server_id = ? AND port <> 'ipmi' AND main_ip = 1",
    )
    .bind(server_id)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// PTR records of an address (none stored: empty).
pub async fn ptr(db: &Db, address: &str) -> Result<Option<String>, sqlx::Error> {
    sql::query_scalar("SELECT records FROM ptr_records WHERE address = ?")
        .bind(address)
        .fetch_optional(db)
        .await
}

pub async fn set_ptr(db: &Db, address: &str, records: &str, now: i64) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO ptr_records (address, records, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT(address) DO UPDATE SET records = excluded.records, updated_at = excluded.updated_at",
    )
    .bind(address)
    .bind(records)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// A block on an address.
#[derive(Debug, Clone, FromRow)]
pub struct Block {
    pub address: String,
    pub server_id: i64,
    pub kind: String,
    pub description: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// The block on an address that is in force now.
pub async fn active_block<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    address: &str,
    now: i64,
) -> Result<Option<Block>, sqlx::Error> {
    sql::query_as(
        "SELECT address, server_id, kind, description, created_at, expires_at FROM ip_blocks \
         WHERE address = ? AND (expires_at IS NULL OR expires_at > ?)",
    )
    .bind(address)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Is the address under an abuse-team block now? (Customers can neither release it nor
/// make it their main address.)
pub async fn admin_blocked(
    conn: &mut SqliteConnection,
    address: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(active_block(&mut *conn, address, now)
        .await?
        .is_some_and(|b| b.kind == "admin"))
}

/// Which of these addresses are under an abuse-team block now (as [`admin_blocked`] tells
/// of one), in one statement.
pub async fn admin_blocked_among(
    conn: &mut SqliteConnection,
    addresses: &[&str],
    now: i64,
) -> Result<HashSet<String>, sqlx::Error> {
    if addresses.is_empty() {
        return Ok(HashSet::new());
    }
    let v: Vec<String> = sql::query_scalar(
        "SELECT address FROM ip_blocks WHERE kind = 'admin' AND (expires_at IS NULL OR expires_at > ?) \
         AND address IN (SELECT value FROM json_each(?))",
    )
    .bind(now)
    .bind(serde_json::json!(addresses).to_string())
    .fetch_all(conn)
    .await?;
    Ok(v.into_iter().collect())
}

/// Blocks an address (replacing an expired block).
pub async fn block(conn: &mut SqliteConnection, b: &Block) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO ip_blocks (address, server_id, kind, description, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(address) DO UPDATE SET server_id = excluded.server_id, kind = excluded.kind, \
         description = excluded.description, created_at = excluded.created_at, expires_at = excluded.expires_at",
    )
    .bind(&b.address)
    .bind(b.server_id)
    .bind(&b.kind)
    .bind(&b.description)
    .bind(b.created_at)
    .bind(b.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn unblock(conn: &mut SqliteConnection, address: &str) -> Result<(), sqlx::Error> {
    sql::query("DELETE FROM ip_blocks WHERE address = ?")
        .bind(address)
        .execute(conn)
        .await?;
    Ok(())
}

/// Switches a port on or off and records who blocked it.
pub async fn set_port(
    conn: &mut SqliteConnection,
    interface_id: i64,
    on: bool,
    blocked_by: Option<&str>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE interfaces SET status = ?, blocked_by = ?, block_reason = ? WHERE id = ?")
        .bind(if on { "enable" } else { "disable" })
        .bind(blocked_by)
        .bind(reason)
        .bind(interface_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Who blocked a port, and why.
pub async fn port_block<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    interface_id: i64,
) -> Result<(Option<String>, String), sqlx::Error> {
    sql::query_as("SELECT blocked_by, block_reason FROM interfaces WHERE id = ?")
        .bind(interface_id)
        .fetch_one(db)
        .await
}

/// A static NAT rule.
#[derive(Debug, Clone, FromRow)]
pub struct NatRule {
    pub id: i64,
    pub server_id: i64,
    pub public_ip: String,
    pub private_ip: String,
    pub router_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const NAT_COLS: &str = "id, server_id, public_ip, private_ip, router_id, created_at, expires_at";

/// The server's rule in force now.
pub async fn active_nat<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
    now: i64,
) -> Result<Option<NatRule>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {NAT_COLS} FROM nat_rules WHERE server_id = ? AND expires_at > ? ORDER BY id DESC LIMIT 1"
    ))
    .bind(server_id)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// The rule in force now on this public NAT address (of any server: the caller checks
/// that the server is the principal's).
pub async fn active_nat_on<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    public_ip: &str,
    now: i64,
) -> Result<Option<NatRule>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {NAT_COLS} FROM nat_rules WHERE public_ip = ? AND expires_at > ? ORDER BY id DESC LIMIT 1"
    ))
    .bind(public_ip)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Public addresses of the NAT pools in use now.
pub async fn nat_in_use(
    conn: &mut SqliteConnection,
    now: i64,
) -> Result<HashSet<String>, sqlx::Error> {
    let v: Vec<String> = sql::query_scalar("SELECT public_ip FROM nat_rules WHERE expires_at > ?")
        .bind(now)
        .fetch_all(conn)
        .await?;
    Ok(v.into_iter().collect())
}

/// The id the next NAT rule will get (the router's rule name is derived from it before
/// the rule is inserted).
pub async fn next_nat_id<'e, E: sqlx::SqliteExecutor<'e>>(db: E) -> Result<i64, sqlx::Error> {
    sql::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM nat_rules")
        .fetch_one(db)
        .await
}

/// Stores a NAT rule; returns its id.
pub async fn add_nat(conn: &mut SqliteConnection, r: &NatRule) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO nat_rules (server_id, public_ip, private_ip, router_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(r.server_id)
    .bind(&r.public_ip)
    .bind(&r.private_ip)
    .bind(&r.router_id)
    .bind(r.created_at)
    .bind(r.expires_at)
    .fetch_one(conn)
    .await
}

/// Moves a rule's expiry (extending it, or ending it now).
pub async fn set_nat_expiry<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE nat_rules SET expires_at = ? WHERE id = ?")
        .bind(expires_at)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::servers;
    use crate::store::test_support::{count, demo, NOW};

    /// Gives one address back, as `remove_ipv4` does for each: true when the server held it.
    async fn release(
        conn: &mut SqliteConnection,
        address: &str,
        server_id: i64,
        subnet_id: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let missing = release_many(conn, server_id, &[(address, subnet_id)], now).await?;
        Ok(missing.is_empty())
    }

    /// A connection of its own for each call: the in-memory pool has only one.
    async fn c(db: &Db) -> crate::store::Conn {
        db.acquire().await.expect("conn")
    }

    #[tokio::test]
    async fn an_address_has_one_holder_and_customer_port_blocks_are_listed_in_port_order() {
        let db = demo().await;
        assert_eq!(
            holder_of(&mut *c(&db).await, "31.207.45.23")
                .await
                .expect("holder"),
            Some(40101)
        );
        assert_eq!(
            holder_of(&mut *c(&db).await, "31.207.45.99")
                .await
                .expect("free"),
            None
        );
        // 40102's eth1 is blocked by the abuse team: no customer block yet.
        assert!(customer_port_blocks(&mut *c(&db).await, 40102)
            .await
            .expect("blocks")
            .is_empty());
        let ifaces = crate::store::servers::interfaces(&db, 40103)
            .await
            .expect("ifaces");
        for i in ifaces.iter().rev().filter(|i| i.r#type != "ipmi") {
            set_port(
                &mut *c(&db).await,
                i.id,
                false,
                Some("customer"),
                &format!("why {}", i.r#type),
            )
            .await
            .expect("port");
        }
        assert_eq!(
            customer_port_blocks(&mut *c(&db).await, 40103)
                .await
                .expect("blocks"),
            vec![
                ("eth0".to_owned(), "why eth0".to_owned()),
                ("eth1".to_owned(), "why eth1".to_owned())
            ]
        );
    }

    async fn pools(
        conn: &mut SqliteConnection,
        loc: &str,
        kind: &str,
        tag: Option<&str>,
        vlan: Option<i64>,
    ) -> Vec<i64> {
        subnets_in(conn, loc, kind, tag, vlan)
            .await
            .expect("subnets")
            .into_iter()
            .map(|s| s.id)
            .collect()
    }

    async fn holder(db: &Db, address: &str) -> Option<i64> {
        holder_of(&mut *c(db).await, address).await.expect("holder")
    }

    async fn mains(db: &Db, server_id: i64) -> Vec<String> {
        servers::ips(db, server_id)
            .await
            .expect("ips")
            .into_iter()
            .filter(|i| i.main_ip == 1)
            .map(|i| i.address)
            .collect()
    }

    fn customer_block(address: &str, server_id: i64, expires_at: Option<i64>) -> Block {
        Block {
            address: address.into(),
            server_id,
            kind: "customer".into(),
            description: "by customer".into(),
            created_at: NOW,
            expires_at,
        }
    }

    #[tokio::test]
    async fn subnets_are_filtered_by_kind_tag_and_vlan_and_untagged_pools_serve_every_tag() {
        let db = demo().await;
        assert_eq!(
            pools(&mut *c(&db).await, "NL", "public", None, None).await,
            vec![517, 518]
        );
        assert_eq!(
            pools(&mut *c(&db).await, "NL", "public", Some("ovirt"), None).await,
            vec![517]
        );
        assert_eq!(
            pools(&mut *c(&db).await, "NL", "public", Some("bm"), None).await,
            vec![518]
        );
        assert_eq!(
            pools(&mut *c(&db).await, "NL", "public", None, Some(604)).await,
            vec![518]
        );
        assert!(
            pools(&mut *c(&db).await, "NL", "public", Some("ovirt"), Some(604))
                .await
                .is_empty()
        );
        assert_eq!(
            pools(&mut *c(&db).await, "NL", "ipmi", None, None).await,
            vec![519]
        );
        assert_eq!(
            pools(&mut *c(&db).await, "NL", "nat", Some("nat"), None).await,
            vec![540]
        );
        assert_eq!(
            pools(&mut *c(&db).await, "FI", "public", Some("ovirt"), None).await,
            vec![532]
        );
        assert!(pools(&mut *c(&db).await, "XX", "public", None, None)
            .await
            .is_empty());
        sql::query(
            "INSERT INTO subnets (id, location, network, cidr, gateway, vlan, kind, tag) \
             VALUES (550, 'NL', '31.207.46.0', 25, '31.207.46.1', 413, 'public', '')",
        )
        .execute(&mut *c(&db).await)
        .await
        .expect("untagged pool");
        assert_eq!(
            pools(&mut *c(&db).await, "NL", "public", Some("ovirt"), None).await,
            vec![517, 550]
        );
        assert_eq!(
            pools(&mut *c(&db).await, "NL", "public", Some("bm"), None).await,
            vec![518, 550]
        );
        assert_eq!(
            pools(&mut *c(&db).await, "NL", "public", Some("bm"), Some(413)).await,
            vec![550]
        );
    }

    #[tokio::test]
    async fn an_address_belongs_to_its_most_specific_subnet() {
        let db = demo().await;
        let of = |a: &'static str| {
            let db = db.clone();
            async move { subnet_of(&db, a).await.expect("subnet").map(|s| s.id) }
        };
        assert_eq!(of("31.207.45.23").await, Some(517));
        assert_eq!(of("10.14.32.117").await, Some(519));
        assert_eq!(of("8.8.8.8").await, None);
        assert_eq!(of("not an address").await, None);
        sql::query(
            "INSERT INTO subnets (id, location, network, cidr, gateway, vlan, kind, tag) \
             VALUES (560, 'NL', '31.207.45.0', 28, '31.207.45.1', 412, 'public', 'ovirt')",
        )
        .execute(&db)
        .await
        .expect("narrower subnet");
        assert_eq!(of("31.207.45.5").await, Some(560));
        assert_eq!(of("31.207.45.23").await, Some(517), "outside the /28");
    }

    #[tokio::test]
    async fn release_frees_only_the_holders_address_with_its_ptr_and_customer_block() {
        let db = demo().await;
        let before = taken(&mut *c(&db).await, 517).await.expect("taken");
        let expected: HashSet<String> = [
            "31.207.45.23",
            "31.207.45.24",
            "31.207.45.61",
            "31.207.45.62",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(before, expected);
        set_ptr(&db, "31.207.45.62", "web.example.com", NOW)
            .await
            .expect("ptr");
        block(
            &mut *c(&db).await,
            &customer_block("31.207.45.62", 40107, None),
        )
        .await
        .expect("block");

        // 40101 does not hold .62: nothing changes.
        assert!(
            !release(&mut *c(&db).await, "31.207.45.62", 40101, 517, NOW + 5)
                .await
                .expect("release")
        );
        assert_eq!(holder(&db, "31.207.45.62").await, Some(40107));
        assert_eq!(
            ptr(&db, "31.207.45.62").await.expect("ptr").as_deref(),
            Some("web.example.com")
        );
        assert!(active_block(&mut *c(&db).await, "31.207.45.62", NOW)
            .await
            .expect("block")
            .is_some());
        assert!(released_since(&mut *c(&db).await, 517, 0)
            .await
            .expect("released")
            .is_empty());

        assert!(
            release(&mut *c(&db).await, "31.207.45.62", 40107, 517, NOW + 5)
                .await
                .expect("release")
        );
        assert_eq!(holder(&db, "31.207.45.62").await, None);
        assert!(!taken(&mut *c(&db).await, 517)
            .await
            .expect("taken")
            .contains("31.207.45.62"));
        assert_eq!(ptr(&db, "31.207.45.62").await.expect("ptr"), None);
        assert!(active_block(&mut *c(&db).await, "31.207.45.62", NOW)
            .await
            .expect("block")
            .is_none());
        let fresh = released_since(&mut *c(&db).await, 517, NOW + 5)
            .await
            .expect("released");
        assert!(fresh.contains("31.207.45.62"));
        assert!(released_since(&mut *c(&db).await, 517, NOW + 6)
            .await
            .expect("released")
            .is_empty());
        assert!(released_since(&mut *c(&db).await, 518, 0)
            .await
            .expect("released")
            .is_empty());
        assert!(
            !release(&mut *c(&db).await, "31.207.45.62", 40107, 517, NOW + 6)
                .await
                .expect("again")
        );

        // An abuse team's block stays with the address.
        assert!(
            release(&mut *c(&db).await, "31.207.45.24", 40101, 517, NOW + 7)
                .await
                .expect("release")
        );
        let admin = active_block(&mut *c(&db).await, "31.207.45.24", NOW + 7)
            .await
            .expect("block")
            .expect("kept");
        assert_eq!(admin.kind, "admin");
    }

    #[tokio::test]
    async fn release_many_frees_a_servers_addresses_at_once_as_release_does_one() {
        let db = demo().await;
        set_ptr(&db, "31.207.45.23", "vm.example.com", NOW)
            .await
            .expect("ptr");
        block(
            &mut *c(&db).await,
            &customer_block("31.207.45.23", 40101, None),
        )
        .await
        .expect("block");
        // 40101 does not hold .61: the missing address is named, the caller rolls back.
        let mut tx = crate::store::begin_write(&db).await.expect("begin");
        let missing = release_many(
            &mut tx,
            40101,
            &[("31.207.45.23", 517), ("31.207.45.61", 517)],
            NOW,
        )
        .await
        .expect("release");
        assert_eq!(missing, vec!["31.207.45.61".to_owned()]);
        tx.rollback().await.expect("rollback");
        assert_eq!(holder(&db, "31.207.45.23").await, Some(40101));
        assert!(release_many(&mut *c(&db).await, 40101, &[], NOW)
            .await
            .expect("nothing")
            .is_empty());

        let gone = [("31.207.45.23", 517), ("31.207.45.24", 517)];
        let missing = release_many(&mut *c(&db).await, 40101, &gone, NOW + 5)
            .await
            .expect("release");
        assert!(missing.is_empty());
        for (address, _) in gone {
            assert_eq!(holder(&db, address).await, None);
        }
        assert_eq!(ptr(&db, "31.207.45.23").await.expect("ptr"), None);
        assert!(active_block(&mut *c(&db).await, "31.207.45.23", NOW)
            .await
            .expect("block")
            .is_none());
        let admin = active_block(&mut *c(&db).await, "31.207.45.24", NOW)
            .await
            .expect("block")
            .expect("an abuse block stays with the address");
        assert_eq!(admin.kind, "admin");
        let fresh = released_since(&mut *c(&db).await, 517, NOW + 5)
            .await
            .expect("released");
        assert_eq!(fresh.len(), 2);
        assert!(fresh.contains("31.207.45.23") && fresh.contains("31.207.45.24"));
        // Released again later (after being taken again): the release time moves.
        assign(
            &mut *c(&db).await,
            "31.207.45.23",
            517,
            40101,
            "eth0",
            false,
            NOW + 6,
        )
        .await
        .expect("assign");
        release_many(&mut *c(&db).await, 40101, &gone[..1], NOW + 9)
            .await
            .expect("release");
        let later = released_since(&mut *c(&db).await, 517, NOW + 9)
            .await
            .expect("released");
        assert_eq!(later.into_iter().collect::<Vec<_>>(), vec!["31.207.45.23"]);
    }

    #[tokio::test]
    async fn admin_blocks_are_found_among_many_addresses_at_once() {
        let db = demo().await;
        let among = |addresses: &'static [&'static str], now| {
            let db = db.clone();
            async move {
                let mut v: Vec<String> = admin_blocked_among(&mut *c(&db).await, addresses, now)
                    .await
                    .expect("blocked")
                    .into_iter()
                    .collect();
                v.sort();
                v
            }
        };
        assert_eq!(
            among(&["31.207.45.23", "31.207.45.24", "8.8.8.8"], NOW).await,
            vec!["31.207.45.24"]
        );
        assert!(among(&[], NOW).await.is_empty());
        block(
            &mut *c(&db).await,
            &customer_block("31.207.45.23", 40101, None),
        )
        .await
        .expect("block");
        assert_eq!(
            among(&["31.207.45.23", "31.207.45.24"], NOW).await,
            vec!["31.207.45.24"],
            "a customer block is no abuse block"
        );
        let mut expiring = customer_block("31.207.45.61", 40107, Some(NOW + 60));
        expiring.kind = "admin".into();
        block(&mut *c(&db).await, &expiring).await.expect("block");
        for (now, want) in [(NOW, vec!["31.207.45.61"]), (NOW + 60, vec![])] {
            assert_eq!(among(&["31.207.45.61"], now).await, want);
            assert_eq!(
                admin_blocked(&mut *c(&db).await, "31.207.45.61", now)
                    .await
                    .expect("blocked"),
                !want.is_empty(),
                "as admin_blocked tells of one address"
            );
        }
    }

    #[tokio::test]
    async fn assign_takes_the_address_out_of_the_released_list_and_drops_customer_blocks() {
        let db = demo().await;
        assert!(release(&mut *c(&db).await, "31.207.45.62", 40107, 517, NOW)
            .await
            .expect("release"));
        block(
            &mut *c(&db).await,
            &customer_block("31.207.45.62", 40107, None),
        )
        .await
        .expect("stale block");
        assign(
            &mut *c(&db).await,
            "31.207.45.62",
            517,
            40101,
            "eth0",
            false,
            NOW + 1,
        )
        .await
        .expect("assign");
        assert_eq!(holder(&db, "31.207.45.62").await, Some(40101));
        assert!(released_since(&mut *c(&db).await, 517, 0)
            .await
            .expect("released")
            .is_empty());
        assert!(active_block(&mut *c(&db).await, "31.207.45.62", NOW + 1)
            .await
            .expect("block")
            .is_none());
        let row = servers::ips(&db, 40101)
            .await
            .expect("ips")
            .into_iter()
            .find(|i| i.address == "31.207.45.62")
            .expect("assigned");
        assert_eq!(
            (
                row.port.as_str(),
                row.main_ip,
                row.updated_at,
                row.subnet_id,
                row.vlan
            ),
            ("eth0", 0, NOW + 1, 517, 412)
        );
        assert_eq!(mains(&db, 40101).await, vec!["31.207.45.23"]);

        // An admin block on a free address is not lifted by assigning it.
        let mut admin = customer_block("31.207.45.70", 40107, None);
        admin.kind = "admin".into();
        block(&mut *c(&db).await, &admin)
            .await
            .expect("admin block");
        assign(
            &mut *c(&db).await,
            "31.207.45.70",
            517,
            40101,
            "eth0",
            false,
            NOW + 2,
        )
        .await
        .expect("assign");
        assert_eq!(
            active_block(&mut *c(&db).await, "31.207.45.70", NOW + 2)
                .await
                .expect("block")
                .map(|b| b.kind)
                .as_deref(),
            Some("admin")
        );

        let dup = assign(
            &mut *c(&db).await,
            "31.207.45.23",
            517,
            40107,
            "eth0",
            false,
            NOW,
        )
        .await
        .expect_err("taken");
        assert!(crate::store::is_unique_violation(&dup));
        assert_eq!(holder(&db, "31.207.45.23").await, Some(40101));
    }

    #[tokio::test]
    async fn set_main_keeps_exactly_one_main_and_refuses_foreign_and_ipmi_addresses() {
        let db = demo().await;
        assert_eq!(mains(&db, 40102).await, vec!["5.39.218.37"]);
        assert!(!set_main(&mut *c(&db).await, 40102, "31.207.45.61", NOW)
            .await
            .expect("foreign"));
        assert!(!set_main(&mut *c(&db).await, 40102, "10.14.32.117", NOW)
            .await
            .expect("ipmi"));
        assert_eq!(mains(&db, 40102).await, vec!["5.39.218.37"]);
        assert_eq!(
            mains(&db, 40107).await,
            vec!["31.207.45.61"],
            "the holder keeps its main"
        );
        assert!(set_main(&mut *c(&db).await, 40102, "5.39.218.38", NOW + 1)
            .await
            .expect("own"));
        assert_eq!(mains(&db, 40102).await, vec!["5.39.218.38"]);
        assert_eq!(
            servers::main_ip(&db, 40102).await.expect("main"),
            "5.39.218.38"
        );
        let ipmi: i64 = sql::query_scalar("SELECT main_ip FROM ips WHERE address = '10.14.32.117'")
            .fetch_one(&db)
            .await
            .expect("ipmi row");
        assert_eq!(ipmi, 0);
        assert!(set_main(&mut *c(&db).await, 40102, "5.39.218.38", NOW + 2)
            .await
            .expect("idempotent"));
        assert_eq!(mains(&db, 40102).await, vec!["5.39.218.38"]);
    }

    #[tokio::test]
    async fn a_server_has_a_main_address_until_its_main_one_is_released() {
        let db = demo().await;
        assert!(has_main(&db, 40101).await.expect("main"));
        assert!(!has_main(&db, 1).await.expect("no such server"));
        assert!(release(&mut *c(&db).await, "31.207.45.23", 40101, 517, NOW)
            .await
            .expect("release"));
        // Only the IPMI address or extra addresses are left: none of them is main.
        assert!(!has_main(&db, 40101).await.expect("main"));
        assert!(set_main(&mut *c(&db).await, 40101, "31.207.45.24", NOW)
            .await
            .expect("set"));
        assert!(has_main(&db, 40101).await.expect("main"));
    }

    #[tokio::test]
    async fn the_next_nat_id_follows_the_highest_rule() {
        let db = demo().await;
        assert_eq!(next_nat_id(&db).await.expect("next"), 1, "no rule yet");
        let r = NatRule {
            id: 0,
            server_id: 40102,
            public_ip: "185.17.147.5".into(),
            private_ip: "10.14.32.117".into(),
            router_id: "*1".into(),
            created_at: NOW,
            expires_at: NOW + 10,
        };
        let id = add_nat(&mut *c(&db).await, &r).await.expect("add");
        assert_eq!(next_nat_id(&db).await.expect("next"), id + 1);
        // An expired rule still counts: router names are never reused.
        set_nat_expiry(&db, id, NOW).await.expect("end");
        assert_eq!(next_nat_id(&db).await.expect("next"), id + 1);
    }

    #[tokio::test]
    async fn ptr_records_are_stored_and_replaced() {
        let db = demo().await;
        assert_eq!(ptr(&db, "31.207.45.23").await.expect("ptr"), None);
        set_ptr(&db, "31.207.45.23", "a.example.com", NOW)
            .await
            .expect("set");
        set_ptr(&db, "31.207.45.23", "b.example.com", NOW + 1)
            .await
            .expect("replace");
        assert_eq!(
            ptr(&db, "31.207.45.23").await.expect("ptr").as_deref(),
            Some("b.example.com")
        );
        assert_eq!(count(&db, "ptr_records").await, 1);
    }

    #[tokio::test]
    async fn blocks_are_in_force_until_they_expire_and_can_be_replaced_or_lifted() {
        let db = demo().await;
        // The scenario's abuse block never expires.
        let admin = active_block(&mut *c(&db).await, "31.207.45.24", NOW)
            .await
            .expect("block")
            .expect("admin");
        assert_eq!(
            (admin.kind.as_str(), admin.server_id, admin.expires_at),
            ("admin", 40101, None)
        );
        assert!(active_block(&mut *c(&db).await, "31.207.45.23", NOW)
            .await
            .expect("block")
            .is_none());
        block(
            &mut *c(&db).await,
            &customer_block("31.207.45.23", 40101, Some(NOW + 100)),
        )
        .await
        .expect("block");
        assert!(active_block(&mut *c(&db).await, "31.207.45.23", NOW + 99)
            .await
            .expect("block")
            .is_some());
        // Only the abuse team's block counts as an admin block.
        assert!(admin_blocked(&mut *c(&db).await, "31.207.45.24", NOW)
            .await
            .expect("admin"));
        assert!(!admin_blocked(&mut *c(&db).await, "31.207.45.23", NOW)
            .await
            .expect("customer"));
        assert!(active_block(&mut *c(&db).await, "31.207.45.23", NOW + 100)
            .await
            .expect("block")
            .is_none());
        assert!(
            active_block(&mut *c(&db).await, "31.207.45.24", NOW + 100)
                .await
                .expect("block")
                .is_some(),
            "the abuse team's block has no expiry"
        );

        let mut renewed = customer_block("31.207.45.23", 40101, Some(NOW + 500));
        renewed.description = "again".into();
        block(&mut *c(&db).await, &renewed)
            .await
            .expect("replace the expired block");
        let b = active_block(&mut *c(&db).await, "31.207.45.23", NOW + 200)
            .await
            .expect("block")
            .expect("renewed");
        assert_eq!(
            (b.description.as_str(), b.expires_at),
            ("again", Some(NOW + 500))
        );
        unblock(&mut *c(&db).await, "31.207.45.23")
            .await
            .expect("unblock");
        assert!(active_block(&mut *c(&db).await, "31.207.45.23", NOW)
            .await
            .expect("block")
            .is_none());
        assert!(active_block(&mut *c(&db).await, "31.207.45.24", NOW)
            .await
            .expect("block")
            .is_some());
    }

    #[tokio::test]
    async fn ports_are_switched_and_remember_who_blocked_them() {
        let db = demo().await;
        assert_eq!(
            port_block(&db, 131501).await.expect("port"),
            (None, String::new())
        );
        set_port(
            &mut *c(&db).await,
            131501,
            false,
            Some("customer"),
            "maintenance",
        )
        .await
        .expect("off");
        assert_eq!(
            port_block(&db, 131501).await.expect("port"),
            (Some("customer".into()), "maintenance".into())
        );
        let eth0 = servers::interfaces(&db, 40101)
            .await
            .expect("ifaces")
            .remove(0);
        assert_eq!(
            (eth0.id, eth0.status.as_str(), eth0.blocked_by.as_deref()),
            (131501, "disable", Some("customer"))
        );
        set_port(&mut *c(&db).await, 131501, true, None, "")
            .await
            .expect("on");
        assert_eq!(
            port_block(&db, 131501).await.expect("port"),
            (None, String::new())
        );
        assert_eq!(
            servers::interfaces(&db, 40101).await.expect("ifaces")[0].status,
            "enable"
        );
        assert!(port_block(&db, 1).await.is_err(), "no such interface");
    }

    #[tokio::test]
    async fn the_newest_unexpired_nat_rule_is_in_force() {
        let db = demo().await;
        let rule = |public: &str, expires_at| NatRule {
            id: 0,
            server_id: 40101,
            public_ip: public.into(),
            private_ip: "31.207.45.23".into(),
            router_id: "*42B".into(),
            created_at: NOW,
            expires_at,
        };
        assert!(active_nat(&mut *c(&db).await, 40101, NOW)
            .await
            .expect("nat")
            .is_none());
        let first = add_nat(&mut *c(&db).await, &rule("185.17.147.5", NOW + 100))
            .await
            .expect("add");
        let second = add_nat(&mut *c(&db).await, &rule("185.17.147.6", NOW + 50))
            .await
            .expect("add");
        let now = active_nat(&mut *c(&db).await, 40101, NOW)
            .await
            .expect("nat")
            .expect("rule");
        assert_eq!(
            (now.id, now.public_ip.as_str(), now.router_id.as_str()),
            (second, "185.17.147.6", "*42B")
        );
        assert_eq!(
            nat_in_use(&mut *c(&db).await, NOW)
                .await
                .expect("in use")
                .len(),
            2
        );
        assert!(active_nat(&mut *c(&db).await, 40102, NOW)
            .await
            .expect("nat")
            .is_none());
        set_nat_expiry(&mut *c(&db).await, second, NOW)
            .await
            .expect("end");
        assert_eq!(
            active_nat(&mut *c(&db).await, 40101, NOW)
                .await
                .expect("nat")
                .map(|r| r.id),
            Some(first)
        );
        let in_use = nat_in_use(&mut *c(&db).await, NOW).await.expect("in use");
        assert_eq!(in_use, HashSet::from(["185.17.147.5".to_owned()]));
        set_nat_expiry(&mut *c(&db).await, first, NOW + 1000)
            .await
            .expect("extend");
        assert_eq!(
            active_nat(&mut *c(&db).await, 40101, NOW + 999)
                .await
                .expect("nat")
                .map(|r| r.expires_at),
            Some(NOW + 1000)
        );
        assert!(active_nat(&mut *c(&db).await, 40101, NOW + 1000)
            .await
            .expect("nat")
            .is_none());
    }
}
