//! S3 storage (issue 13 item 4): ordering accounts through the billing ledger, their keys,
//! buckets and objects. Both faces use these: `s3.php` (a customer's session names an S3
//! account it owns) and the S3 endpoint (`src/s3/`, whose SigV4 access key names one).
//!
//! Secret keys. SigV4 verification needs the secret itself (the server recomputes the
//! signature), so a digest cannot stand in for it as it does for API keys. The emulator
//! stores no secret at all: an account's secret is derived, `HMAC-SHA256(master key,
//! access key)`, from a 32-byte master key kept outside the database (`<db>.s3/master.key`,
//! mode 0600; random per process with `--db :memory:`). A copy of the database alone
//! reveals no secret key, show_key and the endpoint compute it when asked, and it is never
//! logged.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::sessions::Principal;
use crate::domain::rules::shorten;
use crate::domain::s3::{self as rules, KeyType, Plan};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::s3::{Bucket, Object, S3Account};
use crate::store::{self, s3_blobs::Blobs};

/// Largest object one PUT may store: the body is held in memory while it is written.
pub const MAX_OBJECT_BYTES: usize = 512 << 20;

/// A paid plan's billing period: the service ends at the end of the one in progress.
pub const PERIOD_SECS: i64 = 30 * 86_400;

/// S3 storage belongs to the whole account: a per-server key's session is refused.
fn account_wide(caller: &Principal) -> Result<()> {
    if caller.session.server_id > 0 {
        return Err(Error::denied(
            "permission denied, a per-server key cannot manage the account's S3 storage",
        ));
    }
    Ok(())
}

/// The plans sold in a location (all plans without one).
pub fn plans(location: Option<&str>) -> Result<Vec<&'static Plan>> {
    let location = location
        .map(rules::location)
        .transpose()
        .map_err(Error::Invalid)?;
    Ok(rules::PLANS
        .iter()
        .filter(|p| location.is_none_or(|l| p.sold_in(l)))
        .collect())
}

/// The storage quota of an account, in bytes: its plan's, capped by `--s3-quota-bytes`.
pub fn quota_bytes(state: &AppState, a: &S3Account) -> i64 {
    let plan = rules::plan(a.plan_id).map_or(0, Plan::quota_bytes);
    match state.config.s3_quota_bytes {
        Some(cap) => plan.min(i64::try_from(cap).unwrap_or(i64::MAX)),
        None => plan,
    }
}

/// The secret key of an access key (see the module's header).
pub fn secret_key(state: &AppState, access_key: &str) -> String {
    use base64::Engine;
    let mut mac = Hmac::<Sha256>::new_from_slice(state.s3_master.bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"hostkey-emu s3 secret\x1f");
    mac.update(access_key.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut s = base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest);
    s.truncate(40);
    s
}

/// A new access key: `HK` and 18 uppercase hex digits (20 characters, as AWS's).
fn new_access_key() -> String {
    format!("HK{}", crate::secrets::random_hex(9).to_ascii_uppercase())
}

/// What an order created.
#[derive(Debug, Clone)]
pub struct Ordered {
    pub account: S3Account,
    pub bucket: String,
    pub invoice_id: i64,
    pub paid: bool,
}

