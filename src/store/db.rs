//! The database handle: SQLite through sqlx, with connections held by the emulator itself.
//!
//! Why not `sqlx::SqlitePool`: every statement through it costs three hand-offs between
//! tokio and the connection's worker thread (a ping when the connection is acquired, the
//! statement, and a ping when it is returned, from a task spawned for the return). Those
//! hand-offs were most of the time of a read request. Here a connection is taken from a
//! plain list and put back on drop, without a ping: sqlx's SQLite connection runs its
//! commands in order on its worker thread, so a statement abandoned half-way (a request
//! that timed out) or a transaction dropped without commit (its rollback is queued by sqlx)
//! is finished or undone before the next command on that connection runs.
//!
//! Reads and writes go apart:
//! - **one writer**: every write runs on the one write connection, taken in turn (a fair
//!   queue in the process) instead of several connections waiting in SQLite's busy
//!   handler, which sleeps in 1-100 ms steps;
//! - **readers**: a few connections opened read-only (for a database file), so that a write
//!   sent down the read path fails loudly instead of bypassing the writer;
//! - **the generation**: a counter raised after every write is committed (when the write
//!   connection or transaction is given back). In-process caches of answers
//!   ([`crate::readcache`]) are valid for one generation only.
//!
//! `&Db` is an sqlx executor: a statement is routed by its first keyword (`SELECT`, `WITH`
//! and `PRAGMA` read; anything else writes). An in-memory database lives in exactly one
//! connection, which then serves both paths.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use sqlx::sqlite::SqliteTransactionManager;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteQueryResult, SqliteRow, SqliteStatement,
    SqliteTypeInfo,
};
use sqlx::{ConnectOptions, Connection, Describe, Either, Execute, Executor, TransactionManager};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Sets of tables whose writes are watched one by one, so that the read model keeps what
/// it read from them across writes to other tables (a tag written leaves the remembered
/// sessions and servers as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// The rows a session is made of as the read model keeps it: the session, its account,
    /// the key it was opened with.
    Auth = 0,
    /// Server rows (`store::servers::get`).
    Servers = 1,
}

/// The tables of each [`Watched`] set, in its order.
const WATCHED: [&[&str]; 2] = [&["sessions", "accounts", "api_keys"], &["servers"]];

/// Which writes touched which [`Watched`] set: the writer's update hook raises `touched` as
/// rows change; once the write is committed, a set's generation rises if it was raised.
#[derive(Default)]
struct Watch {
    generations: [AtomicU64; 2],
    touched: [std::sync::atomic::AtomicBool; 2],
}

/// Connections of one kind, opened on first use (up to `max`) and kept for the process.
struct Conns {
    options: SqliteConnectOptions,
    /// For connections that write: the watch their update hook reports to.
    watch: Option<Arc<Watch>>,
    idle: Mutex<Vec<SqliteConnection>>,
    /// One permit per connection that may be in use; waiters are served in order.
    permits: Arc<Semaphore>,
}

impl Conns {
    fn new(options: SqliteConnectOptions, max: usize, watch: Option<Arc<Watch>>) -> Arc<Conns> {
        Arc::new(Conns {
            options,
            watch,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max)),
        })
    }

    /// Waits for a connection (opening one when none is idle).
    async fn acquire(self: &Arc<Self>) -> Result<Conn, sqlx::Error> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let mut conn = self.options.connect().await?;
                if let Some(watch) = &self.watch {
                    let watch = watch.clone();
                    conn.lock_handle().await?.set_update_hook(move |change| {
                        for (set, tables) in WATCHED.iter().enumerate() {
                            if tables.contains(&change.table) {
                                watch.touched[set].store(true, Ordering::Release);
                            }
                        }
                    });
                }
                conn
            }
        };
        Ok(Conn {
            conn: Some(conn),
            home: self.clone(),
            _permit: permit,
        })
    }

    /// Closes every idle connection and refuses new turns (at shutdown).
    async fn close(&self) {
        self.permits.close();
        let idle: Vec<_> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for c in idle {
            let _ = c.close().await;
        }
    }
}

/// A connection taken from [`Db`]; it goes back when dropped.
pub struct Conn {
    conn: Option<SqliteConnection>,
    home: Arc<Conns>,
    _permit: OwnedSemaphorePermit,
}

