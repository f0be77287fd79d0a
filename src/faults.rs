//! Injected faults (`/_emu/faults`): rules that make the next matching requests fail the way
//! a real provider (or the network in front of it) fails, so that a client's unhappy paths
//! can be tested. The rules live in memory, one registry per [`crate::state::AppState`];
//! each face asks [`Faults::check`] before it runs an action and applies the effect in its
//! own wire format (the InvAPI renders the errors in its envelope).
//!
//! An effect on an async action's task is carried to the queue in a task-local
//! ([`TASK_FAULT`]): `queue::submit_in` notes the fate of every callback it creates while
//! the action runs, and the worker applies it when the job falls due.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most rules kept at once (a runaway test loop fails loudly instead of eating memory).
pub const MAX_RULES: usize = 1000;
/// The longest injected latency: a fault never holds a request longer than this.
pub const MAX_LATENCY_MS: u64 = 60_000;

/// Which requests a rule (or a journal query) is about. Every given criterion must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// The module (`eq`, `auth`...), without `.php`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The server the request names (its `id` parameter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<i64>,
    /// The account of the request's session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<i64>,
    /// Request parameters that must have exactly these values (`{"os_id": "5"}`); a
    /// number matches its decimal text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
}

/// What a request looks like to a matcher.
pub struct Request<'a> {
    pub module: &'a str,
    pub action: &'a str,
    pub server: Option<i64>,
    pub account: Option<i64>,
    /// A request parameter by name (`params[x]` before `x`).
    pub field: &'a dyn Fn(&str) -> Option<String>,
}

/// A field value as the text a form parameter would carry.
pub fn field_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

impl Matcher {
    pub fn matches(&self, r: &Request<'_>) -> bool {
        self.module.as_deref().is_none_or(|m| m == r.module)
            && self.action.as_deref().is_none_or(|a| a == r.action)
            && self.server.is_none_or(|s| r.server == Some(s))
            && self.account.is_none_or(|a| r.account == Some(a))
            && self
                .fields
                .iter()
                .all(|(k, v)| field_text(v).is_some() && (r.field)(k) == field_text(v))
    }

    /// Checks the matcher's shape; `known` says whether a module/action pair exists.
    pub fn check(&self, known: &dyn Fn(&str, Option<&str>) -> bool) -> Result<(), String> {
        if let Some(m) = &self.module {
            if !known(m, self.action.as_deref()) {
                return Err(match &self.action {
                    Some(a) => format!("unknown action {m}/{a}"),
                    None => format!("unknown module {m}"),
                });
            }
        } else if self.action.is_some() {
            return Err("an action needs its module".into());
        }
        for (k, v) in &self.fields {
            if field_text(v).is_none() {
                return Err(format!(
                    "fields.{k} must be a string, a number or a boolean"
                ));
            }
        }
        Ok(())
    }
}

/// The InvAPI errors a rule can name instead of giving a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedError {
    /// `auth: invalid token` (clients log in again).
    InvalidToken,
    /// `<module>/<action>: permission denied`.
    PermissionDenied,
    /// `<module>/<action>: server <id> not found` (clients drop their state).
    NotFound,
    /// `internal error`.
    Internal,
    /// The error text as given, verbatim.
    Text(String),
}

impl NamedError {
    fn parse(s: &str) -> NamedError {
        match s {
            "invalid_token" => NamedError::InvalidToken,
            "permission_denied" => NamedError::PermissionDenied,
            "not_found" => NamedError::NotFound,
            "internal" => NamedError::Internal,
            other => NamedError::Text(other.to_owned()),
        }
    }
}

/// What happens to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// An API error in the face's envelope: `invalid_token`, `permission_denied`,
    /// `not_found`, `internal`, or a text of its own.
    Error { error: String },
    /// An HTTP answer with this status, body and headers (a proxy's 502, a 429 with
    /// `Retry-After`).
    Http {
        status: u16,
        #[serde(default)]
        body: Option<Value>,
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
    /// The request is answered normally after `ms` milliseconds, or after a delay drawn
    /// between `min_ms` and `max_ms` (real time, at most a minute).
    Latency {
        #[serde(default)]
        ms: Option<u64>,
        #[serde(default)]
        min_ms: Option<u64>,
        #[serde(default)]
        max_ms: Option<u64>,
    },
    /// The connection is closed without an answer.
    Drop,
    /// The answer's headers promise the whole body; only its first `bytes` (half of it by
    /// default) are sent before the connection closes.
    Truncate {
        #[serde(default)]
        bytes: Option<usize>,
    },
    /// The async action is accepted, and its task ends in a failure record (`Fail`).
    TaskFail {
        #[serde(default)]
        scope: Option<String>,
        #[serde(default)]
        debug: Option<String>,
    },
    /// The async action is accepted, and its task stays in a stage forever.
    TaskStuck {
        #[serde(default)]
        stage: Option<String>,
    },
}

