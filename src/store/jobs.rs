//! The durable job queue. Jobs are claimed with one `UPDATE ... RETURNING`, so a job is
//! run once even with several workers; jobs left `running` by a crash are requeued at start.

use sqlx::FromRow;

use super::{sql, Db};

/// A queued unit of simulated work as stored: the worker parses `kind` and `payload` into
/// a typed job (`queue::Job`) after claiming it.
#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: i64,
    pub callback_key: String,
    pub kind: String,
    pub payload: String,
    pub stage: i64,
    pub due_at_ms: i64,
}

pub async fn enqueue<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    callback_key: &str,
    kind: &str,
    payload: &serde_json::Value,
    due_at_ms: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sql::query_scalar(
        "INSERT INTO jobs (callback_key, kind, payload, due_at_ms, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(callback_key)
    .bind(kind)
    .bind(payload.to_string())
    .bind(due_at_ms)
    .bind(now)
    .fetch_one(db)
    .await
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub callback_key: &'a str,
    pub kind: &'a str,
    pub payload: &'a serde_json::Value,
    pub due_at_ms: i64,
}

/// Queues several jobs in one statement (each as [`enqueue`] queues one), their ids in the
/// order given.
pub async fn enqueue_many<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    jobs: &[NewJob<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    if jobs.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = jobs
        .iter()
        .map(|j| serde_json::json!([j.callback_key, j.kind, j.payload.to_string(), j.due_at_ms]))
        .collect();
    sql::query(
        "INSERT INTO jobs (callback_key, kind, payload, due_at_ms, created_at) \
         SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), \
         json_extract(j.value, '$[3]'), ? FROM json_each(?) AS j ORDER BY j.key",
    )
    .bind(now)
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(db)
    .await?;
    Ok(())
}

/// Claims the oldest due job.
pub async fn claim_due(db: &Db, now_ms: i64) -> Result<Option<JobRow>, sqlx::Error> {
    sql::query_as(
        "UPDATE jobs SET state = 'running' WHERE id = (\
           SELECT id FROM jobs WHERE state = 'queued' AND due_at_ms <= ? ORDER BY due_at_ms, id LIMIT 1) \
         RETURNING id, callback_key, kind, payload, stage, due_at_ms",
    )
    .bind(now_ms)
    .fetch_optional(db)
    .await
}

