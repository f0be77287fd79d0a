//! S3 accounts, buckets and object metadata (`s3.php` and the S3 endpoint). The objects'
//! bytes live in the blob store ([`super::s3_blobs`]); a row names its blob.

use sqlx::FromRow;

use super::sql;

/// An S3 account, with the status of its order's invoice.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct S3Account {
    pub id: i64,
    pub account_id: i64,
    pub plan_id: i64,
    pub location: String,
    pub access_key: String,
    pub invoice_id: Option<i64>,
    pub cancel_at: Option<i64>,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub traffic_at: Option<i64>,
    pub created_at: i64,
    /// `Paid` / `Unpaid` (the invoice's status), `Paid` without an invoice.
    pub invoice_status: String,
    /// Bytes stored in all its buckets.
    pub used_bytes: i64,
    pub objects: i64,
    pub buckets: i64,
}

const ACCOUNT: &str = "SELECT a.id, a.account_id, a.plan_id, a.location, a.access_key, a.invoice_id,
        a.cancel_at, a.bytes_in, a.bytes_out, a.traffic_at, a.created_at,
        COALESCE((SELECT status FROM invoices i WHERE i.id = a.invoice_id), 'Paid') AS invoice_status,
        COALESCE((SELECT SUM(o.size) FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id
                  WHERE b.s3_account_id = a.id), 0) AS used_bytes,
        (SELECT COUNT(*) FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id
                  WHERE b.s3_account_id = a.id) AS objects,
        (SELECT COUNT(*) FROM s3_buckets b WHERE b.s3_account_id = a.id) AS buckets
    FROM s3_accounts a";

/// A customer's S3 accounts (in one location, or all), oldest first.
pub async fn accounts_of<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    location: Option<&str>,
) -> Result<Vec<S3Account>, sqlx::Error> {
    sql::query_as(&format!(
        "{ACCOUNT} WHERE a.account_id = ? AND (? IS NULL OR a.location = ?) ORDER BY a.id"
    ))
    .bind(account_id)
    .bind(location)
    .bind(location)
    .fetch_all(db)
    .await
}

/// A customer's S3 account by id.
pub async fn account<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    id: i64,
) -> Result<Option<S3Account>, sqlx::Error> {
    sql::query_as(&format!("{ACCOUNT} WHERE a.account_id = ? AND a.id = ?"))
        .bind(account_id)
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The S3 account of an access key (the S3 endpoint's credentials).
pub async fn by_access_key<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    access_key: &str,
) -> Result<Option<S3Account>, sqlx::Error> {
    sql::query_as(&format!("{ACCOUNT} WHERE a.access_key = ?"))
        .bind(access_key)
        .fetch_optional(db)
        .await
}

/// How many free-plan accounts a customer has.
pub async fn count_plans<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    plan_id: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar("SELECT COUNT(*) FROM s3_accounts WHERE account_id = ? AND plan_id = ?")
        .bind(account_id)
        .bind(plan_id)
        .fetch_one(db)
        .await
}

/// A new S3 account; returns its id.
pub async fn insert_account<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    account_id: i64,
    plan_id: i64,
    location: &str,
    access_key: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO s3_accounts (account_id, plan_id, location, access_key, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(account_id)
    .bind(plan_id)
    .bind(location)
    .bind(access_key)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Links the account to its order's invoice.
pub async fn set_invoice<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    invoice_id: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE s3_accounts SET invoice_id = ? WHERE id = ?")
        .bind(invoice_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Sets (or clears, with `None`) the date the paid service ends.
pub async fn set_cancel_at<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    cancel_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE s3_accounts SET cancel_at = ? WHERE id = ?")
        .bind(cancel_at)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Counts traffic through the endpoint.
pub async fn add_traffic<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    bytes_in: i64,
    bytes_out: i64,
) -> Result<(), sqlx::Error> {
    sql::query(
        "UPDATE s3_accounts SET bytes_in = bytes_in + ?, bytes_out = bytes_out + ? WHERE id = ?",
    )
    .bind(bytes_in)
    .bind(bytes_out)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Notes when the traffic counters were last read out.
pub async fn set_traffic_at<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE s3_accounts SET traffic_at = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes an S3 account with its buckets and objects; returns the blobs to remove.
pub async fn delete_account(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let blobs = sql::query_scalar(
        "SELECT o.blob FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id
         WHERE b.s3_account_id = ?
         UNION ALL
         SELECT p.blob FROM s3_upload_parts p JOIN s3_uploads u ON u.id = p.upload_id
         JOIN s3_buckets b ON b.id = u.bucket_id WHERE b.s3_account_id = ?",
    )
    .bind(id)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    sql::query("DELETE FROM s3_accounts WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(blobs)
}

/// A bucket with its usage.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Bucket {
    pub id: i64,
    pub s3_account_id: i64,
    pub name: String,
    pub created_at: i64,
    pub objects: i64,
    pub size: i64,
}

const BUCKET: &str = "SELECT b.id, b.s3_account_id, b.name, b.created_at,
        (SELECT COUNT(*) FROM s3_objects o WHERE o.bucket_id = b.id) AS objects,
        COALESCE((SELECT SUM(o.size) FROM s3_objects o WHERE o.bucket_id = b.id), 0) AS size
    FROM s3_buckets b";

/// An S3 account's buckets, by name.
pub async fn buckets<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    s3_account_id: i64,
) -> Result<Vec<Bucket>, sqlx::Error> {
    sql::query_as(&format!(
        "{BUCKET} WHERE b.s3_account_id = ? ORDER BY b.name"
    ))
    .bind(s3_account_id)
    .fetch_all(db)
    .await
}

/// A bucket by name, whoever owns it.
pub async fn bucket<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    name: &str,
) -> Result<Option<Bucket>, sqlx::Error> {
    sql::query_as(&format!("{BUCKET} WHERE b.name = ?"))
        .bind(name)
        .fetch_optional(db)
        .await
}

