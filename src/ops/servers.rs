//! Finding a caller's servers, with account isolation and per-server key scope; renaming
//! one.

use serde_json::Value;

use crate::domain::rules::{shorten, valid_hostname};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::inventory::{ListQuery, Listed, ShownIp, ShownServer};
use crate::store::servers::{Interface, Server};
use crate::store::{self, tags::Tag, Watched};

/// Whose request this is: an account, possibly narrowed to one server.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub account_id: i64,
    /// Set for sessions opened with a per-server API key.
    pub server_id: Option<i64>,
}

impl Scope {
    /// May this scope see the server with this id (ownership aside)?
    pub fn admits(&self, server_id: i64) -> bool {
        self.server_id.is_none_or(|s| s == server_id)
    }
}

/// The server, if it is the caller's and inside the session's scope.
pub async fn owned(state: &AppState, scope: Scope, id: i64) -> Result<Server> {
    check_id(id)?;
    // Remembered until a write touches a server row (not every write: a tag written, a
    // session opened leave it as it is).
    let found = state
        .servers
        .load(
            || state.db.generation_of(Watched::Servers),
            &id,
            store::servers::get(&state.db, id),
        )
        .await?;
    admit(scope, id, found, |s| s)
}

/// A server id that can name a server at all.
fn check_id(id: i64) -> Result<()> {
    if id <= 0 {
        return Err(Error::invalid(format!("invalid server id {id}")));
    }
    Ok(())
}

/// What was read for server `id` (none: there is no such server), if the scope may use it.
fn admit<T>(scope: Scope, id: i64, found: Option<T>, server: impl Fn(&T) -> &Server) -> Result<T> {
    let found = found.ok_or_else(|| Error::not_found(format!("server {id} not found")))?;
    if server(&found).account_id != Some(scope.account_id) {
        return Err(Error::denied(
            "permission denied #3, this is not your server",
        ));
    }
    if !scope.admits(id) {
        return Err(Error::denied(format!(
            "permission denied, this API key is limited to server {}",
            scope.server_id.unwrap_or_default()
        )));
    }
    Ok(found)
}

/// Everything eq/show tells of a server.
#[derive(Debug, Clone)]
pub struct Shown {
    pub server: ShownServer,
    pub interfaces: Vec<Interface>,
    pub ips: Vec<ShownIp>,
    pub tags: Vec<Tag>,
}

/// The server for eq/show, if it is the caller's and inside the session's scope: four
/// statements, with the same refusals as [`owned`].
pub async fn shown(state: &AppState, scope: Scope, id: i64) -> Result<Shown> {
    check_id(id)?;
    let found = store::inventory::server(&state.db, id).await?;
    let server = admit(scope, id, found, |s| &s.server)?;
    Ok(Shown {
        interfaces: store::servers::interfaces(&state.db, id).await?,
        ips: store::inventory::ips(&state.db, id, state.clock.now()).await?,
        tags: store::tags::list(&state.db, "eq", id).await?,
        server,
    })
}

/// eq/list's filters (001 "eq/list"; 002 adds numeric locations), as parsed: a filter
/// given with no values matches nothing (except `group`, which then asks for nothing).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub id: Option<i64>,
    /// Location codes (any case) or location ids.
    pub locations: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    pub r#type: Option<String>,
    /// Every one of these groups (any case).
    pub groups: Option<Vec<String>>,
    /// Any one of these hardware component ids.
    pub components: Option<Vec<i64>>,
    pub ip: Option<String>,
    pub mac: Option<String>,
    /// Read the hostnames and main addresses too.
    pub full: bool,
}

/// The scope's servers that pass the filter, by id, in one statement: id, location, address
/// and MAC are filtered in SQL, the JSON-valued fields (groups, components) here.
pub async fn list(state: &AppState, scope: Scope, f: &ListFilter) -> Result<Vec<Listed>> {
    let location_ids: Vec<i64> = f
        .locations
        .iter()
        .flatten()
        .filter_map(|w| w.parse().ok())
        .collect();
    let mut found = store::inventory::list(
        &state.db,
        &ListQuery {
            account_id: scope.account_id,
            scope: scope.server_id,
            id: f.id,
            locations: f.locations.as_deref().map(|l| (l, location_ids.as_slice())),
            ip: f.ip.as_deref(),
            mac: f.mac.as_deref(),
            with_hardware: f.components.is_some(),
            full: f.full,
        },
    )
    .await?;
    if let Some(wanted) = &f.statuses {
        found.retain(|s| wanted.iter().any(|w| w.eq_ignore_ascii_case(&s.status)));
    }
    if let Some(t) = &f.r#type {
        found.retain(|s| s.r#type.eq_ignore_ascii_case(t.trim()));
    }
    if let Some(wanted) = &f.groups {
        found.retain(|s| {
            let have: Vec<String> = serde_json::from_str(&s.groups).unwrap_or_default();
            wanted
                .iter()
                .all(|w| have.iter().any(|h| h.eq_ignore_ascii_case(w)))
        });
    }
    if let Some(wanted) = &f.components {
        found.retain(|s| {
            let hw: Value =
                serde_json::from_str(s.hardware.as_deref().unwrap_or_default()).unwrap_or_default();
            let have: Vec<i64> = hw["components"]
                .as_array()
                .map(|a| a.iter().filter_map(|c| c["id"].as_i64()).collect())
                .unwrap_or_default();
            wanted.iter().any(|w| have.contains(w))
        });
    }
    Ok(found)
}

