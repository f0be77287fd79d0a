//! Operations of the emulated provider, independent of any one API's wire format: logging
//! in, resolving sessions, PIN checks, finding a caller's servers, power control, ports,
//! address blocks, IPv4 addresses and static NAT. Protocol layers (`invapi`, later
//! F2HCloud and Hestia) parse requests, call these, and render.

pub mod addresses;
pub mod blocks;
pub mod ipam;
pub mod nat;
pub mod orders;
pub mod pin;
pub mod ports;
pub mod servers;
pub mod sessions;

/// What the unit tests of operations run against: the emulator's state on an in-memory
/// demo database, and the principals and servers of its accounts.
#[cfg(test)]
pub(crate) mod test_support {
    use serde_json::Value;

    use super::sessions::Principal;
    use crate::config::Config;
    use crate::state::AppState;
    use crate::store::{self, servers::Server, sessions::Session};

    pub(crate) use crate::store::test_support::DEMO;

    /// A fresh state on an in-memory database with the demo scenario loaded.
    pub(crate) async fn state() -> AppState {
        let mut config = Config::for_tests();
        // Cheap hashing: the scenario's keys and PINs are hashed at load.
        config.argon2_memory_kib = 64;
        AppState::new(config).await.expect("state")
    }

    /// An account's principal, as an account-wide API key session would give it.
    pub(crate) async fn principal(state: &AppState, account_id: i64) -> Principal {
        let account = store::accounts::get(&state.db, account_id)
            .await
            .expect("account")
            .expect("known account");
        let session = Session {
            token_digest: format!("test-{account_id}"),
            salt: String::new(),
            account_id,
            api_key_id: None,
            server_id: 0,
            kind: "api_key".into(),
            bound_ip: None,
            created_at: 0,
            expires_at: i64::MAX,
        };
        Principal { account, session }
    }

    /// A server of the scenario.
    pub(crate) async fn server(state: &AppState, id: i64) -> Server {
        store::servers::get(&state.db, id)
            .await
            .expect("server")
            .expect("known server")
    }

    /// Queued jobs.
    pub(crate) async fn jobs(state: &AppState) -> i64 {
        store::jobs::counts(&state.db).await.expect("counts").0
    }

    /// The kind and payload of the job queued under a callback key (claiming every
    /// queued job on the way: tests inspect jobs, they do not run them).
    pub(crate) async fn job_of(state: &AppState, key: &str) -> (String, Value) {
        while let Some(job) = store::jobs::claim_due(&state.db, i64::MAX)
            .await
            .expect("claim")
        {
            if job.callback_key == key {
                return (job.kind, serde_json::from_str(&job.payload).expect("json"));
            }
        }
        panic!("no job queued under {key}");
    }
}