impl Conn {
    /// Closes the connection when it is dropped instead of giving it back (one whose
    /// settings could not be restored); the next turn opens a new one.
    pub fn close_on_drop(&mut self) {
        if let Some(c) = self.conn.take() {
            tokio::spawn(async move {
                let _ = c.close().await;
            });
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(mut c) = self.conn.take() {
            // A transaction begun by a caller that went away before it held it (cancelled
            // between sqlx's acknowledgement of the BEGIN and the end of `WriteTx::begin`)
            // is still open: queue its rollback ahead of the next user's first command.
            // (A `WriteTx` dropped open has queued its own; a second one finds nothing to
            // undo.)
            if SqliteTransactionManager::get_transaction_depth(&c) > 0 {
                SqliteTransactionManager::start_rollback(&mut c);
            }
            self.home
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(c);
        }
    }
}

impl Deref for Conn {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("connection present until closed")
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("connection present until closed")
    }
}

/// Raises the generations when dropped: after the write it guards is committed (or
/// undone), while its connection is still held (so no other write can run in between).
struct Bump {
    generation: Arc<AtomicU64>,
    watch: Arc<Watch>,
    /// Raise every watched generation whatever the update hook saw (raw use of the writer,
    /// such as emptying every table, which SQLite may do without reporting rows).
    always_all: bool,
}

impl Drop for Bump {
    fn drop(&mut self) {
        for (touched, generation) in self.watch.touched.iter().zip(&self.watch.generations) {
            if touched.swap(false, Ordering::AcqRel) || self.always_all {
                generation.fetch_add(1, Ordering::AcqRel);
            }
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// The database: readers, the one writer, and the write generation. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    read: Arc<Conns>,
    write: Arc<Conns>,
    generation: Arc<AtomicU64>,
    watch: Arc<Watch>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

/// How many read connections a database file gets. Readers do not block each other in WAL
/// mode; more than this only adds worker threads on a small machine.
const READERS: usize = 4;

impl Db {
    /// A database file: `READERS` read-only connections and one writer.
    /// A database file: `READERS` read-only connections and one writer.
    pub(crate) fn file(options: SqliteConnectOptions) -> Db {
        let watch = Arc::new(Watch::default());
        Db {
            read: Conns::new(options.clone().read_only(true), READERS, None),
            write: Conns::new(options, 1, Some(watch.clone())),
            generation: Arc::new(AtomicU64::new(0)),
            watch,
        }
    }

    /// An in-memory database: one connection for everything, kept for the process.
    pub(crate) fn memory(options: SqliteConnectOptions) -> Db {
        let watch = Arc::new(Watch::default());
        let only = Conns::new(options, 1, Some(watch.clone()));
        Db {
            read: only.clone(),
            write: only,
            generation: Arc::new(AtomicU64::new(0)),
            watch,
        }
    }

    /// The number of writes committed so far (raised after each one is visible).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The number of committed writes that changed a row of the `set`'s tables (or may
    /// have: raw use of the writer counts too).
    pub fn generation_of(&self, set: Watched) -> u64 {
        self.watch.generations[set as usize].load(Ordering::Acquire)
    }

    /// [`Db::generation_of`] sessions, accounts and API keys.
    pub fn auth_generation(&self) -> u64 {
        self.generation_of(Watched::Auth)
    }

    fn bump(&self, always_all: bool) -> Bump {
        Bump {
            generation: self.generation.clone(),
            watch: self.watch.clone(),
            always_all,
        }
    }

    /// A read connection, for several reads in a row.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        self.read.acquire().await
    }

    /// The write connection, in turn; the generations rise when it is given back.
    pub async fn acquire_write(&self) -> Result<WriteConn, sqlx::Error> {
        self.writer(true).await
    }

    async fn writer(&self, always_all: bool) -> Result<WriteConn, sqlx::Error> {
        let conn = self.write.acquire().await?;
        Ok(WriteConn {
            _bump: self.bump(always_all),
            conn,
        })
    }

    /// A write transaction on the write connection (`BEGIN IMMEDIATE`); the generation
    /// rises once it is committed or rolled back.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        WriteTx::begin(self.writer(false).await?).await
    }

    /// Closes every connection (idle ones now; ones in use are dropped when given back).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Which connections a statement runs on, and what to do once it ran.
    fn route(&self, sql: &str) -> (Arc<Conns>, Option<Bump>) {
        if reads_only(sql) {
            (self.read.clone(), None)
        } else {
            (self.write.clone(), Some(self.bump(false)))
        }
    }
}

/// Does a statement only read? Decided by its first keyword; a statement wrongly taken for
/// a read fails on the read-only connections rather than writing around the writer.
fn reads_only(sql: &str) -> bool {
    let head: String = sql
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    matches!(head.as_str(), "SELECT" | "WITH" | "PRAGMA" | "EXPLAIN")
}

/// The write connection in use; the generations rise when it is given back (the bump is
/// declared first, so it is dropped while the connection is still held).
pub struct WriteConn {
    _bump: Bump,
    conn: Conn,
}

impl Deref for WriteConn {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

/// A write transaction: `&mut *tx` is its connection. Begun, committed and rolled back
/// through sqlx's own transaction manager, which survives cancellation at any point: a
/// `BEGIN` whose caller went away is rolled back by the connection's worker, and a
/// transaction dropped before its commit was acknowledged queues its `ROLLBACK` on the
/// connection (ahead of any later command) before the connection is given back.
pub struct WriteTx {
    conn: WriteConn,
    open: bool,
}

impl WriteTx {
    async fn begin(mut conn: WriteConn) -> Result<WriteTx, sqlx::Error> {
        let begun =
            SqliteTransactionManager::begin(&mut conn, Some("BEGIN IMMEDIATE".into())).await;
        if let Err(sqlx::Error::WorkerCrashed) = begun {
            // The connection is gone for good: the next turn opens a new one.
            conn.conn.close_on_drop();
        }
        begun?;
        Ok(WriteTx { conn, open: true })
    }

