//! `location.php`: list (issue 13 item 6; in the role's permissions of 001): the data
//! centres, with the numeric ids eq/list's `location` filter accepts.

use serde_json::{json, Value};

use super::dispatch::{actions, Ctx, Module};
use crate::error::Result;
use crate::store;

/// `location.php`, declared once.
pub static MODULE: Module = Module {
    name: "location",
    actions: actions![
        session_pure "list" => list,
    ],
};

/// location/list: every location, by id: id, code, name, data centre, country.
async fn list(ctx: &Ctx) -> Result<Value> {
    ctx.principal()?;
    let locations: Vec<Value> = store::servers::locations(&ctx.state.db)
        .await?
        .into_iter()
        .map(|l| {
            json!({"id": l.id, "code": l.code, "name": l.name, "dc_name": l.dc_name,
                   "country": l.country})
        })
        .collect();
    Ok(json!({"result": "OK", "action": "list", "locations": locations}))
}
