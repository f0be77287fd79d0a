//! `api_keys.php`: list, list_for_server, view, add, edit, delete, history
//! (001 "Working with API keys using api_keys calls").

use serde_json::{json, Map, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use super::Call;
use crate::clock::{format_datetime, parse_date};
use crate::domain::rules::AllowList;
use crate::error::{Error, Result};
use crate::ops::api_keys;
use crate::store::{self, api_keys::ApiKey, api_keys::KeyFields};

/// `api_keys.php`, declared once (001 "Working with API keys using api_keys calls"). Every
/// answer is `{"result":"OK","module":"api_keys","action":...,"data":...}`.
pub static MODULE: Module = Module {
    name: "api_keys",
    actions: actions![
        session "list" => enveloped::list,
        session "list_for_server" => enveloped::list_for_server,
        session "view" => enveloped::view,
        session "add" => enveloped::add,
        session "edit" => enveloped::edit,
        session "delete" => enveloped::delete,
        session "history" => enveloped::history,
    ],
};

/// The module's envelope around each action's `data`.
mod enveloped {
    use super::{Ctx, Result, Value};

    macro_rules! enveloped {
        ($($name:ident),*) => {$(
            pub async fn $name(ctx: &Ctx) -> Result<Value> {
                let data = super::$name(ctx).await?;
                Ok(serde_json::json!({"result": "OK", "module": "api_keys", "action": ctx.action, "data": data}))
            }
        )*};
    }
    enveloped!(list, list_for_server, view, add, edit, delete, history);
}

/// api_keys/list (001 "api_keys/list").
async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    Ok(json!(api_keys::list(state, caller).await?))
}

/// api_keys/list_for_server (001 "api_keys/list_for_server").
async fn list_for_server(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server_id = call.params.req_int("server_id")?;
    Ok(json!(
        api_keys::list_for_server(state, caller, server_id).await?
    ))
}

/// api_keys/view (001 "api_keys/view").
async fn view(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    Ok(json!(api_keys::view(state, caller, id).await?))
}

/// Reads and checks the editable fields; `current` supplies what an edit leaves out. Also
/// returns the fields as given, which the key's history records.
fn read_fields(call: &Call, current: Option<&ApiKey>) -> Result<(KeyFields, Map<String, Value>)> {
    let p = &call.params;
    let mut given = Map::new();
    let name = match (p.opt_str("name", 128)?, current) {
        (Some(n), _) => n,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(Error::invalid("name is required")),
    };
    if let Some(v) = p.get("name") {
        given.insert("name".into(), json!(v));
    }
    let ip_raw = match p.opt_str("ip", 2048)? {
        Some(v) => {
            given.insert("ip".into(), json!(v));
            v
        }
        None if p.has_key("ip") && current.is_some() => {
            given.insert("ip".into(), json!(""));
            String::new()
        }
        None => current.map(|c| c.ip.clone()).unwrap_or_default(),
    };
    let ip = AllowList::parse(&ip_raw).map_err(Error::invalid)?.render();
    let method = match p.opt_str("login_notify_method", 16)? {
        Some(m) => {
            given.insert("login_notify_method".into(), json!(m));
            m.to_ascii_lowercase()
        }
        None => current
            .map(|c| c.login_notify_method.clone())
            .unwrap_or_else(|| "none".into()),
    };
    api_keys::check_notify_method(&method)?;
    let address = match p.opt_str("login_notify_address", 512)? {
        Some(a) => {
            given.insert("login_notify_address".into(), json!(a));
            Some(a)
        }
        None if p.has_key("login_notify_address") && current.is_some() => None,
        None => current.and_then(|c| c.login_notify_address.clone()),
    };
    api_keys::check_notify_address(&method, address.as_deref())?;
    let active = match p.opt_bool("active")? {
        Some(b) => {
            given.insert("active".into(), json!(if b { "1" } else { "0" }));
            i64::from(b)
        }
        None => current.map(|c| c.active).unwrap_or(1),
    };
    let server_id = current.map(|c| c.server_id).unwrap_or_default();
    Ok((
        KeyFields {
            name,
            server_id,
            ip,
            login_notify_method: method,
            login_notify_address: address,
            active,
        },
        given,
    ))
}

/// api_keys/add (001 "api_keys/add"): the full key is in this answer only.
async fn add(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let (mut fields, mut given) = read_fields(call, None)?;
    let server_id = call.params.opt_int("server_id")?.unwrap_or(0);
    if server_id != 0 {
        given.insert("server_id".into(), json!(server_id.to_string()));
    }
    fields.server_id = server_id;
    let made = api_keys::add(state, caller, fields, given).await?;
    let k = made.key;
    Ok(json!({
        "id": k.id,
        "name": k.name,
        "active": k.active,
        "ip": k.ip,
        "server_id": k.server_id,
        "token_view": k.token_view,
        "login_notify_method": k.login_notify_method,
        "login_notify_address": k.login_notify_address,
        "api_key": made.secret,
    }))
}

/// api_keys/edit (001 "api_keys/edit"): fields left out keep their values.
async fn edit(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    let current = api_keys::view(state, caller, id).await?;
    let (fields, given) = read_fields(call, Some(&current))?;
    api_keys::edit(state, caller, id, &fields, given).await?;
    Ok(json!({"id": id}))
}

/// api_keys/delete (001 "api_keys/delete"); sessions opened with the key end too.
async fn delete(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    api_keys::delete(state, caller, id).await?;
    Ok(json!({"id": id}))
}

/// api_keys/history (001 "api_keys/history"), newest first; dates are Y-M-D, both inclusive.
async fn history(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    api_keys::check_history(state, caller, id).await?;
    let date = |name: &str| -> Result<Option<i64>> {
        match call.params.get(name) {
            None => Ok(None),
            Some(v) => parse_date(v).map(Some).ok_or_else(|| {
                Error::invalid(format!(
                    "invalid {name} '{}', expected Y-M-D",
                    super::args::shorten(v)
                ))
            }),
        }
    };
    let from = date("period_from")?.unwrap_or(i64::MIN);
    let to = date("period_to")?.map(|d| d + 86_400).unwrap_or(i64::MAX);
    let rows = store::api_keys::history(&state.db, caller.account.id, id, from, to).await?;
    Ok(Value::Array(
        rows.into_iter()
            .map(|r| {
                json!({"id": r.id, "date": format_datetime(r.created_at), "message": r.message,
                       "type": r.r#type, "login": r.login})
            })
            .collect(),
    ))
}
