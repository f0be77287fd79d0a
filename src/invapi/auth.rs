//! `auth.php`: login (API key), whmcslogin (e-mail and password), logout, info
//! (001 "Authorization": auth/login, auth/whmcslogin, auth/logout, auth/info).

use axum::http::{HeaderName, HeaderValue};
use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use super::Call;
use crate::domain::permissions::CUSTOMER_PERMISSIONS;
use crate::domain::rules::parse_bool;
use crate::error::{Error, Result};
use crate::ops::servers;
use crate::ops::sessions::{self, Login, MAX_TTL};
use crate::state::AppState;
use crate::store;

/// `auth.php`, declared once: logins are public, logout and info need the token.
pub static MODULE: Module = Module {
    name: "auth",
    actions: actions![
        public "login" => login,
        public "whmcslogin" => whmcslogin,
        session "logout" => logout,
        session "info" => info,
        session "billing_list" => super::whmcs::billing_list,
    ],
};

/// Header telling how long a throttled login was held back, in milliseconds.
pub const DELAY_HEADER: &str = "x-emu-login-delay-ms";

/// Tells the client how long a throttled login was held back.
fn held_back(ctx: &Ctx, delay_ms: u64) {
    if delay_ms > 0 {
        if let Ok(v) = HeaderValue::from_str(&delay_ms.to_string()) {
            ctx.set_header(HeaderName::from_static(DELAY_HEADER), v);
        }
    }
}

fn ttl(call: &Call, default: i64) -> Result<i64> {
    let ttl = call.params.opt_int("ttl")?.unwrap_or(default);
    if !(1..=MAX_TTL).contains(&ttl) {
        return Err(Error::invalid(format!(
            "ttl must be between 1 and {MAX_TTL} seconds"
        )));
    }
    Ok(ttl)
}

/// `fix_ip` (and the documents' `fix_ix` spelling): bind the token to the client address.
fn fix_ip(call: &Call) -> Result<bool> {
    for name in ["fix_ip", "fix_ix"] {
        if let Some(v) = call.params.get(name) {
            return parse_bool(v).ok_or_else(|| {
                Error::invalid(format!(
                    "invalid {name} '{}', expected 1 or 0",
                    super::args::shorten(v)
                ))
            });
        }
    }
    Ok(true)
}

fn billing_options(call: &Call, with_url: bool) -> Value {
    let mut v = json!({
        "location": "NL",
        "company": "HOSTKEY B.V.",
        "active": 1,
        "allowed_payments": ["paypal"],
        "native_endpoint": call.host,
    });
    if with_url {
        if let Some(o) = v.as_object_mut() {
            let mut with = serde_json::Map::new();
            with.insert("url".into(), json!(format!("http://{}/", call.host)));
            with.extend(o.clone());
            *o = with;
        }
    }
    v
}

async fn server_ids(state: &AppState, login: &Login) -> Result<Vec<i64>> {
    let scope = servers::Scope {
        account_id: login.account.id,
        server_id: (login.session.server_id > 0).then_some(login.session.server_id),
    };
    servers::visible_ids(state, scope).await
}

/// auth/login (001 "auth/login"): a token for an API key.
async fn login(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let key = call.params.req_str("key")?;
    let busy = Error::InvalidApiKey(crate::secrets::mask_key(&key.to_ascii_lowercase()));
    let subject = sessions::key_subject(&key);
    let (held, _turn) = sessions::throttle(state, &subject, call.client_ip, busy).await?;
    held_back(ctx, held);
    let ttl = ttl(call, 7200)?;
    let login = sessions::login_with_key(state, &key, ttl, fix_ip(call)?, call.client_ip).await?;
    let servers = server_ids(state, &login).await?;
    Ok(json!({"result": {
        "token": login.token,
        "role": "Customer billing",
        "role_type": "Customer",
        "whmcs_id": login.account.whmcs_id,
        "whmcs_location": login.account.billing_location,
        "servers": servers,
        "customer_id": login.account.id,
        "permissions": CUSTOMER_PERMISSIONS,
        "token_expire": login.session.expires_at,
        "new": login.new,
    }}))
}

/// auth/whmcslogin (001 "auth/whmcslogin"): a token for the billing e-mail and password.
async fn whmcslogin(ctx: &Ctx) -> Result<Value> {
    let (state, call) = (&ctx.state, &ctx.call);
    let user = call.params.req_str("user")?;
    let password = call.params.get("password").unwrap_or("").to_owned();
    if password.is_empty() {
        return Err(Error::invalid("password is required"));
    }
    if password.len() > 1024 || user.len() > 256 {
        return Err(Error::Verbatim("auth: authenthication failure  ".into()));
    }
    let busy = Error::Verbatim("auth: authenthication failure  ".into());
    let subject = sessions::user_subject(&user);
    let (held, _turn) = sessions::throttle(state, &subject, call.client_ip, busy).await?;
    held_back(ctx, held);
    let ttl = ttl(call, 3600)?;
    let started = std::time::Instant::now();
    let login =
        sessions::login_with_password(state, &user, &password, ttl, fix_ip(call)?, call.client_ip)
            .await?;
    let servers = server_ids(state, &login).await?;
    let total = started.elapsed().as_millis() as u64;
    Ok(json!({
        "result": {
            "token": login.token,
            "role": "Customer Billing",
            "role_type": "Customer",
            "whmcs_id": login.account.whmcs_id,
            "whmcs_location": login.account.billing_location,
            "whmcs_token": null,
            "servers": servers,
            "customer_id": login.account.id,
            "permissions": CUSTOMER_PERMISSIONS,
            "corporate": login.account.corporate,
            "verified": login.account.verified,
            "token_expire": login.session.expires_at,
            "new": login.new,
            "billing_options": billing_options(call, false),
        },
        "timings": [{"init": 0}, {"check_whmcs_user": total}, {"whmcslogin total": total}],
    }))
}

/// auth/logout (001 "auth/logout"): removes the session token.
async fn logout(ctx: &Ctx) -> Result<Value> {
    let (state, _, caller) = ctx.parts()?;
    sessions::logout(state, caller).await?;
    Ok(json!({"result": "OK", "action": "logout"}))
}

/// auth/info (001 "auth/info"): what the token may do and which servers it sees.
async fn info(ctx: &Ctx) -> Result<Value> {
    let started = std::time::Instant::now();
    let (state, call, caller) = ctx.parts()?;
    let ids = servers::visible_ids(state, caller.scope()).await?;
    let servers: serde_json::Map<String, Value> = ids
        .iter()
        .map(|id| (id.to_string(), json!(id.to_string())))
        .collect();
    let tags = store::tags::list(&state.db, "customers", caller.account.id).await?;
    let a = &caller.account;
    Ok(json!({"result": {
        "servers": servers,
        "show_products": 1,
        "manage_products": 1,
        "show_invoices": 1,
        "manage_orders": 1,
        "email": a.email,
        "token_expire": caller.session.expires_at,
        "whmcs_id": a.whmcs_id.to_string(),
        "whmcs_location": a.billing_location,
        "billing_servers": [],
        "deploy_keys": [],
        "permissions": CUSTOMER_PERMISSIONS,
        "role_type": "Customer",
        "role_name": "Customer billing",
        "verified": a.verified,
        "sumsub_id": null,
        "sumsub_comment": null,
        "corporate": a.corporate,
        "tags": tags,
        "billing_options": billing_options(call, true),
        "client_ip": call.client_ip.to_string(),
        "timing": [{"auth_validate_token": 0}, {"eq_search": started.elapsed().as_millis() as u64}],
    }}))
}
