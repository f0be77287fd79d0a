//! Domain rules with no HTTP or SQL in them: hardware descriptions, address allow-lists,
//! hostnames, PIN format, the customer role's permissions.

pub mod catalogue;
pub mod hardware;
pub mod permissions;
pub mod rules;
pub mod scenario;