/// Puts a staged job back in the queue for its next stage.
pub async fn reschedule<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    stage: i64,
    due_at_ms: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE jobs SET state = 'queued', stage = ?, due_at_ms = ? WHERE id = ?")
        .bind(stage)
        .bind(due_at_ms)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn finish<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sql::query("UPDATE jobs SET state = 'done', finished_at = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Requeues jobs a previous process left running; returns how many.
pub async fn requeue_running(db: &Db) -> Result<u64, sqlx::Error> {
    Ok(
        sql::query("UPDATE jobs SET state = 'queued' WHERE state = 'running'")
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// When the next queued job falls due.
pub async fn next_due_ms(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    sql::query_scalar("SELECT MIN(due_at_ms) FROM jobs WHERE state = 'queued'")
        .fetch_one(db)
        .await
}

/// Counts by state, for health and the control plane.
pub async fn counts(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    sql::query_as(
        "SELECT COALESCE(SUM(state = 'queued'), 0), COALESCE(SUM(state = 'running'), 0) FROM jobs",
    )
    .fetch_one(db)
    .await
}

/// Jobs by kind and state for the metrics: `queued`, `running`, and finished ones as
/// `done` or `failed` (by their record; a record already pruned counts as done).
pub async fn counts_by_kind(db: &Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sql::query_as(
        "SELECT j.kind, CASE WHEN j.state = 'done' AND c.state = 'fail' THEN 'failed' ELSE j.state END, \
         COUNT(*) FROM jobs j LEFT JOIN callbacks c ON c.key = j.callback_key GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(db)
    .await
}

/// Drops finished jobs older than the given time.
pub async fn purge_done(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sql::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < ?")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// The latest due time of a server's unfinished jobs of one kind (its queue of power
/// actions, say), so that a new one can be lined up behind them.
pub async fn last_due_for_server(
    conn: &mut sqlx::SqliteConnection,
    kind: &str,
    server_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    Ok(serial_queue(conn, kind, server_id).await?.last_due_ms)
}

/// A server's queue of unfinished jobs of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct SerialQueue {
    /// When the last of them falls due (`None`: the queue is empty).
    pub last_due_ms: Option<i64>,
    /// How many there are (queued or running).
    pub len: i64,
}

/// The length and the last due time of a server's queue of unfinished jobs of one kind, in
/// one statement: a new job lines up behind them, unless the queue is full.
pub async fn serial_queue(
    conn: &mut sqlx::SqliteConnection,
    kind: &str,
    server_id: i64,
) -> Result<SerialQueue, sqlx::Error> {
    // `state IN (...)` rather than `<> 'done'`: the (state, due_at_ms) index then reads the
    // unfinished jobs only, however many finished ones are kept.
    sql::query_as(
        "SELECT MAX(j.due_at_ms) AS last_due_ms, COUNT(*) AS len FROM jobs j \
         JOIN callbacks c ON c.key = j.callback_key \
         WHERE j.state IN ('queued', 'running') AND j.kind = ? AND c.server_id = ?",
    )
    .bind(kind)
    .bind(server_id)
    .fetch_one(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{callback, count, empty, NOW};

    async fn job(db: &Db, key: &str, kind: &str, due: i64) -> i64 {
        enqueue(db, key, kind, &serde_json::json!({"due": due}), due, NOW)
            .await
            .expect("enqueue")
    }

    async fn claim(db: &Db, now_ms: i64) -> Option<i64> {
        claim_due(db, now_ms).await.expect("claim").map(|j| j.id)
    }

    #[tokio::test]
    async fn enqueue_many_queues_in_order_what_enqueue_queues_one_by_one() {
        let db = empty().await;
        callback(&db, "k", 40101, "remove_ipv4").await;
        let payloads = [
            serde_json::json!({"address": "10.0.0.2", "op": "remove", "n": 1.5}),
            serde_json::json!({"address": "10.0.0.3", "op": "remove", "s": "a\"b"}),
        ];
        for (i, p) in payloads.iter().enumerate() {
            enqueue(&db, "k", "ip_config", p, 1_000 + i as i64, NOW)
                .await
                .expect("enqueue");
        }
        let many: Vec<NewJob<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| NewJob {
                callback_key: "k",
                kind: "ip_config",
                payload: p,
                due_at_ms: 1_000 + i as i64,
            })
            .collect();
        enqueue_many(&db, &many, NOW).await.expect("enqueue");
        enqueue_many(&db, &[], NOW).await.expect("nothing");
        type Row = (i64, String, String, String, String, i64, i64, i64);
        let rows: Vec<Row> = sql::query_as(
            "SELECT id, callback_key, kind, payload, state, stage, due_at_ms, created_at FROM jobs ORDER BY id",
        )
        .fetch_all(&db)
        .await
        .expect("rows");
        assert_eq!(rows.len(), 4);
        let tail = |r: &Row| {
            (
                r.1.clone(),
                r.2.clone(),
                r.3.clone(),
                r.4.clone(),
                r.5,
                r.6,
                r.7,
            )
        };
        assert_eq!(tail(&rows[2]), tail(&rows[0]));
        assert_eq!(tail(&rows[3]), tail(&rows[1]));
        assert_eq!(
            rows[2].3,
            payloads[0].to_string(),
            "the payload text as written"
        );
    }

    #[tokio::test]
    async fn only_due_queued_jobs_are_claimed_in_due_then_id_order_and_once() {
        let db = empty().await;
        callback(&db, "k", 40101, "reboot").await;
        let a = job(&db, "k", "power", 200).await;
        let b = job(&db, "k", "power", 100).await;
        let c = job(&db, "k", "power", 100).await;
        let d = job(&db, "k", "power", 500).await;
        assert!(a < b && b < c && c < d);
        assert_eq!(next_due_ms(&db).await.expect("next"), Some(100));
        let first = claim_due(&db, 300).await.expect("claim").expect("due job");
        assert_eq!(
            (first.id, first.kind.as_str(), first.due_at_ms, first.stage),
            (b, "power", 100, 0)
        );
        assert_eq!(first.callback_key, "k");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&first.payload).expect("json")["due"],
            100
        );
        assert_eq!(claim(&db, 300).await, Some(c));
        assert_eq!(claim(&db, 300).await, Some(a));
        assert_eq!(
            claim(&db, 300).await,
            None,
            "d is not due yet, the rest are taken"
        );
        assert_eq!(counts(&db).await.expect("counts"), (1, 3));
        assert_eq!(next_due_ms(&db).await.expect("next"), Some(500));
        assert_eq!(claim(&db, 500).await, Some(d));
        assert_eq!(next_due_ms(&db).await.expect("next"), None);
        assert_eq!(counts(&db).await.expect("counts"), (0, 4));
    }

    #[tokio::test]
    async fn running_jobs_are_requeued_and_staged_ones_rescheduled() {
        let db = empty().await;
        assert_eq!(counts(&db).await.expect("counts"), (0, 0));
        callback(&db, "k", 40101, "reinstall").await;
        let a = job(&db, "k", "install", 10).await;
        let b = job(&db, "k", "install", 20).await;
        assert_eq!(claim(&db, 100).await, Some(a));
        assert_eq!(claim(&db, 100).await, Some(b));
        assert_eq!(requeue_running(&db).await.expect("requeue"), 2);
        assert_eq!(requeue_running(&db).await.expect("requeue"), 0);
        assert_eq!(counts(&db).await.expect("counts"), (2, 0));
        assert_eq!(
            claim(&db, 100).await,
            Some(a),
            "requeued jobs keep their place"
        );

        reschedule(&db, a, 2, 1_000).await.expect("reschedule");
        assert_eq!(claim(&db, 999).await, Some(b));
        let again = claim_due(&db, 1_000).await.expect("claim").expect("a");
        assert_eq!((again.id, again.stage, again.due_at_ms), (a, 2, 1_000));
    }

    #[tokio::test]
    async fn finished_jobs_leave_the_queue_and_are_purged_after_their_time() {
        let db = empty().await;
        callback(&db, "k", 40101, "reboot").await;
        let a = job(&db, "k", "power", 10).await;
        let b = job(&db, "k", "power", 20).await;
        claim(&db, 10).await;
        finish(&db, a, NOW + 5).await.expect("finish");
        assert_eq!(counts(&db).await.expect("counts"), (1, 0));
        assert_eq!(
            requeue_running(&db).await.expect("requeue"),
            0,
            "a done job is not requeued"
        );
        assert_eq!(claim(&db, 100).await, Some(b));
        assert_eq!(
            purge_done(&db, NOW + 5).await.expect("purge"),
            0,
            "strictly before"
        );
        assert_eq!(purge_done(&db, NOW + 6).await.expect("purge"), 1);
        assert_eq!(count(&db, "jobs").await, 1, "the running job stays");
    }

    #[tokio::test]
    async fn the_last_due_time_is_per_server_and_kind_of_unfinished_jobs() {
        let db = empty().await;
        callback(&db, "s1", 40101, "reboot").await;
        callback(&db, "s1b", 40101, "off").await;
        callback(&db, "s2", 40102, "reboot").await;
        let mut conn = db.acquire().await.expect("conn");
        assert_eq!(
            last_due_for_server(&mut conn, "power", 40101)
                .await
                .expect("last"),
            None
        );
        drop(conn);
        job(&db, "s1", "power", 100).await;
        let late = job(&db, "s1b", "power", 300).await;
        job(&db, "s1", "install", 900).await;
        job(&db, "s2", "power", 700).await;
        let mut conn = db.acquire().await.expect("conn");
        assert_eq!(
            last_due_for_server(&mut conn, "power", 40101)
                .await
                .expect("last"),
            Some(300)
        );
        assert_eq!(
            last_due_for_server(&mut conn, "power", 40102)
                .await
                .expect("last"),
            Some(700)
        );
        assert_eq!(
            last_due_for_server(&mut conn, "install", 40102)
                .await
                .expect("last"),
            None
        );
        finish(&mut *conn, late, NOW).await.expect("finish");
        assert_eq!(
            last_due_for_server(&mut conn, "power", 40101)
                .await
                .expect("last"),
            Some(100),
            "finished jobs do not count"
        );
    }

    #[tokio::test]
    async fn a_job_needs_its_callback_record() {
        let db = empty().await;
        assert!(
            enqueue(&db, "missing", "power", &serde_json::json!({}), 1, NOW)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_servers_serial_queue_has_a_length_and_a_last_due_time() {
        let db = empty().await;
        callback(&db, "a", 40101, "reboot").await;
        callback(&db, "b", 40102, "reboot").await;
        let mut conn = db.acquire().await.expect("conn");
        assert_eq!(
            serial_queue(&mut conn, "power", 40101)
                .await
                .expect("queue"),
            SerialQueue {
                last_due_ms: None,
                len: 0
            }
        );
        drop(conn);
        let first = job(&db, "a", "power", 100).await;
        job(&db, "a", "power", 300).await;
        job(&db, "a", "install", 900).await;
        job(&db, "b", "power", 700).await;
        claim(&db, 100).await;
        let mut conn = db.acquire().await.expect("conn");
        assert_eq!(
            serial_queue(&mut conn, "power", 40101)
                .await
                .expect("queue"),
            SerialQueue {
                last_due_ms: Some(300),
                len: 2
            },
            "running and queued jobs count"
        );
        finish(&mut *conn, first, NOW).await.expect("finish");
        assert_eq!(
            serial_queue(&mut conn, "power", 40101)
                .await
                .expect("queue"),
            SerialQueue {
                last_due_ms: Some(300),
                len: 1
            },
            "finished ones do not"
        );
    }
}
