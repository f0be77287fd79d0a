//! Tags on servers (001 "Tags"): customers add, change and remove their own; the tags the
//! provider sets (internal ones, such as `billing_product_id`) are read-only to them.

use super::servers::Scope;
use crate::domain::rules::{shorten, valid_tag_name};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, servers::Server, tags::Tag};

/// The component servers' tags are filed under.
const SERVERS: &str = "eq";

/// Checks a tag name, with the message clients see when it is wrong.
pub fn check_name(tag: &str) -> Result<()> {
    if valid_tag_name(tag) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "invalid tag name '{}': use at most 64 letters, digits, '_', '-', '.' or ':'",
        shorten(tag)
    )))
}

/// Tag add: creates the server's tag or changes its value. `extra` left out keeps the
/// tag's current extra (empty for a new tag). `server` is one the caller owns
/// (`servers::owned`); an internal tag is refused.
pub async fn add(
    state: &AppState,
    server: &Server,
    tag: &str,
    value: &str,
    extra: Option<&str>,
) -> Result<Tag> {
    check_name(tag)?;
    // One statement: an internal tag is refused atomically, without a write transaction.
    store::tags::set_customer(&state.db, SERVERS, server.id, tag, value, extra)
        .await?
        .ok_or_else(|| Error::InternalTag {
            tag: tag.to_owned(),
            removal: false,
        })
}

/// Tag remove: deletes the server's tag and returns it as it was. `server` is one the
/// caller owns; a missing tag is `TagNotFound`, an internal one is refused.
pub async fn remove(state: &AppState, server: &Server, tag: &str) -> Result<Tag> {
    check_name(tag)?;
    let mut tx = store::begin_write(&state.db).await?;
    let t = store::tags::get(&mut *tx, SERVERS, server.id, tag)
        .await?
        .ok_or_else(|| Error::TagNotFound {
            tag: tag.to_owned(),
            server: server.id,
        })?;
    if t.internal == 1 {
        return Err(Error::InternalTag {
            tag: tag.to_owned(),
            removal: true,
        });
    }
    store::tags::delete(&mut *tx, t.id).await?;
    tx.commit().await?;
    Ok(t)
}

/// Tag user_search: ids of the scope's servers whose tag name or value contains `pattern`
/// (case-insensitive, wildcards taken literally).
pub async fn user_search(state: &AppState, scope: Scope, pattern: &str) -> Result<Vec<i64>> {
    Ok(
        store::tags::search_servers(&state.db, scope.account_id, pattern)
            .await?
            .into_iter()
            .filter(|id| scope.admits(*id))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::servers;
    use crate::ops::test_support::{principal_of_key, state, DEMO_KEY, DEMO_SERVER_KEY, OTHER_KEY};

    async fn server(state: &AppState, id: i64) -> Server {
        store::servers::get(&state.db, id)
            .await
            .expect("get")
            .expect("server")
    }

    #[test]
    fn names_are_checked_with_the_clients_message() {
        assert!(check_name("server_number").is_ok());
        let e = check_name("bad tag!").expect_err("bad");
        assert_eq!(
            e.to_string(),
            "invalid tag name 'bad tag!': use at most 64 letters, digits, '_', '-', '.' or ':'"
        );
    }

    #[tokio::test]
    async fn add_creates_then_changes_a_tag_keeping_its_id_and_extra() {
        let state = state().await;
        let s = server(&state, 40102).await;
        let a = add(&state, &s, "ref", "one", Some("x")).await.expect("add");
        assert_eq!((a.component.as_str(), a.component_id), ("eq", 40102));
        assert_eq!(
            (a.value.as_str(), a.extra.as_str(), a.internal),
            ("one", "x", 0)
        );
        let b = add(&state, &s, "ref", "two", None).await.expect("change");
        assert_eq!(b.id, a.id);
        assert_eq!((b.value.as_str(), b.extra.as_str()), ("two", "x"));
        let c = add(&state, &s, "ref", "three", Some(""))
            .await
            .expect("change");
        assert_eq!(c.extra, "", "a given extra replaces the old one");
        assert!(add(&state, &s, "bad tag!", "v", None).await.is_err());
    }

    #[tokio::test]
    async fn internal_tags_can_be_neither_changed_nor_removed() {
        let state = state().await;
        let s = server(&state, 40101).await;
        let e = add(&state, &s, "billing_product_id", "1", None)
            .await
            .expect_err("internal");
        assert!(
            matches!(e, Error::InternalTag { removal: false, .. }),
            "{e:?}"
        );
        let e = remove(&state, &s, "billing_product_id")
            .await
            .expect_err("internal");
        assert!(
            matches!(e, Error::InternalTag { removal: true, .. }),
            "{e:?}"
        );
        let kept = store::tags::get(&state.db, "eq", 40101, "billing_product_id")
            .await
            .expect("get")
            .expect("still there");
        assert_eq!(kept.internal, 1);
    }

    #[tokio::test]
    async fn remove_returns_the_tag_and_a_second_remove_finds_nothing() {
        let state = state().await;
        let s = server(&state, 40102).await;
        let a = add(&state, &s, "ref", "one", None).await.expect("add");
        let r = remove(&state, &s, "ref").await.expect("remove");
        assert_eq!((r.id, r.tag.as_str()), (a.id, "ref"));
        let e = remove(&state, &s, "ref").await.expect_err("gone");
        assert!(
            matches!(&e, Error::TagNotFound { tag, server: 40102 } if tag == "ref"),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn user_search_keeps_to_the_scope() {
        let state = state().await;
        let demo = principal_of_key(&state, DEMO_KEY).await;
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await;
        let other = principal_of_key(&state, OTHER_KEY).await;
        add(&state, &server(&state, 40101).await, "ref", "ACME-1", None)
            .await
            .expect("add");
        add(&state, &server(&state, 40102).await, "ref", "acme-2", None)
            .await
            .expect("add");
        let search = |scope| user_search(&state, scope, "acme");
        assert_eq!(
            search(demo.scope()).await.expect("search"),
            vec![40101, 40102]
        );
        assert_eq!(search(scoped.scope()).await.expect("search"), vec![40101]);
        assert!(search(other.scope()).await.expect("search").is_empty());
        // The other account may not reach demo's server to tag it.
        let e = servers::owned(&state, other.scope(), 40101)
            .await
            .expect_err("not theirs");
        assert!(matches!(e, Error::Denied(_)));
    }
}
