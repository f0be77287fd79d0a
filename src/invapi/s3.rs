//! `s3.php` (issue 13 item 4; HOSTKEY's apidocs "s3.php"): S3 storage plans, ordering
//! accounts, their keys, buckets and files. The buckets and files are the ones the S3
//! endpoint (`src/s3/`) serves. An S3 account is named by `account_id` or the documents'
//! `s3uid` (`s3_user_<id>`, or the bare number); a bucket by `bucket` or `bucket_name`.

use serde_json::{json, Value};

use super::args::Args;
use super::dispatch::{actions, Ctx, Module};
use crate::clock::format_datetime;
use crate::domain::s3::{self as rules, KeyType, Plan};
use crate::error::{Error, Result};
use crate::http::php_form::Params;
use crate::ops::s3::{self, Entry};
use crate::state::AppState;
use crate::store::s3::{Bucket, S3Account};

/// `s3.php`, declared once.
pub static MODULE: Module = Module {
    name: "s3",
    actions: actions![
        public "list_plans" => list_plans,
        public "get_available_locations" => get_available_locations,
        session "create_account" => create_account,
        session "create_order" => create_order,
        session "show_key" => show_key,
        session "get_users" => get_users,
        session "get_buckets" => get_buckets,
        session "get_buckets_rmq" => get_buckets_rmq,
        session "create_bucket" => create_bucket,
        session "delete_bucket" => delete_bucket,
        session "get_files" => get_files,
        session "delete_file" => delete_file,
        session "update_traffic_info" => update_traffic_info,
        session "delete_account" => delete_account,
        session "delete_payment_account" => delete_payment_account,
        session "cancel_payment_account_deletion" => cancel_payment_account_deletion,
    ],
};

/// The S3 account a request names: `account_id` or `s3uid`.
fn account_id(p: &Params) -> Result<i64> {
    let (name, raw) = match (p.get("account_id"), p.get("s3uid")) {
        (Some(v), _) if !v.trim().is_empty() => ("account_id", v),
        (_, Some(v)) if !v.trim().is_empty() => ("s3uid", v),
        _ => return Err(Error::invalid("account_id (or s3uid) is required")),
    };
    rules::parse_s3uid(raw).ok_or_else(|| {
        Error::invalid(format!(
            "invalid {name} '{}', expected s3_user_<id>",
            crate::domain::rules::shorten(raw)
        ))
    })
}

/// The bucket a request names: `bucket` or `bucket_name`.
fn bucket_name(p: &Params) -> Result<String> {
    match p.opt_str("bucket", 255)? {
        Some(b) if !b.is_empty() => Ok(b),
        _ => p
            .opt_str("bucket_name", 255)?
            .filter(|b| !b.is_empty())
            .ok_or_else(|| Error::invalid("bucket (or bucket_name) is required")),
    }
}

/// The caller's S3 account the request names.
async fn named_account(ctx: &Ctx) -> Result<S3Account> {
    let (state, call, caller) = ctx.parts()?;
    let id = account_id(&call.params)?;
    s3::owned(state, caller, id).await
}

fn shown_plan(p: &Plan) -> Value {
    json!({
        "id": p.id, "name": p.name, "size_gb": p.size_gb, "traffic_gb": p.traffic_gb,
        "price": p.price_cents as f64 / 100.0, "currency": "EUR", "free": i64::from(p.is_free()),
        "locations": p.locations,
    })
}

/// An S3 account as get_users and update_traffic_info show it.
fn shown_user(state: &AppState, a: &S3Account) -> Value {
    let plan = rules::plan(a.plan_id);
    let status = match s3::refusal(state, a) {
        None if a.cancel_at.is_some() => "cancellation_requested",
        None => "active",
        Some(_) if a.invoice_status != "Paid" => "awaiting_payment",
        Some(_) => "terminated",
    };
    json!({
        "s3uid": rules::s3uid(a.id), "account_id": a.id, "customer_id": a.account_id,
        "plan_id": a.plan_id, "plan": plan.map(|p| p.name), "location": a.location,
        "status": status, "invoice_id": a.invoice_id, "invoice_status": a.invoice_status,
        "used_bytes": a.used_bytes, "quota_bytes": s3::quota_bytes(state, a),
        "objects": a.objects, "buckets": a.buckets,
        "traffic": {"in": a.bytes_in, "out": a.bytes_out},
        "traffic_updated": a.traffic_at.map(format_datetime),
        "cancel_date": a.cancel_at.map(format_datetime),
        "created": format_datetime(a.created_at),
    })
}

fn shown_bucket(b: &Bucket) -> Value {
    json!({
        "name": b.name, "created": format_datetime(b.created_at), "objects": b.objects,
        "size": b.size,
    })
}

/// s3/list_plans (`location`, optional): the plans sold there.
async fn list_plans(ctx: &Ctx) -> Result<Value> {
    let location = ctx
        .params()
        .opt_str("location", 16)?
        .filter(|l| !l.is_empty());
    let plans = s3::plans(location.as_deref())?;
    Ok(json!({
        "result": "OK", "action": "list_plans",
        "plans": plans.into_iter().map(shown_plan).collect::<Vec<_>>(),
    }))
}

