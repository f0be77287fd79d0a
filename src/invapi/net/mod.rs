//! `net.php`: get_status, port_off, port_on, block_ip, unblock_ip (001 "Network
//! operations"), add_ipv4, remove_ipv4, show_ipv4_free (000), show_cacti (001: a PNG).
//! The actions live in topic files (ports, address blocks, IPv4, traffic graphs); each
//! parses its own arguments and calls the operation in `ops` (ports, blocks, addresses).

mod blocks;
mod cacti;
mod ipv4;
mod ports;

use std::net::Ipv4Addr;

use super::args::{shorten, Args};
use super::dispatch::{actions, Module};
use crate::error::{Error, Result};
use crate::http::php_form::Params;
use crate::ops::addresses::{check_fresh_period, PoolChoice};
use crate::ops::ports::PortRef;
use crate::store::servers::Server;

/// `net.php`, declared once (001 "Network operations", 000 for the IPv4 actions).
pub static MODULE: Module = Module {
    name: "net",
    actions: actions![
        session "get_status" => ports::get_status,
        session "port_off" => ports::port_off,
        session "port_on" => ports::port_on,
        session "block_ip" => blocks::block_ip,
        session "unblock_ip" => blocks::unblock_ip,
        session "add_ipv4" => ipv4::add_ipv4,
        session "remove_ipv4" => ipv4::remove_ipv4,
        session "show_ipv4_free" => ipv4::show_ipv4_free,
        session_raw "show_cacti" => cacti::show_cacti,
    ],
};

/// The port named by `port` (eth0, eth1...) or `port_id`; neither means the main one.
fn port_ref(params: &Params) -> Result<PortRef> {
    let id = params.opt_int("port_id")?;
    let name = params.get("port").map(|p| p.trim().to_owned());
    Ok(PortRef { name, id })
}

/// A required address argument (`ip`).
fn address(params: &Params, name: &str) -> Result<Ipv4Addr> {
    let ip = params.req_str(name)?;
    ip.parse()
        .map_err(|_| Error::invalid(format!("invalid ip '{}'", shorten(&ip))))
}

/// `fresh_period`: seconds a released address stays out of reach (0 when not given).
fn fresh_period(params: &Params) -> Result<i64> {
    check_fresh_period(params.opt_int("fresh_period")?.unwrap_or(0))
}

/// The pools a request asks for: `tag`, `allow_tech_networks`, `vlan`.
fn pool_choice(params: &Params, server: &Server) -> Result<PoolChoice> {
    let mut choice = PoolChoice {
        tech_networks: params.opt_bool("allow_tech_networks")? == Some(true),
        tag: params.get("tag").map(str::to_owned),
        vlan: None,
    };
    // The pools' tag is judged before `vlan` is read, as the API does.
    crate::ops::addresses::pool_tag(&choice, server)?;
    choice.vlan = params.opt_int("vlan")?;
    Ok(choice)
}
