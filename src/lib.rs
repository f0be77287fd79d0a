//! hostkey-emu: a self-hosted emulator of the HOSTKEY InvAPI.
//!
//! Code tour (each module's own header says more):
//! - [`config`]: command-line options and their `HOSTKEY_EMU_*` environment variables.
//! - [`app`]: shared state, the router, `serve(listener, state, shutdown)`.
//! - [`http`]: HTTP plumbing: the PHP-style parameter parser.
//! - [`invapi`]: the HOSTKEY protocol layer, one file (or folder) per `*.php` module.
//! - [`control`]: the `/_emu/` control plane (health, reset, clock, tasks, outbox).
//! - [`ops`]: provider operations independent of any wire format (sessions, PIN, ownership).
//! - [`domain`]: rules without I/O (hardware descriptions, allow-lists, permissions).
//! - [`store`]: all SQL, one module per table family.
//! - [`sim`]: simulated hardware (oVirt, IPMI BMCs) and the text it answers with.
//! - [`tasks`]: the durable job queue's worker that completes callback keys.
//! - [`seed`]: scenarios (the demo fixture data) and their loader.
//! - [`clock`]: the emulator's own clock, which the control plane can move.
//! - [`secrets`]: argon2 hashing, digests, token and key formats.
//! - [`error`]: the core error type.

pub mod app;
pub mod chart;
pub mod clock;
pub mod config;
pub mod control;
pub mod domain;
pub mod error;
pub mod gate;
pub mod http;
pub mod invapi;
pub mod ops;
pub mod queue;
pub mod secrets;
pub mod sim;
pub mod state;
pub mod store;
pub mod tasks;
