//! API keys (001 "Working with API keys using api_keys calls"): creating, changing and
//! deleting an account's keys, each step recorded in the key's history; who may see which
//! key. A session opened with a per-server key sees that server's keys only and may not
//! create account-wide ones. Changing a key's allow-list or disabling it ends the sessions
//! opened with it.

use serde_json::{json, Map, Value};

use super::servers;
use super::sessions::Principal;
use crate::domain::rules::{shorten, AllowList};
use crate::error::{AccountOnly, Error, Result};
use crate::secrets;
use crate::state::AppState;
use crate::store::{
    self,
    api_keys::{ApiKey, KeyFields},
};

/// A key just created, with the one copy of its secret anyone will ever see.
#[derive(Debug, Clone)]
pub struct Created {
    pub key: ApiKey,
    /// The full key (`<16 hex>-<16 hex>`); only its digest is stored.
    pub secret: String,
}

/// The visibility rule: a key of the caller's account, and for a per-server session only a
/// key of that same server.
fn may_see(caller: &Principal, key: &ApiKey) -> Result<()> {
    let scoped = caller.session.server_id > 0;
    if !caller.scope().admits(key.server_id) || (scoped && key.server_id == 0) {
        return Err(Error::AccountOnly {
            server: caller.session.server_id,
            what: AccountOnly::ReadKeys,
        });
    }
    Ok(())
}

/// The key, if the caller may see it (read from the pool or inside a transaction).
async fn visible<'e, E: sqlx::SqliteExecutor<'e>>(
    db: E,
    caller: &Principal,
    id: i64,
) -> Result<ApiKey> {
    let key = store::api_keys::get(db, caller.account.id, id)
        .await?
        .ok_or(Error::ApiKeyNotFound { id })?;
    may_see(caller, &key)?;
    Ok(key)
}

/// Key view: one key, if the caller may see it.
pub async fn view(state: &AppState, caller: &Principal, id: i64) -> Result<ApiKey> {
    visible(&state.db, caller, id).await
}

/// Key list: the account's keys, or a per-server session's server's only.
pub async fn list(state: &AppState, caller: &Principal) -> Result<Vec<ApiKey>> {
    let scope = caller.scope().server_id;
    Ok(store::api_keys::list(&state.db, caller.account.id, scope).await?)
}

/// Key list for a server: the keys of one server the caller owns and may reach.
pub async fn list_for_server(
    state: &AppState,
    caller: &Principal,
    server_id: i64,
) -> Result<Vec<ApiKey>> {
    servers::owned(state, caller.scope(), server_id).await?;
    Ok(store::api_keys::list(&state.db, caller.account.id, Some(server_id)).await?)
}

/// The login notice's method: none, email or webhook (lower case).
pub fn check_notify_method(method: &str) -> Result<()> {
    if ["none", "email", "webhook"].contains(&method) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "invalid login_notify_method '{}', expected none, email or webhook",
        shorten(method)
    )))
}

/// The login notice's address fits its method: an e-mail address, or an http(s) URL.
pub fn check_notify_address(method: &str, address: Option<&str>) -> Result<()> {
    match (method, address) {
        ("email", Some(a)) if a.contains('@') && !a.contains(char::is_whitespace) => Ok(()),
        ("email", _) => Err(Error::invalid(
            "login_notify_address must be an e-mail address for method email",
        )),
        ("webhook", Some(a)) if a.starts_with("http://") || a.starts_with("https://") => Ok(()),
        ("webhook", _) => Err(Error::invalid(
            "login_notify_address must be an http(s) URL for method webhook",
        )),
        _ => Ok(()),
    }
}

/// Every rule a key's fields follow (faces check them as they read them, in their own
/// order; this makes sure nothing unchecked is stored whoever calls).
fn check_fields(f: &KeyFields) -> Result<()> {
    AllowList::parse(&f.ip).map_err(Error::invalid)?;
    check_notify_method(&f.login_notify_method)?;
    check_notify_address(&f.login_notify_method, f.login_notify_address.as_deref())
}