/// The default reason and output of an injected task failure: what a BMC that stopped
/// answering looks like in 001's failure record.
pub const DEFAULT_FAIL_SCOPE: &str = "The operation could not be completed";
pub const DEFAULT_FAIL_DEBUG: &str = "Error: Unable to establish IPMI v2 / RMCP+ session\n\
                                      Unable to get Chassis Power Status";
pub const DEFAULT_STUCK_STAGE: &str = " (1/5) Waiting for the server to answer";

impl Effect {
    fn check(&self) -> Result<(), String> {
        match self {
            Effect::Error { error } if error.trim().is_empty() => {
                Err("effect.error must name an error or give a text".into())
            }
            Effect::Http {
                status, headers, ..
            } => {
                if !(200..=599).contains(status) {
                    return Err("effect.status must be between 200 and 599".into());
                }
                for (k, v) in headers {
                    axum::http::HeaderName::from_bytes(k.as_bytes())
                        .map_err(|_| format!("effect.headers: {k:?} is no header name"))?;
                    axum::http::HeaderValue::from_str(v)
                        .map_err(|_| format!("effect.headers.{k}: not a header value"))?;
                }
                Ok(())
            }
            Effect::Latency { ms, min_ms, max_ms } => match (ms, min_ms, max_ms) {
                (Some(ms), None, None) if *ms <= MAX_LATENCY_MS => Ok(()),
                (None, Some(lo), Some(hi)) if lo <= hi && *hi <= MAX_LATENCY_MS => Ok(()),
                _ => Err(format!(
                    "effect latency needs ms, or min_ms <= max_ms, at most {MAX_LATENCY_MS}"
                )),
            },
            _ => Ok(()),
        }
    }

    /// The error this effect answers with, if it is an error.
    pub fn named_error(&self) -> Option<NamedError> {
        match self {
            Effect::Error { error } => Some(NamedError::parse(error)),
            _ => None,
        }
    }
}

/// A rule as a client writes it (`POST /_emu/faults`, a scenario's `faults`, `--faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Only requests to this module (`eq`, `auth`...), without `.php`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Only this action of the module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only requests naming this server (their `id` parameter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<i64>,
    /// Only requests of this account's sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<i64>,
    /// Only requests whose parameters have exactly these values (`{"os_id": "5"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, Value>,
    pub effect: Effect,
    /// Applies to the next `times` matches; unlimited when absent.
    #[serde(default)]
    pub times: Option<u64>,
    /// Applies to a match with this probability (0 < p <= 1), drawn from a generator
    /// seeded with `seed`, so a run repeats exactly.
    #[serde(default)]
    pub probability: Option<f64>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Ends at this emulator-clock time (Unix seconds)...
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// ...or this many emulator-clock seconds after it was added.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

impl RuleSpec {
    /// The requests the rule is about.
    pub fn matcher(&self) -> Matcher {
        Matcher {
            module: self.module.clone(),
            action: self.action.clone(),
            server: self.server,
            account: self.account,
            fields: self.fields.clone(),
        }
    }

    pub fn check(&self, known: &dyn Fn(&str, Option<&str>) -> bool) -> Result<(), String> {
        self.matcher().check(known)?;
        self.effect.check()?;
        if self.times == Some(0) {
            return Err("times must be at least 1 (leave it out for unlimited)".into());
        }
        if let Some(p) = self.probability {
            if !(p > 0.0 && p <= 1.0) {
                return Err("probability must be above 0 and at most 1".into());
            }
        }
        if self.expires_at.is_some() && self.expires_in.is_some() {
            return Err("give expires_at or expires_in, not both".into());
        }
        if self.expires_in.is_some_and(|s| s <= 0) {
            return Err("expires_in must be a positive number of seconds".into());
        }
        Ok(())
    }
}