/// A new bucket; `None` when the name is taken (by anyone).
pub async fn insert_bucket<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    s3_account_id: i64,
    name: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO s3_buckets (s3_account_id, name, created_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(s3_account_id)
    .bind(name)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Deletes a bucket without objects, with the uploads in progress in it; returns the
/// blobs of their parts to remove, `None` when it has objects (or is gone).
pub async fn delete_empty_bucket(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let blobs = sql::query_scalar(
        "SELECT p.blob FROM s3_upload_parts p JOIN s3_uploads u ON u.id = p.upload_id
         WHERE u.bucket_id = ?",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let r = sql::query(
        "DELETE FROM s3_buckets WHERE id = ?
         AND NOT EXISTS (SELECT 1 FROM s3_objects WHERE bucket_id = ?)",
    )
    .bind(id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok((r.rows_affected() == 1).then_some(blobs))
}

/// A multipart upload in progress.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Upload {
    pub id: i64,
    pub upload_id: String,
    pub bucket_id: i64,
    pub key: String,
    pub content_type: String,
    pub created_at: i64,
}

/// A part of a multipart upload.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Part {
    pub part_number: i64,
    pub size: i64,
    pub etag: String,
    pub blob: String,
}

/// Starts a multipart upload.
pub async fn insert_upload<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    u: &Upload,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO s3_uploads (upload_id, bucket_id, key, content_type, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&u.upload_id)
    .bind(u.bucket_id)
    .bind(&u.key)
    .bind(&u.content_type)
    .bind(u.created_at)
    .fetch_one(db)
    .await
}

/// An upload in progress by its S3 UploadId, in a bucket and for a key.
pub async fn upload<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    bucket_id: i64,
    upload_id: &str,
    key: &str,
) -> Result<Option<Upload>, sqlx::Error> {
    sql::query_as(
        "SELECT id, upload_id, bucket_id, key, content_type, created_at FROM s3_uploads
         WHERE bucket_id = ? AND upload_id = ? AND key = ?",
    )
    .bind(bucket_id)
    .bind(upload_id)
    .bind(key)
    .fetch_optional(db)
    .await
}

/// Stores a part (replacing one with the same number); returns the replaced part's blob.
pub async fn upsert_part(
    conn: &mut sqlx::SqliteConnection,
    upload: i64,
    p: &Part,
) -> Result<Option<String>, sqlx::Error> {
    let old: Option<String> = sql::query_scalar(
        "SELECT blob FROM s3_upload_parts WHERE upload_id = ? AND part_number = ?",
    )
    .bind(upload)
    .bind(p.part_number)
    .fetch_optional(&mut *conn)
    .await?;
    sql::query(
        "INSERT INTO s3_upload_parts (upload_id, part_number, size, etag, blob) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size,
           etag = excluded.etag, blob = excluded.blob",
    )
    .bind(upload)
    .bind(p.part_number)
    .bind(p.size)
    .bind(&p.etag)
    .bind(&p.blob)
    .execute(&mut *conn)
    .await?;
    Ok(old)
}

/// An upload's parts, by number.
pub async fn parts<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    upload: i64,
) -> Result<Vec<Part>, sqlx::Error> {
    sql::query_as(
        "SELECT part_number, size, etag, blob FROM s3_upload_parts WHERE upload_id = ?
         ORDER BY part_number",
    )
    .bind(upload)
    .fetch_all(db)
    .await
}