/// Key add: creates a key (for the account, or for one server the caller owns) and
/// records it in the key's history with `given`, the fields as the client sent them. A
/// per-server session may only create keys for its own server.
pub async fn add(
    state: &AppState,
    caller: &Principal,
    fields: KeyFields,
    given: Map<String, Value>,
) -> Result<Created> {
    check_fields(&fields)?;
    if fields.server_id != 0 {
        servers::owned(state, caller.scope(), fields.server_id).await?;
    } else if caller.session.server_id > 0 {
        return Err(Error::AccountOnly {
            server: caller.session.server_id,
            what: AccountOnly::CreateKeys,
        });
    }
    let secret = secrets::api_key();
    let view: String = secret.chars().take(4).collect();
    let now = state.clock.now();
    let account = &caller.account;
    let mut tx = store::begin_write(&state.db).await?;
    let id = store::api_keys::insert(
        &mut *tx,
        None,
        account.id,
        &fields,
        &secrets::digest(&secret),
        &view,
        now,
    )
    .await?;
    let msg = format!("Created new api_key {id}. json:{}", Value::Object(given));
    store::api_keys::add_history(
        &mut *tx,
        id,
        account.id,
        now,
        &msg,
        "action",
        &account.email,
    )
    .await?;
    tx.commit().await?;
    Ok(Created {
        key: ApiKey {
            id,
            name: fields.name,
            active: fields.active,
            ip: fields.ip,
            server_id: fields.server_id,
            token_view: view,
            login_notify_method: fields.login_notify_method,
            login_notify_address: fields.login_notify_address,
            account_id: account.id,
        },
        secret,
    })
}

