//! The scenario loader: fills an empty database with a scenario (`domain::scenario`), at
//! first start and at `/_emu/reset`. Secrets are stored only as hashes and digests.

use ipnet::Ipv4Net;

use crate::domain::scenario::{midnight, parse_cents};
use crate::domain::scenario::{IpSpec, Scenario, TagSpec};
use crate::error::{Error, Result};
use crate::secrets::{self, Hasher};
use crate::store::{self, api_keys::KeyFields, sql, Db};

/// Fills an empty database with this scenario, in one transaction.
pub async fn load(sc: &Scenario, db: &Db, hasher: &Hasher, now: i64) -> Result<()> {
    // Hash first (slow, off the async threads), then write everything at once.
    let mut hashed = Vec::new();
    for a in &sc.accounts {
        let pw = hasher.hash(&a.password).await?;
        let pin = match &a.pin {
            Some(p) => Some(hasher.hash(p).await?),
            None => None,
        };
        hashed.push((pw, pin));
    }
    let mut tx = store::begin_write(db).await?;
    store::meta_set(&mut *tx, "scenario", &sc.name).await?;
    for l in &sc.locations {
        sql::query(
            "INSERT INTO locations (code, id, name, dc_name, country) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&l.code)
        .bind(l.id)
        .bind(&l.name)
        .bind(&l.dc_name)
        .bind(&l.country)
        .execute(&mut *tx)
        .await?;
    }
    for s in &sc.subnets {
        let net: Ipv4Net = s
            .network
            .parse()
            .map_err(|_| Error::internal("bad subnet"))?;
        sql::query("INSERT INTO subnets (id, location, network, cidr, gateway, vlan, kind, tag) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(s.id)
            .bind(&s.location)
            .bind(net.network().to_string())
            .bind(i64::from(net.prefix_len()))
            .bind(&s.gateway)
            .bind(s.vlan)
            .bind(&s.kind)
            .bind(s.stored_tag())
            .execute(&mut *tx)
            .await?;
    }
    for (a, (pw, pin)) in sc.accounts.iter().zip(hashed) {
        sql::query(
            "INSERT INTO accounts (id, handle, whmcs_id, email, password_hash, firstname, lastname, companyname, \
             address1, address2, city, state, postcode, country, phonenumber, currency_code, credit_cents, \
             corporate, verified, pin_hash, created_at, billing_profile) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.id)
        .bind(&a.handle)
        .bind(a.whmcs_id)
        .bind(&a.email)
        .bind(pw)
        .bind(&a.firstname)
        .bind(&a.lastname)
        .bind(&a.companyname)
        .bind(&a.address1)
        .bind(&a.address2)
        .bind(&a.city)
        .bind(&a.state)
        .bind(&a.postcode)
        .bind(&a.country)
        .bind(&a.phonenumber)
        .bind(&a.currency_code)
        .bind(parse_cents(&a.credit))
        .bind(a.corporate)
        .bind(a.verified)
        .bind(pin)
        .bind(now - sc.account_age_days(a) * 86400)
        .bind(a.billing.as_ref().map(|b| b.to_string()).unwrap_or_else(|| "{}".into()))
        .execute(&mut *tx)
        .await?;
        for t in &a.tags {
            insert_tag(&mut tx, "customers", a.id, t, now).await?;
        }
    }
    for s in &sc.servers {
        let account_id = s
            .account
            .as_ref()
            .and_then(|h| sc.accounts.iter().find(|a| &a.handle == h))
            .map(|a| a.id);
        let locations = sc
            .locations
            .iter()
            .map(|l| l.code.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let vm = s.kind == "vm";
        sql::query(
            "INSERT INTO servers (id, account_id, location, kind, type, status, power, control, ipmi_model, preset, \
             preset_description, hwconfig, hardware, groups, licenses, os, reg_date, due_date, billing_cycle, \
             recurring_cents, limit_traffic, cost_traffic, limit_bands, traffic_in_gb, traffic_out_gb, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id)
        .bind(account_id)
        .bind(&s.location)
        .bind(&s.kind)
        .bind(&s.server_type)
        .bind(&s.status)
        .bind(&s.power)
        .bind(&s.control)
        .bind(&s.ipmi_model)
        .bind(&s.preset)
        .bind(&s.preset_description)
        .bind(s.hardware.config(vm))
        .bind(s.hardware.render(vm, &locations).to_string())
        .bind(serde_json::to_string(&s.groups)?)
        .bind(serde_json::to_string(&s.licenses)?)
        .bind(s.os.as_ref().map(|o| o.to_string()))
        .bind(midnight(now) - s.registered_days_ago * 86400)
        .bind(s.due_date(now))
        .bind(&s.billing_cycle)
        .bind(parse_cents(&s.recurring))
        .bind(s.limit_traffic)
        .bind(s.cost_traffic)
        .bind(s.limit_bands)
        .bind(s.traffic_in_gb)
        .bind(s.traffic_out_gb)
        .bind(now - s.registered_days_ago * 86400)
        .execute(&mut *tx)
        .await?;
        for i in &s.interfaces {
            sql::query(
                "INSERT INTO interfaces (id, server_id, type, mac, is_main, is_virt, switch_owner, switch_model, \
                 switch_port, speed, status, blocked_by, block_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(i.id)
            .bind(s.id)
            .bind(&i.iface_type)
            .bind(&i.mac)
            .bind(i64::from(i.main))
            .bind(i64::from(i.virt))
            .bind(&i.switch_owner)
            .bind(&i.switch_model)
            .bind(&i.switch_port)
            .bind(i.speed)
            .bind(if i.admin_block.is_some() { "disable" } else { "enable" })
            .bind(i.admin_block.as_ref().map(|_| "admin"))
            .bind(i.admin_block.clone().unwrap_or_default())
            .execute(&mut *tx)
            .await?;
            for ip in &i.ips {
                insert_ip(&mut tx, sc, s.id, &i.iface_type, ip, now).await?;
            }
        }
        if let Some(ipmi) = &s.ipmi {
            sql::query("INSERT INTO interfaces (id, server_id, type, mac, switch_model) VALUES (?, ?, 'ipmi', ?, 'ipmi')")
                .bind(ipmi.id)
                .bind(s.id)
                .bind(&ipmi.mac)
                .execute(&mut *tx)
                .await?;
            let spec = IpSpec {
                address: ipmi.ip.clone(),
                main: false,
                description: String::new(),
                license_id: None,
                license_name: None,
                admin_block: None,
            };
            insert_ip(&mut tx, sc, s.id, "ipmi", &spec, now).await?;
        }
        for t in &s.tags {
            insert_tag(&mut tx, "eq", s.id, t, now).await?;
        }
    }
    for a in &sc.accounts {
        for k in &a.api_keys {
            let fields = KeyFields {
                name: k.name.clone(),
                server_id: k.server_id,
                ip: k.ip.clone(),
                login_notify_method: k.login_notify_method.clone(),
                login_notify_address: k.login_notify_address.clone(),
                active: k.active,
            };
            let view: String = k.key.chars().take(4).collect();
            let created = now - 30 * 86400;
            store::api_keys::insert(
                &mut *tx,
                Some(k.id),
                a.id,
                &fields,
                &secrets::digest(&k.key),
                &view,
                created,
            )
            .await?;
            let json = serde_json::json!({"name": k.name, "ip": k.ip, "login_notify_method": k.login_notify_method,
                "active": k.active.to_string(), "server_id": k.server_id.to_string()});
            store::api_keys::add_history(
                &mut *tx,
                k.id,
                a.id,
                created,
                &format!("Created new api_key {}. json:{json}", k.id),
                "action",
                &a.email,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_tag(
    tx: &mut sqlx::SqliteConnection,
    component: &str,
    id: i64,
    t: &TagSpec,
    now: i64,
) -> Result<()> {
    let extra = match t.extra_days_ago {
        Some(days) => (now - days * 86400).to_string(),
        None => t.extra.clone(),
    };
    sql::query("INSERT INTO tags (id, component, component_id, tag, value, extra, internal) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(t.id)
        .bind(component)
        .bind(id)
        .bind(&t.tag)
        .bind(&t.value)
        .bind(&extra)
        .bind(t.internal)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn insert_ip(
    tx: &mut sqlx::SqliteConnection,
    sc: &Scenario,
    server_id: i64,
    port: &str,
    ip: &IpSpec,
    now: i64,
) -> Result<()> {
    let subnet = sc
        .subnet_of(&ip.address)
        .ok_or_else(|| Error::internal(format!("{} is in no subnet", ip.address)))?;
    sql::query(
        "INSERT INTO ips (address, subnet_id, server_id, port, main_ip, description, license_id, license_name, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&ip.address)
    .bind(subnet.id)
    .bind(server_id)
    .bind(port)
    .bind(i64::from(ip.main))
    .bind(&ip.description)
    .bind(ip.license_id)
    .bind(&ip.license_name)
    .bind(now - 86400 * 13)
    .execute(&mut *tx)
    .await?;
    if let Some(reason) = &ip.admin_block {
        sql::query(
            "INSERT INTO ip_blocks (address, server_id, kind, description, created_at) VALUES (?, ?, 'admin', ?, ?)",
        )
        .bind(&ip.address)
        .bind(server_id)
        .bind(reason)
        .bind(now - 86400 * 3)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

    #[tokio::test]
    async fn the_demo_scenario_loads() {
        let db = store::open(":memory:").await.expect("db");
        let s = Scenario::resolve("demo").expect("demo");
        load(&s, &db, &Hasher::new(64), 1_700_000_000)
            .await
            .expect("loads");
        assert!(!store::is_empty(&db).await.expect("count"));
    }
}
