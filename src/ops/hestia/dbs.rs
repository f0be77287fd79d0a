//! Databases and cron jobs (hestia-protocol.md B #32-34, #41-42). Database and database
//! user names are prefixed with the owner (`USER_DATABASE`, `USER_DBUSER`); their
//! passwords are stored as argon2 hashes only. A cron command's `'` is kept as `%quote%`
//! and printed back as `'`.

use sqlx::SqliteConnection;

use super::users::{owner_for_add, room_for};
use super::{check, code, fail, field, listed, object, pick, user, Cmd, Output, Step};
use crate::domain::hestia::listing::{Listing, Row};
use crate::domain::hestia::{self as rules};
use crate::store::hestia::{self as objects, Attrs, Object};
use crate::store::{self};

/// `v-list-databases` / `v-list-database` fields (B.1).
const DB: &[&str] = &[
    "DATABASE",
    "DBUSER",
    "HOST",
    "TYPE",
    "CHARSET",
    "U_DISK",
    "SUSPENDED",
    "TIME",
    "DATE",
];

/// `v-list-cron-jobs` fields (B.1).
const CRON: &[&str] = &[
    "MIN",
    "HOUR",
    "DAY",
    "MONTH",
    "WDAY",
    "CMD",
    "JOB",
    "SUSPENDED",
    "TIME",
    "DATE",
];

/// Character sets `v-add-database` takes.
const CHARSETS: &[&str] = &[
    "UTF8MB4", "UTF8", "LATIN1", "BIG5", "CP1250", "CP1251", "CP1256", "KOI8R", "LATIN2", "LATIN5",
    "LATIN7", "SJIS", "UJIS", "GBK", "GB2312", "EUCKR", "ASCII", "UTF16", "UTF32",
];