/// Key edit: stores the key's new fields (its server stays), records the request (`given`)
/// and each change in the key's history, and ends the key's sessions when it is disabled
/// or its allow-list changes, so that the next login is checked against the new list.
pub async fn edit(
    state: &AppState,
    caller: &Principal,
    id: i64,
    fields: &KeyFields,
    given: Map<String, Value>,
) -> Result<()> {
    check_fields(fields)?;
    let now = state.clock.now();
    let account = &caller.account;
    let mut tx = store::begin_write(&state.db).await?;
    let current = visible(&mut *tx, caller, id).await?;
    let mut changes = Vec::new();
    let mut change = |name: &str, from: &str, to: &str| {
        if from != to {
            changes.push(format!("{name} from '{from}' to '{to}'"));
        }
    };
    change("name", &current.name, &fields.name);
    change(
        "active",
        &current.active.to_string(),
        &fields.active.to_string(),
    );
    change("ip", &current.ip, &fields.ip);
    change(
        "login_notify_method",
        &current.login_notify_method,
        &fields.login_notify_method,
    );
    change(
        "login_notify_address",
        current.login_notify_address.as_deref().unwrap_or(""),
        fields.login_notify_address.as_deref().unwrap_or(""),
    );
    let mut updated = Map::new();
    updated.insert("id".into(), json!(id.to_string()));
    updated.extend(given);
    store::api_keys::update(&mut *tx, id, fields).await?;
    let login = &account.email;
    let msg = format!("Updated api_key {id}. json:{}", Value::Object(updated));
    store::api_keys::add_history(&mut *tx, id, account.id, now, &msg, "action", login).await?;
    if !changes.is_empty() {
        let msg = format!("Changed api_key {id}. {}", changes.join(", "));
        store::api_keys::add_history(&mut *tx, id, account.id, now, &msg, "action", login).await?;
    }
    if fields.active == 0 || fields.ip != current.ip {
        // A disabled key's sessions end with it; so do they when its allow-list changes,
        // and the client's next login is checked against the new list.
        store::sessions::delete_for_key(&mut *tx, id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Key delete: removes a key the caller may see, ends the sessions opened with it, and
/// records the deletion in its history (which stays readable).
pub async fn delete(state: &AppState, caller: &Principal, id: i64) -> Result<()> {
    let now = state.clock.now();
    let account = &caller.account;
    let mut tx = store::begin_write(&state.db).await?;
    visible(&mut *tx, caller, id).await?;
    store::api_keys::delete(&mut *tx, id).await?;
    store::sessions::delete_for_key(&mut *tx, id).await?;
    let msg = format!(
        "Deleted api_key {id}. json:{}",
        json!({"id": id.to_string()})
    );
    store::api_keys::add_history(
        &mut *tx,
        id,
        account.id,
        now,
        &msg,
        "action",
        &account.email,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// May the caller read this key's history? A key it may see, or, for an account-wide
/// session, a key the account once had (a deleted key's history stays readable).
pub async fn check_history(state: &AppState, caller: &Principal, id: i64) -> Result<()> {
    match store::api_keys::get(&state.db, caller.account.id, id).await? {
        Some(key) => may_see(caller, &key),
        None if caller.session.server_id == 0
            && store::api_keys::had_key(&state.db, caller.account.id, id).await? =>
        {
            Ok(())
        }
        None => Err(Error::ApiKeyNotFound { id }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{principal_of_key, state, DEMO_KEY, DEMO_SERVER_KEY, OTHER_KEY};
    use crate::store::test_support::count;

    /// The demo account's keys: 484 (account-wide), 485 (server 40101).
    const ACCOUNT_KEY: i64 = 484;
    const SERVER_KEY: i64 = 485;

    fn fields(name: &str, server_id: i64) -> KeyFields {
        KeyFields {
            name: name.into(),
            server_id,
            ip: String::new(),
            login_notify_method: "none".into(),
            login_notify_address: None,
            active: 1,
        }
    }

    fn ids(keys: &[ApiKey]) -> Vec<i64> {
        keys.iter().map(|k| k.id).collect()
    }

    async fn history(state: &AppState, account: i64, id: i64) -> Vec<String> {
        store::api_keys::history(&state.db, account, id, 0, i64::MAX)
            .await
            .expect("history")
            .into_iter()
            .map(|r| r.message)
            .collect()
    }

    #[test]
    fn notice_rules_match_method_and_address() {
        assert!(check_notify_method("webhook").is_ok());
        assert!(check_notify_method("sms").is_err());
        assert!(check_notify_address("email", Some("a@b.c")).is_ok());
        assert!(check_notify_address("email", Some("a @b.c")).is_err());
        assert!(check_notify_address("email", None).is_err());
        assert!(check_notify_address("webhook", Some("https://x")).is_ok());
        assert!(check_notify_address("webhook", Some("ftp://x")).is_err());
        assert!(check_notify_address("none", None).is_ok());
    }

    #[tokio::test]
    async fn a_per_server_session_sees_its_servers_keys_only() {
        let state = state().await;
        let account = principal_of_key(&state, DEMO_KEY).await;
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await;
        let all = list(&state, &account).await.expect("list");
        assert_eq!(ids(&all), vec![ACCOUNT_KEY, SERVER_KEY]);
        let own = list(&state, &scoped).await.expect("list");
        assert_eq!(ids(&own), vec![SERVER_KEY]);
        assert_eq!(
            view(&state, &scoped, SERVER_KEY).await.expect("view").id,
            SERVER_KEY
        );
        let e = view(&state, &scoped, ACCOUNT_KEY)
            .await
            .expect_err("account key");
        assert!(
            matches!(
                e,
                Error::AccountOnly {
                    server: 40101,
                    what: AccountOnly::ReadKeys
                }
            ),
            "{e:?}"
        );
        let e = check_history(&state, &scoped, ACCOUNT_KEY)
            .await
            .expect_err("account key");
        assert!(matches!(e, Error::AccountOnly { .. }), "{e:?}");
        let e = list_for_server(&state, &scoped, 40102)
            .await
            .expect_err("other server");
        assert!(matches!(e, Error::Denied(_)), "{e:?}");
        let by_server = list_for_server(&state, &account, 40101)
            .await
            .expect("list");
        assert_eq!(ids(&by_server), vec![SERVER_KEY]);
        // Another account's keys do not exist for the caller.
        let other = principal_of_key(&state, OTHER_KEY).await;
        let e = view(&state, &other, ACCOUNT_KEY)
            .await
            .expect_err("not theirs");
        assert!(
            matches!(e, Error::ApiKeyNotFound { id: ACCOUNT_KEY }),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn add_stores_the_digest_records_the_request_and_shows_the_key_once() {
        let state = state().await;
        let account = principal_of_key(&state, DEMO_KEY).await;
        let mut given = Map::new();
        given.insert("name".into(), json!("ci"));
        let made = add(&state, &account, fields("ci", 0), given)
            .await
            .expect("add");
        assert!(crate::domain::rules::well_formed_key(&made.secret));
        assert_eq!(made.key.token_view, &made.secret[..4]);
        let stored = store::api_keys::by_digest(&state.db, &secrets::digest(&made.secret))
            .await
            .expect("get")
            .expect("stored");
        assert_eq!((stored.id, stored.name.as_str()), (made.key.id, "ci"));
        assert_eq!(
            history(&state, account.account.id, made.key.id).await,
            vec![format!(
                "Created new api_key {}. json:{{\"name\":\"ci\"}}",
                made.key.id
            )]
        );
        // A key for one of the account's servers.
        let for_server = add(&state, &account, fields("panel", 40102), Map::new())
            .await
            .expect("add");
        assert_eq!(for_server.key.server_id, 40102);
        // Unchecked fields are refused whoever calls.
        let mut bad = fields("x", 0);
        bad.login_notify_method = "email".into();
        assert!(add(&state, &account, bad, Map::new()).await.is_err());
    }

    #[tokio::test]
    async fn a_per_server_session_may_create_keys_only_for_its_own_server() {
        let state = state().await;
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await;
        let before = count(&state.db, "api_keys").await;
        let e = add(&state, &scoped, fields("sneaky", 0), Map::new())
            .await
            .expect_err("account key");
        assert!(
            matches!(
                e,
                Error::AccountOnly {
                    server: 40101,
                    what: AccountOnly::CreateKeys
                }
            ),
            "{e:?}"
        );
        let e = add(&state, &scoped, fields("sneaky", 40102), Map::new())
            .await
            .expect_err("other server");
        assert!(matches!(e, Error::Denied(_)), "{e:?}");
        assert_eq!(count(&state.db, "api_keys").await, before);
        let own = add(&state, &scoped, fields("own", 40101), Map::new())
            .await
            .expect("own server");
        assert_eq!(own.key.server_id, 40101);
    }

    #[tokio::test]
    async fn edit_records_the_changes_and_a_new_allow_list_ends_the_keys_sessions() {
        let state = state().await;
        let account = principal_of_key(&state, DEMO_KEY).await;
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await;
        let mut f = fields("nl-vm panel", 40101);
        f.name = "renamed".into();
        let mut given = Map::new();
        given.insert("name".into(), json!("renamed"));
        edit(&state, &account, SERVER_KEY, &f, given)
            .await
            .expect("rename");
        let msgs = history(&state, account.account.id, SERVER_KEY).await;
        assert_eq!(
            msgs[..2],
            [
                "Changed api_key 485. name from 'nl-vm panel' to 'renamed'".to_owned(),
                "Updated api_key 485. json:{\"id\":\"485\",\"name\":\"renamed\"}".to_owned(),
            ],
            "{msgs:?}"
        );
        // A rename leaves the key's sessions alone.
        let live = count(&state.db, "sessions WHERE api_key_id = 485").await;
        assert!(live > 0);
        f.ip = "10.9.9.9".into();
        edit(&state, &account, SERVER_KEY, &f, Map::new())
            .await
            .expect("narrow");
        assert_eq!(count(&state.db, "sessions WHERE api_key_id = 485").await, 0);
        // A per-server session may not edit the account's key.
        let e = edit(&state, &scoped, ACCOUNT_KEY, &fields("x", 0), Map::new())
            .await
            .expect_err("account key");
        assert!(matches!(e, Error::AccountOnly { .. }), "{e:?}");
        assert_eq!(
            view(&state, &account, ACCOUNT_KEY)
                .await
                .expect("view")
                .name,
            "demo automation"
        );
    }

    #[tokio::test]
    async fn delete_ends_sessions_and_leaves_a_readable_history() {
        let state = state().await;
        let account = principal_of_key(&state, DEMO_KEY).await;
        principal_of_key(&state, DEMO_SERVER_KEY).await;
        delete(&state, &account, SERVER_KEY).await.expect("delete");
        assert_eq!(count(&state.db, "sessions WHERE api_key_id = 485").await, 0);
        let e = view(&state, &account, SERVER_KEY).await.expect_err("gone");
        assert!(
            matches!(e, Error::ApiKeyNotFound { id: SERVER_KEY }),
            "{e:?}"
        );
        assert!(history(&state, account.account.id, SERVER_KEY).await[0]
            .starts_with("Deleted api_key 485. json:{\"id\":\"485\"}"));
        check_history(&state, &account, SERVER_KEY)
            .await
            .expect("a deleted key's history stays readable");
        let e = delete(&state, &account, SERVER_KEY)
            .await
            .expect_err("twice");
        assert!(matches!(e, Error::ApiKeyNotFound { .. }), "{e:?}");
        let other = principal_of_key(&state, OTHER_KEY).await;
        let e = check_history(&state, &other, SERVER_KEY)
            .await
            .expect_err("not theirs");
        assert!(matches!(e, Error::ApiKeyNotFound { .. }), "{e:?}");
    }
}
