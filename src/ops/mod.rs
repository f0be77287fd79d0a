//! Operations of the emulated provider, independent of any one API's wire format: logging
//! in, resolving sessions, PIN checks, finding a caller's servers, power control. Protocol
//! layers (`invapi`, later F2HCloud and Hestia) parse requests, call these, and render.

pub mod ipam;
pub mod orders;
pub mod pin;
pub mod servers;
pub mod sessions;
