//! The reads behind the inventory answers (eq/list, eq/show, eq/update_servers, ip/get_ip):
//! each takes one statement per table family, whatever the number of servers, addresses or
//! deployments, and reads the columns its answer shows (issue 8: no N+1). Lists of values go
//! in as one JSON array bound to one parameter (`IN (SELECT value FROM json_each(?))`), so
//! the SQL text stays the same for any number of them.

use sqlx::FromRow;

use super::servers::{mac_key, Server, COLS as SERVER_COLS};
use super::{qualified, sql, Db};

/// What eq/list reads of a server.
#[derive(Debug, Clone, FromRow)]
pub struct Listed {
    pub id: i64,
    pub location: String,
    pub status: String,
    pub r#type: String,
    /// JSON array of group codes.
    pub groups: String,
    /// The hardware JSON, read only for the component filter.
    pub hardware: Option<String>,
    /// `full` only: the `hostname` tag.
    pub hostname: Option<String>,
    /// `full` only: the main address (see [`super::servers::main_ip`]), if any.
    pub main_ip: Option<String>,
}

/// Which of an account's servers eq/list reads, and what of them.
#[derive(Debug, Clone, Default)]
pub struct ListQuery<'a> {
    pub account_id: i64,
    /// Only this server (the session's per-server scope).
    pub scope: Option<i64>,
    /// Only this server (the `id` filter).
    pub id: Option<i64>,
    /// Only servers in one of these locations: a code (any case) or a location id.
    pub locations: Option<(&'a [String], &'a [i64])>,
    /// Only servers holding this address (any port, IPMI too).
    pub ip: Option<&'a str>,
    /// Only servers with an interface of this MAC (any case and separators).
    pub mac: Option<&'a str>,
    pub with_hardware: bool,
    /// Read the hostname and main address too (`full=1`).
    pub full: bool,
}

/// The account's servers that match the query, by id.
pub async fn list(db: &Db, q: &ListQuery<'_>) -> Result<Vec<Listed>, sqlx::Error> {
    let codes = q
        .locations
        .map(|(codes, _)| serde_json::json!(codes).to_string());
    let ids = q
        .locations
        .map(|(_, ids)| serde_json::json!(ids).to_string());
    sql::query_as(
        "SELECT s.id, s.location, s.status, s.type, s.groups, \
         CASE WHEN ?1 THEN s.hardware END AS hardware, \
         CASE WHEN ?2 THEN (SELECT t.value FROM tags t \
             WHERE t.component = 'eq' AND t.component_id = s.id AND t.tag = 'hostname') END AS hostname, \
         CASE WHEN ?2 THEN (SELECT i.address FROM ips i WHERE i.server_id = s.id AND i.port <> 'ipmi' \
             ORDER BY i.main_ip DESC, i.id LIMIT 1) END AS main_ip \
         FROM servers s LEFT JOIN locations l ON l.code = s.location \
         WHERE s.account_id = ?3 AND (?4 IS NULL OR s.id = ?4) AND (?5 IS NULL OR s.id = ?5) \
         AND (?6 IS NULL OR lower(s.location) IN (SELECT lower(value) FROM json_each(?6)) \
             OR l.id IN (SELECT value FROM json_each(?7))) \
         AND (?8 IS NULL OR EXISTS (SELECT 1 FROM ips i WHERE i.server_id = s.id AND i.address = ?8)) \
         AND (?9 IS NULL OR EXISTS (SELECT 1 FROM interfaces f WHERE f.server_id = s.id \
             AND lower(replace(replace(replace(f.mac, ':', ''), '-', ''), '.', '')) = ?9)) \
         ORDER BY s.id",
    )
    .bind(q.with_hardware)
    .bind(q.full)
    .bind(q.account_id)
    .bind(q.scope)
    .bind(q.id)
    .bind(codes)
    .bind(ids)
    .bind(q.ip.map(str::trim))
    .bind(q.mac.map(mac_key))
    .fetch_all(db)
    .await
}