/// A rule in the registry.
struct Rule {
    id: u64,
    spec: RuleSpec,
    matcher: Matcher,
    expires_at: Option<i64>,
    hits: u64,
    rng: Option<StdRng>,
}

/// What a request gets when a rule applies to it.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The rule's id (the journal notes it).
    pub rule: u64,
    pub effect: Effect,
    /// For a latency range: the delay drawn.
    pub delay_ms: u64,
}

/// The registry of one world's rules.
pub struct Faults {
    inner: Mutex<Registry>,
    /// The rules the emulator started with (scenario and `--faults`), restored by a reset.
    initial: Vec<RuleSpec>,
}

#[derive(Default)]
struct Registry {
    rules: Vec<Rule>,
    next_id: u64,
    /// Callback keys whose task an applied rule decided (`task_fail`, `task_stuck`).
    doomed: HashMap<String, (u64, Effect)>,
    /// How many times rules applied, by effect type (for metrics).
    applied: BTreeMap<&'static str, u64>,
}

impl Effect {
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::Error { .. } => "error",
            Effect::Http { .. } => "http",
            Effect::Latency { .. } => "latency",
            Effect::Drop => "drop",
            Effect::Truncate { .. } => "truncate",
            Effect::TaskFail { .. } => "task_fail",
            Effect::TaskStuck { .. } => "task_stuck",
        }
    }

    pub fn is_task(&self) -> bool {
        matches!(self, Effect::TaskFail { .. } | Effect::TaskStuck { .. })
    }
}

impl Faults {
    /// A registry holding `initial` (already checked), with ids from 1.
    pub fn new(initial: Vec<RuleSpec>, now: i64) -> Faults {
        let f = Faults {
            inner: Mutex::new(Registry::default()),
            initial,
        };
        f.reset(now);
        f
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds checked rules, all of them or (past [`MAX_RULES`]) none; returns their ids.
    pub fn add(&self, specs: Vec<RuleSpec>, now: i64) -> Result<Vec<u64>, String> {
        let mut reg = self.lock();
        if reg.rules.len() + specs.len() > MAX_RULES {
            return Err(format!("at most {MAX_RULES} fault rules at once"));
        }
        Ok(specs.into_iter().map(|s| reg.push(s, now)).collect())
    }

    /// Removes one rule; false when there is none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut reg = self.lock();
        let before = reg.rules.len();
        reg.rules.retain(|r| r.id != id);
        reg.rules.len() != before
    }

    /// Removes every rule; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut reg = self.lock();
        let n = reg.rules.len();
        reg.rules.clear();
        n
    }

    /// Back to the rules the emulator started with (a reset).
    pub fn reset(&self, now: i64) {
        let mut reg = self.lock();
        *reg = Registry {
            next_id: 1,
            ..Registry::default()
        };
        for s in self.initial.clone() {
            reg.push(s, now);
        }
    }

    /// Every rule as JSON, with its id, hit count and what is left of it.
    pub fn list(&self, now: i64) -> Vec<Value> {
        let reg = self.lock();
        reg.rules
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(&r.spec).unwrap_or_default();
                if let Value::Object(o) = &mut v {
                    o.insert("id".into(), r.id.into());
                    o.insert("hits".into(), r.hits.into());
                    o.insert(
                        "remaining".into(),
                        r.spec.times.map(|t| t.saturating_sub(r.hits)).into(),
                    );
                    o.insert("expires_at".into(), r.expires_at.into());
                    o.insert("active".into(), r.live(now).into());
                }
                v
            })
            .collect()
    }

    /// The rule that applies to this request, if any: the first live rule that matches and
    /// wins its draw. Counts the hit.
    pub fn check(&self, req: &Request<'_>, now: i64) -> Option<Applied> {
        let mut reg = self.lock();
        if reg.rules.is_empty() {
            return None;
        }
        let mut found = None;
        for rule in reg.rules.iter_mut() {
            if !rule.live(now) || !rule.matcher.matches(req) {
                continue;
            }
            if let (Some(p), Some(rng)) = (rule.spec.probability, rule.rng.as_mut()) {
                if rng.gen::<f64>() >= p {
                    continue;
                }
            }
            rule.hits += 1;
            let delay_ms = match rule.spec.effect {
                Effect::Latency { ms: Some(ms), .. } => ms,
                Effect::Latency {
                    min_ms: Some(lo),
                    max_ms: Some(hi),
                    ..
                } => match rule.rng.as_mut() {
                    Some(rng) => rng.gen_range(lo..=hi),
                    None => StdRng::seed_from_u64(rule.id ^ rule.hits).gen_range(lo..=hi),
                },
                _ => 0,
            };
            found = Some(Applied {
                rule: rule.id,
                effect: rule.spec.effect.clone(),
                delay_ms,
            });
            break;
        }
        if let Some(a) = &found {
            *reg.applied.entry(a.effect.kind()).or_default() += 1;
        }
        found
    }

    /// Notes that the task behind `key` ends as the applied rule says.
    pub fn doom(&self, key: &str, applied: &Applied) {
        let mut reg = self.lock();
        // Bounded: a rule applied to a flood of tasks nobody runs does not grow forever.
        if reg.doomed.len() >= 100_000 {
            reg.doomed.clear();
        }
        reg.doomed
            .insert(key.to_owned(), (applied.rule, applied.effect.clone()));
    }

    /// The fate an applied rule gave the task behind `key`, if any.
    pub fn fate(&self, key: &str) -> Option<Effect> {
        let reg = self.lock();
        if reg.doomed.is_empty() {
            return None;
        }
        reg.doomed.get(key).map(|(_, e)| e.clone())
    }

    /// How many times rules applied, by effect type.
    pub fn applied(&self) -> Vec<(&'static str, u64)> {
        self.lock().applied.iter().map(|(k, v)| (*k, *v)).collect()
    }
}

