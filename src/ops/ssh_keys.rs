//! SSH public keys of an account (issue 13, `ssh_keys.php`): list, add, delete, and the
//! stored key an order names by id or name. Keys belong to the whole account: a session
//! opened with a per-server key is refused them all.

use super::sessions::Principal;
use crate::domain::rules::shorten;
use crate::domain::ssh_key;
use crate::error::{AccountOnly, Error, Result};
use crate::state::AppState;
use crate::store::{self, ssh_keys::SshKey};

/// Longest key name, in characters.
pub const MAX_NAME: usize = 64;

/// Keys are the account's: a per-server key's session may not touch them.
fn account_wide(caller: &Principal) -> Result<()> {
    if caller.session.server_id > 0 {
        return Err(Error::AccountOnly {
            server: caller.session.server_id,
            what: AccountOnly::SshKeys,
        });
    }
    Ok(())
}

/// A key name: 1 to 64 characters, no control characters.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "invalid name '{}': use 1 to {MAX_NAME} printable characters",
            shorten(name)
        )));
    }
    Ok(())
}

/// The account's keys, oldest first.
pub async fn list(state: &AppState, caller: &Principal) -> Result<Vec<SshKey>> {
    account_wide(caller)?;
    Ok(store::ssh_keys::list(&state.db, caller.account.id).await?)
}

/// Stores a key after checking it ([`ssh_key::parse`]); a name or a key (same fingerprint)
/// the account already has is refused. A new default clears the old one in the same
/// transaction, so there is never more than one.
pub async fn add(
    state: &AppState,
    caller: &Principal,
    name: &str,
    key: &str,
    default: bool,
) -> Result<SshKey> {
    account_wide(caller)?;
    check_name(name)?;
    let parsed = ssh_key::parse(key)?;
    let account_id = caller.account.id;
    let mut tx = store::begin_write(&state.db).await?;
    if let Some(old) =
        store::ssh_keys::clash(&mut *tx, account_id, name, &parsed.fingerprint).await?
    {
        return Err(Error::Conflict(if old.name == name {
            format!("an SSH key named '{}' already exists", shorten(name))
        } else {
            format!(
                "this key is already stored as '{}' (id {})",
                shorten(&old.name),
                old.id
            )
        }));
    }
    if default {
        store::ssh_keys::clear_default(&mut *tx, account_id).await?;
    }
    let mut k = SshKey {
        id: 0,
        account_id,
        name: name.to_owned(),
        key: parsed.text,
        fingerprint: parsed.fingerprint,
        is_default: i64::from(default),
        created_at: state.clock.now(),
    };
    k.id = store::ssh_keys::insert(&mut *tx, &k).await?;
    tx.commit().await?;
    Ok(k)
}

/// Deletes one of the account's keys; returns it as it was.
pub async fn delete(state: &AppState, caller: &Principal, id: i64) -> Result<SshKey> {
    account_wide(caller)?;
    let mut tx = store::begin_write(&state.db).await?;
    let k = store::ssh_keys::delete(&mut *tx, caller.account.id, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("ssh key {id} not found")))?;
    tx.commit().await?;
    Ok(k)
}

/// The key an order's `ssh_key` names, with its fingerprint and name: a stored key of the
/// account by id or name, else the text itself. Text that is a valid OpenSSH key gets its
/// fingerprint; other text is left for the order's own check (`None`). A per-server
/// key's session cannot name the account's stored keys.
pub async fn for_order(
    state: &AppState,
    caller: &Principal,
    reference: &str,
) -> Result<Option<SshKey>> {
    if let Ok(k) = ssh_key::parse(reference) {
        return Ok(Some(SshKey {
            id: 0,
            account_id: caller.account.id,
            name: String::new(),
            key: k.text,
            fingerprint: k.fingerprint,
            is_default: 0,
            created_at: 0,
        }));
    }
    let looks_like_key = reference.split_whitespace().count() >= 2;
    if looks_like_key || caller.session.server_id > 0 {
        return Ok(None);
    }
    Ok(store::ssh_keys::find(&state.db, caller.account.id, reference.trim()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{principal_of_key, state, DEMO_KEY, DEMO_SERVER_KEY, OTHER_KEY};

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIslOTxq0jgi6hYcg5HqxCwc+LQcpeCaBHNHeLLO2qnt me@host";
    const P256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAMFUyzu5AyKGUngaVP/lZe0jBOMzrgH81Id6vcjjOQ9nSsJs0edwcQ1Q3kmP6gH1uW4RBkzu4rWbDl6gPnDoWc= me@host";

    #[tokio::test]
    async fn add_list_default_duplicates_and_delete() {
        let state = state().await;
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let a = add(&state, &demo, "laptop", ED, true).await.expect("add");
        assert_eq!(
            a.fingerprint,
            "SHA256:bfBWSB3CSypTMptoeKyo4q5gckv5YMfZU4bXP6OexAw"
        );
        let e = add(&state, &demo, "laptop", P256, false)
            .await
            .expect_err("name");
        assert_eq!(e.to_string(), "an SSH key named 'laptop' already exists");
        let other_comment = ED.replace("me@host", "else");
        let e = add(&state, &demo, "again", &other_comment, false)
            .await
            .expect_err("same key");
        assert_eq!(
            e.to_string(),
            format!("this key is already stored as 'laptop' (id {})", a.id)
        );
        let b = add(&state, &demo, "ci", P256, true).await.expect("add");
        let keys = list(&state, &demo).await.expect("list");
        let defaults: Vec<(i64, i64)> = keys.iter().map(|k| (k.id, k.is_default)).collect();
        assert_eq!(defaults, vec![(a.id, 0), (b.id, 1)], "one default");
        // Another account may store the same key and name; it sees only its own.
        let other = principal_of_key(&state, OTHER_KEY).await;
        add(&state, &other, "laptop", ED, false)
            .await
            .expect("theirs");
        assert_eq!(list(&state, &other).await.expect("list").len(), 1);
        assert!(matches!(
            delete(&state, &other, a.id).await,
            Err(Error::NotFound(_))
        ));
        assert_eq!(delete(&state, &demo, a.id).await.expect("delete").id, a.id);
        assert!(matches!(
            delete(&state, &demo, a.id).await,
            Err(Error::NotFound(_))
        ));
        assert_eq!(list(&state, &demo).await.expect("list").len(), 1);
    }

    #[tokio::test]
    async fn a_per_server_session_is_refused_and_orders_resolve_ids_and_names() {
        let state = state().await;
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await;
        let e = add(&state, &scoped, "x", ED, false)
            .await
            .expect_err("scoped");
        assert!(
            matches!(
                e,
                Error::AccountOnly {
                    what: AccountOnly::SshKeys,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(list(&state, &scoped).await.is_err());
        assert!(delete(&state, &scoped, 1).await.is_err());
        let k = add(&state, &demo, "laptop", ED, false).await.expect("add");
        let by_id = for_order(&state, &demo, &k.id.to_string())
            .await
            .expect("id");
        let by_name = for_order(&state, &demo, "laptop").await.expect("name");
        assert_eq!(by_id.as_ref().map(|k| &k.key), Some(&k.key));
        assert_eq!(by_name.map(|k| k.id), Some(k.id));
        let text = for_order(&state, &demo, P256)
            .await
            .expect("text")
            .expect("key");
        assert_eq!(text.id, 0);
        assert!(for_order(&state, &demo, "nope")
            .await
            .expect("none")
            .is_none());
        assert!(for_order(&state, &scoped, "laptop")
            .await
            .expect("none")
            .is_none());
    }
}