/// A server as eq/show reads it: the row, its location and the install running on it.
#[derive(Debug, Clone, FromRow)]
pub struct ShownServer {
    #[sqlx(flatten)]
    pub server: Server,
    pub location_id: Option<i64>,
    pub dc_name: Option<String>,
    /// The callback key of the install running now.
    pub reinstall: Option<String>,
}

/// A server with its location and running install, in one statement.
pub async fn server(db: &Db, id: i64) -> Result<Option<ShownServer>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {}, l.id AS location_id, l.dc_name, r.callback_key AS reinstall \
         FROM servers s LEFT JOIN locations l ON l.code = s.location \
         LEFT JOIN running_installs r ON r.server_id = s.id WHERE s.id = ?",
        qualified("s", SERVER_COLS)
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// An address as eq/show renders it, with the block in force on it.
#[derive(Debug, Clone, FromRow)]
pub struct ShownIp {
    pub address: String,
    pub port: String,
    pub main_ip: i64,
    pub status: String,
    pub license_id: Option<i64>,
    pub license_name: Option<String>,
    pub white_ddos: i64,
    pub description: String,
    pub updated_at: i64,
    pub vlan: i64,
    /// When the block in force was set (none: not blocked).
    pub blocked_at: Option<i64>,
    pub block_description: Option<String>,
}

/// A server's addresses (main first, then by id), each with the block on it in force now.
pub async fn ips(db: &Db, server_id: i64, now: i64) -> Result<Vec<ShownIp>, sqlx::Error> {
    sql::query_as(
        "SELECT i.address, i.port, i.main_ip, i.status, i.license_id, i.license_name, i.white_ddos, \
         i.description, i.updated_at, s.vlan, b.created_at AS blocked_at, b.description AS block_description \
         FROM ips i JOIN subnets s ON s.id = i.subnet_id \
         LEFT JOIN ip_blocks b ON b.address = i.address AND b.server_id = i.server_id \
             AND (b.expires_at IS NULL OR b.expires_at > ?) \
         WHERE i.server_id = ? ORDER BY i.main_ip DESC, i.id",
    )
    .bind(now)
    .bind(server_id)
    .fetch_all(db)
    .await
}

/// An unfinished deployment or reinstall of an account's server, as eq/update_servers
/// shows it: with the server's billing fields and the invoice's status.
#[derive(Debug, Clone, FromRow)]
pub struct RunningOrder {
    pub server_id: i64,
    pub invoice_id: Option<i64>,
    pub callback_key: String,
    pub os_id: Option<i64>,
    pub soft_id: Option<i64>,
    pub hostname: String,
    pub preset: String,
    pub location: String,
    pub reg_date: i64,
    pub due_date: i64,
    pub recurring_cents: i64,
    pub billing_cycle: String,
    /// None when the invoice is missing.
    pub invoice_status: Option<String>,
}