/// The scope's server holding an address (on any port, IPMI too), if any.
pub async fn holding(state: &AppState, scope: Scope, address: &str) -> Result<Option<i64>> {
    let holder = store::inventory::holder_in_account(&state.db, scope.account_id, address).await?;
    Ok(holder.filter(|id| scope.admits(*id)))
}

/// Renames `server` (one the principal owns): its hostname is its `hostname` tag, which
/// eq/show and eq/list read as the server's name.
pub async fn rename(state: &AppState, server: &Server, hostname: &str) -> Result<()> {
    if !valid_hostname(hostname) {
        return Err(Error::invalid(format!(
            "invalid hostname '{}'",
            shorten(hostname)
        )));
    }
    store::tags::upsert(&state.db, "eq", server.id, "hostname", hostname, "", 0).await?;
    Ok(())
}

/// Ids of the servers the scope can see.
pub async fn visible_ids(state: &AppState, scope: Scope) -> Result<Vec<i64>> {
    let ids = store::servers::ids_for_account(&state.db, scope.account_id).await?;
    Ok(ids.into_iter().filter(|id| scope.admits(*id)).collect())
}

/// eq/unified_server_search: ids of the scope's servers that `query` names by id, by an
/// address (any port, IPMI too), by a MAC (any notation) or by a tag's name or value
/// (the hostname is a tag; as tags/search, case-insensitive substring), ascending.
pub async fn search(state: &AppState, scope: Scope, query: &str) -> Result<Vec<i64>> {
    let query = query.trim();
    let mut found = Vec::new();
    if let Ok(id) = query.parse::<i64>() {
        if owned(state, scope, id).await.is_ok() {
            found.push(id);
        }
    }
    if let Some(id) = holding(state, scope, query).await? {
        found.push(id);
    }
    let by_mac = ListFilter {
        mac: Some(query.to_owned()),
        ..ListFilter::default()
    };
    found.extend(list(state, scope, &by_mac).await?.iter().map(|s| s.id));
    found.extend(super::tags::user_search(state, scope, query).await?);
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// Whether a server can be reached now: not while a new order waits for payment and
/// deployment, nor while the service is suspended. `what` names what was asked for
/// ("power control", "the console"...).
pub fn ensure_online(server: &Server, what: &str) -> Result<()> {
    match server.status.as_str() {
        "pending" => Err(Error::denied(format!(
            "server {} is waiting for payment and deployment, {what} is available once it is online",
            server.id
        ))),
        "power_off" => Err(Error::denied(format!(
            "server {} is suspended, {what} is unavailable until the service is reactivated",
            server.id
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_support::{server, state};

    #[tokio::test]
    async fn search_matches_id_address_mac_and_tags_inside_the_scope() {
        use crate::ops::test_support::{principal_of_key, DEMO_KEY, DEMO_SERVER_KEY, OTHER_KEY};
        let state = state().await;
        let demo = principal_of_key(&state, DEMO_KEY).await.scope();
        let scoped = principal_of_key(&state, DEMO_SERVER_KEY).await.scope();
        let other = principal_of_key(&state, OTHER_KEY).await.scope();
        let find = |scope, q: &'static str| {
            let state = &state;
            async move { search(state, scope, q).await.expect("search") }
        };
        assert_eq!(find(demo, "40102").await, vec![40102]);
        assert_eq!(find(demo, " 31.207.45.23 ").await, vec![40101]);
        assert_eq!(find(demo, "ac1f.6b4e.923a").await, vec![40102]);
        store::tags::upsert(&state.db, "eq", 40102, "ref", "Walrus-3", "", 0)
            .await
            .expect("tag");
        assert_eq!(find(demo, "walrus").await, vec![40102]);
        assert!(find(scoped, "40102").await.is_empty());
        assert!(find(scoped, "walrus").await.is_empty());
        assert_eq!(find(scoped, "40101").await, vec![40101]);
        for q in ["40101", "31.207.45.23", "ac1f.6b4e.923a", "walrus"] {
            assert!(find(other, q).await.is_empty(), "{q}");
        }
    }

    /// The server's name as eq/show reads it.
    async fn hostname(state: &AppState, id: i64) -> Option<String> {
        store::tags::get(&state.db, "eq", id, "hostname")
            .await
            .expect("read")
            .map(|t| t.value)
    }

    #[tokio::test]
    async fn a_server_is_renamed_to_a_valid_hostname_only() {
        let state = state().await;
        let bm = server(&state, 40102).await;
        rename(&state, &bm, "web-1.example.com")
            .await
            .expect("renamed");
        assert_eq!(
            hostname(&state, 40102).await.as_deref(),
            Some("web-1.example.com")
        );
        let err = rename(&state, &bm, "not a hostname")
            .await
            .expect_err("invalid");
        assert_eq!(err.to_string(), "invalid hostname 'not a hostname'");
        assert_eq!(
            hostname(&state, 40102).await.as_deref(),
            Some("web-1.example.com"),
            "a refused name changes nothing"
        );
    }
}
