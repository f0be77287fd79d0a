//! Typed reads of action arguments, with the messages clients see when they are wrong.

use crate::domain::rules::parse_bool;
use crate::error::{Error, Result};
use crate::http::php_form::Params;

/// Typed accessors over the merged parameters.
pub trait Args {
    /// A required integer (`id`, `server_id`...).
    fn req_int(&self, name: &str) -> Result<i64>;
    /// An optional integer; present but malformed is an error.
    fn opt_int(&self, name: &str) -> Result<Option<i64>>;
    /// A required non-empty string, trimmed.
    fn req_str(&self, name: &str) -> Result<String>;
    /// An optional string, trimmed; `max` characters at most.
    fn opt_str(&self, name: &str, max: usize) -> Result<Option<String>>;
    /// An optional boolean (1/0, true/false, on/off).
    fn opt_bool(&self, name: &str) -> Result<Option<bool>>;
}

impl Args for Params {
    fn req_int(&self, name: &str) -> Result<i64> {
        self.opt_int(name)?
            .ok_or_else(|| Error::invalid(format!("{name} is required")))
    }

    fn opt_int(&self, name: &str) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| Error::invalid(format!("invalid {name} '{}'", shorten(v)))),
        }
    }

    fn req_str(&self, name: &str) -> Result<String> {
        self.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::invalid(format!("{name} is required")))
    }

    fn opt_str(&self, name: &str, max: usize) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.chars().count() > max => Err(Error::invalid(format!(
                "{name} is too long (at most {max} characters)"
            ))),
            Some(v) => Ok(Some(v.trim().to_owned())),
        }
    }

    fn opt_bool(&self, name: &str) -> Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_bool(v).map(Some).ok_or_else(|| {
                Error::invalid(format!("invalid {name} '{}', expected 1 or 0", shorten(v)))
            }),
        }
    }
}

pub use crate::domain::rules::shorten;