/// Orders S3 storage: checks the plan, location and bucket name, writes the invoice to the
/// billing ledger (paid from the credit balance when it covers it), creates the S3
/// account with its access key and the first bucket, all in one transaction.
/// `free_only` is `create_account` (the free plan, one per customer); `create_order`
/// takes any plan, a free one included.
pub async fn order(
    state: &AppState,
    caller: &Principal,
    plan_id: i64,
    location: &str,
    bucket: &str,
    free_only: bool,
) -> Result<Ordered> {
    account_wide(caller)?;
    let plan = rules::plan(plan_id)
        .ok_or_else(|| Error::not_found(format!("plan {plan_id} not found, see list_plans")))?;
    let location = rules::location(location).map_err(Error::Invalid)?;
    if !plan.sold_in(location) {
        return Err(Error::invalid(format!(
            "plan {plan_id} is not sold in {location}"
        )));
    }
    if free_only && !plan.is_free() {
        return Err(Error::invalid(format!(
            "plan {plan_id} is not free, order it with create_order"
        )));
    }
    rules::check_bucket_name(bucket).map_err(Error::Invalid)?;
    let now = state.clock.now();
    let mut tx = store::begin_write(&state.db).await?;
    if plan.is_free() && store::s3::count_plans(&mut *tx, caller.account.id, plan.id).await? > 0 {
        return Err(Error::Conflict(
            "the account already has a free S3 account".into(),
        ));
    }
    let access_key = new_access_key();
    let id = store::s3::insert_account(
        &mut *tx,
        caller.account.id,
        plan.id,
        location,
        &access_key,
        now,
    )
    .await?;
    if store::s3::insert_bucket(&mut *tx, id, bucket, now)
        .await?
        .is_none()
    {
        return Err(taken(bucket));
    }
    let line = (
        "S3".to_owned(),
        id,
        format!("{} ({location}), {}", plan.name, rules::s3uid(id)),
        plan.price_cents,
    );
    let (invoice_id, paid) =
        store::billing::create(&mut tx, caller.account.id, &[line], now).await?;
    store::s3::set_invoice(&mut *tx, id, invoice_id).await?;
    let account = store::s3::account(&mut *tx, caller.account.id, id)
        .await?
        .ok_or_else(|| Error::internal("the new S3 account is gone"))?;
    tx.commit().await?;
    Ok(Ordered {
        account,
        bucket: bucket.to_owned(),
        invoice_id,
        paid,
    })
}

fn taken(bucket: &str) -> Error {
    Error::Conflict(format!(
        "bucket name '{}' is already taken, choose another",
        shorten(bucket)
    ))
}

/// The caller's S3 accounts (in one location, or all).
pub async fn accounts(
    state: &AppState,
    caller: &Principal,
    location: Option<&str>,
) -> Result<Vec<S3Account>> {
    account_wide(caller)?;
    let location = location
        .map(rules::location)
        .transpose()
        .map_err(Error::Invalid)?;
    Ok(store::s3::accounts_of(&state.db, caller.account.id, location).await?)
}

/// One of the caller's S3 accounts, by id.
pub async fn owned(state: &AppState, caller: &Principal, id: i64) -> Result<S3Account> {
    account_wide(caller)?;
    store::s3::account(&state.db, caller.account.id, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("s3 account {} not found", rules::s3uid(id))))
}

/// Why the S3 endpoint refuses an account's requests, if it does: an order waiting for its
/// payment, or a service that has ended.
pub fn refusal(state: &AppState, a: &S3Account) -> Option<&'static str> {
    if a.invoice_status != "Paid" {
        return Some("the S3 account's order is not paid yet");
    }
    if a.cancel_at.is_some_and(|t| t <= state.clock.now()) {
        return Some("the S3 account's service has ended");
    }
    None
}

/// The S3 account of an access key (the endpoint's credentials).
pub async fn by_access_key(state: &AppState, access_key: &str) -> Result<Option<S3Account>> {
    Ok(store::s3::by_access_key(&state.db, access_key).await?)
}

/// One of the account's keys, in clear (show_key).
pub async fn show_key(
    state: &AppState,
    caller: &Principal,
    id: i64,
    which: KeyType,
) -> Result<String> {
    let a = owned(state, caller, id).await?;
    Ok(match which {
        KeyType::Access => a.access_key,
        KeyType::Secret => secret_key(state, &a.access_key),
    })
}

/// The account's buckets with their usage.
pub async fn buckets(state: &AppState, a: &S3Account) -> Result<Vec<Bucket>> {
    Ok(store::s3::buckets(&state.db, a.id).await?)
}

/// The account's bucket by name.
pub async fn bucket(state: &AppState, a: &S3Account, name: &str) -> Result<Bucket> {
    store::s3::bucket(&state.db, name)
        .await?
        .filter(|b| b.s3_account_id == a.id)
        .ok_or_else(|| Error::not_found(format!("bucket '{}' not found", shorten(name))))
}

/// A bucket by name, whoever owns it (the endpoint tells "taken" from "yours").
pub async fn any_bucket(state: &AppState, name: &str) -> Result<Option<Bucket>> {
    Ok(store::s3::bucket(&state.db, name).await?)
}

