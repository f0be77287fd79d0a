//! hostkey-emu: a self-hosted emulator of the HOSTKEY InvAPI.
//!
//! Code tour (each module's own header says more; `ARCHITECTURE.md` shows the layers):
//! - [`config`]: command-line options and their `HOSTKEY_EMU_*` environment variables.
//! - [`app`]: the router of every face and the control plane; `serve_faces(listeners, ...)`.
//! - [`invapi`]: the HOSTKEY face, one file (or folder) per `*.php` module, one dispatcher.
//! - [`control`]: the `/_emu/` control plane (health, reset, clock, tasks, outbox).
//! - [`tasks`]: the worker that runs due jobs and completes callback keys.
//! - [`ops`]: the provider's operations, independent of any wire format.
//! - [`queue`]: the task-submission API (callback record + job in one transaction).
//! - [`state`]: the shared state (database, clock, config, scenario, catalogue).
//! - [`sim`]: simulated hardware (oVirt, IPMI BMCs, switches) and the text it answers with.
//! - [`domain`]: rules and formats without I/O (hardware, allow-lists, catalogue, scenarios).
//! - [`store`]: all SQL, one module per table family, and the scenario loader.
//! - [`http`]: HTTP plumbing: the PHP-style parameter parser, the request-head limits and
//!   the JSON body of hyper's own refusals.
//! - [`clock`]: the emulator's own clock, which the control plane can move.
//! - [`secrets`]: argon2 hashing, digests, token and key formats.
//! - [`allocator`]: glibc malloc's settings, and freed memory given back after bursts.
//! - [`gate`]: one attempt at a time per subject (logins, PIN checks).
//! - [`error`]: the core error type.
//! - [`embed`]: [`Emulator`], the emulator started from Rust tests (`examples/embed.rs`).
//! - [`tls`]: the HTTPS listener's certificates (a local CA) and its `CONNECT` proxy.
//! - [`scenario_files`]: the `scenario check|export|schema` commands.

pub mod allocator;
pub mod app;
pub mod chart;
pub mod clock;
pub mod config;
pub mod control;
pub mod dashboard;
pub mod dns;
pub mod domain;
pub mod embed;
pub mod error;
pub mod f2h;
pub mod faults;
pub mod gate;
pub mod hestia;
pub mod http;
pub mod invapi;
pub mod journal;
pub mod metrics;
pub mod ops;
pub mod queue;
pub mod readcache;
pub mod s3;
pub mod secrets;
pub mod sim;
pub mod state;
pub mod store;
pub mod tasks;

pub use embed::Emulator;
pub mod scenario_files;
pub mod tls;

/// The version and the git revision it was built from (`build.rs`), e.g. `0.1.0 (1a2b3c4d5e6f)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("HOSTKEY_EMU_GIT_REV"),
    ")"
);