/// The account's unfinished deployments and reinstalls, oldest first (then by server id).
pub async fn running_orders(db: &Db, account_id: i64) -> Result<Vec<RunningOrder>, sqlx::Error> {
    sql::query_as(
        "SELECT d.server_id, d.invoice_id, d.callback_key, d.os_id, d.soft_id, d.hostname, \
         s.preset, s.location, s.reg_date, s.due_date, s.recurring_cents, s.billing_cycle, \
         i.status AS invoice_status \
         FROM deployments d JOIN servers s ON s.id = d.server_id \
         LEFT JOIN invoices i ON i.id = d.invoice_id \
         WHERE s.account_id = ? AND d.finished_at IS NULL ORDER BY d.created_at, d.server_id",
    )
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// The account's server holding an address (on any port), if any.
pub async fn holder_in_account(
    db: &Db,
    account_id: i64,
    address: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sql::query_scalar(
        "SELECT i.server_id FROM ips i JOIN servers s ON s.id = i.server_id \
         WHERE i.address = ? AND s.account_id = ?",
    )
    .bind(address)
    .bind(account_id)
    .fetch_optional(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{demo, DEMO, NOW, OTHER};
    use crate::store::{self, servers};

    /// The ids of listed servers.
    fn ids(v: &[Listed]) -> Vec<i64> {
        v.iter().map(|s| s.id).collect()
    }

    /// Every server of the account, nothing extra read.
    fn query(account_id: i64) -> ListQuery<'static> {
        ListQuery {
            account_id,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn list_reads_an_accounts_servers_by_id_and_only_what_is_asked() {
        let db = demo().await;
        let all = list(&db, &query(DEMO)).await.expect("list");
        assert_eq!(ids(&all), vec![40101, 40102, 40103, 40104, 40105, 40106]);
        let first = &all[0];
        assert_eq!(
            (
                first.location.as_str(),
                first.status.as_str(),
                first.r#type.as_str()
            ),
            ("NL", "rent", "VPS")
        );
        assert_eq!(first.groups, r#"["VPS","Instances"]"#);
        assert!(all
            .iter()
            .all(|s| s.hardware.is_none() && s.hostname.is_none() && s.main_ip.is_none()));
        let full = list(
            &db,
            &ListQuery {
                full: true,
                with_hardware: true,
                ..query(DEMO)
            },
        )
        .await
        .expect("list");
        for s in &full {
            let stored = servers::get(&db, s.id).await.expect("get").expect("server");
            assert_eq!(s.hardware.as_deref(), Some(stored.hardware.as_str()));
            assert_eq!(
                s.main_ip.clone().unwrap_or_default(),
                servers::main_ip(&db, s.id).await.expect("main")
            );
            let tag = store::tags::get(&db, "eq", s.id, "hostname")
                .await
                .expect("tag");
            assert_eq!(s.hostname, tag.map(|t| t.value));
        }
        assert_eq!(full[0].main_ip.as_deref(), Some("31.207.45.23"));
        assert_eq!(
            ids(&list(&db, &query(OTHER)).await.expect("list")),
            vec![40107, 40108]
        );
        assert!(list(&db, &query(1)).await.expect("list").is_empty());
    }

    /// The ids the query lists.
    async fn ids_of(db: &Db, q: ListQuery<'_>) -> Vec<i64> {
        ids(&list(db, &q).await.expect("list"))
    }

    #[tokio::test]
    async fn address_and_mac_filters_match_exactly_within_the_account() {
        let db = demo().await;
        let by_ip = |account, ip| ListQuery {
            ip: Some(ip),
            ..query(account)
        };
        let by_mac = |account, mac| ListQuery {
            mac: Some(mac),
            ..query(account)
        };
        assert_eq!(
            ids_of(&db, by_ip(DEMO, " 31.207.45.23 ")).await,
            vec![40101]
        );
        assert!(ids_of(&db, by_ip(OTHER, "31.207.45.23")).await.is_empty());
        assert!(
            ids_of(&db, by_ip(DEMO, "31.207.45.2")).await.is_empty(),
            "no prefix match"
        );
        for mac in [
            "ac:1f:6b:4e:92:3a",
            "AC-1F-6B-4E-92-3A",
            "ac1f.6b4e.923a",
            "AC1F6B4E923A",
        ] {
            assert_eq!(ids_of(&db, by_mac(DEMO, mac)).await, vec![40102], "{mac}");
        }
        assert_eq!(
            ids_of(&db, by_mac(DEMO, "ac:1f:6b:4e:91:f7")).await,
            vec![40102],
            "the IPMI port"
        );
        assert!(ids_of(&db, by_mac(OTHER, "ac:1f:6b:4e:92:3a"))
            .await
            .is_empty());
    }

    #[tokio::test]
    async fn list_filters_by_scope_id_location_address_and_mac() {
        let db = demo().await;
        let q = || query(DEMO);
        let scoped = ListQuery {
            scope: Some(40101),
            ..q()
        };
        assert_eq!(ids_of(&db, scoped.clone()).await, vec![40101]);
        assert!(ids_of(
            &db,
            ListQuery {
                id: Some(40102),
                ..scoped
            }
        )
        .await
        .is_empty());
        assert_eq!(
            ids_of(
                &db,
                ListQuery {
                    id: Some(40103),
                    ..q()
                }
            )
            .await,
            vec![40103]
        );
        assert!(ids_of(
            &db,
            ListQuery {
                id: Some(40107),
                ..q()
            }
        )
        .await
        .is_empty());
        let codes = ["nl".to_owned(), "De".to_owned()];
        assert_eq!(
            ids_of(
                &db,
                ListQuery {
                    locations: Some((&codes, &[])),
                    ..q()
                }
            )
            .await,
            vec![40101, 40102, 40105]
        );
        // Location 4 is FI: a number matches the location id (and, as any code, the name).
        let numeric = ["4".to_owned()];
        assert_eq!(
            ids_of(
                &db,
                ListQuery {
                    locations: Some((&numeric, &[4])),
                    ..q()
                }
            )
            .await,
            vec![40103]
        );
        assert!(ids_of(
            &db,
            ListQuery {
                locations: Some((&numeric, &[])),
                ..q()
            }
        )
        .await
        .is_empty());
        assert!(ids_of(
            &db,
            ListQuery {
                locations: Some((&[], &[])),
                ..q()
            }
        )
        .await
        .is_empty());
        assert_eq!(
            ids_of(
                &db,
                ListQuery {
                    ip: Some(" 10.14.32.117 "),
                    ..q()
                }
            )
            .await,
            vec![40102]
        );
        assert!(ids_of(
            &db,
            ListQuery {
                ip: Some("31.207.45.61"),
                ..q()
            }
        )
        .await
        .is_empty());
        assert_eq!(
            ids_of(
                &db,
                ListQuery {
                    mac: Some("AC1F.6B4E.923A"),
                    ..q()
                }
            )
            .await,
            vec![40102]
        );
        assert!(ids_of(
            &db,
            ListQuery {
                mac: Some("56:6f:c2:07:5a:e9"),
                ..q()
            }
        )
        .await
        .is_empty());
    }

    #[tokio::test]
    async fn a_shown_server_comes_with_its_location_and_running_install() {
        let db = demo().await;
        let s = server(&db, 40103).await.expect("get").expect("40103");
        assert_eq!(s.server.id, 40103);
        assert_eq!(
            (s.location_id, s.dc_name.as_deref()),
            (Some(4), Some("Helsinki, Kallio HEL-2"))
        );
        assert_eq!(s.reinstall, None);
        let mut conn = db.acquire().await.expect("conn");
        assert!(
            store::deploy::claim_install(&mut conn, 40103, "reinstall", "k1", NOW)
                .await
                .expect("claim")
        );
        drop(conn);
        let s = server(&db, 40103).await.expect("get").expect("40103");
        assert_eq!(s.reinstall.as_deref(), Some("k1"));
        assert!(server(&db, 1).await.expect("get").is_none());
    }

    #[tokio::test]
    async fn shown_addresses_carry_their_block_in_force() {
        let db = demo().await;
        let rows = ips(&db, 40101, NOW).await.expect("ips");
        let plain = servers::ips(&db, 40101).await.expect("ips");
        assert_eq!(
            rows.iter()
                .map(|r| (r.address.as_str(), r.vlan, r.main_ip))
                .collect::<Vec<_>>(),
            plain
                .iter()
                .map(|r| (r.address.as_str(), r.vlan, r.main_ip))
                .collect::<Vec<_>>()
        );
        let blocked: Vec<(&str, Option<&str>)> = rows
            .iter()
            .filter(|r| r.blocked_at.is_some())
            .map(|r| (r.address.as_str(), r.block_description.as_deref()))
            .collect();
        assert_eq!(
            blocked,
            vec![("31.207.45.24", Some("abuse #31877: outgoing spam"))]
        );
        let mut conn = db.acquire().await.expect("conn");
        let block = store::network::Block {
            address: "31.207.45.23".into(),
            server_id: 40101,
            kind: "customer".into(),
            description: String::new(),
            created_at: NOW,
            expires_at: Some(NOW + 60),
        };
        store::network::block(&mut conn, &block)
            .await
            .expect("block");
        drop(conn);
        let at = |now| {
            let db = db.clone();
            async move {
                ips(&db, 40101, now)
                    .await
                    .expect("ips")
                    .iter()
                    .filter(|r| r.blocked_at.is_some())
                    .count()
            }
        };
        assert_eq!(at(NOW).await, 2);
        assert_eq!(at(NOW + 60).await, 1, "an expired block is no block");
    }

    #[tokio::test]
    async fn running_orders_come_with_their_server_and_invoice() {
        let db = demo().await;
        assert!(running_orders(&db, DEMO).await.expect("orders").is_empty());
        let mut conn = db.acquire().await.expect("conn");
        let (invoice, _) = store::billing::create(&mut conn, DEMO, &[], NOW)
            .await
            .expect("invoice");
        for (server_id, invoice_id, created_at) in [
            (40104, Some(invoice), NOW),
            (40102, None, NOW),
            (40101, Some(999), NOW - 1),
        ] {
            let d = store::deploy::Deployment {
                server_id,
                kind: "reinstall".into(),
                invoice_id,
                callback_key: format!("k{server_id}"),
                os_id: Some(187),
                soft_id: None,
                hostname: format!("h{server_id}"),
                post_install_callback: None,
                deploy_notify: 0,
                manual: 0,
                period: "monthly".into(),
                created_at,
                finished_at: None,
            };
            store::deploy::start(&mut conn, &d).await.expect("start");
        }
        drop(conn);
        let got = running_orders(&db, DEMO).await.expect("orders");
        let rows: Vec<(i64, Option<i64>, Option<&str>)> = got
            .iter()
            .map(|o| (o.server_id, o.invoice_id, o.invoice_status.as_deref()))
            .collect();
        assert_eq!(
            rows,
            vec![
                (40101, Some(999), None),
                (40102, None, None),
                (40104, Some(invoice), Some("Paid"))
            ],
            "oldest first, then by server id; a missing invoice has no status"
        );
        let s = servers::get(&db, 40104)
            .await
            .expect("get")
            .expect("server");
        let o = &got[2];
        assert_eq!(
            (
                o.preset.as_str(),
                o.location.as_str(),
                o.reg_date,
                o.due_date
            ),
            (
                s.preset.as_str(),
                s.location.as_str(),
                s.reg_date,
                s.due_date
            )
        );
        assert_eq!(
            (o.recurring_cents, o.billing_cycle.as_str()),
            (s.recurring_cents, s.billing_cycle.as_str())
        );
        assert_eq!(
            (o.callback_key.as_str(), o.hostname.as_str(), o.os_id),
            ("k40104", "h40104", Some(187))
        );
        assert!(running_orders(&db, OTHER).await.expect("orders").is_empty());
    }

    #[tokio::test]
    async fn the_holder_of_an_address_is_found_within_the_account() {
        let db = demo().await;
        assert_eq!(
            holder_in_account(&db, DEMO, "5.39.218.38")
                .await
                .expect("get"),
            Some(40102)
        );
        assert_eq!(
            holder_in_account(&db, DEMO, "10.14.32.117")
                .await
                .expect("get"),
            Some(40102)
        );
        assert_eq!(
            holder_in_account(&db, DEMO, "31.207.45.61")
                .await
                .expect("get"),
            None
        );
        assert_eq!(
            holder_in_account(&db, OTHER, "31.207.45.61")
                .await
                .expect("get"),
            Some(40107)
        );
        assert_eq!(
            holder_in_account(&db, DEMO, "8.8.8.8").await.expect("get"),
            None
        );
    }
}