/// s3/get_available_locations: where S3 storage is sold.
async fn get_available_locations(_ctx: &Ctx) -> Result<Value> {
    Ok(json!({"result": "OK", "action": "get_available_locations", "locations": rules::LOCATIONS}))
}

/// create_account and create_order: `plan_id`, `location` (default NL), `bucket` or
/// `bucket_name`.
async fn ordered(ctx: &Ctx, free_only: bool) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let p = &call.params;
    let plan_id = match p.opt_int("plan_id")? {
        Some(id) => id,
        None if free_only => rules::PLANS
            .iter()
            .find(|p| p.is_free())
            .map_or(0, |p| p.id),
        None => return Err(Error::invalid("plan_id is required")),
    };
    let location = p
        .opt_str("location", 16)?
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "NL".to_owned());
    let bucket = bucket_name(p)?;
    let o = s3::order(state, caller, plan_id, &location, &bucket, free_only).await?;
    Ok(json!({
        "result": "OK", "action": ctx.action, "s3uid": rules::s3uid(o.account.id),
        "account_id": o.account.id, "plan_id": o.account.plan_id,
        "location": o.account.location, "bucket": o.bucket, "access_key": o.account.access_key,
        "invoice_id": o.invoice_id, "paid": i64::from(o.paid),
    }))
}

/// s3/create_account: a free S3 account with its first bucket.
async fn create_account(ctx: &Ctx) -> Result<Value> {
    ordered(ctx, true).await
}

/// s3/create_order: an S3 account on any plan, invoiced through billing.
async fn create_order(ctx: &Ctx) -> Result<Value> {
    ordered(ctx, false).await
}

/// s3/show_key (`key_type` access_key or secret_key, `account_id`/`s3uid`): the key in
/// clear.
async fn show_key(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let which = KeyType::parse(&call.params.req_str("key_type")?).map_err(Error::Invalid)?;
    let id = account_id(&call.params)?;
    let key = s3::show_key(state, caller, id, which).await?;
    Ok(json!({
        "result": "OK", "action": "show_key", "s3uid": rules::s3uid(id),
        "key_type": which.name(), "key": key,
    }))
}

/// s3/get_users (`location`, optional): the caller's S3 accounts.
async fn get_users(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let location = call
        .params
        .opt_str("location", 16)?
        .filter(|l| !l.is_empty());
    let users = s3::accounts(state, caller, location.as_deref()).await?;
    Ok(json!({
        "result": "OK", "action": "get_users",
        "users": users.iter().map(|a| shown_user(state, a)).collect::<Vec<_>>(),
    }))
}

/// s3/get_buckets (`account_id`/`s3uid`): the account's buckets and traffic.
async fn get_buckets(ctx: &Ctx) -> Result<Value> {
    let a = named_account(ctx).await?;
    let buckets = s3::buckets(&ctx.state, &a).await?;
    Ok(json!({
        "result": "OK", "action": "get_buckets", "s3uid": rules::s3uid(a.id),
        "buckets": buckets.iter().map(shown_bucket).collect::<Vec<_>>(),
        "traffic": {"in": a.bytes_in, "out": a.bytes_out},
    }))
}

/// s3/get_buckets_rmq (`account_id`/`s3uid`): the buckets with the account's usage, quota
/// and access key (the secret key only through show_key).
async fn get_buckets_rmq(ctx: &Ctx) -> Result<Value> {
    let a = named_account(ctx).await?;
    let state = &ctx.state;
    let buckets = s3::buckets(state, &a).await?;
    Ok(json!({
        "result": "OK", "action": "get_buckets_rmq", "s3uid": rules::s3uid(a.id),
        "buckets": buckets.iter().map(shown_bucket).collect::<Vec<_>>(),
        "usage": {"used_bytes": a.used_bytes, "quota_bytes": s3::quota_bytes(state, &a),
                  "objects": a.objects},
        "traffic": {"in": a.bytes_in, "out": a.bytes_out},
        "access_key": a.access_key,
    }))
}

/// s3/create_bucket (`bucket`/`bucket_name`, `account_id`/`s3uid`): S3's naming rules.
async fn create_bucket(ctx: &Ctx) -> Result<Value> {
    let name = bucket_name(ctx.params())?;
    let a = named_account(ctx).await?;
    let b = s3::create_bucket(&ctx.state, &a, &name).await?;
    Ok(json!({
        "result": "OK", "action": "create_bucket", "s3uid": rules::s3uid(a.id),
        "bucket": shown_bucket(&b),
    }))
}

