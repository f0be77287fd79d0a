//! Finding a caller's servers, with account isolation and per-server key scope.

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
