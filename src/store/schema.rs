//! A new database's schema in one step. Applying the migrations one by one to an empty
//! database takes about 30 ms (several of them rebuild tables, and SQLite parses the whole
//! schema again for each `ALTER TABLE ... RENAME`): most of a fresh start, and of every
//! test that opens a new database. `schema.sql` is the schema the migrations end with, up
//! to the migration its first line names; an empty database gets it in one transaction,
//! and those migrations are recorded as applied, exactly as sqlx records them (their
//! checksums come from the migrator itself). Later migrations are applied by the migrator
//! as usual, and so is everything for a database that is not empty.
//!
//! A test keeps `schema.sql` equal to what the migrations build; after adding a migration,
//! `HOSTKEY_EMU_WRITE_SCHEMA=1 cargo test --lib schema_sql` writes it anew.

use sqlx::migrate::Migrator;
use sqlx::{Connection, SqliteConnection};

/// The schema the migrations build, up to the one its first line names.
const SCHEMA: &str = include_str!("schema.sql");

/// sqlx's own table of applied migrations, as its SQLite migrator creates it.
const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// The last migration `schema.sql` includes (`-- through migration N` on its first line).
fn through() -> i64 {
    SCHEMA
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("-- through migration "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Creates the schema of an empty database (no tables at all) in one transaction and
/// records the migrations it holds as applied; a database that has tables is left alone.
/// Returns whether it created the schema.
pub async fn create_if_empty(
    conn: &mut SqliteConnection,
    migrator: &Migrator,
) -> Result<bool, sqlx::Error> {
    let through = through();
    let mut tx = conn.begin().await?;
    let objects: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master")
        .fetch_one(&mut *tx)
        .await?;
    if objects > 0 || through == 0 {
        return Ok(false);
    }
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
    sqlx::raw_sql(MIGRATIONS_TABLE).execute(&mut *tx).await?;
    for m in migrator.iter().filter(|m| m.version <= through) {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (?1, ?2, TRUE, ?3, 0)",
        )
        .bind(m.version)
        .bind(&*m.description)
        .bind(&*m.checksum)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::ConnectOptions;

    async fn memory() -> SqliteConnection {
        sqlx::sqlite::SqliteConnectOptions::new()
            .foreign_keys(true)
            .connect()
            .await
            .expect("connect")
    }

    /// The schema's objects, in the order they were made.
    async fn objects(conn: &mut SqliteConnection) -> Vec<(String, String, String)> {
        sqlx::query_as(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY rowid",
        )
        .fetch_all(conn)
        .await
        .expect("schema")
    }

    /// The applied migrations as sqlx reads them.
    async fn applied(conn: &mut SqliteConnection) -> Vec<(i64, bool, Vec<u8>)> {
        sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
            .fetch_all(conn)
            .await
            .expect("applied")
    }

    #[tokio::test]
    async fn schema_sql_is_what_the_migrations_build() {
        let migrator = sqlx::migrate!("./migrations");
        let mut migrated = memory().await;
        migrator.run(&mut migrated).await.expect("migrate");
        let built = objects(&mut migrated).await;
        let last = migrator
            .iter()
            .map(|m| m.version)
            .max()
            .expect("migrations");
        let mut text = format!("-- through migration {last}\n");
        text.push_str(
            "-- Written by `HOSTKEY_EMU_WRITE_SCHEMA=1 cargo test --lib schema_sql`: the\n",
        );
        text.push_str("-- schema the migrations build (src/store/schema.rs). Do not edit.\n");
        for (_, _, sql) in &built {
            text.push('\n');
            text.push_str(sql);
            text.push_str(";\n");
        }
        if std::env::var_os("HOSTKEY_EMU_WRITE_SCHEMA").is_some() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/schema.sql"),
                &text,
            )
            .expect("write");
            return;
        }
        assert!(
            SCHEMA == text,
            "src/store/schema.sql is not what the migrations build: \
             HOSTKEY_EMU_WRITE_SCHEMA=1 cargo test --lib schema_sql"
        );

        // A database made from it has the same objects, the same applied migrations, and
        // nothing for the migrator left to do.
        let mut fresh = memory().await;
        assert!(create_if_empty(&mut fresh, &migrator)
            .await
            .expect("create"));
        assert_eq!(objects(&mut fresh).await, built);
        assert_eq!(applied(&mut fresh).await, applied(&mut migrated).await);
        migrator
            .run(&mut fresh)
            .await
            .expect("nothing left to apply");
        assert_eq!(objects(&mut fresh).await, built);
        // A database with tables is left to the migrator.
        assert!(!create_if_empty(&mut fresh, &migrator).await.expect("again"));
    }

    #[tokio::test]
    async fn migrations_after_the_schema_are_applied_by_the_migrator() {
        let mut migrator = sqlx::migrate!("./migrations");
        let last = migrator.iter().last().expect("migrations").clone();
        // A migration the schema does not hold yet, as if one had just been added.
        let mut later = last.clone();
        later.version = last.version + 1;
        later.description = "later".into();
        later.sql = "CREATE TABLE later_table (id INTEGER PRIMARY KEY)".into();
        later.checksum = std::borrow::Cow::Owned(vec![7; 48]);
        let mut all = migrator.migrations.to_vec();
        all.push(later);
        migrator.migrations = all.into();
        let mut conn = memory().await;
        assert!(create_if_empty(&mut conn, &migrator).await.expect("create"));
        let before: Vec<i64> = applied(&mut conn).await.into_iter().map(|a| a.0).collect();
        assert!(
            !before.contains(&(last.version + 1)),
            "not recorded: not in the schema"
        );
        migrator.run(&mut conn).await.expect("migrate");
        let names: Vec<String> = objects(&mut conn).await.into_iter().map(|o| o.1).collect();
        assert!(names.contains(&"later_table".to_owned()), "{names:?}");
    }
}