/// Creates a bucket (S3's naming rules; names are unique across the endpoint; at most
/// [`rules::MAX_BUCKETS`] per account).
pub async fn create_bucket(state: &AppState, a: &S3Account, name: &str) -> Result<Bucket> {
    rules::check_bucket_name(name).map_err(Error::Invalid)?;
    let mut tx = store::begin_write(&state.db).await?;
    if store::s3::buckets(&mut *tx, a.id).await?.len() as i64 >= rules::MAX_BUCKETS {
        return Err(Error::Denied(format!(
            "an S3 account holds at most {} buckets",
            rules::MAX_BUCKETS
        )));
    }
    if store::s3::insert_bucket(&mut *tx, a.id, name, state.clock.now())
        .await?
        .is_none()
    {
        return Err(taken(name));
    }
    let b = store::s3::bucket(&mut *tx, name)
        .await?
        .ok_or_else(|| Error::internal("the new bucket is gone"))?;
    tx.commit().await?;
    Ok(b)
}

/// Deletes an empty bucket of the account (as S3 does, a bucket with objects is kept).
pub async fn delete_bucket(state: &AppState, a: &S3Account, name: &str) -> Result<Bucket> {
    let b = bucket(state, a, name).await?;
    let mut tx = store::begin_write(&state.db).await?;
    let Some(parts) = store::s3::delete_empty_bucket(&mut tx, b.id).await? else {
        return Err(Error::Conflict(format!(
            "bucket '{}' is not empty, delete its files first",
            shorten(name)
        )));
    };
    tx.commit().await?;
    state.s3_blobs.remove(&parts).await;
    Ok(b)
}

/// Checks an object key: 1 to 1024 bytes of UTF-8 without control characters.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > rules::MAX_KEY_BYTES || key.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "invalid file name '{}': use 1 to {} bytes without control characters",
            shorten(key),
            rules::MAX_KEY_BYTES
        )));
    }
    Ok(())
}

/// Stores an object (replacing one with the same key) unless it would take the account
/// past its quota (`Error::Denied`, which the endpoint answers as S3's `QuotaExceeded`).
/// The upload counts as incoming traffic.
pub async fn put_object(
    state: &AppState,
    a: &S3Account,
    b: &Bucket,
    key: &str,
    bytes: Bytes,
    content_type: &str,
) -> Result<Object> {
    use md5::{Digest, Md5};
    check_key(key)?;
    let etag = hex::encode(Md5::digest(&bytes));
    store_object(state, a, b, key, bytes, content_type, etag, Via::Put).await
}

/// How an object's bytes arrived: only a PUT's count as incoming traffic here (a
/// multipart upload's parts were counted as they came, a copy moves nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Put,
    Copy,
    /// The multipart upload (row id) this completes.
    Complete(i64),
}

/// The quota refusal.
fn over_quota(used: i64, quota: i64, size: i64) -> Error {
    Error::Denied(format!(
        "quota exceeded: {used} bytes stored of {quota}, this file needs {size}"
    ))
}

/// Writes an object's bytes, then (quota permitting) its row, in one transaction with
/// the end of the multipart upload it completes, if it does; removes the blobs that no
/// row names any more.
#[allow(clippy::too_many_arguments)]
async fn store_object(
    state: &AppState,
    a: &S3Account,
    b: &Bucket,
    key: &str,
    bytes: Bytes,
    content_type: &str,
    etag: String,
    via: Via,
) -> Result<Object> {
    let size = bytes.len() as i64;
    let quota = quota_bytes(state, a);
    let o = Object {
        id: 0,
        bucket_id: b.id,
        key: key.to_owned(),
        size,
        etag,
        content_type: content_type.to_owned(),
        blob: Blobs::new_name(),
        modified_at: state.clock.now(),
    };
    // The bytes first, then the row that names them (see `store::s3_blobs`).
    state
        .s3_blobs
        .put(&o.blob, bytes)
        .await
        .map_err(|e| Error::internal(format!("s3 blob write: {e}")))?;
    let stored = async {
        let mut tx = store::begin_write(&state.db).await?;
        let used = store::s3::used_except(&mut *tx, a.id, b.id, key).await?;
        if used + size > quota {
            return Err(over_quota(used, quota, size));
        }
        let mut gone: Vec<String> = store::s3::upsert_object(&mut tx, &o)
            .await?
            .into_iter()
            .collect();
        match via {
            Via::Complete(upload) => gone.extend(store::s3::delete_upload(&mut tx, upload).await?),
            Via::Put => store::s3::add_traffic(&mut *tx, a.id, size, 0).await?,
            Via::Copy => {}
        }
        tx.commit().await?;
        Ok(gone)
    }
    .await;
    match stored {
        Ok(gone) => {
            state.s3_blobs.remove(&gone).await;
            Ok(o)
        }
        Err(e) => {
            state.s3_blobs.remove(std::slice::from_ref(&o.blob)).await;
            Err(e)
        }
    }
}

