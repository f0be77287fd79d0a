//! `tags.php`: list, add, remove, user_search (001 "Tags"), and its newer names `search`
//! and `search_user` (issue 13 item 6).

use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use super::Call;
use crate::error::{Error, Result};
use crate::ops::tags;
use crate::store;

/// `tags.php`, declared once (001 "Tags").
pub static MODULE: Module = Module {
    name: "tags",
    actions: actions![
        session "list" => list,
        session "add" => add,
        session "remove" => remove,
        session "user_search" => user_search,
        session "search" => user_search,
        session "search_user" => user_search,
    ],
};

/// The `tag` argument: required, and a valid name.
fn tag_name(call: &Call) -> Result<String> {
    let tag = call.params.req_str("tag")?;
    tags::check_name(&tag)?;
    Ok(tag)
}

/// tags/list (001 "tags/list").
async fn list(ctx: &Ctx) -> Result<Value> {
    let state = &ctx.state;
    let id = ctx.server().await?.id;
    let tags = store::tags::list(&state.db, "eq", id).await?;
    Ok(json!({"result": "OK", "action": "list", "tags": tags}))
}

/// What tags/add asks for.
struct AddArgs {
    tag: String,
    value: String,
    extra: Option<String>,
}

impl AddArgs {
    fn parse(call: &Call) -> Result<AddArgs> {
        let tag = tag_name(call)?;
        let value = call
            .params
            .opt_str("value", 4096)?
            .ok_or_else(|| Error::invalid("value is required"))?;
        let extra = call.params.opt_str("extra", 4096)?;
        Ok(AddArgs { tag, value, extra })
    }
}

/// tags/add (001 "tags/add"): creates the tag or changes its value; internal tags are read-only.
async fn add(ctx: &Ctx) -> Result<Value> {
    let (state, call, _) = ctx.parts()?;
    let server = ctx.server().await?;
    let a = AddArgs::parse(call)?;
    let t = tags::add(state, &server, &a.tag, &a.value, a.extra.as_deref()).await?;
    Ok(
        json!({"result": "OK", "action": "add", "id": t.id, "component": t.component,
              "component_id": t.component_id, "tag": t.tag, "value": t.value, "extra": t.extra,
              "internal": t.internal}),
    )
}

/// tags/remove (001 "tags/remove").
async fn remove(ctx: &Ctx) -> Result<Value> {
    let (state, call, _) = ctx.parts()?;
    let server = ctx.server().await?;
    let tag = tag_name(call)?;
    let t = tags::remove(state, &server, &tag).await?;
    Ok(
        json!({"result": "OK", "action": "remove", "id": t.id, "tag": t.tag, "component": t.component,
              "component_id": t.component_id}),
    )
}

/// tags/user_search (001, the section after "tags/remove"), also named `search` and
/// `search_user`: servers whose tag name or value contains the pattern; the answer's action
/// reads `search_user`, as documented.
async fn user_search(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let value = call
        .params
        .opt_str("value", 256)?
        .ok_or_else(|| Error::invalid("value is required"))?;
    let ids = tags::user_search(state, caller.scope(), &value).await?;
    Ok(json!({"result": "OK", "action": "search_user", "servers": ids}))
}
