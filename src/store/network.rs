//! Address management and network state: subnets, assigned and released addresses, PTR
//! records, address blocks, port blocks and static NAT rules.

use std::collections::HashSet;

use sqlx::{FromRow, SqliteConnection};

use super::servers::Subnet;
use super::Db;

/// Subnets of a location of one kind (public, ipmi, nat), optionally only those serving one
/// tag (ovirt, bm: untagged pools serve every tag) and one VLAN, by id.
pub async fn subnets_in(
    conn: &mut SqliteConnection,
    location: &str,
    kind: &str,
    tag: Option<&str>,
    vlan: Option<i64>,
) -> Result<Vec<Subnet>, sqlx::Error> {
    sqlx::query_as(
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
    let v: Vec<String> = sqlx::query_scalar("SELECT address FROM ips WHERE subnet_id = ?")
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
    let v: Vec<String> = sqlx::query_scalar(
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
    sqlx::query(
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
    sqlx::query("DELETE FROM ip_releases WHERE address = ?")
        .bind(address)
        .execute(&mut *conn)
        .await?;
    // A customer block of the address's previous holder does not follow it to a new one.
    sqlx::query("DELETE FROM ip_blocks WHERE address = ? AND kind = 'customer'")
        .bind(address)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives a server's address back to the pool (its PTR and customer blocks go with it).
/// Returns false, changing nothing, when the server does not hold the address.
pub async fn release(
    conn: &mut SqliteConnection,
    address: &str,
    server_id: i64,
    subnet_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let gone = sqlx::query("DELETE FROM ips WHERE address = ? AND server_id = ?")
        .bind(address)
        .bind(server_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if gone == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM ptr_records WHERE address = ?")
        .bind(address)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM ip_blocks WHERE address = ? AND kind = 'customer'")
        .bind(address)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO ip_releases (address, subnet_id, released_at) VALUES (?, ?, ?) \
         ON CONFLICT(address) DO UPDATE SET released_at = excluded.released_at",
    )
    .bind(address)
    .bind(subnet_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Makes one address the server's main address (and no other). Returns false, changing
/// nothing, when the server holds no such (non-IPMI) address.
pub async fn set_main(
    conn: &mut SqliteConnection,
    server_id: i64,
    address: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ips WHERE server_id = ? AND address = ? AND port <> 'ipmi'",
    )
    .bind(server_id)
    .bind(address)
    .fetch_one(&mut *conn)
    .await?;
    if held == 0 {
        return Ok(false);
    }
    sqlx::query(
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

/// PTR records of an address (none stored: empty).
pub async fn ptr(db: &Db, address: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT records FROM ptr_records WHERE address = ?")
        .bind(address)
        .fetch_optional(db)
        .await
}

pub async fn set_ptr(db: &Db, address: &str, records: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
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
    sqlx::query_as(
        "SELECT address, server_id, kind, description, created_at, expires_at FROM ip_blocks \
         WHERE address = ? AND (expires_at IS NULL OR expires_at > ?)",
    )
    .bind(address)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Blocks in force on a server's addresses.
pub async fn active_blocks(db: &Db, server_id: i64, now: i64) -> Result<Vec<Block>, sqlx::Error> {
    sqlx::query_as(
        "SELECT address, server_id, kind, description, created_at, expires_at FROM ip_blocks \
         WHERE server_id = ? AND (expires_at IS NULL OR expires_at > ?)",
    )
    .bind(server_id)
    .bind(now)
    .fetch_all(db)
    .await
}

/// Blocks an address (replacing an expired block).
pub async fn block(conn: &mut SqliteConnection, b: &Block) -> Result<(), sqlx::Error> {
    sqlx::query(
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
    sqlx::query("DELETE FROM ip_blocks WHERE address = ?")
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
    sqlx::query("UPDATE interfaces SET status = ?, blocked_by = ?, block_reason = ? WHERE id = ?")
        .bind(if on { "enable" } else { "disable" })
        .bind(blocked_by)
        .bind(reason)
        .bind(interface_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Who blocked a port, and why.
pub async fn port_block(
    db: &Db,
    interface_id: i64,
) -> Result<(Option<String>, String), sqlx::Error> {
    sqlx::query_as("SELECT blocked_by, block_reason FROM interfaces WHERE id = ?")
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
    sqlx::query_as(&format!(
        "SELECT {NAT_COLS} FROM nat_rules WHERE server_id = ? AND expires_at > ? ORDER BY id DESC LIMIT 1"
    ))
    .bind(server_id)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Public addresses of the NAT pools in use now.
pub async fn nat_in_use(
    conn: &mut SqliteConnection,
    now: i64,
) -> Result<HashSet<String>, sqlx::Error> {
    let v: Vec<String> = sqlx::query_scalar("SELECT public_ip FROM nat_rules WHERE expires_at > ?")
        .bind(now)
        .fetch_all(conn)
        .await?;
    Ok(v.into_iter().collect())
}

pub async fn add_nat(conn: &mut SqliteConnection, r: &NatRule) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
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
    sqlx::query("UPDATE nat_rules SET expires_at = ? WHERE id = ?")
        .bind(expires_at)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