/// `v-add-database USER DATABASE DBUSER DBPASS [TYPE] [HOST] [CHARSET]` (B #32).
pub(super) async fn add(c: &Cmd<'_>) -> Step<Output> {
    c.need(4)?;
    let owner_name = c.arg(1);
    let rtype = c.or(5, "mysql");
    if rtype != "mysql" && rtype != "pgsql" {
        return Err(fail(code::E_INVALID, format!("{rtype} type is invalid")));
    }
    let mut database = format!("{owner_name}_{}", c.arg(2));
    let mut dbuser = format!("{owner_name}_{}", c.arg(3));
    if rtype == "pgsql" {
        database = database.to_lowercase();
        dbuser = dbuser.to_lowercase();
    }
    check(
        rules::valid_name(c.arg(2)) && database.len() <= 64,
        "database",
        &database,
    )?;
    check(
        rules::valid_name(c.arg(3)) && dbuser.len() <= 64,
        "dbuser",
        &dbuser,
    )?;
    let host = c.or(6, "localhost");
    check(
        host == "localhost" || rules::valid_domain(host) || rules::valid_ip(host),
        "host",
        host,
    )?;
    let charset = c.or(7, "UTF8MB4").to_uppercase();
    check(CHARSETS.contains(&charset.as_str()), "charset", &charset)?;
    let pw = c.password(4)?;
    let hash = c.hash(&pw).await?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (owner, _) = owner_for_add(&mut tx, c).await?;
    if objects::named(&mut *tx, c.panel_id, "db", &database)
        .await?
        .is_some()
    {
        return Err(fail(
            code::E_EXISTS,
            format!("DB={database} already exists"),
        ));
    }
    room_for(&mut tx, c, &owner, "DATABASES", "db").await?;
    let mut a = Attrs::new();
    for (k, v) in [
        ("DATABASE", database.clone()),
        ("DBUSER", dbuser),
        ("HOST", host.to_owned()),
        ("TYPE", rtype.to_owned()),
        ("CHARSET", charset),
        ("U_DISK", "0".into()),
        ("SUSPENDED", "no".into()),
    ] {
        a.insert(k.into(), v);
    }
    c.stamp(&mut a);
    objects::insert(
        &mut *tx,
        c.place("db", &owner.name, ""),
        &database,
        &a,
        Some(&hash),
        c.now,
    )
    .await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// The user (argument 1) and its database (argument 2, the full prefixed name).
async fn db_of(conn: &mut SqliteConnection, c: &Cmd<'_>) -> Step<Object> {
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    user(conn, c, name).await?;
    let db = c.arg(2);
    check(rules::valid_name(db), "database", db)?;
    object(conn, c.place("db", name, ""), db, "db database").await
}

/// `v-list-databases USER [FORMAT]` / `v-list-database USER DATABASE [FORMAT]` (B #33).
pub(super) async fn list(c: &Cmd<'_>, one: Option<&str>) -> Step<Output> {
    c.need(if one.is_some() { 2 } else { 1 })?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let mut conn = c.state.db.acquire().await?;
    user(&mut conn, c, name).await?;
    let dbs = match one {
        Some(_) => vec![db_of(&mut conn, c).await?],
        None => objects::list(&mut *conn, c.place("db", name, "")).await?,
    };
    let rows: Vec<Row> = dbs
        .iter()
        .map(|d| (d.name.clone(), pick(&d.attrs(), DB)))
        .collect();
    let how = Listing {
        key: "DATABASE",
        keyed: true,
        shell: &["DBUSER", "HOST", "TYPE", "U_DISK", "SUSPENDED", "DATE"],
    };
    Ok(listed(
        c.format(if one.is_some() { 3 } else { 2 }),
        &how,
        &rows,
    ))
}

/// `v-delete-database USER DATABASE` (B #34).
pub(super) async fn delete(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let d = db_of(&mut tx, c).await?;
    objects::delete(&mut *tx, d.id).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-change-database-password USER DATABASE DBPASS` (B #34).
pub(super) async fn change_password(c: &Cmd<'_>) -> Step<Output> {
    c.need(3)?;
    let pw = c.password(3)?;
    let hash = c.hash(&pw).await?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let d = db_of(&mut tx, c).await?;
    objects::set_secret(&mut *tx, d.id, &hash).await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-add-cron-job USER MIN HOUR DAY MONTH WDAY CRON_COMMAND [JOB] [RESTART]` (B #41):
/// JOB is the highest plus one when not given.
pub(super) async fn add_cron(c: &Cmd<'_>) -> Step<Output> {
    c.need(7)?;
    for (i, what) in [
        (2, "min"),
        (3, "hour"),
        (4, "day"),
        (5, "month"),
        (6, "wday"),
    ] {
        check(rules::valid_cron_field(c.arg(i)), what, c.arg(i))?;
    }
    let command = c.arg(7);
    check(
        !command.is_empty() && !command.chars().any(char::is_control),
        "command",
        command,
    )?;
    let job_arg = c.arg(8);
    check(
        job_arg.is_empty() || job_arg.parse::<u32>().is_ok(),
        "job",
        job_arg,
    )?;
    let mut tx = store::begin_write(&c.state.db).await?;
    let (owner, _) = owner_for_add(&mut tx, c).await?;
    let jobs = objects::list(&mut *tx, c.place("cron", &owner.name, "")).await?;
    let job = if job_arg.is_empty() {
        let max = jobs
            .iter()
            .filter_map(|j| j.name.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        (max + 1).to_string()
    } else {
        let job = job_arg.parse::<u64>().unwrap_or(0).to_string();
        if jobs.iter().any(|j| j.name == job) {
            return Err(fail(code::E_EXISTS, format!("JOB={job} already exists")));
        }
        job
    };
    room_for(&mut tx, c, &owner, "CRON_JOBS", "cron").await?;
    let mut a = Attrs::new();
    for (k, v) in [
        ("MIN", c.arg(2).to_owned()),
        ("HOUR", c.arg(3).to_owned()),
        ("DAY", c.arg(4).to_owned()),
        ("MONTH", c.arg(5).to_owned()),
        ("WDAY", c.arg(6).to_owned()),
        ("CMD", command.replace('\'', "%quote%")),
        ("JOB", job.clone()),
        ("SUSPENDED", "no".into()),
    ] {
        a.insert(k.into(), v);
    }
    c.stamp(&mut a);
    objects::insert(
        &mut *tx,
        c.place("cron", &owner.name, ""),
        &job,
        &a,
        None,
        c.now,
    )
    .await?;
    tx.commit().await?;
    Ok(Output::ok())
}

/// `v-list-cron-jobs USER [FORMAT]` (B #42), in JOB order.
pub(super) async fn crons(c: &Cmd<'_>) -> Step<Output> {
    c.need(1)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let mut conn = c.state.db.acquire().await?;
    user(&mut conn, c, name).await?;
    let mut jobs = objects::list(&mut *conn, c.place("cron", name, "")).await?;
    jobs.sort_by_key(|j| j.name.parse::<u64>().unwrap_or(u64::MAX));
    let rows: Vec<Row> = jobs
        .iter()
        .map(|j| {
            let mut a = j.attrs();
            a.insert("CMD".into(), field(&a, "CMD").replace("%quote%", "'"));
            (j.name.clone(), pick(&a, CRON))
        })
        .collect();
    let how = Listing {
        key: "JOB",
        keyed: true,
        shell: &[
            "MIN",
            "HOUR",
            "DAY",
            "MONTH",
            "WDAY",
            "CMD",
            "SUSPENDED",
            "DATE",
        ],
    };
    Ok(listed(c.format(2), &how, &rows))
}

/// `v-delete-cron-job USER JOB` (B #42).
pub(super) async fn delete_cron(c: &Cmd<'_>) -> Step<Output> {
    c.need(2)?;
    let name = c.arg(1);
    check(rules::valid_user(name), "user", name)?;
    let job = c.arg(2);
    check(job.parse::<u32>().is_ok(), "job", job)?;
    let mut tx = store::begin_write(&c.state.db).await?;
    user(&mut tx, c, name).await?;
    let j = object(&mut tx, c.place("cron", name, ""), job, "cron job").await?;
    objects::delete(&mut *tx, j.id).await?;
    tx.commit().await?;
    Ok(Output::ok())
}
