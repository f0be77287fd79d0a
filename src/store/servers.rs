//! Servers, their interfaces and addresses, subnets and locations.

use sqlx::FromRow;

use super::{sql, Db};

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

impl crate::readcache::Weigh for Server {
    /// What a remembered server row holds: the row and its texts (the hardware JSON most).
    fn weight(&self) -> usize {
        let texts = [
            &self.location,
            &self.kind,
            &self.r#type,
            &self.status,
            &self.power,
            &self.control,
            &self.ipmi_model,
            &self.preset,
            &self.preset_description,
            &self.hwconfig,
            &self.hardware,
            &self.groups,
            &self.licenses,
            &self.billing_cycle,
        ];
        std::mem::size_of::<Self>()
            + texts.iter().map(|t| t.len()).sum::<usize>()
            + self.os.as_ref().map_or(0, String::len)
    }
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

pub use crate::domain::rules::pool_tag;

pub(super) const COLS: &str = "id, account_id, location, kind, type, status, power, control, ipmi_model, preset, \
    preset_description, hwconfig, hardware, groups, licenses, os, reg_date, due_date, billing_cycle, \
    recurring_cents, limit_traffic, limit_traffic_in, cost_traffic, limit_bands, is_shape, traffic_in_gb, traffic_out_gb";

/// A server by id, from the pool or inside the caller's transaction.
pub async fn get<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Server>, sqlx::Error> {
    sql::query_as(&format!("SELECT {COLS} FROM servers WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Ids of the servers rented by an account.
pub async fn ids_for_account(db: &Db, account_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sql::query_scalar("SELECT id FROM servers WHERE account_id = ? ORDER BY id")
        .bind(account_id)
        .fetch_all(db)
        .await
}

/// A new order's server, paid for: from `pending` to `rent` (a server in any other state
/// is left alone).
pub async fn activate_paid<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE servers SET status = 'rent' WHERE id = ? AND status = 'pending'")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn set_power<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    power: &str,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE servers SET power = ? WHERE id = ?")
        .bind(power)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// The main address of a server ('' when it has none).
pub async fn main_ip<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    server_id: i64,
) -> Result<String, sqlx::Error> {
    let ip: Option<String> = sql::query_scalar(
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
    sql::query_as(
        "SELECT id, server_id, type, mac, is_main, is_virt, status, switch_owner, switch_model, switch_port, speed, \
         blocked_by FROM interfaces WHERE server_id = ? ORDER BY type = 'ipmi', is_main DESC, type",
    )
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// One interface by id, read inside the caller's transaction.
pub async fn interface_in<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
) -> Result<Option<Interface>, sqlx::Error> {
    sql::query_as(
        "SELECT id, server_id, type, mac, is_main, is_virt, status, switch_owner, switch_model, switch_port, speed, \
         blocked_by FROM interfaces WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
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
    sql::query_as(
        "SELECT i.id, i.address, i.server_id, i.port, i.main_ip, i.status, i.locked, i.date_block, i.license_id, \
         i.license_name, i.white_ddos, i.description, i.updated_at, s.vlan, i.subnet_id \
         FROM ips i JOIN subnets s ON s.id = i.subnet_id WHERE i.server_id = ? ORDER BY i.main_ip DESC, i.id",
    )
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// A MAC address as the MAC filters compare it: its hex digits, lowercase.
pub(super) fn mac_key(mac: &str) -> String {
    mac.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase()
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
    sql::query_as("SELECT code, id, name, dc_name, country FROM locations WHERE code = ?")
        .bind(code)
        .fetch_optional(db)
        .await
}

/// Every location, by id.
pub async fn locations(db: &Db) -> Result<Vec<Location>, sqlx::Error> {
    sql::query_as("SELECT code, id, name, dc_name, country FROM locations ORDER BY id")
        .fetch_all(db)
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
    sql::query_as(
        "SELECT id, location, network, cidr, gateway, vlan, kind, tag FROM subnets ORDER BY id",
    )
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, OTHER};

    #[tokio::test]
    async fn activate_paid_moves_only_a_pending_server_to_rent() {
        let db = demo().await;
        sql::query("UPDATE servers SET status = 'pending' WHERE id = 40101")
            .execute(&db)
            .await
            .expect("pending");
        activate_paid(&db, 40101).await.expect("activate");
        activate_paid(&db, 40106).await.expect("suspended stays");
        let status = |id| {
            let db = db.clone();
            async move { get(&db, id).await.expect("get").expect("server").status }
        };
        assert_eq!(status(40101).await, "rent");
        assert_eq!(status(40106).await, "power_off");
    }

    #[tokio::test]
    async fn servers_are_read_by_id_and_listed_per_account() {
        let db = demo().await;
        let vm = get(&db, 40101).await.expect("get").expect("40101");
        assert_eq!(
            (vm.account_id, vm.location.as_str(), vm.control.as_str()),
            (Some(DEMO), "NL", "ovirt")
        );
        assert!(vm.is_vm());
        assert_eq!(vm.pool_tag(), "ovirt");
        let mut conn = db.acquire().await.expect("conn");
        let bm = get(&mut *conn, 40102).await.expect("get").expect("40102");
        drop(conn);
        assert!(!bm.is_vm());
        assert_eq!(bm.pool_tag(), "bm");
        assert!(get(&db, 1).await.expect("get").is_none());
        assert_eq!(
            ids_for_account(&db, DEMO).await.expect("ids"),
            vec![40101, 40102, 40103, 40104, 40105, 40106]
        );
        assert_eq!(
            ids_for_account(&db, OTHER).await.expect("ids"),
            vec![40107, 40108]
        );
        assert!(ids_for_account(&db, 1).await.expect("ids").is_empty());
    }

    #[tokio::test]
    async fn power_is_set_on_one_server() {
        let db = demo().await;
        assert_eq!(get(&db, 40101).await.expect("get").expect("s").power, "on");
        set_power(&db, 40101, "off").await.expect("off");
        assert_eq!(get(&db, 40101).await.expect("get").expect("s").power, "off");
        assert_eq!(get(&db, 40102).await.expect("get").expect("s").power, "on");
        assert!(
            set_power(&db, 40101, "sideways").await.is_err(),
            "the schema allows on and off only"
        );
    }

    #[tokio::test]
    async fn the_main_address_is_never_the_ipmi_one() {
        let db = demo().await;
        assert_eq!(main_ip(&db, 40101).await.expect("main"), "31.207.45.23");
        assert_eq!(main_ip(&db, 40102).await.expect("main"), "5.39.218.37");
        assert_eq!(main_ip(&db, 1).await.expect("main"), "");
        // With no main flag left, the oldest non-IPMI address stands in.
        sql::query("UPDATE ips SET main_ip = 0 WHERE server_id = 40102")
            .execute(&db)
            .await
            .expect("clear");
        assert_eq!(main_ip(&db, 40102).await.expect("main"), "5.39.218.37");
        sql::query("DELETE FROM ips WHERE server_id = 40102 AND port <> 'ipmi'")
            .execute(&db)
            .await
            .expect("drop");
        assert_eq!(
            main_ip(&db, 40102).await.expect("main"),
            "",
            "only the IPMI address is left"
        );
    }

    #[tokio::test]
    async fn interfaces_and_addresses_come_main_first_with_ipmi_last() {
        let db = demo().await;
        let ifaces = interfaces(&db, 40102).await.expect("ifaces");
        let types: Vec<&str> = ifaces.iter().map(|i| i.r#type.as_str()).collect();
        assert_eq!(types, vec!["eth0", "eth1", "ipmi"]);
        assert_eq!(ifaces[0].mac, "ac:1f:6b:4e:92:3a");
        assert!(interfaces(&db, 1).await.expect("ifaces").is_empty());
        let ips = ips(&db, 40102).await.expect("ips");
        let rows: Vec<(&str, i64, i64, &str)> = ips
            .iter()
            .map(|i| (i.address.as_str(), i.main_ip, i.vlan, i.port.as_str()))
            .collect();
        assert_eq!(rows[0], ("5.39.218.37", 1, 604, "eth0"));
        assert_eq!(rows.len(), 3);
        assert!(rows.contains(&("10.14.32.117", 0, 910, "ipmi")));
        assert!(rows.contains(&("5.39.218.38", 0, 604, "eth0")));
        assert!(ips.iter().all(|i| i.server_id == Some(40102)));
    }

    #[tokio::test]
    async fn one_interface_is_read_by_its_id() {
        let db = demo().await;
        let listed = interfaces(&db, 40102).await.expect("ifaces");
        let mut conn = db.acquire().await.expect("conn");
        for want in &listed {
            let got = interface_in(&mut *conn, want.id)
                .await
                .expect("get")
                .expect("exists");
            assert_eq!(
                (
                    got.server_id,
                    got.r#type.as_str(),
                    got.mac.as_str(),
                    got.blocked_by.as_deref()
                ),
                (
                    40102,
                    want.r#type.as_str(),
                    want.mac.as_str(),
                    want.blocked_by.as_deref()
                )
            );
        }
        assert!(
            listed.iter().any(|i| i.blocked_by.is_some()),
            "eth1 is blocked"
        );
        assert!(interface_in(&mut *conn, 999_999)
            .await
            .expect("get")
            .is_none());
    }

    #[tokio::test]
    async fn locations_and_subnets_are_read_as_loaded() {
        let db = demo().await;
        let nl = location(&db, "NL").await.expect("loc").expect("NL");
        assert_eq!(nl.code, "NL");
        assert!(location(&db, "XX").await.expect("loc").is_none());
        let all = subnets(&db).await.expect("subnets");
        assert_eq!(all.len(), 28);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        let pick = |id: i64| all.iter().find(|s| s.id == id).expect("subnet");
        let s = pick(517);
        assert_eq!(
            (s.network.as_str(), s.cidr, s.gateway.as_str(), s.vlan),
            ("31.207.45.0", 25, "31.207.45.1", 412)
        );
        assert_eq!((s.kind.as_str(), s.tag.as_str()), ("public", "ovirt"));
        assert_eq!(pick(519).tag, "ipmi", "IPMI pools are tagged by their kind");
        assert_eq!(pick(540).tag, "nat");
    }
}
