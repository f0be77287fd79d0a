//! The S3-compatible endpoint (issue 13 item 4): a face of its own on `--s3-listen`, so
//! that aws-cli, boto3 and other S3 clients (path-style, `--endpoint-url`) put, list, get
//! and delete the objects that `s3.php` shows. The `s3s` crate parses S3's REST routes,
//! verifies SigV4 signatures and writes S3's XML; this module answers the operations
//! through `ops::s3`, with the access key of `s3.php show_key` naming the S3 account.
//!
//! Served: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
//! PutObject, GetObject (ranges too), HeadObject, CopyObject, DeleteObject, DeleteObjects, ListObjects
//! (v1 and v2, with prefix, delimiter and paging), and multipart uploads (Create,
//! UploadPart, Complete, Abort), which aws-cli and boto3 use from 8 MB on. Other
//! operations answer S3's `NotImplemented` (501, S3's XML).

use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use s3s::auth::{S3Auth, SecretKey};
use s3s::dto::{self, Timestamp};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, S3};

use crate::error::Error;
use crate::ops::s3 as ops;
use crate::state::AppState;
use crate::store::s3::{Bucket, Object, S3Account};

/// The endpoint's router: every path goes to the S3 service.
pub fn router(state: AppState) -> Router {
    let mut builder = S3ServiceBuilder::new(Endpoint {
        state: state.clone(),
    });
    builder.set_auth(Keys { state });
    let service = Arc::new(builder.build());
    Router::new()
        .fallback(move |req: Request| {
            let service = service.clone();
            async move { call(&service, req).await }
        })
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send + 'static>| {
                tracing::error!("S3 endpoint panicked");
                internal_error()
            },
        ))
}

/// S3's answer to a failure of the emulator itself.
fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "application/xml")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code>\
         <Message>We encountered an internal error. Please try again.</Message></Error>",
    )
        .into_response()
}

async fn call(service: &S3Service, req: Request) -> Response {
    let req = req.map(s3s::Body::http_body_unsync);
    match service.call(req).await {
        Ok(r) => r.map(axum::body::Body::new),
        // s3s answers S3 errors itself; this is a failure to write that answer.
        Err(e) => {
            tracing::error!(error = ?e, "S3 endpoint failed to answer");
            internal_error()
        }
    }
}

/// Secret keys for SigV4: derived from the access key (see `ops::s3`).
struct Keys {
    state: AppState,
}

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match ops::by_access_key(&self.state, access_key).await {
            Ok(Some(a)) => Ok(SecretKey::from(ops::secret_key(&self.state, &a.access_key))),
            Ok(None) => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
            Err(e) => Err(internal(e)),
        }
    }
}

struct Endpoint {
    state: AppState,
}

fn internal(e: Error) -> S3Error {
    tracing::error!(error = %e, "S3 endpoint");
    s3_error!(
        InternalError,
        "We encountered an internal error. Please try again."
    )
}

/// An `ops` refusal in S3's words: `not_found` names what was missing.
fn refused(e: Error, not_found: S3ErrorCode) -> S3Error {
    match e {
        Error::NotFound(m) => S3Error::with_message(not_found, m),
        Error::Invalid(m) => S3Error::with_message(S3ErrorCode::InvalidArgument, m),
        Error::Denied(m) => S3Error::with_message(S3ErrorCode::AccessDenied, m),
        Error::Conflict(m) => S3Error::with_message(S3ErrorCode::OperationAborted, m),
        e => internal(e),
    }
}

fn timestamp(secs: i64) -> Timestamp {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0).unsigned_abs());
    Timestamp::from(t)
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

impl Endpoint {
    /// The S3 account of the request's (verified) access key.
    async fn account<T>(&self, req: &S3Request<T>) -> S3Result<S3Account> {
        let Some(c) = &req.credentials else {
            return Err(s3_error!(
                AccessDenied,
                "Anonymous access is not allowed: sign requests with the keys of s3.php show_key"
            ));
        };
        let a = ops::by_access_key(&self.state, &c.access_key)
            .await
            .map_err(internal)?
            .ok_or_else(|| s3_error!(InvalidAccessKeyId))?;
        if let Some(why) = ops::refusal(&self.state, &a) {
            return Err(S3Error::with_message(S3ErrorCode::AccessDenied, why));
        }
        Ok(a)
    }

