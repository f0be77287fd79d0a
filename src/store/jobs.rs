//! The durable job queue. Jobs are claimed with one `UPDATE ... RETURNING`, so a job is
//! run once even with several workers; jobs left `running` by a crash are requeued at start.

use sqlx::FromRow;

use super::Db;

/// A queued unit of simulated work.
#[derive(Debug, Clone, FromRow)]
pub struct Job {
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
    sqlx::query_scalar(
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

/// Claims the oldest due job.
pub async fn claim_due(db: &Db, now_ms: i64) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as(
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
    sqlx::query("UPDATE jobs SET state = 'queued', stage = ?, due_at_ms = ? WHERE id = ?")
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
    sqlx::query("UPDATE jobs SET state = 'done', finished_at = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Requeues jobs a previous process left running; returns how many.
pub async fn requeue_running(db: &Db) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE jobs SET state = 'queued' WHERE state = 'running'")
            .execute(db)
            .await?
            .rows_affected(),
    )
}

/// When the next queued job falls due.
pub async fn next_due_ms(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT MIN(due_at_ms) FROM jobs WHERE state = 'queued'")
        .fetch_one(db)
        .await
}

/// Counts by state, for health and the control plane.
pub async fn counts(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(state = 'queued'), 0), COALESCE(SUM(state = 'running'), 0) FROM jobs",
    )
    .fetch_one(db)
    .await
}

/// Drops finished jobs older than the given time.
pub async fn purge_done(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < ?")
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
    sqlx::query_scalar(
        "SELECT MAX(j.due_at_ms) FROM jobs j JOIN callbacks c ON c.key = j.callback_key \
         WHERE j.kind = ? AND c.server_id = ? AND j.state <> 'done'",
    )
    .bind(kind)
    .bind(server_id)
    .fetch_one(conn)
    .await
}
