//! `tags.php`: list, add, remove, user_search (001 "Tags").

use serde_json::{json, Value};

use super::args::{shorten, Args};
use super::dispatch::{actions, Ctx, Module};
use super::Call;
use crate::error::{Error, Result};
use crate::store;

/// `tags.php`, declared once (001 "Tags").
pub static MODULE: Module = Module {
    name: "tags",
    actions: actions![
        session "list" => list,
        session "add" => add,
        session "remove" => remove,
        session "user_search" => user_search,
    ],
};

fn tag_name(call: &Call) -> Result<String> {
    let tag = call.params.req_str("tag")?;
    let ok = tag.len() <= 64
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if !ok {
        return Err(Error::invalid(format!(
            "invalid tag name '{}': use at most 64 letters, digits, '_', '-', '.' or ':'",
            shorten(&tag)
        )));
    }
    Ok(tag)
}

/// tags/list (001 "tags/list").
async fn list(ctx: &Ctx) -> Result<Value> {
    let state = &ctx.state;
    ctx.principal()?;
    let id = ctx.server().await?.id;
    let tags = store::tags::list(&state.db, "eq", id).await?;
    Ok(json!({"result": "OK", "action": "list", "tags": tags}))
}

/// tags/add (001 "tags/add"): creates the tag or changes its value; internal tags are read-only.
async fn add(ctx: &Ctx) -> Result<Value> {
    let (state, call, _) = ctx.parts()?;
    let id = ctx.server().await?.id;
    let tag = tag_name(call)?;
    let value = call
        .params
        .opt_str("value", 4096)?
        .ok_or_else(|| Error::invalid("value is required"))?;
    let extra = call.params.opt_str("extra", 4096)?;
    let existing = store::tags::get(&state.db, "eq", id, &tag).await?;
    if existing.as_ref().is_some_and(|t| t.internal == 1) {
        return Err(Error::denied(format!(
            "permission denied, tag {tag} is internal and cannot be changed"
        )));
    }
    let extra = extra
        .or_else(|| existing.map(|t| t.extra))
        .unwrap_or_default();
    let t = store::tags::upsert(&state.db, "eq", id, &tag, &value, &extra, 0).await?;
    Ok(
        json!({"result": "OK", "action": "add", "id": t.id, "component": t.component,
              "component_id": t.component_id, "tag": t.tag, "value": t.value, "extra": t.extra,
              "internal": t.internal}),
    )
}

/// tags/remove (001 "tags/remove").
async fn remove(ctx: &Ctx) -> Result<Value> {
    let (state, call, _) = ctx.parts()?;
    let id = ctx.server().await?.id;
    let tag = tag_name(call)?;
    let t = store::tags::get(&state.db, "eq", id, &tag)
        .await?
        .ok_or_else(|| Error::not_found(format!("tag {tag} not found on server {id}")))?;
    if t.internal == 1 {
        return Err(Error::denied(format!(
            "permission denied, tag {tag} is internal and cannot be removed"
        )));
    }
    store::tags::delete(&state.db, t.id).await?;
    Ok(
        json!({"result": "OK", "action": "remove", "id": t.id, "tag": t.tag, "component": t.component,
              "component_id": t.component_id}),
    )
}

/// tags/user_search (001, the section after "tags/remove"): servers whose tag name or value
/// contains the pattern; the answer's action reads `search_user`, as documented.
async fn user_search(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let value = call
        .params
        .opt_str("value", 256)?
        .ok_or_else(|| Error::invalid("value is required"))?;
    let scope = caller.scope();
    let ids: Vec<i64> = store::tags::search_servers(&state.db, scope.account_id, &value)
        .await?
        .into_iter()
        .filter(|id| scope.admits(*id))
        .collect();
    Ok(json!({"result": "OK", "action": "search_user", "servers": ids}))
}
