//! `rhr.php`: remote-hands requests, the newer front of the tickets `jira.php` opens (issue
//! 13; HOSTKEY's apidocs "rhr"; the MCP server's rhr tools): list, add, chat, discard. One
//! ticket store with jira.php: a ticket opened by either shows here.

use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use crate::error::{Error, Result};
use crate::ops::remote_hands;
use crate::store::remote_hands::{key_of, Listed, Message, Ticket};

/// `rhr.php`, declared once.
pub static MODULE: Module = Module {
    name: "rhr",
    actions: actions![
        session "list" => list,
        session "add" => add,
        session "chat" => chat,
        session "discard" => discard,
    ],
};

/// A moment as the apidocs show it (`2024-01-15T10:30:00Z`).
fn iso(secs: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A stored status as rhr.php names it.
fn status_name(stored: &str) -> &'static str {
    match stored {
        "open" => "PENDING",
        "done" => "DONE",
        _ => "CANCELED",
    }
}

/// The stored statuses a `status` filter names (comma-separated, any case; `ALL` for
/// every one).
fn parse_statuses(given: &str) -> Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for part in given.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let names: &[&'static str] = match part.to_ascii_uppercase().as_str() {
            "PENDING" | "OPEN" | "NEW" | "IN_PROGRESS" => &["open"],
            "DONE" | "CLOSED" | "COMPLETED" | "RESOLVED" => &["done"],
            "CANCELED" | "CANCELLED" | "DISCARDED" => &["canceled"],
            "ALL" => &["open", "done", "canceled"],
            _ => {
                return Err(Error::invalid(format!(
                    "invalid status '{}', expected PENDING, DONE, CANCELED or ALL",
                    super::args::shorten(part)
                )))
            }
        };
        for n in names {
            if !out.contains(n) {
                out.push(*n);
            }
        }
    }
    Ok(out)
}

/// A ticket as rhr.php shows it (the apidocs' request object, plus its `subject` and the
/// key of the record the duty shift completes).
fn shown(t: &Ticket, location: &str, name: Option<&str>) -> Value {
    let assignee = match t.status.as_str() {
        "done" if t.action == "request_assistance" => json!("Sales department"),
        "done" => json!("Duty shift"),
        _ => Value::Null,
    };
    let eq_name = match (name, t.server_id) {
        (_, 0) => String::new(),
        (Some(n), _) => n.to_owned(),
        (None, id) => id.to_string(),
    };
    json!({
        "id": t.id,
        "eq_id": t.server_id,
        "type": remote_hands::type_of(t),
        "status": status_name(&t.status),
        "request_origin": "CLIENT",
        "priority": "NORMAL",
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at.max(t.created_at)),
        "eq_location": location,
        "eq_name": eq_name,
        "subject": t.subject,
        "request": t.message,
        "resolution": t.resolution,
        "assignee": assignee,
        "ticket": key_of(t.id),
        "callback": t.callback_key,
    })
}

fn listed(l: &Listed) -> Value {
    shown(&l.ticket, &l.location, l.hostname.as_deref())
}

/// One message of a thread.
fn message(m: &Message) -> Value {
    json!({
        "id": m.id,
        "component": "rhr",
        "component_id": m.ticket_id,
        "author": m.author,
        "message": m.message,
        "created_at": iso(m.created_at),
    })
}

/// A ticket id: a number, or the `RHR-N` key jira.php answers.
fn ticket_id(ctx: &Ctx) -> Result<i64> {
    let given = ctx
        .params()
        .get("id")
        .map(str::trim)
        .ok_or_else(|| Error::invalid("id is required"))?;
    let number = given.strip_prefix("RHR-").unwrap_or(given);
    number
        .parse()
        .map_err(|_| Error::invalid(format!("invalid id '{}'", super::args::shorten(given))))
}

/// rhr/list (`location`, `status`; apidocs "rhr/list"): the caller's requests, newest
/// first; canceled ones only when `status` asks for them.
async fn list(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let location = p
        .opt_str("location", 16)?
        .filter(|l| !l.is_empty())
        .map(|l| l.to_ascii_uppercase());
    let statuses = match p.get("status") {
        Some(s) => parse_statuses(s)?,
        None => Vec::new(),
    };
    let found = remote_hands::list(state, caller, location, statuses).await?;
    Ok(json!({
        "result": "OK", "module": "rhr", "action": "list",
        "requests": found.iter().map(listed).collect::<Vec<_>>(),
    }))
}

/// rhr/add (`id` or `params[eq_id]`: the server; `request_type` or `params[type]`: KVM,
/// UNBLOCK or SERVICE; `comment`: what to do; apidocs "rhr/add"): opens a request the duty
/// shift carries out; `callback` names the record of its visit.
async fn add(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let server_id = match p.opt_int("eq_id")? {
        Some(id) => id,
        None => p.req_int("id")?,
    };
    let server = ctx.server_by_id(server_id).await?;
    let request_type = remote_hands::parse_type(p.get("type").or(p.get("request_type")))?;
    let comment = p
        .get("comment")
        .or(p.get("message"))
        .or(p.get("request"))
        .map(str::trim);
    let (opened, id) = remote_hands::add(state, caller, &server, request_type, comment).await?;
    let ticket = crate::store::remote_hands::get(&state.db, id)
        .await?
        .ok_or_else(|| Error::Internal(format!("ticket {id} vanished after it was opened")))?;
    Ok(json!({
        "result": "OK", "module": "rhr", "action": "add",
        "requests": [shown(&ticket, &server.location, None)],
        "callback": opened.callback,
    }))
}

/// rhr/chat (`id`: the request, `message`; apidocs "rhr/chat"): adds the caller's message
/// to the request's thread; the duty shift answers in it a few minutes later (emulator
/// clock), completing the record `callback` names.
async fn chat(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = ticket_id(ctx)?;
    let text = call
        .params
        .get("message")
        .or(call.params.get("comment"))
        .ok_or_else(|| Error::invalid("message is required"))?;
    let (thread, callback) = remote_hands::chat(state, caller, id, text.trim()).await?;
    Ok(json!({
        "result": "OK", "module": "rhr", "action": "chat",
        "history": thread.iter().map(message).collect::<Vec<_>>(),
        "callback": callback,
    }))
}

/// rhr/discard (`id`; apidocs "rhr/discard"): cancels an open request; the duty shift's
/// visit then does nothing.
async fn discard(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    let id = ticket_id(ctx)?;
    let t = remote_hands::discard(state, caller, id).await?;
    let server = match t.server_id {
        0 => None,
        id => crate::store::servers::get(&state.db, id).await?,
    };
    let location = server.as_ref().map_or("", |s| s.location.as_str());
    let thread = remote_hands::thread(state, caller, t.id).await?;
    Ok(json!({
        "result": "OK", "module": "rhr", "action": "discard",
        "requests": [shown(&t, location, None)],
        "history": thread.iter().map(message).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_name_the_stored_statuses() {
        assert_eq!(parse_statuses("pending").expect("ok"), vec!["open"]);
        assert_eq!(
            parse_statuses("DONE, canceled,done").expect("ok"),
            vec!["done", "canceled"]
        );
        assert_eq!(
            parse_statuses("all").expect("ok"),
            vec!["open", "done", "canceled"]
        );
        assert!(parse_statuses("lost").is_err());
        assert_eq!(status_name("open"), "PENDING");
        assert_eq!(status_name("canceled"), "CANCELED");
        assert_eq!(iso(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