    /// Commits; the generation rises once the commit is visible.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        SqliteTransactionManager::commit(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }

    /// Undoes the transaction.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        SqliteTransactionManager::rollback(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            SqliteTransactionManager::start_rollback(&mut self.conn);
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

/// The first row of a write (`INSERT ... RETURNING`), the statement stepped to its end.
///
/// sqlx's own `fetch_optional` resets a statement after its first row. SQLite then commits
/// the write, but runs its automatic WAL checkpoint only from a statement that steps to its
/// end, never from a reset: a run of writes answered with `RETURNING` (every `tags/add`)
/// never checkpointed, and the WAL grew by every write until some other statement ran one.
async fn first_row_stepped_to_the_end<'q, E>(
    conn: &mut SqliteConnection,
    query: E,
) -> Result<Option<SqliteRow>, sqlx::Error>
where
    E: 'q + Execute<'q, Sqlite>,
{
    let mut results = conn.fetch_many(query);
    let mut first = None;
    while let Some(result) = results.next().await {
        if let Either::Right(row) = result? {
            first.get_or_insert(row);
        }
    }
    Ok(first)
}

impl<'c> Executor<'c> for &'c Db {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        let (conns, bump) = self.route(query.sql());
        // Every store function collects its rows anyway; gathering them here lets the
        // connection go back (and the generation rise) as soon as the statement is done.
        stream::once(async move {
            let results: Vec<_> = match conns.acquire().await {
                Ok(mut conn) => {
                    let results = conn.fetch_many(query).collect().await;
                    // While the connection is held: see `Bump`.
                    drop(bump);
                    results
                }
                Err(e) => vec![Err(e)],
            };
            stream::iter(results)
        })
        .flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        let (conns, bump) = self.route(query.sql());
        Box::pin(async move {
            let mut conn = conns.acquire().await?;
            let r = match bump {
                Some(_) => first_row_stepped_to_the_end(&mut conn, query).await,
                None => conn.fetch_optional(query).await,
            };
            // While the connection is held: see `Bump`.
            drop(bump);
            r
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        let (conns, _) = self.route(sql);
        Box::pin(async move { conns.acquire().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>>
    where
        'c: 'e,
    {
        let (conns, _) = self.route(sql);
        Box::pin(async move { conns.acquire().await?.describe(sql).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_routed_by_their_first_keyword() {
        for read in [
            "SELECT 1",
            "  select * from t",
            "\n WITH x AS (SELECT 1) SELECT * FROM x",
            "PRAGMA table_info(t)",
        ] {
            assert!(reads_only(read), "{read}");
        }
        for write in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 1",
            " delete from t",
            "REPLACE INTO t VALUES (1)",
            "CREATE TABLE t (a)",
            "BEGIN IMMEDIATE",
            "",
        ] {
            assert!(!reads_only(write), "{write}");
        }
    }

    /// Account 1, as the generation tests write it.
    const ACCOUNT: &str = "INSERT INTO accounts (id, handle, whmcs_id, email, password_hash, \
        firstname, lastname, country, created_at) VALUES (1, 'h', 1, 'e@x', 'p', 'f', 'l', 'NL', 0)";

    /// An in-memory database (one connection for everything) or a file's.
    async fn memory_or_file_db(memory: bool) -> (Db, Option<tempfile::TempDir>) {
        if memory {
            (crate::store::open(":memory:").await.expect("open"), None)
        } else {
            let (db, dir) = file_db().await;
            (db, Some(dir))
        }
    }

    async fn file_db() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let db = crate::store::open(path.to_str().expect("path"))
            .await
            .expect("open");
        (db, dir)
    }

    #[tokio::test]
    async fn the_read_connections_of_a_file_refuse_writes() {
        let (db, _dir) = file_db().await;
        let mut conn = db.acquire().await.expect("read");
        let e = sqlx::query("INSERT INTO meta (key, value) VALUES ('k', 'v')")
            .execute(&mut *conn)
            .await
            .expect_err("a reader must not write");
        assert!(e.to_string().contains("readonly"), "{e}");
        // Through `&Db`, the same statement goes to the writer.
        sqlx::query("INSERT INTO meta (key, value) VALUES ('k', 'v')")
            .execute(&db)
            .await
            .expect("write through the writer");
    }

    #[tokio::test]
    async fn the_generation_rises_after_each_write_and_never_for_reads() {
        let (db, _dir) = file_db().await;
        let g0 = db.generation();
        sqlx::query("SELECT COUNT(*) FROM meta")
            .fetch_one(&db)
            .await
            .expect("read");
        assert_eq!(db.generation(), g0, "a read");
        sqlx::query("INSERT INTO meta (key, value) VALUES ('a', '1')")
            .execute(&db)
            .await
            .expect("write");
        assert_eq!(db.generation(), g0 + 1, "an autocommit write");
        let mut tx = db.begin_write().await.expect("begin");
        sqlx::query("INSERT INTO meta (key, value) VALUES ('b', '1')")
            .execute(&mut *tx)
            .await
            .expect("write");
        assert_eq!(db.generation(), g0 + 1, "not before the commit");
        tx.commit().await.expect("commit");
        assert_eq!(db.generation(), g0 + 2, "after the commit");
        let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meta WHERE key = 'b'")
            .fetch_one(&db)
            .await
            .expect("read");
        assert_eq!(seen, 1, "a reader sees the commit once the generation rose");
    }

    #[tokio::test]
    async fn the_auth_generation_rises_for_writes_to_sessions_accounts_and_keys_only() {
        for memory in [false, true] {
            let (db, _dir) = memory_or_file_db(memory).await;
            let a0 = db.auth_generation();
            sqlx::query("INSERT INTO meta (key, value) VALUES ('x', '1')")
                .execute(&db)
                .await
                .expect("write");
            assert_eq!(db.auth_generation(), a0, "meta is no auth table");
            let mut tx = db.begin_write().await.expect("begin");
            sqlx::query(ACCOUNT)
                .execute(&mut *tx)
                .await
                .expect("account");
            assert_eq!(db.auth_generation(), a0, "not before the commit");
            tx.commit().await.expect("commit");
            assert_eq!(db.auth_generation(), a0 + 1, "an account was written");
            sqlx::query("UPDATE accounts SET firstname = 'g' WHERE id = 1")
                .execute(&db)
                .await
                .expect("update");
            assert_eq!(db.auth_generation(), a0 + 2);
            sqlx::query("UPDATE accounts SET firstname = 'g' WHERE id = 2")
                .execute(&db)
                .await
                .expect("no row");
            assert_eq!(db.auth_generation(), a0 + 2, "no row changed");
            drop(db.acquire_write().await.expect("raw"));
            assert_eq!(db.auth_generation(), a0 + 3, "raw use of the writer counts");
        }
    }

    #[tokio::test]
    async fn the_servers_generation_rises_for_writes_to_servers_only() {
        for memory in [false, true] {
            let (db, _dir) = memory_or_file_db(memory).await;
            let write = |sql: &'static str| {
                let db = db.clone();
                async move { sqlx::query(sql).execute(&db).await.expect(sql) }
            };
            write(
                "INSERT INTO locations (code, id, name, dc_name, country) \
                 VALUES ('NL', 1, 'Amsterdam', 'NL-1', 'NL')",
            )
            .await;
            // (servers generation, auth generation), counted from here.
            let (s0, a0) = (db.generation_of(Watched::Servers), db.auth_generation());
            let raised = || {
                (
                    db.generation_of(Watched::Servers) - s0,
                    db.auth_generation() - a0,
                )
            };
            write(ACCOUNT).await;
            assert_eq!(raised(), (0, 1), "an account");
            write(
                "INSERT INTO servers (id, account_id, location, kind, type, control, hwconfig, \
                 hardware, reg_date, due_date, created_at) \
                 VALUES (7, 1, 'NL', 'vm', 'VPS', 'ovirt', 'x', '{}', 0, 0, 0)",
            )
            .await;
            assert_eq!(raised(), (1, 1), "a server");
            let mut tx = db.begin_write().await.expect("begin");
            sqlx::query("UPDATE servers SET power = 'off' WHERE id = 7")
                .execute(&mut *tx)
                .await
                .expect("update");
            assert_eq!(raised(), (1, 1), "not before the commit");
            tx.commit().await.expect("commit");
            assert_eq!(raised(), (2, 1), "after the commit");
            write("INSERT INTO meta (key, value) VALUES ('x', '1')").await;
            assert_eq!(raised(), (2, 1), "neither");
            // A server that goes with its account (ON DELETE CASCADE) counts too.
            write("DELETE FROM accounts WHERE id = 1").await;
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM servers WHERE id = 7")
                .fetch_one(&db)
                .await
                .expect("count");
            assert_eq!(left, 0);
            assert_eq!(raised(), (3, 2), "the cascade");
            drop(db.acquire_write().await.expect("raw"));
            assert_eq!(raised(), (4, 3), "raw use of the writer raises both");
        }
    }

    #[tokio::test]
    async fn writes_answered_with_returning_let_the_wal_checkpoint() {
        let (db, _dir) = file_db().await;
        for i in 0..3000 {
            let key: Option<String> =
                sqlx::query_scalar("INSERT INTO meta (key, value) VALUES (?, 'x') RETURNING key")
                    .bind(format!("k{i}"))
                    .fetch_optional(&db)
                    .await
                    .expect("insert");
            assert_eq!(key, Some(format!("k{i}")));
        }
        // Frames in the WAL now: at most SQLite's automatic checkpoint interval (1,000
        // pages) and the writes since the log last restarted. Without checkpoints it holds
        // a frame or more for each of the 3,000 writes.
        let mut writer = db.acquire_write().await.expect("writer");
        let (_, log, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut **writer)
            .await
            .expect("checkpoint");
        drop(writer);
        assert!(log < 1500, "{log} frames in the WAL");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'")
            .fetch_one(&db)
            .await
            .expect("count");
        assert_eq!(n, 3000);
    }

    #[tokio::test]
    async fn a_transaction_dropped_without_commit_is_undone_before_the_writer_serves_again() {
        let (db, _dir) = file_db().await;
        {
            let mut tx = db.begin_write().await.expect("begin");
            sqlx::query("INSERT INTO meta (key, value) VALUES ('gone', '1')")
                .execute(&mut *tx)
                .await
                .expect("write");
        }
        // The next write waits for the writer, which the rollback holds until it has run.
        let mut tx = db.begin_write().await.expect("begin again");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meta WHERE key = 'gone'")
            .fetch_one(&mut *tx)
            .await
            .expect("count");
        assert_eq!(n, 0);
        tx.rollback().await.expect("rollback");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_cancelled_at_any_point_leave_no_transaction_open() {
        let (db, _dir) = file_db().await;
        for i in 0..500u64 {
            let db2 = db.clone();
            let write = tokio::spawn(async move {
                let mut tx = db2.begin_write().await?;
                sqlx::query("INSERT INTO meta (key, value) VALUES (?, 'x')")
                    .bind(format!("k{i}"))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            });
            // Cancelled after a varying number of scheduler turns: before, during or after
            // its BEGIN, its INSERT or its COMMIT.
            for _ in 0..(i % 7) {
                tokio::task::yield_now().await;
            }
            write.abort();
            let _ = write.await;
        }
        // The writer still starts, writes and commits transactions of its own.
        let mut tx = tokio::time::timeout(std::time::Duration::from_secs(10), db.begin_write())
            .await
            .expect("the writer is free")
            .expect("begin");
        sqlx::query("INSERT INTO meta (key, value) VALUES ('after', 'y')")
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meta WHERE key = 'after'")
            .fetch_one(&db)
            .await
            .expect("count");
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn writers_take_turns_on_the_one_write_connection() {
        let (db, _dir) = file_db().await;
        sqlx::query("CREATE TABLE n (v INTEGER NOT NULL)")
            .execute(&db)
            .await
            .expect("table");
        sqlx::query("INSERT INTO n VALUES (0)")
            .execute(&db)
            .await
            .expect("row");
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut tx = db.begin_write().await.expect("begin");
                    let v: i64 = sqlx::query_scalar("SELECT v FROM n")
                        .fetch_one(&mut *tx)
                        .await
                        .expect("read");
                    sqlx::query("UPDATE n SET v = ?")
                        .bind(v + 1)
                        .execute(&mut *tx)
                        .await
                        .expect("write");
                    tx.commit().await.expect("commit");
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        let v: i64 = sqlx::query_scalar("SELECT v FROM n")
            .fetch_one(&db)
            .await
            .expect("read");
        assert_eq!(v, 40, "no lost update");
    }
}
