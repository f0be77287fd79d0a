//! PHP `$_REQUEST`-style parameters: the query string and the body merged (body wins),
//! bracket keys (`params[id]`, `ips[]`, `dns[ttl]`), `params[x]` aliases, empty = absent.
//!
//! Bodies may be `application/x-www-form-urlencoded` (the documented form), `multipart/form-data`
//! or a JSON object. Bodies over the configured limit are refused with HTTP 413 before
//! anything else is read.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;

/// Parsed request parameters.
#[derive(Debug, Default, Clone)]
pub struct Params {
    scalars: HashMap<String, String>,
    lists: HashMap<String, Vec<String>>,
    /// `x[<n>]` items with their index.
    indexed: HashMap<String, Vec<(u64, String)>>,
}

/// Most items one list parameter keeps.
const MAX_LIST: usize = 10_000;

/// `ips[3]` -> (`ips`, 3); `params[id]` and `ips[]` are no numbered items.
fn numbered(key: &str) -> Option<(&str, u64)> {
    let inner = key.strip_suffix(']')?;
    let open = inner.rfind('[')?;
    let (base, digits) = (&inner[..open], &inner[open + 1..]);
    if base.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base, digits.parse().ok()?))
}

/// Why a request's parameters could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("request body too large (limit {0} bytes)")]
    TooLarge(usize),
    #[error("malformed request body: {0}")]
    Malformed(String),
}

impl Params {
    /// Parses a urlencoded string into the parameters, later pairs overriding earlier ones.
    pub fn merge_urlencoded(&mut self, raw: &[u8]) {
        for (k, v) in form_urlencoded::parse(raw) {
            self.insert(&k, v.into_owned());
        }
    }

    /// Adds one `key=value` pair, understanding `key[]` lists.
    pub fn insert(&mut self, key: &str, value: String) {
        let key = key.trim();
        if key.is_empty() {
            return;
        }
        if let Some(base) = key.strip_suffix("[]") {
            let list = self.lists.entry(base.to_owned()).or_default();
            // PHP-style guard: a list never grows without bound from one request.
            if list.len() < MAX_LIST {
                list.push(value);
            }
        } else if let Some((base, index)) = numbered(key) {
            // `x[0]=a&x[1]=b` (PHP's http_build_query): list items in the order sent, a
            // repeated index replacing its earlier value, as PHP's arrays do.
            let list = self.indexed.entry(base.to_owned()).or_default();
            if let Some(slot) = list.iter_mut().find(|(i, _)| *i == index) {
                slot.1 = value;
            } else if list.len() < MAX_LIST {
                list.push((index, value));
            }
        } else {
            self.scalars.insert(key.to_owned(), value);
        }
    }

    /// Merges a JSON object: scalars become strings, arrays lists, nested objects `key[sub]`.
    pub fn merge_json(&mut self, value: &serde_json::Value) -> Result<(), FormError> {
        let obj = value
            .as_object()
            .ok_or_else(|| FormError::Malformed("a JSON body must be an object".into()))?;
        for (k, v) in obj {
            self.merge_json_value(k, v, 0);
        }
        Ok(())
    }

    fn merge_json_value(&mut self, key: &str, v: &serde_json::Value, depth: usize) {
        use serde_json::Value as J;
        if depth > 4 {
            return;
        }
        match v {
            J::Null => {}
            J::Array(items) => {
                for item in items {
                    if let Some(s) = json_scalar(item) {
                        self.insert(&format!("{key}[]"), s);
                    }
                }
            }
            J::Object(map) => {
                for (sub, sv) in map {
                    self.merge_json_value(&format!("{key}[{sub}]"), sv, depth + 1);
                }
            }
            other => {
                if let Some(s) = json_scalar(other) {
                    self.insert(key, s);
                }
            }
        }
    }