/// s3/delete_bucket (`bucket`/`bucket_name`, `account_id`/`s3uid`): an empty bucket.
async fn delete_bucket(ctx: &Ctx) -> Result<Value> {
    let name = bucket_name(ctx.params())?;
    let a = named_account(ctx).await?;
    let b = s3::delete_bucket(&ctx.state, &a, &name).await?;
    Ok(json!({
        "result": "OK", "action": "delete_bucket", "s3uid": rules::s3uid(a.id),
        "bucket": b.name,
    }))
}

/// Largest `limit` of get_files.
const MAX_LIMIT: i64 = 1000;

/// s3/get_files (`bucket`, `page` from 1, `limit` (50, at most 1000), `search`, `prefix`,
/// `account_id`/`s3uid`): the folders and files under a prefix, or every file whose name
/// contains `search`.
async fn get_files(ctx: &Ctx) -> Result<Value> {
    let p = ctx.params();
    let name = bucket_name(p)?;
    let page = p.opt_int("page")?.unwrap_or(1);
    let limit = p.opt_int("limit")?.unwrap_or(50);
    if page < 1 {
        return Err(Error::invalid(format!(
            "invalid page {page}, pages start at 1"
        )));
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::invalid(format!(
            "invalid limit {limit}, use 1 to {MAX_LIMIT}"
        )));
    }
    let search = p.opt_str("search", 1024)?;
    let prefix = p.opt_str("prefix", 1024)?.unwrap_or_default();
    let a = named_account(ctx).await?;
    let b = s3::bucket(&ctx.state, &a, &name).await?;
    let (entries, total) =
        s3::files(&ctx.state, &b, &prefix, search.as_deref(), page, limit).await?;
    let files: Vec<Value> = entries
        .iter()
        .map(|e| match e {
            Entry::Folder(key) => json!({
                "type": "folder", "name": leaf(key), "key": key,
            }),
            Entry::File(o) => json!({
                "type": "file", "name": leaf(&o.key), "key": o.key, "size": o.size,
                "modified": format_datetime(o.modified_at), "etag": o.etag,
                "content_type": o.content_type,
            }),
        })
        .collect();
    Ok(json!({
        "result": "OK", "action": "get_files", "s3uid": rules::s3uid(a.id), "bucket": b.name,
        "prefix": prefix, "files": files, "total": total, "page": page, "limit": limit,
    }))
}

/// The last part of a key (`a/b/c.txt` is `c.txt`, the folder `a/b/` is `b`).
fn leaf(key: &str) -> &str {
    key.trim_end_matches('/').rsplit('/').next().unwrap_or(key)
}

/// s3/delete_file (`bucket`, `file` or `key`, `account_id`/`s3uid`).
async fn delete_file(ctx: &Ctx) -> Result<Value> {
    let p = ctx.params();
    let name = bucket_name(p)?;
    // Object keys are taken as sent: leading or trailing spaces are part of a key.
    let key = ["file", "key", "file_name"]
        .iter()
        .find_map(|n| p.get(n).filter(|v| !v.is_empty()))
        .map(str::to_owned)
        .ok_or_else(|| Error::invalid("file is required"))?;
    s3::check_key(&key)?;
    let a = named_account(ctx).await?;
    let b = s3::bucket(&ctx.state, &a, &name).await?;
    s3::delete_object(&ctx.state, &b, &key)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "file '{}' not found",
                crate::domain::rules::shorten(&key)
            ))
        })?;
    Ok(json!({
        "result": "OK", "action": "delete_file", "s3uid": rules::s3uid(a.id), "bucket": b.name,
        "file": key,
    }))
}

/// s3/update_traffic_info (`account_id`/`s3uid`): the account's usage and traffic, read
/// afresh.
async fn update_traffic_info(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = account_id(&call.params)?;
    let a = s3::update_traffic(state, caller, id).await?;
    let mut v = shown_user(state, &a);
    v["result"] = json!("OK");
    v["action"] = json!("update_traffic_info");
    Ok(v)
}

/// s3/delete_account (`account_id`/`s3uid`): the account with all its buckets and files.
async fn delete_account(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = account_id(&call.params)?;
    let a = s3::delete_account(state, caller, id).await?;
    Ok(json!({"result": "OK", "action": "delete_account", "s3uid": rules::s3uid(a.id)}))
}

/// s3/delete_payment_account (`account_id`/`s3uid`): a paid account's service ends with
/// its billing period.
async fn delete_payment_account(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = account_id(&call.params)?;
    let at = s3::request_cancellation(state, caller, id).await?;
    Ok(json!({
        "result": "OK", "action": "delete_payment_account", "s3uid": rules::s3uid(id),
        "cancel_date": format_datetime(at),
    }))
}

/// s3/cancel_payment_account_deletion (`account_id`/`s3uid`): the service goes on.
async fn cancel_payment_account_deletion(ctx: &Ctx) -> Result<Value> {
    let (state, call, caller) = ctx.parts()?;
    let id = account_id(&call.params)?;
    s3::withdraw_cancellation(state, caller, id).await?;
    Ok(json!({
        "result": "OK", "action": "cancel_payment_account_deletion", "s3uid": rules::s3uid(id),
    }))
}
