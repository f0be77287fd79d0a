//! `eq.php`: servers. Dispatch on `action`; the actions live in topic files
//! (PIN codes, inventory, power control).

mod inventory;
mod order;
mod pin;
mod power;
mod pxe;
mod remote;

use super::dispatch::{actions, Module};

/// `eq.php`, declared once (001 "Servers" and the sections after it).
pub static MODULE: Module = Module {
    name: "eq",
    actions: actions![
        session "set_pin" => pin::set_pin,
        session "check_pin" => pin::check_pin,
        session_pure "list" => inventory::list,
        session_pure "show" => inventory::show,
        session "update_servers" => inventory::update_servers,
        session "status" => power::power,
        session "sensors" => power::power,
        session "on" => power::power,
        session "off" => power::power,
        session "hard_off" => power::power,
        session "reboot" => power::power,
        session "rename_server" => inventory::rename_server,
        session "order_instance" => order::order_instance,
        session "deploy" => order::deploy,
        session "reinstall" => pxe::reinstall,
        session "create_pxe" => pxe::create_pxe,
        session "boot_dev" => pxe::boot_dev,
        session "clear_pxe" => pxe::clear_pxe,
        session "add_ipmi_user" => remote::add_ipmi_user,
        session "remove_ipmi_user" => remote::remove_ipmi_user,
        session "unit_reset" => remote::unit_reset,
        session "console" => remote::console,
        session "novnc" => remote::novnc,
        session "recreate_novnc" => remote::novnc,
        session "stop_novnc" => remote::novnc,
        session_pure "unified_server_search" => inventory::unified_server_search,
        session "suspend" => crate::invapi::whmcs::suspend,
        session "unsuspend" => crate::invapi::whmcs::unsuspend,
    ],
};
