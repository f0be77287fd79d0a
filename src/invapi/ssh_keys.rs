//! `ssh_keys.php`: list, add, delete (issue 13 item 1; the Terraform provider's SSH key
//! resource and the MCP server's tools): the account's OpenSSH public keys, which
//! `eq/order_instance ssh_key=` may name by id or name.

use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::ops::ssh_keys;
use crate::store::ssh_keys::SshKey;

/// `ssh_keys.php`, declared once.
pub static MODULE: Module = Module {
    name: "ssh_keys",
    actions: actions![
        session "list" => list,
        session "add" => add,
        session "delete" => delete,
    ],
};

/// A key as the module shows it: numbers as numbers, `default` 0 or 1.
fn shown(k: &SshKey) -> Value {
    json!({
        "id": k.id, "customer_id": k.account_id, "name": k.name, "key": k.key,
        "fingerprint": k.fingerprint, "default": k.is_default,
        "created": format_datetime(k.created_at),
    })
}

/// ssh_keys/list: the account's keys, oldest first.
async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let keys = ssh_keys::list(state, caller).await?;
    Ok(
        json!({"result": "OK", "action": "list", "sshkeys": keys.iter().map(shown).collect::<Vec<_>>()}),
    )
}

/// ssh_keys/add (`name`, `key`, `default` 0/1; flat or `params[x]`): stores a checked key.
async fn add(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let name = p.req_str("name")?;
    let key = p
        .opt_str("key", 16_384)?
        .filter(|k| !k.is_empty())
        .ok_or_else(|| Error::invalid("key is required"))?;
    let default = p.opt_bool("default")?.unwrap_or(false);
    let k = ssh_keys::add(state, caller, &name, &key, default).await?;
    Ok(json!({"result": "OK", "action": "add", "sshkey": shown(&k)}))
}

/// ssh_keys/delete (`id`): removes one of the account's keys.
async fn delete(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    let k = ssh_keys::delete(state, caller, id).await?;
    Ok(json!({"result": "OK", "action": "delete", "id": k.id}))
}
