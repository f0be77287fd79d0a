//! `eq_callback.php` and `nat_callback.php` action=check (001 "Asynchronous actions",
//! "eq_callback/check"; decisions.md §4). No token is needed: the key is the capability.

use serde_json::{json, Value};

use super::dispatch::{actions, Ctx, Module};
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::ops::callbacks::{self, Progress};

/// `eq_callback.php`, declared once. No token needed: the key is the capability.
pub static EQ_MODULE: Module = Module {
    name: "eq_callback",
    actions: actions![public "check" => check],
};

/// `nat_callback.php`, declared once.
pub static NAT_MODULE: Module = Module {
    name: "nat_callback",
    actions: actions![public "check" => check],
};

/// check: the record of a key (`key`, or the table's `reinstall_key`).
async fn check(ctx: &Ctx) -> Result<Value> {
    let call = &ctx.call;
    // The records of `eq_callback` are those of module `eq`, and so on.
    let module = ctx.module.trim_end_matches("_callback");
    let key = call
        .params
        .get("key")
        .or_else(|| call.params.get("reinstall_key"))
        .map(|k| k.trim().to_ascii_lowercase())
        .ok_or_else(|| Error::invalid("key is required"))?;
    let shown: String = key.chars().take(64).collect();
    let progress = callbacks::check(&ctx.state, module, &key)
        .await?
        .ok_or_else(|| Error::Verbatim(format!("AsyncKey {shown} not found")))?;
    Ok(match progress {
        Progress::Pending => json!({"result": "Not ready", "key": key}),
        Progress::Stage { scope, context } => {
            json!({"result": "Stage", "scope": scope, "context": context, "key": key})
        }
        Progress::Done {
            ok: true,
            scope,
            context,
            debug,
            ..
        } => {
            json!({"result": "OK", "scope": scope, "context": context, "debug": debug, "key": key})
        }
        Progress::Done {
            scope,
            context,
            debug,
            created_at,
            ..
        } => json!({"result": "Fail", "scope": scope, "context": context, "status": "failure",
                    "created": format_datetime(created_at), "debug": debug, "key": key}),
    })
}
