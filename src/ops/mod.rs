//! Operations of the emulated provider, independent of any one API's wire format: logging
//! in, resolving sessions, PIN checks, finding a caller's servers, power control, the PXE
//! path, remote access. Protocol layers (`invapi`, later F2HCloud and Hestia) parse
//! requests, call these, and render.

pub mod ipam;
pub mod orders;
pub mod pin;
pub mod power;
pub mod pxe;
pub mod remote;
pub mod servers;
pub mod sessions;

/// Fixtures shared by the ops tests: the demo scenario in memory, and its principals.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::config::Config;
    use crate::ops::sessions::Principal;
    use crate::state::AppState;
    use crate::store::{self, callbacks::Callback, servers::Server, sessions::Session};

    /// The demo scenario's `demo` account.
    pub(crate) const DEMO: i64 = 38642;

    /// An emulator state on an in-memory database holding the demo scenario (cheap
    /// hashing; no worker runs, so queued jobs stay queued for the test to inspect).
    pub(crate) async fn state() -> AppState {
        let mut config = Config::for_tests();
        config.argon2_memory_kib = 64;
        AppState::new(config).await.expect("state")
    }

    /// The account's principal, as a session opened with an account-wide API key.
    pub(crate) async fn principal(state: &AppState, account_id: i64) -> Principal {
        let account = store::accounts::get(&state.db, account_id)
            .await
            .expect("read")
            .expect("account");
        let session = Session {
            token_digest: String::new(),
            salt: String::new(),
            account_id,
            api_key_id: None,
            server_id: 0,
            kind: "key".into(),
            bound_ip: None,
            created_at: 0,
            expires_at: i64::MAX,
        };
        Principal { account, session }
    }

    /// A server of the scenario, as it is now.
    pub(crate) async fn server(state: &AppState, id: i64) -> Server {
        store::servers::get(&state.db, id)
            .await
            .expect("read")
            .expect("server")
    }

    /// Jobs waiting for the worker (none runs in these tests).
    pub(crate) async fn queued(state: &AppState) -> i64 {
        store::jobs::counts(&state.db).await.expect("count").0
    }

    /// The callback record of a key an operation returned.
    pub(crate) async fn record(state: &AppState, key: &str) -> Callback {
        store::callbacks::get(&state.db, key)
            .await
            .expect("read")
            .expect("record")
    }
}