/// Copies an object of the account to a key of one of its buckets (the copy's content
/// type is the source's unless `content_type` replaces it), within the quota.
pub async fn copy_object(
    state: &AppState,
    a: &S3Account,
    from: (&Bucket, &Object),
    to: (&Bucket, &str),
    content_type: Option<&str>,
) -> Result<Object> {
    check_key(to.1)?;
    let (source_bucket, source) = from;
    let bytes = state
        .s3_blobs
        .get(&source.blob)
        .await
        .map_err(|e| Error::internal(format!("s3 blob read: {e}")))?
        .ok_or_else(|| {
            Error::not_found(format!(
                "file '{}' not found in {}",
                shorten(&source.key),
                source_bucket.name
            ))
        })?;
    store_object(
        state,
        a,
        to.0,
        to.1,
        bytes,
        content_type.unwrap_or(&source.content_type),
        source.etag.clone(),
        Via::Copy,
    )
    .await
}

/// Starts a multipart upload; returns its UploadId.
pub async fn create_upload(
    state: &AppState,
    b: &Bucket,
    key: &str,
    content_type: &str,
) -> Result<String> {
    check_key(key)?;
    let u = store::s3::Upload {
        id: 0,
        upload_id: crate::secrets::random_hex(16),
        bucket_id: b.id,
        key: key.to_owned(),
        content_type: content_type.to_owned(),
        created_at: state.clock.now(),
    };
    let mut tx = store::begin_write(&state.db).await?;
    store::s3::insert_upload(&mut *tx, &u).await?;
    tx.commit().await?;
    Ok(u.upload_id)
}

/// The upload in progress, or `NotFound` (S3's `NoSuchUpload`).
async fn upload(
    state: &AppState,
    b: &Bucket,
    upload_id: &str,
    key: &str,
) -> Result<store::s3::Upload> {
    store::s3::upload(&state.db, b.id, upload_id, key)
        .await?
        .ok_or_else(|| Error::not_found("the upload does not exist or has ended".to_owned()))
}

/// Stores a part (1 to 10000) of an upload, unless the parts so far would take the account
/// past its quota; counts it as incoming traffic; returns its ETag (MD5, hex).
pub async fn upload_part(
    state: &AppState,
    a: &S3Account,
    b: &Bucket,
    upload_id: &str,
    key: &str,
    part_number: i64,
    bytes: Bytes,
) -> Result<String> {
    use md5::{Digest, Md5};
    if !(1..=10_000).contains(&part_number) {
        return Err(Error::invalid(format!(
            "part number {part_number} is not between 1 and 10000"
        )));
    }
    let u = upload(state, b, upload_id, key).await?;
    let part = store::s3::Part {
        part_number,
        size: bytes.len() as i64,
        etag: hex::encode(Md5::digest(&bytes)),
        blob: Blobs::new_name(),
    };
    state
        .s3_blobs
        .put(&part.blob, bytes)
        .await
        .map_err(|e| Error::internal(format!("s3 blob write: {e}")))?;
    let stored = async {
        let mut tx = store::begin_write(&state.db).await?;
        let used = store::s3::used_except(&mut *tx, a.id, b.id, key).await?;
        let others: i64 = store::s3::parts(&mut *tx, u.id)
            .await?
            .iter()
            .filter(|p| p.part_number != part_number)
            .map(|p| p.size)
            .sum();
        let quota = quota_bytes(state, a);
        if used + others + part.size > quota {
            return Err(over_quota(used, quota, others + part.size));
        }
        let old = store::s3::upsert_part(&mut tx, u.id, &part).await?;
        store::s3::add_traffic(&mut *tx, a.id, part.size, 0).await?;
        tx.commit().await?;
        Ok(old)
    }
    .await;
    match stored {
        Ok(old) => {
            state
                .s3_blobs
                .remove(&old.into_iter().collect::<Vec<_>>())
                .await;
            Ok(part.etag)
        }
        Err(e) => {
            state
                .s3_blobs
                .remove(std::slice::from_ref(&part.blob))
                .await;
            Err(e)
        }
    }
}

