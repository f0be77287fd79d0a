//! The request journal (`/_emu/requests`): every request to an emulated API and every
//! webhook the emulator sends, recorded in a bounded ring in memory so that a test can
//! assert on what its client sent (WireMock-style verification). One journal per
//! [`crate::state::AppState`].
//!
//! Recording is on the hot path of every request, so it is cheap: no SQL, one short
//! critical section behind a mutex; secrets are masked before they are kept.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::faults::{Matcher, Request};

/// The default number of entries kept (`--journal-size`).
pub const DEFAULT_SIZE: usize = 10_000;
/// The most characters of an answer kept in an entry.
pub const MAX_ANSWER: usize = 2048;
/// The most characters of one field's value kept.
const MAX_FIELD: usize = 256;
/// What a masked value reads.
pub const MASK: &str = "***";

/// Does a parameter with this name carry a secret (token, key, password, PIN, root_pass...)?
/// Its value is never kept.
pub fn is_secret(name: &str) -> bool {
    let n = name
        .strip_prefix("params[")
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
        .to_ascii_lowercase();
    ["token", "pass", "secret", "authorization"]
        .iter()
        .any(|w| n.contains(w))
        || n == "key"
        || n.ends_with("_key")
        || n.ends_with("key[]")
        || n == "apikey"
        || n == "pin"
        || n.ends_with("_pin")
        || n.starts_with("pin_")
}

/// Replaces the values of secret-named keys in a JSON answer, at any depth.
fn mask_value(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, item) in o.iter_mut() {
                if is_secret(k) && !item.is_null() {
                    *item = Value::String(MASK.to_owned());
                } else {
                    mask_value(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_value),
        _ => {}
    }
}

/// The largest JSON answer whose secrets are masked and kept; a larger one is described.
const MAX_MASKED: usize = 256 * 1024;

/// An answer as the journal keeps it: a JSON answer that may name a secret is parsed and
/// its secrets masked (answers that name none are kept as they are, unparsed), then cut to
/// [`MAX_ANSWER`] characters.
pub fn kept_answer(body: &[u8]) -> (String, bool) {
    let hints: [&[u8]; 4] = [b"token", b"key\"", b"pass", b"pin"];
    let may_hold_secret = hints
        .iter()
        .any(|h| body.windows(h.len()).any(|w| w.eq_ignore_ascii_case(h)));
    if !may_hold_secret {
        return bounded_answer(body);
    }
    if body.len() > MAX_MASKED {
        return (format!("({} bytes, not kept)", body.len()), true);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            mask_value(&mut v);
            bounded_answer(v.to_string().as_bytes())
        }
        // Not JSON: not kept, since it cannot be masked.
        Err(_) => (format!("({} bytes, not kept)", body.len()), true),
    }
}

/// A value as the journal keeps it: masked when its name says it is a secret, cut short.
pub fn masked(name: &str, value: &str) -> Value {
    if is_secret(name) {
        Value::String(MASK.to_owned())
    } else {
        Value::String(value.chars().take(MAX_FIELD).collect())
    }
}

/// One recorded request (or webhook).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Entry {
    /// Increases by one per entry; survives a `DELETE` (so `seq` says what came after what).
    pub seq: u64,
    /// When it came, on the emulator clock (Unix seconds).
    pub time: i64,
    /// `invapi`, or `webhook` for the notices the emulator sends.
    #[schema(value_type = String)]
    pub face: &'static str,
    /// The client's address (the emulator's own for a webhook).
    pub client: String,
    pub module: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<i64>,
    /// Where a webhook went (scheme, host and path only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The parameters (or the webhook's body), secrets masked.
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// The HTTP status answered (0: the connection was dropped or the webhook not delivered).
    pub status: u16,
    /// The answer's start (at most [`MAX_ANSWER`] characters).
    pub answer: String,
    /// The answer was longer than what is kept.
    pub answer_truncated: bool,
    pub duration_ms: f64,
    /// The fault rule applied to it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<u64>,
}

impl Entry {
    fn request(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |k: &str| {
            let wrapped = format!("params[{k}]");
            let found = [wrapped.as_str(), k]
                .into_iter()
                .find_map(|n| self.fields.get(n))
                .and_then(crate::faults::field_text);
            found
        }
    }

