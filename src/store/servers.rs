//! Servers, their interfaces and addresses, subnets and locations.

use sqlx::FromRow;

use super::Db;

/// A server row.
#[derive(Debug, Clone, FromRow)]
pub struct Server {
    pub id: i64,
    pub account_id: Option<i64>,
    pub location: String,
    pub kind: String,
    pub r#type: String,
    pub status: String,
    pub power: String,
    pub control: String,
    pub ipmi_model: String,
    pub preset: String,
    pub preset_description: String,
    pub hwconfig: String,
    pub hardware: String,
    pub groups: String,
    pub licenses: String,
    pub os: Option<String>,
    pub reg_date: i64,
    pub due_date: i64,
    pub billing_cycle: String,
    pub recurring_cents: i64,
    pub limit_traffic: i64,
    pub limit_traffic_in: i64,
    pub cost_traffic: i64,
    pub limit_bands: i64,
    pub is_shape: i64,
    pub traffic_in_gb: f64,
    pub traffic_out_gb: f64,
}

impl Server {
    pub fn is_vm(&self) -> bool {
        self.kind == "vm"
    }

    /// The subnet tag of the public pools this server takes addresses from.
    pub fn pool_tag(&self) -> &'static str {
        pool_tag(self.is_vm())
    }
}

/// The subnet tag of public pools for VMs (`ovirt`) or bare metal (`bm`).
pub fn pool_tag(vm: bool) -> &'static str {
    if vm {
        "ovirt"
    } else {
        "bm"
    }
}

const COLS: &str = "id, account_id, location, kind, type, status, power, control, ipmi_model, preset, \
    preset_description, hwconfig, hardware, groups, licenses, os, reg_date, due_date, billing_cycle, \
    recurring_cents, limit_traffic, limit_traffic_in, cost_traffic, limit_bands, is_shape, traffic_in_gb, traffic_out_gb";

pub async fn get(db: &Db, id: i64) -> Result<Option<Server>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM servers WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The server, read inside a transaction.
pub async fn get_in<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Server>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM servers WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// All servers rented by an account, by id.
pub async fn for_account(db: &Db, account_id: i64) -> Result<Vec<Server>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM servers WHERE account_id = ? ORDER BY id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// Ids of the servers rented by an account.
pub async fn ids_for_account(db: &Db, account_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM servers WHERE account_id = ? ORDER BY id")
        .bind(account_id)
        .fetch_all(db)
        .await
}

pub async fn set_power<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    power: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE servers SET power = ? WHERE id = ?")
        .bind(power)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// The main address of a server ('' when it has none).
pub async fn main_ip(db: &Db, server_id: i64) -> Result<String, sqlx::Error> {
    let ip: Option<String> = sqlx::query_scalar(
        "SELECT address FROM ips WHERE server_id = ? AND port <> 'ipmi' ORDER BY main_ip DESC, id LIMIT 1",
    )
    .bind(server_id)
    .fetch_optional(db)
    .await?;
    Ok(ip.unwrap_or_default())
}

/// A network interface.
#[derive(Debug, Clone, FromRow)]
pub struct Interface {
    pub id: i64,
    pub server_id: i64,
    pub r#type: String,
    pub mac: String,
    pub is_main: i64,
    pub is_virt: i64,
    pub status: String,
    pub switch_owner: String,
    pub switch_model: String,
    pub switch_port: String,
    pub speed: i64,
    pub blocked_by: Option<String>,
}

pub async fn interfaces(db: &Db, server_id: i64) -> Result<Vec<Interface>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, server_id, type, mac, is_main, is_virt, status, switch_owner, switch_model, switch_port, speed, \
         blocked_by FROM interfaces WHERE server_id = ? ORDER BY type = 'ipmi', is_main DESC, type",
    )
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// An address with its subnet.
#[derive(Debug, Clone, FromRow)]
pub struct IpRow {
    pub id: i64,
    pub address: String,
    pub server_id: Option<i64>,
    pub port: String,
    pub main_ip: i64,
    pub status: String,
    pub locked: i64,
    pub date_block: Option<i64>,
    pub license_id: Option<i64>,
    pub license_name: Option<String>,
    pub white_ddos: i64,
    pub description: String,
    pub updated_at: i64,
    pub vlan: i64,
    pub subnet_id: i64,
}

pub async fn ips<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<Vec<IpRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id, i.address, i.server_id, i.port, i.main_ip, i.status, i.locked, i.date_block, i.license_id, \
         i.license_name, i.white_ddos, i.description, i.updated_at, s.vlan, i.subnet_id \
         FROM ips i JOIN subnets s ON s.id = i.subnet_id WHERE i.server_id = ? ORDER BY i.main_ip DESC, i.id",
    )
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// Server ids (of an account) holding this address.
pub async fn ids_by_ip(db: &Db, account_id: i64, ip: &str) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT s.id FROM servers s JOIN ips i ON i.server_id = s.id WHERE s.account_id = ? AND i.address = ?",
    )
    .bind(account_id)
    .bind(ip.trim())
    .fetch_all(db)
    .await
}

/// Server ids (of an account) with an interface of this MAC (case-insensitive, `:`/`-`/`.` separators).
pub async fn ids_by_mac(db: &Db, account_id: i64, mac: &str) -> Result<Vec<i64>, sqlx::Error> {
    let norm: String = mac
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase();
    sqlx::query_scalar(
        "SELECT DISTINCT s.id FROM servers s JOIN interfaces f ON f.server_id = s.id \
         WHERE s.account_id = ? AND lower(replace(replace(replace(f.mac, ':', ''), '-', ''), '.', '')) = ?",
    )
    .bind(account_id)
    .bind(norm)
    .fetch_all(db)
    .await
}

/// A data-centre location.
#[derive(Debug, Clone, FromRow)]
pub struct Location {
    pub code: String,
    pub id: i64,
    pub name: String,
    pub dc_name: String,
    pub country: String,
}

pub async fn location(db: &Db, code: &str) -> Result<Option<Location>, sqlx::Error> {
    sqlx::query_as("SELECT code, id, name, dc_name, country FROM locations WHERE code = ?")
        .bind(code)
        .fetch_optional(db)
        .await
}

/// A subnet.
#[derive(Debug, Clone, FromRow)]
pub struct Subnet {
    pub id: i64,
    pub location: String,
    pub network: String,
    pub cidr: i64,
    pub gateway: String,
    pub vlan: i64,
    pub kind: String,
    /// ovirt, bm, ipmi, nat ('' = any server)
    pub tag: String,
}

pub async fn subnets(db: &Db) -> Result<Vec<Subnet>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, location, network, cidr, gateway, vlan, kind, tag FROM subnets ORDER BY id",
    )
    .fetch_all(db)
    .await
}