/// Ends an upload (completed or aborted); returns its parts' blobs.
pub async fn delete_upload(
    conn: &mut sqlx::SqliteConnection,
    upload: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let blobs = sql::query_scalar("SELECT blob FROM s3_upload_parts WHERE upload_id = ?")
        .bind(upload)
        .fetch_all(&mut *conn)
        .await?;
    sql::query("DELETE FROM s3_uploads WHERE id = ?")
        .bind(upload)
        .execute(&mut *conn)
        .await?;
    Ok(blobs)
}

/// An object's metadata.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Object {
    pub id: i64,
    pub bucket_id: i64,
    pub key: String,
    pub size: i64,
    pub etag: String,
    pub content_type: String,
    pub blob: String,
    pub modified_at: i64,
}

const OBJECT: &str = "id, bucket_id, key, size, etag, content_type, blob, modified_at";

/// An object by key.
pub async fn object<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    bucket_id: i64,
    key: &str,
) -> Result<Option<Object>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {OBJECT} FROM s3_objects WHERE bucket_id = ? AND key = ?"
    ))
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await
}

/// Objects whose key starts with `prefix` and comes after `after`, in key order (byte
/// order, as S3 lists), at most `limit`.
pub async fn objects_after<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    bucket_id: i64,
    prefix: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<Object>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {OBJECT} FROM s3_objects
         WHERE bucket_id = ? AND substr(key, 1, length(?)) = ? AND key > ?
         ORDER BY key LIMIT ?"
    ))
    .bind(bucket_id)
    .bind(prefix)
    .bind(prefix)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Objects whose key contains `search` (case-insensitively for ASCII), in key order.
pub async fn objects_matching<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    bucket_id: i64,
    search: &str,
) -> Result<Vec<Object>, sqlx::Error> {
    sql::query_as(&format!(
        "SELECT {OBJECT} FROM s3_objects
         WHERE bucket_id = ? AND instr(lower(key), lower(?)) > 0 ORDER BY key"
    ))
    .bind(bucket_id)
    .bind(search)
    .fetch_all(db)
    .await
}

/// Stores an object's metadata, replacing the one with the same key; returns the blob of
/// the replaced object.
pub async fn upsert_object(
    conn: &mut sqlx::SqliteConnection,
    o: &Object,
) -> Result<Option<String>, sqlx::Error> {
    let old: Option<String> =
        sql::query_scalar("SELECT blob FROM s3_objects WHERE bucket_id = ? AND key = ?")
            .bind(o.bucket_id)
            .bind(&o.key)
            .fetch_optional(&mut *conn)
            .await?;
    sql::query(
        "INSERT INTO s3_objects (bucket_id, key, size, etag, content_type, blob, modified_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (bucket_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
           content_type = excluded.content_type, blob = excluded.blob,
           modified_at = excluded.modified_at",
    )
    .bind(o.bucket_id)
    .bind(&o.key)
    .bind(o.size)
    .bind(&o.etag)
    .bind(&o.content_type)
    .bind(&o.blob)
    .bind(o.modified_at)
    .execute(&mut *conn)
    .await?;
    Ok(old)
}

/// Deletes an object; returns it as it was.
pub async fn delete_object<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    bucket_id: i64,
    key: &str,
) -> Result<Option<Object>, sqlx::Error> {
    sql::query_as(&format!(
        "DELETE FROM s3_objects WHERE bucket_id = ? AND key = ? RETURNING {OBJECT}"
    ))
    .bind(bucket_id)
    .bind(key)
    .fetch_optional(db)
    .await
}