/// Completes an upload from the listed parts (ascending numbers, each with the ETag its
/// upload answered) into one object, whose ETag is S3's multipart form
/// (`md5(part md5s)-N`). A part that is missing or has another ETag is `Invalid`.
pub async fn complete_upload(
    state: &AppState,
    a: &S3Account,
    b: &Bucket,
    upload_id: &str,
    key: &str,
    listed: &[(i64, String)],
) -> Result<Object> {
    use md5::{Digest, Md5};
    let u = upload(state, b, upload_id, key).await?;
    if listed.is_empty() {
        return Err(Error::invalid("the upload lists no parts".to_owned()));
    }
    if listed.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(Error::invalid(
            "the list of parts was not in ascending order".to_owned(),
        ));
    }
    let stored = store::s3::parts(&state.db, u.id).await?;
    let mut body = bytes::BytesMut::new();
    let mut md5s = Vec::new();
    for (n, etag) in listed {
        let p = stored
            .iter()
            .find(|p| p.part_number == *n && p.etag == etag.trim_matches('"'))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "part {n} was not uploaded or its ETag does not match"
                ))
            })?;
        if body.len() as i64 + p.size > MAX_OBJECT_BYTES as i64 {
            return Err(Error::invalid(format!(
                "the object would exceed {MAX_OBJECT_BYTES} bytes"
            )));
        }
        let bytes = state
            .s3_blobs
            .get(&p.blob)
            .await
            .map_err(|e| Error::internal(format!("s3 blob read: {e}")))?
            .ok_or_else(|| Error::internal("a part's blob is missing"))?;
        body.extend_from_slice(&bytes);
        md5s.extend(hex::decode(&p.etag).unwrap_or_default());
    }
    let etag = format!("{}-{}", hex::encode(Md5::digest(&md5s)), listed.len());
    store_object(
        state,
        a,
        b,
        key,
        body.freeze(),
        &u.content_type,
        etag,
        Via::Complete(u.id),
    )
    .await
}

/// Aborts an upload, removing its parts.
pub async fn abort_upload(state: &AppState, b: &Bucket, upload_id: &str, key: &str) -> Result<()> {
    let u = upload(state, b, upload_id, key).await?;
    let mut tx = store::begin_write(&state.db).await?;
    let blobs = store::s3::delete_upload(&mut tx, u.id).await?;
    tx.commit().await?;
    state.s3_blobs.remove(&blobs).await;
    Ok(())
}

/// An object's metadata.
pub async fn object(state: &AppState, b: &Bucket, key: &str) -> Result<Object> {
    store::s3::object(&state.db, b.id, key)
        .await?
        .ok_or_else(|| Error::not_found(format!("file '{}' not found", shorten(key))))
}

/// An object's bytes (those of `range` only, when given: a range [`std::ops::Range`] the
/// caller checked against the size); the download counts as outgoing traffic.
pub async fn read_object(
    state: &AppState,
    a: &S3Account,
    o: &Object,
    range: Option<std::ops::Range<u64>>,
) -> Result<Bytes> {
    let whole = state
        .s3_blobs
        .get(&o.blob)
        .await
        .map_err(|e| Error::internal(format!("s3 blob read: {e}")))?
        .ok_or_else(|| Error::not_found(format!("file '{}' not found", shorten(&o.key))))?;
    let bytes = match range {
        Some(r) => {
            let (start, end) = (
                usize::try_from(r.start).unwrap_or(usize::MAX),
                usize::try_from(r.end).unwrap_or(usize::MAX),
            );
            if start > end || end > whole.len() {
                return Err(Error::invalid("the range is outside the object".to_owned()));
            }
            whole.slice(start..end)
        }
        None => whole,
    };
    let mut tx = store::begin_write(&state.db).await?;
    store::s3::add_traffic(&mut *tx, a.id, 0, bytes.len() as i64).await?;
    tx.commit().await?;
    Ok(bytes)
}

/// Deletes an object; `None` when there was none.
pub async fn delete_object(state: &AppState, b: &Bucket, key: &str) -> Result<Option<Object>> {
    let mut tx = store::begin_write(&state.db).await?;
    let gone = store::s3::delete_object(&mut *tx, b.id, key).await?;
    tx.commit().await?;
    if let Some(o) = &gone {
        state.s3_blobs.remove(std::slice::from_ref(&o.blob)).await;
    }
    Ok(gone)
}