impl Registry {
    fn push(&mut self, spec: RuleSpec, now: i64) -> u64 {
        let id = self.next_id.max(1);
        self.next_id = id + 1;
        let expires_at = spec.expires_at.or(spec.expires_in.map(|s| now + s));
        let needs_rng = spec.probability.is_some()
            || matches!(
                spec.effect,
                Effect::Latency {
                    min_ms: Some(_),
                    ..
                }
            );
        let rng = needs_rng.then(|| match spec.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        });
        self.rules.push(Rule {
            id,
            matcher: spec.matcher(),
            spec,
            expires_at,
            hits: 0,
            rng,
        });
        id
    }
}

impl Rule {
    fn live(&self, now: i64) -> bool {
        self.spec.times.is_none_or(|t| self.hits < t) && self.expires_at.is_none_or(|e| now < e)
    }
}

/// Parses rules from JSON: one rule object or an array of them; every rule is checked,
/// and the first bad one is reported with its place (`faults[2]: ...`).
pub fn parse_rules(
    value: Value,
    known: &dyn Fn(&str, Option<&str>) -> bool,
) -> Result<Vec<RuleSpec>, String> {
    let (items, many) = match value {
        Value::Array(items) => (items, true),
        one @ Value::Object(_) => (vec![one], false),
        _ => return Err("expected a fault rule (a JSON object) or an array of rules".into()),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let place = if many {
            format!("faults[{i}]: ")
        } else {
            String::new()
        };
        let spec: RuleSpec = serde_json::from_value(item).map_err(|e| format!("{place}{e}"))?;
        spec.check(known).map_err(|e| format!("{place}{e}"))?;
        out.push(spec);
    }
    Ok(out)
}

/// Reads rules from a file (`--faults FILE`): a JSON array of rules, or an object with a
/// `faults` array (a scenario file's shape).
pub fn read_file(
    path: &str,
    known: &dyn Fn(&str, Option<&str>) -> bool,
) -> Result<Vec<RuleSpec>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--faults {path}: {e}"))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("--faults {path}: {e}"))?;
    let value = match value {
        Value::Object(mut o) if o.contains_key("faults") => o.remove("faults").unwrap_or_default(),
        other => other,
    };
    parse_rules(value, known).map_err(|e| format!("--faults {path}: {e}"))
}

/// The rules of a scenario's optional `faults` array (parsed with the scenario).
pub fn from_scenario(
    faults: Option<Vec<Value>>,
    known: &dyn Fn(&str, Option<&str>) -> bool,
) -> Result<Vec<RuleSpec>, String> {
    match faults {
        None => Ok(Vec::new()),
        Some(rules) => {
            parse_rules(Value::Array(rules), known).map_err(|e| format!("scenario: {e}"))
        }
    }
}

/// A response extension: the server closes the connection instead of sending the
/// response it is attached to (the `drop` effect).
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// The error a connection ends with when a fault drops it.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub struct Dropped;

