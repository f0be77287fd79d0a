//! Finding a caller's servers, with account isolation and per-server key scope; renaming
//! one.

use crate::domain::rules::{shorten, valid_hostname};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, servers::Server};

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
    if id <= 0 {
        return Err(Error::invalid(format!("invalid server id {id}")));
    }
    let server = store::servers::get(&state.db, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("server {id} not found")))?;
    if server.account_id != Some(scope.account_id) {
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
    Ok(server)
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
