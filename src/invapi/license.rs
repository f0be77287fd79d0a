//! `license.php`: list (issue 13 item 6; in the role's permissions of 001): the licences of
//! the servers the session can see, each as eq/show's `licenses` shows it, with its server.

use serde_json::{json, Value};

use super::dispatch::{actions, Ctx, Module};
use crate::error::Result;
use crate::ops::servers;
use crate::store;

/// `license.php`, declared once.
pub static MODULE: Module = Module {
    name: "license",
    actions: actions![
        session_pure "list" => list,
    ],
};

/// license/list: every licence of the scope's servers (a per-server session: its server's),
/// by server id, with `server_id` added.
async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let mut licenses = Vec::new();
    for id in servers::visible_ids(state, caller.scope()).await? {
        let Some(server) = store::servers::get(&state.db, id).await? else {
            continue;
        };
        let held: Vec<Value> = serde_json::from_str(&server.licenses)?;
        for mut l in held {
            if let Some(o) = l.as_object_mut() {
                o.insert("server_id".into(), json!(id));
            }
            licenses.push(l);
        }
    }
    Ok(json!({"result": "OK", "action": "list", "licenses": licenses}))
}
