//! Simulated hardware: what oVirt, IPMI BMCs (Supermicro, Dell iDRAC) and switches would
//! answer, and how each operation changes a server. Pure functions of the server's state;
//! the task worker applies their effects.

pub mod installer;
pub mod network;
pub mod ovirt;
pub mod power;
pub mod sensors;
pub mod traffic;

use serde_json::{Map, Value};

/// How a finished operation reads in its async record, and what it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub ok: bool,
    pub scope: String,
    pub debug: Option<String>,
    /// Keys added to (or replacing those of) the record's context.
    pub context: Map<String, Value>,
    pub effect: Effect,
    /// A JSON notice to POST once the outcome is stored (post_install_callback).
    pub webhook: Option<(String, Value)>,
}

/// A state change the worker stores together with the outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    None,
    /// The server's power state becomes `on` or `off`.
    Power(&'static str),
}

impl Outcome {
    pub fn ok(scope: impl Into<String>, debug: Option<String>, effect: Effect) -> Self {
        Outcome {
            ok: true,
            scope: scope.into(),
            debug,
            context: Map::new(),
            effect,
            webhook: None,
        }
    }

    pub fn fail(scope: impl Into<String>, debug: Option<String>) -> Self {
        Outcome {
            ok: false,
            scope: scope.into(),
            debug,
            context: Map::new(),
            effect: Effect::None,
            webhook: None,
        }
    }
}