/// Bytes an S3 account stores, not counting one key of one bucket (the object a write
/// replaces).
pub async fn used_except<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    s3_account_id: i64,
    bucket_id: i64,
    key: &str,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "SELECT COALESCE(SUM(o.size), 0) FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id
         WHERE b.s3_account_id = ? AND NOT (o.bucket_id = ? AND o.key = ?)",
    )
    .bind(s3_account_id)
    .bind(bucket_id)
    .bind(key)
    .fetch_one(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{self, Db};

    async fn db() -> Db {
        let db = store::open(":memory:").await.expect("open");
        sql::query(
            "INSERT INTO accounts (id, handle, whmcs_id, email, password_hash, firstname, lastname, credit_cents, created_at) \
             VALUES (7, 'acme', 70, 'a@example.com', 'x', 'A', 'B', 0, 0)",
        )
        .execute(&db)
        .await
        .expect("account");
        db
    }

    fn object(bucket_id: i64, key: &str, size: i64, blob: &str) -> Object {
        Object {
            id: 0,
            bucket_id,
            key: key.into(),
            size,
            etag: "e".into(),
            content_type: "text/plain".into(),
            blob: blob.into(),
            modified_at: 5,
        }
    }

    #[tokio::test]
    async fn accounts_buckets_and_objects_read_back_with_their_usage() {
        let db = db().await;
        let mut tx = store::begin_write(&db).await.expect("tx");
        let id = insert_account(&mut *tx, 7, 1, "NL", "AK1", 10)
            .await
            .expect("insert");
        let b = insert_bucket(&mut *tx, id, "photos", 11)
            .await
            .expect("bucket")
            .expect("new");
        assert_eq!(
            insert_bucket(&mut *tx, id, "photos", 12)
                .await
                .expect("bucket"),
            None,
            "a taken name"
        );
        assert_eq!(
            upsert_object(&mut tx, &object(b, "a/1.txt", 5, "blob1"))
                .await
                .expect("put"),
            None
        );
        assert_eq!(
            upsert_object(&mut tx, &object(b, "a/1.txt", 7, "blob2"))
                .await
                .expect("put"),
            Some("blob1".to_owned()),
            "the replaced object's blob"
        );
        upsert_object(&mut tx, &object(b, "b.txt", 3, "blob3"))
            .await
            .expect("put");
        tx.commit().await.expect("commit");
        let a = account(&db, 7, id).await.expect("read").expect("found");
        assert_eq!(
            (
                a.used_bytes,
                a.objects,
                a.buckets,
                a.invoice_status.as_str()
            ),
            (10, 2, 1, "Paid")
        );
        assert_eq!(by_access_key(&db, "AK1").await.expect("read"), Some(a));
        assert!(account(&db, 8, id).await.expect("read").is_none());
        assert_eq!(count_plans(&db, 7, 1).await.expect("count"), 1);
        assert_eq!(accounts_of(&db, 7, Some("DE")).await.expect("list"), vec![]);
        assert_eq!(used_except(&db, id, b, "b.txt").await.expect("used"), 7);
        let keys = |v: Vec<Object>| v.into_iter().map(|o| o.key).collect::<Vec<_>>();
        assert_eq!(
            keys(objects_after(&db, b, "a/", "", 10).await.expect("list")),
            vec!["a/1.txt"]
        );
        assert_eq!(
            keys(
                objects_after(&db, b, "", "a/1.txt", 10)
                    .await
                    .expect("list")
            ),
            vec!["b.txt"]
        );
        assert_eq!(
            keys(objects_matching(&db, b, "B.T").await.expect("search")),
            vec!["b.txt"]
        );
        let mut tx = store::begin_write(&db).await.expect("tx");
        assert_eq!(delete_empty_bucket(&mut tx, b).await.expect("delete"), None);
        let started = Upload {
            id: 0,
            upload_id: "u1".into(),
            bucket_id: b,
            key: "big.bin".into(),
            content_type: "x/y".into(),
            created_at: 1,
        };
        let u = insert_upload(&mut *tx, &started).await.expect("upload");
        let part = |n: i64, blob: &str| Part {
            part_number: n,
            size: 3,
            etag: "e".into(),
            blob: blob.into(),
        };
        assert_eq!(
            upsert_part(&mut tx, u, &part(2, "p2")).await.expect("part"),
            None
        );
        assert_eq!(
            upsert_part(&mut tx, u, &part(2, "p2b"))
                .await
                .expect("part"),
            Some("p2".to_owned())
        );
        upsert_part(&mut tx, u, &part(1, "p1")).await.expect("part");
        assert_eq!(
            parts(&mut *tx, u)
                .await
                .expect("parts")
                .iter()
                .map(|p| p.part_number)
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(
            upload(&mut *tx, b, "u1", "big.bin")
                .await
                .expect("read")
                .map(|x| x.id),
            Some(u)
        );
        assert_eq!(
            upload(&mut *tx, b, "u1", "other").await.expect("read"),
            None
        );
        let mut gone = delete_upload(&mut tx, u).await.expect("abort");
        gone.sort();
        assert_eq!(gone, vec!["p1".to_owned(), "p2b".to_owned()]);
        assert_eq!(
            delete_object(&mut *tx, b, "b.txt")
                .await
                .expect("delete")
                .map(|o| o.blob),
            Some("blob3".to_owned())
        );
        add_traffic(&mut *tx, id, 4, 2).await.expect("traffic");
        set_cancel_at(&mut *tx, id, Some(99)).await.expect("cancel");
        let blobs = delete_account(&mut tx, id).await.expect("delete");
        tx.commit().await.expect("commit");
        assert_eq!(blobs, vec!["blob2".to_owned()]);
        assert!(bucket(&db, "photos").await.expect("read").is_none());
        assert!(buckets(&db, id).await.expect("read").is_empty());
    }
}