/// Objects under a prefix after a key, in key order, at most `limit`.
pub async fn objects_after(
    state: &AppState,
    b: &Bucket,
    prefix: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<Object>> {
    Ok(store::s3::objects_after(&state.db, b.id, prefix, after, limit).await?)
}

/// One entry of `get_files`: a folder (a common prefix) or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Folder(String),
    File(Object),
}

/// A page of `get_files`: with `search`, every file whose key contains it; otherwise the
/// folders and files directly under `prefix` (keys are split at `/`, as S3 consoles show
/// them). Returns the page and the number of entries on all pages.
pub async fn files(
    state: &AppState,
    b: &Bucket,
    prefix: &str,
    search: Option<&str>,
    page: i64,
    limit: i64,
) -> Result<(Vec<Entry>, i64)> {
    let entries: Vec<Entry> = match search {
        Some(s) if !s.is_empty() => store::s3::objects_matching(&state.db, b.id, s)
            .await?
            .into_iter()
            .map(Entry::File)
            .collect(),
        _ => {
            let all = store::s3::objects_after(&state.db, b.id, prefix, "", i64::MAX).await?;
            let mut out: Vec<Entry> = Vec::new();
            for o in all {
                let rest = &o.key[prefix.len()..];
                match rest.find('/') {
                    Some(i) => {
                        let folder = format!("{prefix}{}", &rest[..=i]);
                        if !matches!(out.last(), Some(Entry::Folder(f)) if *f == folder) {
                            out.push(Entry::Folder(folder));
                        }
                    }
                    None => out.push(Entry::File(o)),
                }
            }
            out
        }
    };
    let total = entries.len() as i64;
    let skip = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX);
    let page = entries
        .into_iter()
        .skip(skip)
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    Ok((page, total))
}

/// Deletes an S3 account with its buckets and objects.
pub async fn delete_account(state: &AppState, caller: &Principal, id: i64) -> Result<S3Account> {
    let a = owned(state, caller, id).await?;
    let mut tx = store::begin_write(&state.db).await?;
    let blobs = store::s3::delete_account(&mut tx, a.id).await?;
    tx.commit().await?;
    state.s3_blobs.remove(&blobs).await;
    Ok(a)
}

/// Asks for a paid account's service to end with the billing period in progress; returns
/// the moment it ends. The free plan has no period: it is deleted with delete_account.
pub async fn request_cancellation(state: &AppState, caller: &Principal, id: i64) -> Result<i64> {
    let a = owned(state, caller, id).await?;
    if rules::plan(a.plan_id).is_none_or(Plan::is_free) {
        return Err(Error::invalid(format!(
            "{} is on the free plan, delete it with delete_account",
            rules::s3uid(a.id)
        )));
    }
    if let Some(at) = a.cancel_at {
        return Err(Error::Conflict(format!(
            "{} is already set to end at {}",
            rules::s3uid(a.id),
            crate::clock::format_datetime(at)
        )));
    }
    let now = state.clock.now();
    let periods = (now - a.created_at).div_euclid(PERIOD_SECS) + 1;
    let at = a.created_at + periods * PERIOD_SECS;
    let mut tx = store::begin_write(&state.db).await?;
    store::s3::set_cancel_at(&mut *tx, a.id, Some(at)).await?;
    tx.commit().await?;
    Ok(at)
}