    /// The account's bucket: another account's is `AccessDenied`, none `NoSuchBucket`.
    async fn bucket(&self, a: &S3Account, name: &str) -> S3Result<Bucket> {
        match ops::any_bucket(&self.state, name).await.map_err(internal)? {
            Some(b) if b.s3_account_id == a.id => Ok(b),
            Some(_) => Err(s3_error!(AccessDenied, "Access Denied")),
            None => Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            )),
        }
    }

    async fn object(&self, b: &Bucket, key: &str) -> S3Result<Object> {
        ops::object(&self.state, b, key)
            .await
            .map_err(|e| refused(e, S3ErrorCode::NoSuchKey))
    }
}

/// One page of a listing: objects and common prefixes in key order, and where the next
/// page starts (`None`: this is the last).
struct Listing {
    objects: Vec<Object>,
    prefixes: Vec<String>,
    next: Option<String>,
}

/// Lists a bucket from a position: `k<key>` (after that key) or `p<prefix>` (after every
/// key under that common prefix); continuation tokens are these, hex-encoded.
async fn list(
    state: &AppState,
    b: &Bucket,
    prefix: &str,
    delimiter: Option<&str>,
    from: &str,
    max_keys: usize,
) -> S3Result<Listing> {
    let (mut after, mut skip) = match from.split_at_checked(1) {
        Some(("p", p)) => (p.to_owned(), Some(p.to_owned())),
        Some(("k", k)) => (k.to_owned(), None),
        _ => (String::new(), None),
    };
    let delimiter = delimiter.filter(|d| !d.is_empty());
    let mut out = Listing {
        objects: Vec::new(),
        prefixes: Vec::new(),
        next: None,
    };
    let mut position = String::new();
    loop {
        let batch = ops::objects_after(state, b, prefix, &after, 1000)
            .await
            .map_err(internal)?;
        let Some(last) = batch.last() else {
            return Ok(out);
        };
        after = last.key.clone();
        for o in batch {
            if skip.as_deref().is_some_and(|s| o.key.starts_with(s)) {
                continue;
            }
            let common = delimiter.and_then(|d| {
                o.key[prefix.len()..]
                    .find(d)
                    .map(|i| o.key[..prefix.len() + i + d.len()].to_owned())
            });
            if out.objects.len() + out.prefixes.len() == max_keys {
                out.next = Some(position);
                return Ok(out);
            }
            match common {
                Some(cp) => {
                    position = format!("p{cp}");
                    skip = Some(cp.clone());
                    out.prefixes.push(cp);
                }
                None => {
                    position = format!("k{}", o.key);
                    out.objects.push(o);
                }
            }
        }
    }
}

fn listed(o: &Object) -> dto::Object {
    dto::Object {
        key: Some(o.key.clone()),
        size: Some(o.size),
        e_tag: Some(quoted(&o.etag)),
        last_modified: Some(timestamp(o.modified_at)),
        storage_class: Some(dto::ObjectStorageClass::from_static(
            dto::ObjectStorageClass::STANDARD,
        )),
        ..Default::default()
    }
}

/// A listing's page size: 1000 at most, as S3 lists; a negative one is refused.
fn max_keys(requested: Option<i32>) -> S3Result<usize> {
    match requested {
        Some(n) if n < 0 => Err(s3_error!(
            InvalidArgument,
            "Argument maxKeys must be an integer between 0 and 2147483647"
        )),
        n => Ok(usize::try_from(n.unwrap_or(1000).min(1000)).unwrap_or(1000)),
    }
}

