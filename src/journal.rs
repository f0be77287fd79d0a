//! The request journal (`/_emu/requests`): every request to an emulated API and every
//! webhook the emulator sends, recorded in a bounded ring in memory so that a test can
//! assert on what its client sent (WireMock-style verification). One journal per
//! [`crate::state::AppState`].
//!
//! Recording is on the hot path of every request, so it is cheap: no SQL, one short
//! critical section behind a mutex; secrets are masked before they are kept.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::value::RawValue;
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
    // On every request's path (the journal masks each parameter): compared in place,
    // ignoring ASCII case, rather than lowercased into a new string.
    let n = name
        .strip_prefix("params[")
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
        .as_bytes();
    let is = |w: &[u8]| n.eq_ignore_ascii_case(w);
    let contains = |w: &[u8]| n.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
    let starts = |w: &[u8]| n.len() >= w.len() && n[..w.len()].eq_ignore_ascii_case(w);
    let ends = |w: &[u8]| n.len() >= w.len() && n[n.len() - w.len()..].eq_ignore_ascii_case(w);
    [&b"token"[..], b"pass", b"secret", b"authorization"]
        .iter()
        .any(|w| contains(w))
        || is(b"key")
        || ends(b"_key")
        || ends(b"key[]")
        || is(b"apikey")
        || is(b"pin")
        || ends(b"_pin")
        || starts(b"pin_")
}

/// An answer as the journal keeps it: a JSON answer that may name a secret has the values
/// of its secret-named keys replaced (answers that name none are kept as they are), then it
/// is cut to [`MAX_ANSWER`] characters.
///
/// Recording is on every request's path, so the masking reads only the part of the answer
/// that is kept, in one pass over the bytes ([`mask_prefix`]), rather than parsing the
/// whole document.
pub fn kept_answer(body: &[u8]) -> (String, bool) {
    let hints: [&[u8]; 4] = [b"token", b"key\"", b"pass", b"pin"];
    let may_hold_secret = hints
        .iter()
        .any(|h| body.windows(h.len()).any(|w| w.eq_ignore_ascii_case(h)));
    if !may_hold_secret {
        return bounded_answer(body);
    }
    match mask_prefix(body, MAX_ANSWER * 4) {
        Some(masked) => bounded_answer(&masked),
        // Not JSON: not kept, since it cannot be masked.
        None => (format!("({} bytes, not kept)", body.len()), true),
    }
}

