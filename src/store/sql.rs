//! The statement builders every store function uses, and a statement counter for tests.
//!
//! `query`, `query_as` and `query_scalar` are sqlx's, plus one count: they let tests assert
//! how many SQL statements a request costs (no N+1 on the hot paths). A builder is counted
//! when it is made, in the task that makes it: sqlx runs the statement on its own worker
//! thread, but building it happens in the request's task, and the store executes every
//! builder it makes exactly once (execution consumes it). A write transaction
//! ([`super::begin_write`]) counts two: its `BEGIN IMMEDIATE` and the `COMMIT` or `ROLLBACK`
//! that always ends it.
//!
//! Counting happens only inside [`counting`]; anywhere else it is a thread-local lookup
//! that finds no scope, so production pays nothing measurable. Statements issued outside
//! `src/store/` (there should be none) and in tasks spawned by the request are not counted.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};
use sqlx::FromRow;

tokio::task_local! {
    /// Statements made in the current [`counting`] scope.
    static STATEMENTS: Arc<AtomicU32>;
}

/// Adds `n` statements to the current count (nothing outside [`counting`]).
pub(crate) fn count(n: u32) {
    let _ = STATEMENTS.try_with(|c| c.fetch_add(n, Ordering::Relaxed));
}

/// Runs `fut` and returns its output with the number of SQL statements the store made
/// while running it (in this task).
pub async fn counting<T>(fut: impl Future<Output = T>) -> (T, u32) {
    let cell = Arc::new(AtomicU32::new(0));
    let out = STATEMENTS.scope(cell.clone(), fut).await;
    (out, cell.load(Ordering::Relaxed))
}

/// `sqlx::query`, counted.
pub fn query(sql: &str) -> Query<'_, Sqlite, SqliteArguments<'_>> {
    count(1);
    sqlx::query(sql)
}

/// `sqlx::query_as`, counted.
pub fn query_as<'q, O>(sql: &'q str) -> QueryAs<'q, Sqlite, O, SqliteArguments<'q>>
where
    O: for<'r> FromRow<'r, SqliteRow>,
{
    count(1);
    sqlx::query_as(sql)
}

/// `sqlx::query_scalar`, counted.
pub fn query_scalar<'q, O>(sql: &'q str) -> QueryScalar<'q, Sqlite, O, SqliteArguments<'q>>
where
    (O,): for<'r> FromRow<'r, SqliteRow>,
{
    count(1);
    sqlx::query_scalar(sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::empty;

    #[tokio::test]
    async fn statements_are_counted_inside_a_scope_only() {
        let db = empty().await;
        // Outside a scope: nothing to count into, and nothing breaks.
        crate::store::meta_set(&db, "k", "v").await.expect("set");
        let ((), n) = counting(async {
            crate::store::meta_set(&db, "k", "v2").await.expect("set");
            crate::store::meta_get(&db, "k").await.expect("get");
        })
        .await;
        assert_eq!(n, 2);
        let (v, n) = counting(crate::store::meta_get(&db, "k")).await;
        assert_eq!((v.expect("get").as_deref(), n), (Some("v2"), 1));
    }

    #[tokio::test]
    async fn a_write_transaction_counts_its_begin_and_its_end() {
        let db = empty().await;
        let ((), n) = counting(async {
            let mut tx = crate::store::begin_write(&db).await.expect("begin");
            crate::store::meta_set(&mut *tx, "k", "v")
                .await
                .expect("set");
            tx.commit().await.expect("commit");
        })
        .await;
        assert_eq!(n, 3, "BEGIN, the INSERT, COMMIT");
    }

    #[tokio::test]
    async fn scopes_in_other_tasks_count_apart() {
        let db = empty().await;
        let other = {
            let db = db.clone();
            tokio::spawn(counting(async move {
                for _ in 0..5 {
                    crate::store::meta_get(&db, "k").await.expect("get");
                }
            }))
        };
        let (_, mine) = counting(crate::store::meta_get(&db, "k")).await;
        let ((), theirs) = other.await.expect("task");
        assert_eq!((mine, theirs), (1, 5));
    }
}