    /// Does the matcher match this entry?
    pub fn matches(&self, m: &Matcher) -> bool {
        let field = self.request();
        m.matches(&Request {
            module: &self.module,
            action: &self.action,
            server: self.server,
            account: self.account,
            field: &field,
        })
    }
}

/// Cuts an answer to what the journal keeps.
pub fn bounded_answer(body: &[u8]) -> (String, bool) {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ANSWER * 4)]);
    let mut chars = text.char_indices();
    match chars.nth(MAX_ANSWER) {
        Some((end, _)) => (text[..end].to_owned(), true),
        None => (text.into_owned(), body.len() > MAX_ANSWER * 4),
    }
}

/// The ring of one world's entries.
pub struct Journal {
    ring: Mutex<VecDeque<Entry>>,
    capacity: usize,
    seq: AtomicU64,
}

/// A query of `GET /_emu/requests`.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub matcher: Matcher,
    /// Entries at or after this emulator-clock time.
    pub since: Option<i64>,
    pub limit: usize,
}

impl Journal {
    pub fn new(capacity: usize) -> Journal {
        Journal {
            ring: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity,
            seq: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an entry (its `seq` is set here); the oldest goes when the ring is full.
    pub fn record(&self, mut entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        entry.seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut ring = self.lock();
        if ring.len() >= self.capacity {
            ring.pop_front();
        }
        ring.push_back(entry);
    }

    /// Entries matching the query, newest first.
    pub fn list(&self, q: &Query) -> Vec<Entry> {
        let ring = self.lock();
        ring.iter()
            .rev()
            .filter(|e| q.since.is_none_or(|s| e.time >= s) && e.matches(&q.matcher))
            .take(q.limit)
            .cloned()
            .collect()
    }

    /// How many entries match.
    pub fn count(&self, m: &Matcher, since: Option<i64>) -> usize {
        let ring = self.lock();
        ring.iter()
            .filter(|e| since.is_none_or(|s| e.time >= s) && e.matches(m))
            .count()
    }

    /// Forgets every entry; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut ring = self.lock();
        let n = ring.len();
        ring.clear();
        n
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(module: &str, action: &str, server: Option<i64>) -> Entry {
        Entry {
            seq: 0,
            time: 100,
            face: "invapi",
            client: "127.0.0.1".into(),
            module: module.into(),
            action: action.into(),
            server,
            account: Some(1),
            url: None,
            fields: Map::new(),
            status: 200,
            answer: String::new(),
            answer_truncated: false,
            duration_ms: 0.1,
            fault: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_and_lists_them_first() {
        let j = Journal::new(3);
        for i in 0..5 {
            j.record(entry("eq", "show", Some(i)));
        }
        let all = j.list(&Query {
            limit: 10,
            ..Query::default()
        });
        let servers: Vec<_> = all.iter().map(|e| e.server).collect();
        assert_eq!(servers, [Some(4), Some(3), Some(2)]);
        assert_eq!(all[0].seq, 5);
        let m = Matcher {
            server: Some(3),
            ..Matcher::default()
        };
        assert_eq!(j.count(&m, None), 1);
        assert_eq!(j.count(&m, Some(101)), 0);
        assert_eq!(j.clear(), 3);
        assert!(j.is_empty());
    }

    #[test]
    fn secrets_are_masked_by_their_name() {
        for name in [
            "token",
            "key",
            "password",
            "pin",
            "new_pin",
            "root_pass",
            "params[token]",
            "api_key",
            "reinstall_key",
            "secret",
        ] {
            assert_eq!(masked(name, "s3cret"), MASK, "{name}");
        }
        assert_eq!(masked("id", "40101"), "40101");
        assert_eq!(masked("action", "reboot"), "reboot");
    }

    #[test]
    fn long_answers_are_cut_on_a_character_boundary() {
        let long = "ä".repeat(MAX_ANSWER + 10);
        let (kept, cut) = bounded_answer(long.as_bytes());
        assert!(cut);
        assert_eq!(kept.chars().count(), MAX_ANSWER);
        let (kept, cut) = bounded_answer(b"{\"result\":\"OK\"}");
        assert!(!cut);
        assert_eq!(kept, "{\"result\":\"OK\"}");
    }
}
