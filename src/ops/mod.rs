//! Operations of the emulated provider, independent of any one API's wire format: logging
//! in, resolving sessions, PIN checks, finding a caller's servers, power control, tags, API
//! keys, remote hands. Protocol layers (`invapi`, later F2HCloud and Hestia) parse requests,
//! call these, and render.

pub mod api_keys;
pub mod ipam;
pub mod orders;
pub mod pin;
pub mod remote_hands;
pub mod servers;
pub mod sessions;
pub mod tags;

/// Fixtures shared by the ops tests: the demo scenario in memory, and principals of its
/// seeded keys.
#[cfg(test)]
pub(crate) mod test_support {
    use std::net::{IpAddr, Ipv4Addr};

    use super::sessions::{self, Principal};
    use crate::config::Config;
    use crate::state::AppState;

    /// The demo account's account-wide key.
    pub(crate) const DEMO_KEY: &str = "deadbeef00000001-0123456789abcdef";
    /// The demo account's per-server key (server 40101).
    pub(crate) const DEMO_SERVER_KEY: &str = "deadbeef00000002-0123456789abcdef";
    /// The other account's key.
    pub(crate) const OTHER_KEY: &str = "deadbeef00000003-0123456789abcdef";
    /// The demo account's PIN.
    pub(crate) const DEMO_PIN: &str = "1234";

    /// The emulator's state on an in-memory database with the demo scenario, cheap hashing.
    pub(crate) async fn state() -> AppState {
        let mut config = Config::for_tests();
        config.argon2_memory_kib = 64;
        AppState::new(config).await.expect("state")
    }

    /// The principal of a fresh session opened with this key from 127.0.0.1.
    pub(crate) async fn principal(state: &AppState, key: &str) -> Principal {
        let login =
            sessions::login_with_key(state, key, 3600, false, IpAddr::V4(Ipv4Addr::LOCALHOST))
                .await
                .expect("login");
        Principal {
            account: login.account,
            session: login.session,
        }
    }
}