/// Withdraws a requested cancellation while the service still runs.
pub async fn withdraw_cancellation(state: &AppState, caller: &Principal, id: i64) -> Result<()> {
    let a = owned(state, caller, id).await?;
    match a.cancel_at {
        None => Err(Error::Conflict(format!(
            "{} has no deletion scheduled",
            rules::s3uid(a.id)
        ))),
        Some(at) if at <= state.clock.now() => Err(Error::Conflict(format!(
            "{} has already ended",
            rules::s3uid(a.id)
        ))),
        Some(_) => {
            let mut tx = store::begin_write(&state.db).await?;
            store::s3::set_cancel_at(&mut *tx, a.id, None).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

/// Reads the account's usage and traffic afresh (update_traffic_info) and notes when.
pub async fn update_traffic(state: &AppState, caller: &Principal, id: i64) -> Result<S3Account> {
    let a = owned(state, caller, id).await?;
    let mut tx = store::begin_write(&state.db).await?;
    store::s3::set_traffic_at(&mut *tx, a.id, state.clock.now()).await?;
    let a = store::s3::account(&mut *tx, caller.account.id, a.id)
        .await?
        .ok_or_else(|| Error::internal("the S3 account is gone"))?;
    tx.commit().await?;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{principal_of_key, state, DEMO_KEY, DEMO_SERVER_KEY, OTHER_KEY};

    #[tokio::test]
    async fn an_order_writes_an_invoice_an_account_and_its_first_bucket() {
        let state = state().await;
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let o = order(&state, &demo, 1, "nl", "first-bucket", true)
            .await
            .expect("free");
        assert!(o.paid, "a free plan's invoice is paid at once");
        assert_eq!(o.account.invoice_id, Some(o.invoice_id));
        assert_eq!((o.account.location.as_str(), o.account.buckets), ("NL", 1));
        assert!(refusal(&state, &o.account).is_none());
        let e = order(&state, &demo, 1, "NL", "second-bucket", true)
            .await
            .expect_err("one free account");
        assert!(e.to_string().contains("already has a free"), "{e}");
        let e = order(&state, &demo, 2, "NL", "paid-bucket", true)
            .await
            .expect_err("not free");
        assert!(e.to_string().contains("create_order"), "{e}");
        let other = principal_of_key(&state, OTHER_KEY).await;
        let e = order(&state, &other, 1, "NL", "first-bucket", true)
            .await
            .expect_err("taken");
        assert!(e.to_string().contains("already taken"), "{e}");
        assert!(matches!(
            owned(&state, &other, o.account.id).await,
            Err(Error::NotFound(_))
        ));
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await;
        assert!(matches!(
            owned(&state, &scoped, o.account.id).await,
            Err(Error::Denied(_))
        ));
    }

    #[tokio::test]
    async fn secrets_are_derived_not_stored_and_differ_per_key() {
        let state = state().await;
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let o = order(&state, &demo, 1, "NL", "keys-bucket", true)
            .await
            .expect("order");
        let secret = show_key(&state, &demo, o.account.id, KeyType::Secret)
            .await
            .expect("secret");
        assert_eq!(secret.len(), 40);
        assert_eq!(secret, secret_key(&state, &o.account.access_key));
        assert_ne!(secret, secret_key(&state, "HK000000000000000000"));
        let stored = crate::store::test_support::table_text(&state.db, "s3_accounts").await;
        assert!(stored.contains(&o.account.access_key), "{stored}");
        assert!(!stored.contains(&secret));
    }

    #[tokio::test]
    async fn objects_respect_the_quota_and_cancellation_is_scheduled_and_withdrawn() {
        let mut config = crate::config::Config::for_tests();
        config.argon2_memory_kib = 64;
        config.s3_quota_bytes = Some(10);
        let state = AppState::new(config).await.expect("state");
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let o = order(&state, &demo, 2, "DE", "quota-bucket", false)
            .await
            .expect("order");
        let a = owned(&state, &demo, o.account.id).await.expect("owned");
        let b = bucket(&state, &a, "quota-bucket").await.expect("bucket");
        put_object(
            &state,
            &a,
            &b,
            "a/x.txt",
            Bytes::from_static(b"12345678"),
            "text/plain",
        )
        .await
        .expect("fits");
        let e = put_object(
            &state,
            &a,
            &b,
            "y.txt",
            Bytes::from_static(b"123"),
            "text/plain",
        )
        .await
        .expect_err("past the quota");
        assert!(
            matches!(e, Error::Denied(ref m) if m.contains("quota")),
            "{e}"
        );
        // Replacing an object counts its new size only.
        put_object(
            &state,
            &a,
            &b,
            "a/x.txt",
            Bytes::from_static(b"1234567890"),
            "text/plain",
        )
        .await
        .expect("replace");
        let (page, total) = files(&state, &b, "", None, 1, 10).await.expect("files");
        assert_eq!((page, total), (vec![Entry::Folder("a/".into())], 1));
        let (page, _) = files(&state, &b, "a/", None, 1, 10).await.expect("files");
        assert!(matches!(&page[..], [Entry::File(f)] if f.size == 10));
        let at = request_cancellation(&state, &demo, a.id)
            .await
            .expect("cancel");
        assert!(at > state.clock.now());
        withdraw_cancellation(&state, &demo, a.id)
            .await
            .expect("withdraw");
        assert!(withdraw_cancellation(&state, &demo, a.id).await.is_err());
        let e = delete_bucket(&state, &a, "quota-bucket")
            .await
            .expect_err("not empty");
        assert!(e.to_string().contains("not empty"), "{e}");
        assert!(delete_object(&state, &b, "a/x.txt")
            .await
            .expect("delete")
            .is_some());
        delete_bucket(&state, &a, "quota-bucket")
            .await
            .expect("empty");
        delete_account(&state, &demo, a.id).await.expect("delete");
        assert!(owned(&state, &demo, a.id).await.is_err());
    }

    #[tokio::test]
    async fn a_multipart_upload_counts_its_parts_against_the_quota_and_completes_once() {
        let mut config = crate::config::Config::for_tests();
        config.argon2_memory_kib = 64;
        config.s3_quota_bytes = Some(10);
        let state = AppState::new(config).await.expect("state");
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let o = order(&state, &demo, 1, "NL", "parts", true)
            .await
            .expect("order");
        let b = bucket(&state, &o.account, "parts").await.expect("bucket");
        let id = create_upload(&state, &b, "big.bin", "x/y")
            .await
            .expect("start");
        let a = &o.account;
        let one = upload_part(
            &state,
            a,
            &b,
            &id,
            "big.bin",
            1,
            Bytes::from_static(b"123456"),
        )
        .await
        .expect("part 1");
        let e = upload_part(
            &state,
            a,
            &b,
            &id,
            "big.bin",
            2,
            Bytes::from_static(b"123456"),
        )
        .await
        .expect_err("past the quota");
        assert!(matches!(e, Error::Denied(_)), "{e}");
        assert!(upload_part(&state, a, &b, &id, "big.bin", 0, Bytes::new())
            .await
            .is_err());
        let two = upload_part(
            &state,
            a,
            &b,
            &id,
            "big.bin",
            2,
            Bytes::from_static(b"7890"),
        )
        .await
        .expect("part 2");
        let e = complete_upload(
            &state,
            a,
            &b,
            &id,
            "big.bin",
            &[(2, two.clone()), (1, one.clone())],
        )
        .await
        .expect_err("order");
        assert!(e.to_string().contains("ascending"), "{e}");
        let done = complete_upload(&state, a, &b, &id, "big.bin", &[(1, one), (2, two)])
            .await
            .expect("complete");
        assert_eq!(done.size, 10);
        assert!(done.etag.ends_with("-2"), "{}", done.etag);
        let bytes = read_object(&state, a, &done, None).await.expect("read");
        assert_eq!(&bytes[..], b"1234567890");
        let part = read_object(&state, a, &done, Some(2..5))
            .await
            .expect("range");
        assert_eq!(&part[..], b"345");
        assert!(read_object(&state, a, &done, Some(5..11)).await.is_err());
        assert!(matches!(
            complete_upload(&state, a, &b, &id, "big.bin", &[(1, String::new())]).await,
            Err(Error::NotFound(_))
        ));
        let parts = crate::store::test_support::count(&state.db, "s3_upload_parts").await;
        assert_eq!(parts, 0, "a completed upload keeps no parts");
    }

    #[tokio::test]
    async fn a_copy_counts_against_the_quota_but_not_as_traffic() {
        let mut config = crate::config::Config::for_tests();
        config.argon2_memory_kib = 64;
        config.s3_quota_bytes = Some(10);
        let state = AppState::new(config).await.expect("state");
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let o = order(&state, &demo, 1, "NL", "copies", true)
            .await
            .expect("order");
        let a = &o.account;
        let b = bucket(&state, a, "copies").await.expect("bucket");
        let src = put_object(
            &state,
            a,
            &b,
            "a",
            Bytes::from_static(b"1234"),
            "text/plain",
        )
        .await
        .expect("put");
        let copy = copy_object(&state, a, (&b, &src), (&b, "b"), None)
            .await
            .expect("copy");
        assert_eq!(
            (copy.size, copy.etag.as_str(), copy.content_type.as_str()),
            (4, src.etag.as_str(), "text/plain")
        );
        let e = copy_object(&state, a, (&b, &src), (&b, "c"), Some("x/y"))
            .await
            .expect_err("past the quota");
        assert!(matches!(e, Error::Denied(_)), "{e}");
        let a = owned(&state, &demo, a.id).await.expect("owned");
        assert_eq!((a.used_bytes, a.bytes_in), (8, 4));
    }
}