/// The first bytes (at least `limit` of them when the document is longer) of a JSON
/// document with the value of every secret-named key ([`is_secret`]) but `null` replaced by
/// `"***"`, at any depth; the rest is copied as it is. `None` when the part read is not JSON.
fn mask_prefix(body: &[u8], limit: usize) -> Option<Vec<u8>> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{' | b'[') => {}
        // A bare string, number or literal has no keys to mask: kept if it is JSON.
        _ => {
            return serde_json::from_slice::<Value>(body)
                .ok()
                .map(|_| body.to_vec())
        }
    }
    let mut out = Vec::with_capacity(body.len().min(limit + 64));
    let mut i = 0;
    while i < body.len() && out.len() < limit {
        match body[i] {
            b'"' => {
                let end = string_end(body, i)?;
                let mut j = end;
                while j < body.len() && body[j].is_ascii_whitespace() {
                    j += 1;
                }
                let is_key = body.get(j) == Some(&b':');
                let key = &body[i..end];
                out.extend_from_slice(&body[i..j]);
                i = j;
                if is_key && key_is_secret(key) {
                    // Copy the colon and the blanks, then put the mask for the value.
                    let start = i;
                    i += 1;
                    while i < body.len() && body[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    out.extend_from_slice(&body[start..i]);
                    if body[i..].starts_with(b"null") {
                        continue;
                    }
                    i = value_end(body, i)?;
                    out.extend_from_slice(b"\"***\"");
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// Does this key (a JSON string with its quotes) name a secret?
fn key_is_secret(raw: &[u8]) -> bool {
    if raw.contains(&b'\\') {
        serde_json::from_slice::<String>(raw).is_ok_and(|k| is_secret(&k))
    } else {
        std::str::from_utf8(&raw[1..raw.len() - 1]).is_ok_and(is_secret)
    }
}

/// The index just after the JSON string that starts (with its quote) at `start`.
fn string_end(body: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The index just after the JSON value that starts at `start` (a string, an object or an
/// array with everything in it, or a number or literal).
fn value_end(body: &[u8], start: usize) -> Option<usize> {
    match body.get(start)? {
        b'"' => string_end(body, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < body.len() {
                match body[i] {
                    b'"' => {
                        i = string_end(body, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let len = body[start..]
                .iter()
                .position(|&b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .unwrap_or(body.len() - start);
            (len > 0).then_some(start + len)
        }
    }
}

/// A value as the journal keeps it: masked when its name says it is a secret, cut short.
pub fn masked(name: &str, value: &str) -> Value {
    Value::String(masked_text(name, value).into_owned())
}

/// [`masked`] as text, borrowed when it is the value itself.
pub fn masked_text<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if is_secret(name) {
        Cow::Borrowed(MASK)
    } else {
        match value.char_indices().nth(MAX_FIELD) {
            Some((end, _)) => Cow::Borrowed(&value[..end]),
            None => Cow::Borrowed(value),
        }
    }
}

/// One recorded request (or webhook).
///
/// A full journal holds [`DEFAULT_SIZE`] of these for as long as the emulator runs, so an
/// entry is kept compact: names known at compile time are borrowed, the parameters are kept
/// as their JSON text (parsed again only when a matcher asks for a field), and a repeated
/// answer, client address or set of parameters is shared with a recent entry.
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
    #[schema(value_type = String)]
    pub client: Arc<str>,
    #[schema(value_type = String)]
    pub module: Cow<'static, str>,
    #[schema(value_type = String)]
    pub action: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<i64>,
    /// Where a webhook went (scheme, host and path only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The parameters (or the webhook's body), secrets masked: a JSON object's text
    /// ([`Entry::fields_of`]).
    #[schema(value_type = Object)]
    pub fields: Arc<RawValue>,
    /// The HTTP status answered (0: the connection was dropped or the webhook not delivered).
    pub status: u16,
    /// The answer's start (at most [`MAX_ANSWER`] characters); shared between the entries
    /// of one repeated answer.
    #[schema(value_type = String)]
    pub answer: Arc<str>,
    /// The answer was longer than what is kept.
    pub answer_truncated: bool,
    pub duration_ms: f64,
    /// The fault rule applied to it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<u64>,
}

impl Entry {
    /// The parameters as an entry keeps them: the object's JSON text.
    pub fn fields_of(fields: &Map<String, Value>) -> Arc<RawValue> {
        serde_json::value::to_raw_value(fields).map_or_else(|_| Self::no_fields(), Arc::from)
    }

    /// No parameters: `{}`.
    pub fn no_fields() -> Arc<RawValue> {
        Arc::from(RawValue::from_string("{}".to_owned()).expect("{} is JSON"))
    }

    /// The parameters, parsed again.
    pub fn fields(&self) -> Map<String, Value> {
        serde_json::from_str(self.fields.get()).unwrap_or_default()
    }

    fn request(&self) -> impl Fn(&str) -> Option<String> + '_ {
        // Parsed when a matcher first asks for a field, once per entry.
        let parsed = std::cell::OnceCell::new();
        move |k: &str| {
            let fields = parsed.get_or_init(|| self.fields());
            let wrapped = format!("params[{k}]");
            let found = [wrapped.as_str(), k]
                .into_iter()
                .find_map(|n| fields.get(n))
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

/// Gives the entry the client address and parameters of a recent entry when they are the
/// same text, so that a full journal of repeated requests keeps one copy of each.
fn share_with_recent(ring: &VecDeque<Entry>, entry: &mut Entry) {
    let (mut client, mut fields) = (false, false);
    for recent in ring.iter().rev().take(RECENT_ENTRIES) {
        if !client && recent.client == entry.client {
            entry.client = recent.client.clone();
            client = true;
        }
        if !fields && recent.fields.get() == entry.fields.get() {
            entry.fields = recent.fields.clone();
            fields = true;
        }
        if client && fields {
            break;
        }
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
    /// What was kept of recent answers and the texts of recent client addresses, to share:
    /// see [`Journal::keep_answer`] and [`Journal::client_text`].
    recent: Mutex<Recent>,
}

/// The kept texts of recent answers, and of recent client addresses.
#[derive(Default)]
struct Recent {
    /// The last answer and what was kept of it: a repeated answer (a remembered `eq/show`,
    /// say) is masked once and its entries share the kept text.
    last: Option<(bytes::Bytes, Arc<str>, bool)>,
    /// The last [`RECENT_ANSWERS`] distinct kept texts: answers that differ only past what
    /// is kept (a login's answer ends with its timings), or that come in turns with
    /// others, share their kept text too.
    texts: VecDeque<Arc<str>>,
    /// The texts of the last [`RECENT_ENTRIES`] client addresses, newest first: formatted
    /// once, shared by every entry of that client.
    clients: VecDeque<(IpAddr, Arc<str>)>,
}

/// How many distinct kept answers are looked at for sharing.
const RECENT_ANSWERS: usize = 8;

/// How many of the newest entries a new one shares its client address and parameters with,
/// when they are the same: a client polling `eq/status`, a load of one request.
const RECENT_ENTRIES: usize = 8;

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
            recent: Mutex::new(Recent::default()),
        }
    }

    /// [`kept_answer`] of this answer, shared with an earlier entry's when the kept text is
    /// the same as one of the recent ones (and not computed again when the answer is the
    /// same as the last one).
    pub fn keep_answer(&self, body: &bytes::Bytes) -> (Arc<str>, bool) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, kept, cut)) = recent.last.as_mut() {
            // A remembered answer comes back as the very same bytes: no need to compare them.
            let same_bytes = seen.as_ptr() == body.as_ptr() && seen.len() == body.len();
            if same_bytes || *seen == *body {
                if !same_bytes {
                    // The same answer computed again (and remembered again): the next ones
                    // come as these bytes.
                    *seen = body.clone();
                }
                return (kept.clone(), *cut);
            }
        }
        let (text, cut) = kept_answer(body);
        let kept = match recent.texts.iter().position(|t| **t == *text) {
            Some(i) => recent.texts[i].clone(),
            None => {
                let kept: Arc<str> = text.into();
                if recent.texts.len() >= RECENT_ANSWERS {
                    recent.texts.pop_back();
                }
                recent.texts.push_front(kept.clone());
                kept
            }
        };
        recent.last = Some((body.clone(), kept.clone(), cut));
        (kept, cut)
    }

    /// The text of a client address for an entry: shared with the recent entries of the
    /// same client rather than formatted for each.
    pub fn client_text(&self, ip: IpAddr) -> Arc<str> {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, text)) = recent.clients.iter().find(|(seen, _)| *seen == ip) {
            return text.clone();
        }
        let text: Arc<str> = ip.to_string().into();
        if recent.clients.len() >= RECENT_ENTRIES {
            recent.clients.pop_back();
        }
        recent.clients.push_front((ip, text.clone()));
        text
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
        share_with_recent(&ring, &mut entry);
        if ring.len() >= self.capacity {
            ring.pop_front();
        } else if ring.len() == ring.capacity() {
            // Doubling, but never past the journal's size: a full journal of the default
            // 10,000 entries would otherwise keep room for 16,384.
            let more = ring.capacity().max(64).min(self.capacity - ring.len());
            ring.reserve_exact(more);
        }
        ring.push_back(entry);
    }

    /// Room kept for entries (at most the journal's size).
    #[cfg(test)]
    fn room(&self) -> usize {
        self.lock().capacity()
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

    /// The definition `is_secret` had (lowercase, then compare), kept to check the in-place
    /// comparison against.
    fn is_secret_by_lowercasing(name: &str) -> bool {
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

    #[test]
    fn secret_names_are_told_in_place_as_by_lowercasing() {
        let names = [
            "token",
            "TOKEN",
            "x_Token_y",
            "password",
            "root_pass",
            "PassWord",
            "secret",
            "client_SECRET",
            "Authorization",
            "key",
            "KEY",
            "ssh_key",
            "SSH_KEY",
            "keys[]",
            "ssh_key[]",
            "apikey",
            "ApiKey",
            "pin",
            "PIN",
            "new_pin",
            "pin_code",
            "Pin_x",
            "params[token]",
            "params[PIN]",
            "params[id]",
            "params[",
            "params[]",
            "id",
            "action",
            "location",
            "keyboard",
            "monkey",
            "pinned",
            "spin",
            "pi",
            "",
            "k",
            "tokn",
            "passe",
            "é_pin",
            "ключ_key",
            "piN_",
            "_pin",
            "pin_",
        ];
        for name in names {
            assert_eq!(
                is_secret(name),
                is_secret_by_lowercasing(name),
                "is_secret({name:?})"
            );
        }
        assert!(is_secret("params[Root_Pass]"));
        assert!(!is_secret("location"));
    }

    fn entry(module: &str, action: &str, server: Option<i64>) -> Entry {
        Entry {
            seq: 0,
            time: 100,
            face: "invapi",
            client: "127.0.0.1".into(),
            module: module.to_owned().into(),
            action: action.to_owned().into(),
            server,
            account: Some(1),
            url: None,
            fields: Entry::no_fields(),
            status: 200,
            answer: "".into(),
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
    fn a_client_address_is_formatted_once_while_it_is_recent() {
        let j = Journal::new(10);
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        let first = j.client_text(ip(1));
        assert_eq!(&*first, "10.0.0.1");
        assert!(Arc::ptr_eq(&first, &j.client_text(ip(1))));
        let v6 = j.client_text("::1".parse().expect("address"));
        assert_eq!(&*v6, "::1");
        assert!(!Arc::ptr_eq(&first, &v6));
        // Eight other clients push it out of the recent ones: formatted anew, the same text.
        for n in 2..=9 {
            assert_eq!(&*j.client_text(ip(n)), format!("10.0.0.{n}"));
        }
        let again = j.client_text(ip(1));
        assert_eq!(again, first);
        assert!(!Arc::ptr_eq(&first, &again));
    }

    #[test]
    fn an_answer_repeated_as_the_same_bytes_or_equal_bytes_shares_its_kept_text() {
        let j = Journal::new(10);
        let body = bytes::Bytes::from(format!(
            r#"{{"result":"OK","list":"{}"}}"#,
            "x".repeat(5000)
        ));
        let (kept, cut) = j.keep_answer(&body);
        assert!(cut && kept.chars().count() == MAX_ANSWER);
        let (same, _) = j.keep_answer(&body.clone());
        assert!(Arc::ptr_eq(&kept, &same));
        let again = bytes::Bytes::from(body.to_vec());
        let (equal, _) = j.keep_answer(&again);
        assert!(Arc::ptr_eq(&kept, &equal));
        // The answer computed again (a new second of the clock, a write) is the one its
        // repeats come as: they are known by their pointer from now on.
        let last = |j: &Journal| {
            let recent = j.recent.lock().unwrap();
            recent.last.as_ref().map(|(b, _, _)| b.as_ptr()).unwrap()
        };
        assert_eq!(last(&j), again.as_ptr());
        let (repeat, _) = j.keep_answer(&again.clone());
        assert!(Arc::ptr_eq(&kept, &repeat));
        assert_eq!(last(&j), again.as_ptr());
        let other = bytes::Bytes::from_static(br#"{"result":"OK"}"#);
        let (short, cut) = j.keep_answer(&other);
        assert_eq!((&*short, cut), (r#"{"result":"OK"}"#, false));
    }

    #[test]
    fn repeated_clients_and_parameters_are_kept_once_and_the_ring_never_outgrows_its_size() {
        let j = Journal::new(3000);
        let mut fields = Map::new();
        fields.insert("action".into(), "show".into());
        for i in 0..3500 {
            let mut e = entry("eq", "show", Some(i % 2));
            e.client = if i % 2 == 0 { "10.0.0.1" } else { "10.0.0.2" }.into();
            fields.insert("id".into(), (i % 2).into());
            e.fields = Entry::fields_of(&fields);
            j.record(e);
        }
        let all = j.list(&Query {
            limit: 10,
            ..Query::default()
        });
        // Requests in turns from two clients: each entry shares with the one two before.
        assert!(Arc::ptr_eq(&all[0].client, &all[2].client));
        assert!(Arc::ptr_eq(&all[1].client, &all[3].client));
        assert!(!Arc::ptr_eq(&all[0].client, &all[1].client));
        assert!(Arc::ptr_eq(&all[0].fields, &all[2].fields));
        assert_eq!(all[0].fields.get(), r#"{"action":"show","id":1}"#);
        assert_eq!(all[1].fields.get(), r#"{"action":"show","id":0}"#);
        assert_eq!(&*all[1].client, "10.0.0.1");
        // Growing by doubling would have kept room for 4,096.
        assert_eq!(j.len(), 3000);
        assert!(j.room() <= 3000, "room for {} entries", j.room());
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

    /// The masking as a whole-document rewrite: what the one-pass masking must equal.
    fn masked_whole(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, item) in o.iter_mut() {
                    if is_secret(k) && !item.is_null() {
                        *item = Value::String(MASK.to_owned());
                    } else {
                        masked_whole(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(masked_whole),
            _ => {}
        }
    }

    #[test]
    fn answers_have_their_secrets_masked_at_any_depth_in_one_pass() {
        let docs = [
            r#"{"result":{"token":"abc","role":"x","servers":[1,2]}}"#,
            r#"{"result":"OK","data":[{"key":"k1","name":"a \"quoted\" key:"},{"pin":1234}]}"#,
            r#"{"a":{"root_pass":{"nested":["x",{"y":"}"}]},"after":"ok"},"api_key":null}"#,
            r#"{"list":[{"pass\u0077ord":"hidden","tokens_left":3,"keep":"pass"}],"n":-1.5e3}"#,
            r#"{"spaced" : { "password" : "p w" , "ok" : true } }"#,
        ];
        for doc in docs {
            let mut whole: Value = serde_json::from_str(doc).unwrap();
            masked_whole(&mut whole);
            let one_pass: Value =
                serde_json::from_slice(&mask_prefix(doc.as_bytes(), 1 << 20).unwrap()).unwrap();
            assert_eq!(one_pass, whole, "{doc}");
        }
        assert_eq!(
            kept_answer(br#"{"result":{"token":"abc","id":7}}"#).0,
            r#"{"result":{"token":"***","id":7}}"#
        );
        assert_eq!(kept_answer(b"token: not json {").0, "(17 bytes, not kept)");
    }

    #[test]
    fn a_long_answer_is_masked_only_as_far_as_it_is_kept() {
        let items: Vec<String> = (0..2000)
            .map(|i| format!(r#"{{"id":{i},"token":"t{i}"}}"#))
            .collect();
        let doc = format!(r#"{{"list":[{}]}}"#, items.join(","));
        let (kept, cut) = kept_answer(doc.as_bytes());
        assert!(cut);
        assert_eq!(kept.chars().count(), MAX_ANSWER);
        assert!(kept.starts_with(r#"{"list":[{"id":0,"token":"***"},{"id":1,"token":"***"}"#));
        assert!(!kept.contains("\"t1"));
    }

    #[test]
    fn a_repeated_answer_is_kept_once_and_shared() {
        let j = Journal::new(10);
        let body = bytes::Bytes::from_static(br#"{"result":{"token":"abc"}}"#);
        let (a, _) = j.keep_answer(&body);
        let (b, _) = j.keep_answer(&bytes::Bytes::copy_from_slice(&body));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, r#"{"result":{"token":"***"}}"#);
        let (c, _) = j.keep_answer(&bytes::Bytes::from_static(b"{}"));
        assert_eq!(&*c, "{}");
        // Answers in turns, and answers that differ only past what is kept, share too.
        let (d, _) = j.keep_answer(&bytes::Bytes::from_static(br#"{"result":{"token":"xyz"}}"#));
        assert!(Arc::ptr_eq(&a, &d), "the same text once masked");
        let long = |tail: &str| {
            bytes::Bytes::from(format!(
                r#"{{"list":"{}","t":"{tail}"}}"#,
                "x".repeat(MAX_ANSWER)
            ))
        };
        let (e, cut) = j.keep_answer(&long("1"));
        let (f, _) = j.keep_answer(&long("2"));
        assert!(cut && Arc::ptr_eq(&e, &f));
        let (g, _) = j.keep_answer(&bytes::Bytes::from_static(b"{\"other\":1}"));
        assert!(!Arc::ptr_eq(&g, &f));
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
