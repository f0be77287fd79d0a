//! `nat.php`: add_static_nat, remove_static_nat (001 "IPMI access"): on-demand NAT from a
//! public pool address to the server's IPMI for two hours; polled on nat_callback.php.
//! The operations are [`crate::ops::nat`]'s.

use serde_json::{json, Value};

use super::dispatch::{actions, Ctx, Module};
use crate::error::Result;
use crate::ops::nat;

/// `nat.php`, declared once (001 "nat/add_static_nat", "nat/remove_static_nat").
pub static MODULE: Module = Module {
    name: "nat",
    actions: actions![
        session "add_static_nat" => add,
        session "remove_static_nat" => remove,
    ],
};

/// nat/add_static_nat (001 "nat/add_static_nat"): asking again while a rule is active
/// extends it and reports the same address.
async fn add(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    ctx.pin().await?;
    let key = nat::add(state, caller, &server).await?;
    Ok(json!({"result": "OK", "action": "add_static_nat", "callback": key}))
}

/// nat/remove_static_nat (001 "nat/remove_static_nat"); the record's context reads
/// `remove_staticnat`, as documented.
async fn remove(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let server = ctx.server().await?;
    let key = nat::remove(state, caller, &server).await?;
    Ok(json!({"result": "OK", "action": "remove_static_nat", "callback": key}))
}