    /// The value of `x`, read from `params[x]` first, then `x`; empty counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        let wrapped = format!("params[{name}]");
        let found = [wrapped.as_str(), name]
            .into_iter()
            .filter_map(|k| self.scalars.get(k))
            .map(|v| v.as_str())
            .find(|v| !v.trim().is_empty());
        found
    }

    /// A list parameter (`x[]=..`, `params[x][]=..`); a plain scalar counts as a one-item list.
    pub fn list(&self, name: &str) -> Vec<String> {
        let wrapped = format!("params[{name}]");
        for k in [wrapped.as_str(), name] {
            let plain = self.lists.get(k).into_iter().flatten();
            let numbered = self.indexed.get(k).into_iter().flatten().map(|(_, v)| v);
            let items: Vec<String> = plain
                .chain(numbered)
                .filter(|v| !v.trim().is_empty())
                .cloned()
                .collect();
            if !items.is_empty() {
                return items;
            }
        }
        self.get(name)
            .map(|v| vec![v.to_owned()])
            .unwrap_or_default()
    }

    /// Is any form of this parameter present (including empty)?
    pub fn has_key(&self, name: &str) -> bool {
        let wrapped = format!("params[{name}]");
        self.scalars.contains_key(name)
            || self.scalars.contains_key(&wrapped)
            || self.lists.contains_key(name)
            || self.lists.contains_key(&wrapped)
            || self.indexed.contains_key(name)
            || self.indexed.contains_key(&wrapped)
    }

    /// Feeds every parameter but the `skip` names (and their `params[x]` forms) into `h`, in
    /// a canonical order and unambiguously: two requests feed the same bytes exactly when
    /// they carry the same parameters.
    pub fn fingerprint(&self, h: &mut sha2::Sha256, skip: &[&str]) {
        use sha2::Digest;
        let skipped = |k: &str| {
            skip.iter().any(|s| {
                k == *s
                    || k.strip_prefix("params[")
                        .and_then(|r| r.strip_suffix(']'))
                        .is_some_and(|inner| inner == *s)
            })
        };
        let mut feed = |tag: u8, key: &str, values: &mut dyn Iterator<Item = (u64, &str)>| {
            h.update([tag]);
            h.update((key.len() as u64).to_le_bytes());
            h.update(key.as_bytes());
            for (i, v) in values {
                h.update(i.to_le_bytes());
                h.update((v.len() as u64).to_le_bytes());
                h.update(v.as_bytes());
            }
            h.update([0xff]);
        };
        let mut scalars: Vec<_> = self.scalars.iter().filter(|(k, _)| !skipped(k)).collect();
        scalars.sort();
        for (k, v) in scalars {
            feed(1, k, &mut std::iter::once((0, v.as_str())));
        }
        let mut lists: Vec<_> = self.lists.iter().filter(|(k, _)| !skipped(k)).collect();
        lists.sort();
        for (k, vs) in lists {
            feed(2, k, &mut vs.iter().map(|v| (0, v.as_str())));
        }
        let mut indexed: Vec<_> = self.indexed.iter().filter(|(k, _)| !skipped(k)).collect();
        indexed.sort();
        for (k, vs) in indexed {
            feed(3, k, &mut vs.iter().map(|(i, v)| (*i, v.as_str())));
        }
    }

    /// Every scalar parameter, for logging-free introspection in the journal.
    pub fn len(&self) -> usize {
        self.scalars.len() + self.lists.len() + self.indexed.len()
    }

    /// No parameters at all?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads query string and body of a request, within `limit` bytes of body.
    pub async fn from_request_parts(req: Request, limit: usize) -> Result<Params, FormError> {
        let mut params = Params::default();
        if let Some(q) = req.uri().query() {
            params.merge_urlencoded(q.as_bytes());
        }
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if let Some(len) = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            if len > limit as u64 {
                return Err(FormError::TooLarge(limit));
            }
        }
        if content_type.starts_with("multipart/form-data") {
            let (parts, body) = req.into_parts();
            let limited = Body::new(http_body_util::Limited::new(body, limit));
            let req = Request::from_parts(parts, limited);
            let mut mp = Multipart::from_request(req, &())
                .await
                .map_err(|e| FormError::Malformed(e.body_text()))?;
            loop {
                match mp.next_field().await {
                    Ok(Some(field)) => {
                        let name = field.name().unwrap_or("").to_owned();
                        let is_file = field.file_name().is_some();
                        let text = field
                            .text()
                            .await
                            .map_err(|e| classify(e.body_text(), limit))?;
                        if !is_file {
                            params.insert(&name, text);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(classify(e.body_text(), limit)),
                }
            }
            return Ok(params);
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| FormError::TooLarge(limit))?;
        if bytes.is_empty() {
            return Ok(params);
        }
        let looks_json = content_type.starts_with("application/json")
            || (content_type.is_empty() && bytes.first() == Some(&b'{'));
        if looks_json {
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| FormError::Malformed(format!("invalid JSON: {e}")))?;
            params.merge_json(&v)?;
        } else {
            params.merge_urlencoded(&bytes);
        }
        Ok(params)
    }
}