#[async_trait::async_trait]
impl S3 for Endpoint {
    async fn list_buckets(
        &self,
        req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        let a = self.account(&req).await?;
        let buckets = ops::buckets(&self.state, &a).await.map_err(internal)?;
        Ok(S3Response::new(dto::ListBucketsOutput {
            buckets: Some(
                buckets
                    .iter()
                    .map(|b| dto::Bucket {
                        name: Some(b.name.clone()),
                        creation_date: Some(timestamp(b.created_at)),
                        ..Default::default()
                    })
                    .collect(),
            ),
            owner: Some(dto::Owner {
                id: Some(crate::domain::s3::s3uid(a.id)),
                display_name: Some(crate::domain::s3::s3uid(a.id)),
            }),
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<dto::CreateBucketInput>,
    ) -> S3Result<S3Response<dto::CreateBucketOutput>> {
        let a = self.account(&req).await?;
        let name = &req.input.bucket;
        match ops::any_bucket(&self.state, name).await.map_err(internal)? {
            Some(b) if b.s3_account_id == a.id => return Err(s3_error!(BucketAlreadyOwnedByYou)),
            Some(_) => return Err(s3_error!(BucketAlreadyExists)),
            None => {}
        }
        match ops::create_bucket(&self.state, &a, name).await {
            Ok(_) => Ok(S3Response::new(dto::CreateBucketOutput {
                location: Some(format!("/{name}")),
            })),
            Err(Error::Invalid(m)) => Err(S3Error::with_message(S3ErrorCode::InvalidBucketName, m)),
            Err(Error::Conflict(_)) => Err(s3_error!(BucketAlreadyExists)),
            Err(Error::Denied(m)) => Err(S3Error::with_message(S3ErrorCode::TooManyBuckets, m)),
            Err(e) => Err(internal(e)),
        }
    }

    async fn delete_bucket(
        &self,
        req: S3Request<dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
        let a = self.account(&req).await?;
        self.bucket(&a, &req.input.bucket).await?;
        match ops::delete_bucket(&self.state, &a, &req.input.bucket).await {
            Ok(_) => Ok(S3Response::new(dto::DeleteBucketOutput {})),
            Err(Error::Conflict(_)) => Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            )),
            Err(e) => Err(refused(e, S3ErrorCode::NoSuchBucket)),
        }
    }

    async fn head_bucket(
        &self,
        req: S3Request<dto::HeadBucketInput>,
    ) -> S3Result<S3Response<dto::HeadBucketOutput>> {
        let a = self.account(&req).await?;
        self.bucket(&a, &req.input.bucket).await?;
        Ok(S3Response::new(dto::HeadBucketOutput::default()))
    }

    async fn copy_object(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        let a = self.account(&req).await?;
        let input = &req.input;
        let dto::CopySource::Bucket {
            bucket: source_bucket,
            key: source_key,
            ..
        } = &input.copy_source
        else {
            return Err(s3_error!(
                NotImplemented,
                "Copying from an access point is not served"
            ));
        };
        let from = self.bucket(&a, source_bucket).await?;
        let source = self.object(&from, source_key).await?;
        let to = self.bucket(&a, &input.bucket).await?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == dto::MetadataDirective::REPLACE);
        let content_type = input
            .content_type
            .as_ref()
            .filter(|_| replace)
            .map(ToString::to_string);
        match ops::copy_object(
            &self.state,
            &a,
            (&from, &source),
            (&to, &input.key),
            content_type.as_deref(),
        )
        .await
        {
            Ok(o) => Ok(S3Response::new(dto::CopyObjectOutput {
                copy_object_result: Some(dto::CopyObjectResult {
                    e_tag: Some(quoted(&o.etag)),
                    last_modified: Some(timestamp(o.modified_at)),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            Err(Error::Denied(m)) => Err(quota_exceeded(m)),
            Err(Error::Invalid(m)) => Err(S3Error::with_message(S3ErrorCode::KeyTooLongError, m)),
            Err(e) => Err(refused(e, S3ErrorCode::NoSuchKey)),
        }
    }

    /// The bucket's region: none (us-east-1), as the endpoint takes any region name.
    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        let a = self.account(&req).await?;
        self.bucket(&a, &req.input.bucket).await?;
        Ok(S3Response::new(dto::GetBucketLocationOutput::default()))
    }

    async fn put_object(
        &self,
        req: S3Request<dto::PutObjectInput>,
    ) -> S3Result<S3Response<dto::PutObjectOutput>> {
        let a = self.account(&req).await?;
        let b = self.bucket(&a, &req.input.bucket).await?;
        let limit = ops::MAX_OBJECT_BYTES
            .min(usize::try_from(ops::quota_bytes(&self.state, &a)).unwrap_or(usize::MAX) + 1);
        if req
            .input
            .content_length
            .is_some_and(|n| usize::try_from(n).map_or(true, |n| n >= limit))
        {
            return Err(too_large(&self.state, &a));
        }
        let body = read_body(&self.state, &a, req.input.body, limit).await?;
        let content_type = req
            .input
            .content_type
            .as_ref()
            .map_or_else(|| "binary/octet-stream".to_owned(), ToString::to_string);
        match ops::put_object(&self.state, &a, &b, &req.input.key, body, &content_type).await {
            Ok(o) => Ok(S3Response::new(dto::PutObjectOutput {
                e_tag: Some(quoted(&o.etag)),
                size: Some(o.size),
                ..Default::default()
            })),
            Err(Error::Denied(m)) => Err(quota_exceeded(m)),
            Err(Error::Invalid(m)) => Err(S3Error::with_message(S3ErrorCode::KeyTooLongError, m)),
            Err(e) => Err(refused(e, S3ErrorCode::NoSuchBucket)),
        }
    }

    async fn get_object(
        &self,
        req: S3Request<dto::GetObjectInput>,
    ) -> S3Result<S3Response<dto::GetObjectOutput>> {
        let a = self.account(&req).await?;
        let b = self.bucket(&a, &req.input.bucket).await?;
        let o = self.object(&b, &req.input.key).await?;
        // A ranged GET (what aws-cli and boto3 download large objects with) answers 206
        // with the bytes asked for.
        let range =
            match &req.input.range {
                Some(r) => Some(r.check(o.size.unsigned_abs()).map_err(|_| {
                    s3_error!(InvalidRange, "The requested range is not satisfiable")
                })?),
                None => None,
            };
        let bytes = ops::read_object(&self.state, &a, &o, range.clone())
            .await
            .map_err(|e| refused(e, S3ErrorCode::NoSuchKey))?;
        Ok(S3Response::new(dto::GetObjectOutput {
            content_length: Some(bytes.len() as i64),
            content_range: range
                .map(|r| format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), o.size)),
            accept_ranges: Some("bytes".to_owned()),
            content_type: o.content_type.parse().ok(),
            e_tag: Some(quoted(&o.etag)),
            last_modified: Some(timestamp(o.modified_at)),
            body: Some(dto::StreamingBlob::from(s3s::Body::from(bytes))),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
        let a = self.account(&req).await?;
        let b = self.bucket(&a, &req.input.bucket).await?;
        let o = self.object(&b, &req.input.key).await?;
        Ok(S3Response::new(dto::HeadObjectOutput {
            content_length: Some(o.size),
            content_type: o.content_type.parse().ok(),
            e_tag: Some(quoted(&o.etag)),
            last_modified: Some(timestamp(o.modified_at)),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        let a = self.account(&req).await?;
        let b = self.bucket(&a, &req.input.bucket).await?;
        // S3 answers 204 whether or not the key existed.
        ops::delete_object(&self.state, &b, &req.input.key)
            .await
            .map_err(internal)?;
        Ok(S3Response::new(dto::DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        let a = self.account(&req).await?;
        let b = self.bucket(&a, &req.input.bucket).await?;
        let mut deleted = Vec::new();
        for id in &req.input.delete.objects {
            ops::delete_object(&self.state, &b, &id.key)
                .await
                .map_err(internal)?;
            deleted.push(dto::DeletedObject {
                key: Some(id.key.clone()),
                ..Default::default()
            });
        }
        let quiet = req.input.delete.quiet.unwrap_or(false);
        Ok(S3Response::new(dto::DeleteObjectsOutput {
            deleted: (!quiet).then_some(deleted),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        let a = self.account(&req).await?;
        let input = &req.input;
        let b = self.bucket(&a, &input.bucket).await?;
        let from = match (&input.continuation_token, &input.start_after) {
            (Some(t), _) => hex::decode(t)
                .ok()
                .and_then(|v| String::from_utf8(v).ok())
                .ok_or_else(|| {
                    s3_error!(
                        InvalidArgument,
                        "The continuation token provided is incorrect"
                    )
                })?,
            (None, Some(k)) => format!("k{k}"),
            (None, None) => String::new(),
        };
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = max_keys(input.max_keys)?;
        let page = list(
            &self.state,
            &b,
            &prefix,
            input.delimiter.as_deref(),
            &from,
            max,
        )
        .await?;
        let count = page.objects.len() + page.prefixes.len();
        Ok(S3Response::new(dto::ListObjectsV2Output {
            name: Some(b.name.clone()),
            prefix: Some(prefix),
            delimiter: input.delimiter.clone(),
            max_keys: Some(i32::try_from(max).unwrap_or(1000)),
            key_count: Some(i32::try_from(count).unwrap_or(i32::MAX)),
            is_truncated: Some(page.next.is_some()),
            continuation_token: input.continuation_token.clone(),
            next_continuation_token: page.next.map(hex::encode),
            start_after: input.start_after.clone(),
            contents: Some(page.objects.iter().map(listed).collect()),
            common_prefixes: Some(
                page.prefixes
                    .into_iter()
                    .map(|p| dto::CommonPrefix { prefix: Some(p) })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<dto::ListObjectsInput>,
    ) -> S3Result<S3Response<dto::ListObjectsOutput>> {
        let a = self.account(&req).await?;
        let input = &req.input;
        let b = self.bucket(&a, &input.bucket).await?;
        let from = input
            .marker
            .as_ref()
            .map(|m| format!("k{m}"))
            .unwrap_or_default();
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = max_keys(input.max_keys)?;
        let page = list(
            &self.state,
            &b,
            &prefix,
            input.delimiter.as_deref(),
            &from,
            max,
        )
        .await?;
        // V1's NextMarker is the last key or common prefix of the page.
        let next_marker = page.next.as_ref().map(|p| p[1..].to_owned());
        Ok(S3Response::new(dto::ListObjectsOutput {
            name: Some(b.name.clone()),
            prefix: Some(prefix),
            delimiter: input.delimiter.clone(),
            marker: input.marker.clone(),
            max_keys: Some(i32::try_from(max).unwrap_or(1000)),
            is_truncated: Some(page.next.is_some()),
            next_marker,
            contents: Some(page.objects.iter().map(listed).collect()),
            common_prefixes: Some(
                page.prefixes
                    .into_iter()
                    .map(|p| dto::CommonPrefix { prefix: Some(p) })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        let a = self.account(&req).await?;
        let b = self.bucket(&a, &req.input.bucket).await?;
        let content_type = req
            .input
            .content_type
            .as_ref()
            .map_or_else(|| "binary/octet-stream".to_owned(), ToString::to_string);
        let upload_id = ops::create_upload(&self.state, &b, &req.input.key, &content_type)
            .await
            .map_err(|e| match e {
                Error::Invalid(m) => S3Error::with_message(S3ErrorCode::KeyTooLongError, m),
                e => internal(e),
            })?;
        Ok(S3Response::new(dto::CreateMultipartUploadOutput {
            bucket: Some(b.name.clone()),
            key: Some(req.input.key.clone()),
            upload_id: Some(upload_id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        let a = self.account(&req).await?;
        let b = self.bucket(&a, &req.input.bucket).await?;
        let limit = body_limit(&self.state, &a);
        if req
            .input
            .content_length
            .is_some_and(|n| usize::try_from(n).map_or(true, |n| n >= limit))
        {
            return Err(too_large(&self.state, &a));
        }
        let input = req.input;
        let body = read_body(&self.state, &a, input.body, limit).await?;
        match ops::upload_part(
            &self.state,
            &a,
            &b,
            &input.upload_id,
            &input.key,
            i64::from(input.part_number),
            body,
        )
        .await
        {
            Ok(etag) => Ok(S3Response::new(dto::UploadPartOutput {
                e_tag: Some(quoted(&etag)),
                ..Default::default()
            })),
            Err(Error::Denied(m)) => Err(quota_exceeded(m)),
            Err(e) => Err(refused(e, S3ErrorCode::NoSuchUpload)),
        }
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        let a = self.account(&req).await?;
        let input = &req.input;
        let b = self.bucket(&a, &input.bucket).await?;
        let listed: Vec<(i64, String)> = input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_ref())
            .map(|parts| {
                parts
                    .iter()
                    .map(|p| {
                        (
                            i64::from(p.part_number.unwrap_or(0)),
                            p.e_tag.clone().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        match ops::complete_upload(&self.state, &a, &b, &input.upload_id, &input.key, &listed).await
        {
            Ok(o) => Ok(S3Response::new(dto::CompleteMultipartUploadOutput {
                bucket: Some(b.name.clone()),
                key: Some(o.key.clone()),
                e_tag: Some(quoted(&o.etag)),
                location: Some(format!("/{}/{}", b.name, o.key)),
                ..Default::default()
            })),
            Err(Error::Denied(m)) => Err(quota_exceeded(m)),
            Err(Error::Invalid(m)) if m.contains("ascending") => {
                Err(S3Error::with_message(S3ErrorCode::InvalidPartOrder, m))
            }
            Err(Error::Invalid(m)) if m.contains("exceed") => {
                Err(S3Error::with_message(S3ErrorCode::EntityTooLarge, m))
            }
            Err(Error::Invalid(m)) => Err(S3Error::with_message(S3ErrorCode::InvalidPart, m)),
            Err(e) => Err(refused(e, S3ErrorCode::NoSuchUpload)),
        }
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        let a = self.account(&req).await?;
        let b = self.bucket(&a, &req.input.bucket).await?;
        ops::abort_upload(&self.state, &b, &req.input.upload_id, &req.input.key)
            .await
            .map_err(|e| refused(e, S3ErrorCode::NoSuchUpload))?;
        Ok(S3Response::new(dto::AbortMultipartUploadOutput::default()))
    }
}

/// Reads a request body whole, refusing it as soon as it reaches `limit` bytes.
async fn read_body(
    state: &AppState,
    a: &S3Account,
    body: Option<dto::StreamingBlob>,
    limit: usize,
) -> S3Result<Bytes> {
    let mut out = BytesMut::new();
    if let Some(mut stream) = body {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                S3Error::with_message(
                    S3ErrorCode::IncompleteBody,
                    format!("the body did not arrive whole: {e}"),
                )
            })?;
            if out.len() + chunk.len() >= limit {
                return Err(too_large(state, a));
            }
            out.extend_from_slice(&chunk);
        }
    }
    Ok(out.freeze())
}

/// The most one request body may carry for an account: one PUT's limit, or just past
/// its quota (so that the quota, not the limit, refuses it).
fn body_limit(state: &AppState, a: &S3Account) -> usize {
    ops::MAX_OBJECT_BYTES.min(
        usize::try_from(ops::quota_bytes(state, a))
            .unwrap_or(usize::MAX)
            .saturating_add(1),
    )
}

/// An upload past the account's quota: S3 (Ceph RGW) answers `QuotaExceeded`, 403.
fn quota_exceeded(message: String) -> S3Error {
    let mut e = S3Error::with_message(S3ErrorCode::Custom("QuotaExceeded".into()), message);
    e.set_status_code(StatusCode::FORBIDDEN);
    e
}

/// A body larger than the quota (or than one PUT may carry).
fn too_large(state: &AppState, a: &S3Account) -> S3Error {
    let quota = ops::quota_bytes(state, a);
    if usize::try_from(quota).is_ok_and(|q| q < ops::MAX_OBJECT_BYTES) {
        quota_exceeded(format!(
            "quota exceeded: the S3 account's quota is {quota} bytes"
        ))
    } else {
        s3_error!(
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed object size of one PUT here"
        )
    }
}
