//! `api_keys.php`: list, list_for_server, view, add, edit, delete, history
//! (001 "Working with API keys using api_keys calls").

use serde_json::{json, Map, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use super::Call;
use crate::clock::{format_datetime, parse_date};
use crate::domain::rules::AllowList;
use crate::error::{Error, Result};
use crate::ops::sessions::Principal;
use crate::secrets;
use crate::state::AppState;
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

/// A key the caller may see: its account's, and for a per-server session only that server's.
async fn own_key(state: &AppState, caller: &Principal, id: i64) -> Result<ApiKey> {
    let key = store::api_keys::get(&state.db, caller.account.id, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("api key {id} not found")))?;
    if !caller.scope().admits(key.server_id) || (caller.session.server_id > 0 && key.server_id == 0)
    {
        return Err(Error::denied(
            "permission denied, a per-server key cannot read account keys",
        ));
    }
    Ok(key)
}

/// api_keys/list (001 "api_keys/list").
async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let scope = (caller.session.server_id > 0).then_some(caller.session.server_id);
    Ok(json!(
        store::api_keys::list(&state.db, caller.account.id, scope).await?
    ))
}

/// api_keys/list_for_server (001 "api_keys/list_for_server").
async fn list_for_server(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let server_id = call.params.req_int("server_id")?;
    ctx.server_by_id(server_id).await?;
    Ok(json!(
        store::api_keys::list(&state.db, caller.account.id, Some(server_id)).await?
    ))
}

/// api_keys/view (001 "api_keys/view").
async fn view(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    Ok(json!(own_key(state, caller, id).await?))
}

/// Reads and checks the editable fields; `current` supplies what an edit leaves out.
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
    if !["none", "email", "webhook"].contains(&method.as_str()) {
        return Err(Error::invalid(format!(
            "invalid login_notify_method '{}', expected none, email or webhook",
            super::args::shorten(&method)
        )));
    }
    let address = match p.opt_str("login_notify_address", 512)? {
        Some(a) => {
            given.insert("login_notify_address".into(), json!(a));
            Some(a)
        }
        None if p.has_key("login_notify_address") && current.is_some() => None,
        None => current.and_then(|c| c.login_notify_address.clone()),
    };
    match (method.as_str(), address.as_deref()) {
        ("email", Some(a)) if a.contains('@') && !a.contains(char::is_whitespace) => {}
        ("email", _) => {
            return Err(Error::invalid(
                "login_notify_address must be an e-mail address for method email",
            ))
        }
        ("webhook", Some(a)) if a.starts_with("http://") || a.starts_with("https://") => {}
        ("webhook", _) => {
            return Err(Error::invalid(
                "login_notify_address must be an http(s) URL for method webhook",
            ))
        }
        _ => {}
    }
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
        ctx.server_by_id(server_id).await?;
        given.insert("server_id".into(), json!(server_id.to_string()));
    } else if caller.session.server_id > 0 {
        return Err(Error::denied(
            "permission denied, a per-server key cannot create account keys",
        ));
    }
    fields.server_id = server_id;
    let key = secrets::api_key();
    let view: String = key.chars().take(4).collect();
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    let id = store::api_keys::insert(
        &mut *tx,
        None,
        caller.account.id,
        &fields,
        &secrets::digest(&key),
        &view,
        now,
    )
    .await?;
    store::api_keys::add_history(
        &mut *tx,
        id,
        caller.account.id,
        now,
        &format!("Created new api_key {id}. json:{}", Value::Object(given)),
        "action",
        &caller.account.email,
    )
    .await?;
    tx.commit().await?;
    Ok(json!({
        "id": id,
        "name": fields.name,
        "active": fields.active,
        "ip": fields.ip,
        "server_id": fields.server_id,
        "token_view": view,
        "login_notify_method": fields.login_notify_method,
        "login_notify_address": fields.login_notify_address,
        "api_key": key,
    }))
}

/// api_keys/edit (001 "api_keys/edit"): fields left out keep their values.
async fn edit(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    let current = own_key(state, caller, id).await?;
    let (fields, given) = read_fields(call, Some(&current))?;
    let mut changes = Vec::new();
    let mut change = |name: &str, from: &str, to: &str| {
        if from != to {
            changes.push(format!("{name} from '{from}' to '{to}'"));
        }
    };
    change("name", &current.name, &fields.name);
    change(
        "active",
        &current.active.to_string(),
        &fields.active.to_string(),
    );
    change("ip", &current.ip, &fields.ip);
    change(
        "login_notify_method",
        &current.login_notify_method,
        &fields.login_notify_method,
    );
    change(
        "login_notify_address",
        current.login_notify_address.as_deref().unwrap_or(""),
        fields.login_notify_address.as_deref().unwrap_or(""),
    );
    let now = state.clock.now();
    let mut updated = Map::new();
    updated.insert("id".into(), json!(id.to_string()));
    updated.extend(given);
    let mut tx = store::begin_write(&state.db).await?;
    store::api_keys::update(&mut *tx, id, &fields).await?;
    let login = &caller.account.email;
    let msg = format!("Updated api_key {id}. json:{}", Value::Object(updated));
    store::api_keys::add_history(&mut *tx, id, caller.account.id, now, &msg, "action", login)
        .await?;
    if !changes.is_empty() {
        let msg = format!("Changed api_key {id}. {}", changes.join(", "));
        store::api_keys::add_history(&mut *tx, id, caller.account.id, now, &msg, "action", login)
            .await?;
    }
    if fields.active == 0 || fields.ip != current.ip {
        // A disabled key's sessions end with it; so do they when its allow-list changes,
        // and the client's next login is checked against the new list.
        store::sessions::delete_for_key(&mut *tx, id).await?;
    }
    tx.commit().await?;
    Ok(json!({"id": id}))
}

/// api_keys/delete (001 "api_keys/delete"); sessions opened with the key end too.
async fn delete(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    own_key(state, caller, id).await?;
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    store::api_keys::delete(&mut *tx, id).await?;
    store::sessions::delete_for_key(&mut *tx, id).await?;
    let msg = format!(
        "Deleted api_key {id}. json:{}",
        json!({"id": id.to_string()})
    );
    store::api_keys::add_history(
        &mut *tx,
        id,
        caller.account.id,
        now,
        &msg,
        "action",
        &caller.account.email,
    )
    .await?;
    tx.commit().await?;
    Ok(json!({"id": id}))
}

/// api_keys/history (001 "api_keys/history"), newest first; dates are Y-M-D, both inclusive.
async fn history(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = call.params.req_int("id")?;
    match store::api_keys::get(&state.db, caller.account.id, id).await? {
        Some(_) => {
            own_key(state, caller, id).await?;
        }
        None if caller.session.server_id == 0
            && store::api_keys::had_key(&state.db, caller.account.id, id).await? => {}
        None => return Err(Error::not_found(format!("api key {id} not found"))),
    }
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
