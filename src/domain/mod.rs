//! Domain rules with no HTTP or SQL in them: hardware descriptions, address allow-lists,
//! hostnames, PIN format, the customer role's permissions, ordering rules and prices.

pub mod catalogue;
pub mod dns;
pub mod f2h;
pub mod hardware;
pub mod hestia;
pub mod hestia_keys;
pub mod invoice_pdf;
pub mod iso;
pub mod money;
pub mod ordering;
pub mod permissions;
pub mod pricing;
pub mod rules;
pub mod s3;
pub mod scenario;
pub mod ssh_key;