fn classify(text: String, limit: usize) -> FormError {
    if text.to_ascii_lowercase().contains("length limit") || text.contains("too large") {
        FormError::TooLarge(limit)
    } else {
        FormError::Malformed(text)
    }
}

fn json_scalar(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value as J;
    match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Params {
        let mut p = Params::default();
        p.merge_urlencoded(s.as_bytes());
        p
    }

    #[test]
    fn params_wrapper_wins_over_plain_key() {
        let p = parse("id=1&params[id]=2");
        assert_eq!(p.get("id"), Some("2"));
        let p = parse("id=1&params[id]=");
        assert_eq!(
            p.get("id"),
            Some("1"),
            "an empty params[x] counts as absent"
        );
    }

    #[test]
    fn empty_values_are_absent_and_last_plain_key_wins() {
        let p = parse("id=&name=a&name=b");
        assert_eq!(p.get("id"), None);
        assert!(p.has_key("id"));
        assert_eq!(p.get("name"), Some("b"));
    }

    #[test]
    fn bracket_lists_and_nested_keys() {
        let p = parse("ips[]=1.2.3.4&ips[]=1.2.3.5&dns[ttl]=3600&params[content][]=a");
        assert_eq!(p.list("ips"), vec!["1.2.3.4", "1.2.3.5"]);
        assert_eq!(p.get("dns[ttl]"), Some("3600"));
        assert_eq!(p.list("content"), vec!["a"]);
        assert_eq!(parse("ip=9.9.9.9").list("ip"), vec!["9.9.9.9"]);
    }

    #[test]
    fn numbered_brackets_are_list_items_in_the_order_sent() {
        // PHP's http_build_query (WHMCS modules) numbers list items.
        let p = parse("ips[0]=1.2.3.4&ips[1]=1.2.3.5&params[invoices][0]=7&ips[0]=1.2.3.6");
        assert_eq!(
            p.list("ips"),
            vec!["1.2.3.6", "1.2.3.5"],
            "a repeated index replaces"
        );
        assert_eq!(p.list("invoices"), vec!["7"]);
        assert!(p.has_key("ips"));
        // Named keys stay scalars.
        assert_eq!(parse("params[id]=5").get("id"), Some("5"));
        assert_eq!(numbered("x[12]"), Some(("x", 12)));
        assert_eq!(numbered("[3]"), None);
        assert_eq!(numbered("x[1a]"), None);
    }

    #[test]
    fn json_objects_flatten_like_forms() {
        let mut p = Params::default();
        let v = serde_json::json!({"action":"show","id":34533,"active":true,"ips":["a","b"],"params":{"name":"x"}});
        p.merge_json(&v).expect("object");
        assert_eq!(p.get("id"), Some("34533"));
        assert_eq!(p.get("active"), Some("1"));
        assert_eq!(p.get("name"), Some("x"));
        assert_eq!(p.list("ips").len(), 2);
        assert!(p.merge_json(&serde_json::json!([1, 2])).is_err());
    }
}