tokio::task_local! {
    /// The task effect of the rule applied to the request being answered, if any; read by
    /// `queue::submit_in`.
    pub static TASK_FAULT: Applied;
}

/// The task effect in force for the current request, if any.
pub fn current_task_fault() -> Option<Applied> {
    TASK_FAULT.try_with(|a| a.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn any(_: &str, _: Option<&str>) -> bool {
        true
    }

    fn req<'a>(
        module: &'a str,
        action: &'a str,
        server: Option<i64>,
        f: &'a dyn Fn(&str) -> Option<String>,
    ) -> Request<'a> {
        Request {
            module,
            action,
            server,
            account: Some(1),
            field: f,
        }
    }

    #[test]
    fn a_rule_applies_its_times_then_stops() {
        let specs = parse_rules(
            json!({"module": "eq", "action": "reboot", "server": 40101, "times": 2,
                   "effect": {"type": "error", "error": "not_found"}}),
            &any,
        )
        .expect("rule");
        let f = Faults::new(Vec::new(), 0);
        f.add(specs, 0).expect("add");
        let none = |_: &str| None;
        assert!(f
            .check(&req("eq", "reboot", Some(40102), &none), 0)
            .is_none());
        assert!(f.check(&req("eq", "on", Some(40101), &none), 0).is_none());
        assert!(f
            .check(&req("eq", "reboot", Some(40101), &none), 0)
            .is_some());
        assert!(f
            .check(&req("eq", "reboot", Some(40101), &none), 0)
            .is_some());
        assert!(f
            .check(&req("eq", "reboot", Some(40101), &none), 0)
            .is_none());
        assert_eq!(f.list(0)[0]["hits"], 2);
        assert_eq!(f.list(0)[0]["active"], false);
    }

    #[test]
    fn a_seeded_probability_repeats_exactly() {
        let draw = || {
            let f = Faults::new(Vec::new(), 0);
            let spec = parse_rules(
                json!({"probability": 0.5, "seed": 7, "effect": {"type": "drop"}}),
                &any,
            )
            .expect("rule");
            f.add(spec, 0).expect("add");
            let none = |_: &str| None;
            (0..64)
                .map(|_| f.check(&req("eq", "list", None, &none), 0).is_some())
                .collect::<Vec<_>>()
        };
        let a = draw();
        assert_eq!(a, draw());
        let hits = a.iter().filter(|h| **h).count();
        assert!((10..54).contains(&hits), "{hits} of 64");
    }

    #[test]
    fn fields_and_expiry_are_matched() {
        let f = Faults::new(Vec::new(), 100);
        let spec = parse_rules(
            json!({"fields": {"os_id": 5}, "expires_in": 10, "effect": {"type": "drop"}}),
            &any,
        )
        .expect("rule");
        f.add(spec, 100).expect("add");
        let five = |k: &str| (k == "os_id").then(|| "5".to_owned());
        let six = |k: &str| (k == "os_id").then(|| "6".to_owned());
        assert!(f.check(&req("eq", "reinstall", None, &six), 105).is_none());
        assert!(f.check(&req("eq", "reinstall", None, &five), 105).is_some());
        assert!(f.check(&req("eq", "reinstall", None, &five), 110).is_none());
    }

    #[test]
    fn malformed_rules_are_refused_with_their_place() {
        let bad = [
            (json!({"effect": {"type": "boom"}}), "unknown variant"),
            (
                json!({"effect": {"type": "drop"}, "tims": 1}),
                "unknown field",
            ),
            (json!({"effect": {"type": "drop"}, "times": 0}), "times"),
            (json!({"effect": {"type": "http", "status": 42}}), "status"),
            (
                json!({"effect": {"type": "latency", "ms": 600000}}),
                "latency",
            ),
            (
                json!({"effect": {"type": "drop"}, "probability": 2}),
                "probability",
            ),
            (
                json!([{"effect": {"type": "drop"}}, {"effect": {}}]),
                "faults[1]",
            ),
            (json!("drop"), "expected a fault rule"),
        ];
        for (v, why) in bad {
            let e = parse_rules(v.clone(), &any).expect_err("refused");
            assert!(e.contains(why), "{v}: {e}");
        }
        let none = |_: &str, _: Option<&str>| false;
        let e = parse_rules(json!({"module": "eqq", "effect": {"type": "drop"}}), &none)
            .expect_err("unknown module");
        assert!(e.contains("unknown module eqq"), "{e}");
    }
}
