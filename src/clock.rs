//! The emulator's own clock: real time plus an offset that the control plane can move.
//!
//! Everything time-dependent (token expiry, task due times, PIN lockouts, callback retention)
//! reads this clock, so tests and users can jump forward instead of waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// Real time in milliseconds since the Unix epoch, rounded down (what
/// `Utc::now().timestamp_millis()` gives, without building a calendar date: every request
/// reads the clock).
fn real_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        Err(before) => {
            -i64::try_from(before.duration().as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX)
        }
    }
}

/// Shared emulated clock; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// A clock starting at the given offset from real time.
    pub fn with_offset(offset_ms: i64) -> Self {
        let c = Clock::default();
        c.offset_ms.store(offset_ms, Ordering::SeqCst);
        c
    }

    /// Emulated time in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        real_ms() + self.offset_ms.load(Ordering::SeqCst)
    }

    /// Emulated time in whole seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves emulated time forward; returns the new offset.
    pub fn advance_ms(&self, ms: i64) -> i64 {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst) + ms
    }

    /// Current offset from real time, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// Resets the offset (used by `/_emu/reset`).
    pub fn set_offset_ms(&self, ms: i64) {
        self.offset_ms.store(ms, Ordering::SeqCst);
    }
}

/// Formats Unix seconds the way the InvAPI does: `2024-02-14 11:14:05`.
pub fn format_datetime(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Formats Unix seconds as a date: `2024-02-14`.
pub fn format_date(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Parses `Y-M-D` into Unix seconds at midnight UTC.
pub fn parse_date(s: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_in_milliseconds_is_what_chrono_says() {
        let before = chrono::Utc::now().timestamp_millis();
        let ms = real_ms();
        let after = chrono::Utc::now().timestamp_millis();
        assert!(before <= ms && ms <= after, "{before} <= {ms} <= {after}");
    }

    #[test]
    fn advancing_moves_now_forward() {
        let c = Clock::default();
        let before = c.now_ms();
        c.advance_ms(3_600_000);
        assert!(c.now_ms() - before >= 3_600_000);
    }

    #[test]
    fn dates_round_trip() {
        let secs = parse_date("2024-02-14").expect("valid date");
        assert_eq!(format_date(secs), "2024-02-14");
        assert_eq!(format_datetime(secs + 3661), "2024-02-14 01:01:01");
        assert!(parse_date("14.02.2024").is_none());
    }
}
