//! `eq_callback.php` and `nat_callback.php` action=check (001 "Asynchronous actions",
//! "eq_callback/check"; decisions.md §4). No token is needed: the key is the capability.

use serde_json::{json, Value};

use super::dispatch::{actions, Ctx, Module};
use crate::clock::format_datetime;
use crate::error::{Error, Result};
use crate::secrets;
use crate::store;

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
    let (state, call) = (&ctx.state, &ctx.call);
    // The records of `eq_callback` are those of module `eq`, and so on.
    let module = ctx.module.trim_end_matches("_callback");
    let key = call
        .params
        .get("key")
        .or_else(|| call.params.get("reinstall_key"))
        .map(|k| k.trim().to_ascii_lowercase())
        .ok_or_else(|| Error::invalid("key is required"))?;
    let shown: String = key.chars().take(64).collect();
    let not_found = || Error::Verbatim(format!("AsyncKey {shown} not found"));
    if !secrets::is_hex32(&key) {
        return Err(not_found());
    }
    let now = state.clock.now();
    let record = store::callbacks::get(&state.db, &key)
        .await?
        .filter(|r| r.module == module)
        .ok_or_else(not_found)?;
    if let Some(read) = record.first_read_at {
        if read + state.config.callback_retention <= now {
            return Err(not_found());
        }
    }
    let context: Value = serde_json::from_str(&record.context).unwrap_or_else(|_| json!({}));
    Ok(match record.state.as_str() {
        "pending" => json!({"result": "Not ready", "key": key}),
        "stage" => {
            json!({"result": "Stage", "scope": record.scope, "context": context, "key": key})
        }
        final_state => {
            store::callbacks::mark_read(&state.db, &key, now).await?;
            // `debug` is a string field (decisions.md §2, §4), also where 001's examples
            // print null: clients that decode it strictly as a string must not fail.
            let debug = record.debug.unwrap_or_default();
            if final_state == "ok" {
                json!({"result": "OK", "scope": record.scope, "context": context, "debug": debug, "key": key})
            } else {
                json!({"result": "Fail", "scope": record.scope, "context": context, "status": "failure",
                       "created": format_datetime(record.created_at), "debug": debug, "key": key})
            }
        }
    })
}
