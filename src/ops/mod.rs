//! Operations of the emulated provider, independent of any one API's wire format: logging
//! in, resolving sessions, PIN checks, finding a caller's servers, power control, the PXE
//! path, remote access, ports, address blocks, IPv4 addresses, static NAT, tags, API keys,
//! remote hands. Protocol layers (`invapi`, later F2HCloud and Hestia) parse requests, call
//! these, and render.

pub mod addresses;
pub mod api_keys;
pub mod billing;
pub mod blocks;
pub mod callbacks;
pub mod dns;
pub mod f2h;
pub mod hestia;
pub mod hestia_access;
pub mod ipam;
pub mod iso;
pub mod jenkins;
pub mod nat;
pub mod orders;
pub mod pin;
pub mod ports;
pub mod power;
pub mod pxe;
pub mod remote;
pub mod remote_hands;
pub mod s3;
pub mod servers;
pub mod sessions;
pub mod snapshots;
pub mod ssh_keys;
pub mod tags;
pub mod vm;

/// Fixtures shared by the ops tests: the demo scenario in memory, and its principals.
#[cfg(test)]
pub(crate) mod test_support {
    use std::net::{IpAddr, Ipv4Addr};

    use super::sessions::{self, Principal};
    use crate::config::Config;
    use crate::state::AppState;
    use crate::store::{self, callbacks::Callback, servers::Server, sessions::Session};

    /// The demo scenario's `demo` account.
    pub(crate) const DEMO: i64 = 38642;
    /// The demo account's account-wide key.
    pub(crate) const DEMO_KEY: &str = "deadbeef00000001-0123456789abcdef";
    /// The demo account's per-server key (server 40101).
    pub(crate) const DEMO_SERVER_KEY: &str = "deadbeef00000002-0123456789abcdef";
    /// The other account's key.
    pub(crate) const OTHER_KEY: &str = "deadbeef00000003-0123456789abcdef";
    /// The demo account's PIN.
    pub(crate) const DEMO_PIN: &str = "1234";

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

    /// The principal of a fresh session opened with this key from 127.0.0.1.
    pub(crate) async fn principal_of_key(state: &AppState, key: &str) -> Principal {
        let login =
            sessions::login_with_key(state, key, 3600, false, IpAddr::V4(Ipv4Addr::LOCALHOST))
                .await
                .expect("login");
        Principal {
            account: login.account,
            session: login.session,
        }
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

    /// The kind and payload of the job queued under a callback key (claiming every
    /// queued job on the way: tests inspect jobs, they do not run them).
    pub(crate) async fn job_of(state: &AppState, key: &str) -> (String, serde_json::Value) {
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
