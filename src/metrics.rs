//! `/_emu/metrics`: counters and histograms in the Prometheus text format, kept with the
//! Prometheus project's client (`prometheus-client`). Requests are counted on the hot path
//! (atomic counters, no SQL); the task and database gauges are read from the database when
//! the metrics are scraped; the worlds gauge is kept by the worlds as they come and go.
//! One set per [`crate::state::AppState`].

use std::borrow::Cow;
use std::sync::{Mutex, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels are borrowed where they are names known at compile time, so that counting a
/// request allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    face: &'static str,
    module: &'static str,
    action: &'static str,
    result: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    face: &'static str,
    module: &'static str,
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    effect: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    kind: String,
    state: String,
}

type HistogramFamily = Family<LatencyLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms to ~8 s.
    Histogram::new(exponential_buckets(0.00025, 2.0, 16))
}

/// The emulator's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    faults: Family<FaultLabels, Counter>,
    tasks: Family<TaskLabels, Gauge>,
    db_bytes: Gauge,
    journal_entries: Gauge,
    /// Live isolated worlds, set by the default world's `app::worlds::Worlds` as they come
    /// and go (0 in a world's own metrics: worlds do not nest).
    worlds: Gauge,
    /// One scrape at a time sets the gauges and encodes.
    scrape: Mutex<()>,
    /// The counter and histogram of each label set seen, kept at hand: a request is counted
    /// with one lookup under a shared lock, its labels hashed once with a fast hasher,
    /// rather than a lookup in each family with SipHash.
    handles: RwLock<foldhash::HashMap<RequestLabels, (Counter, Histogram)>>,
}

/// The most label sets [`Metrics::handles`] keeps (the InvAPI's actions times their
/// results are a few hundred); past it, requests are counted through the families.
const MAX_HANDLES: usize = 4096;

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("hostkey_emu");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by face, module, action and result (ok, error, http_<status>, dropped)",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "request_duration_seconds",
            "Time to answer a request, by face, module and action",
            latency.clone(),
        );
        let faults = Family::<FaultLabels, Counter>::default();
        registry.register(
            "faults_applied",
            "Injected faults applied to requests, by effect",
            faults.clone(),
        );
        let tasks = Family::<TaskLabels, Gauge>::default();
        registry.register(
            "tasks",
            "Async tasks by job kind and state (queued, running, done, failed)",
            tasks.clone(),
        );
        let db_bytes = Gauge::default();
        registry.register("database_bytes", "Size of the database", db_bytes.clone());
        let journal_entries = Gauge::default();
        registry.register(
            "journal_entries",
            "Requests held in the journal",
            journal_entries.clone(),
        );
        let worlds = Gauge::default();
        registry.register(
            "worlds",
            "Isolated worlds alive (POST /_emu/worlds); counted in the default world only",
            worlds.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            faults,
            tasks,
            db_bytes,
            journal_entries,
            worlds,
            scrape: Mutex::new(()),
            handles: RwLock::default(),
        }
    }

    /// Counts one answered request and its duration.
    pub fn request(
        &self,
        face: &'static str,
        module: &'static str,
        action: &'static str,
        result: Cow<'static, str>,
        secs: f64,
    ) {
        let labels = RequestLabels {
            face,
            module,
            action,
            result,
        };
        if let Some((counter, histogram)) = self
            .handles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&labels)
        {
            counter.inc();
            histogram.observe(secs);
            return;
        }
        let counter = self.requests.get_or_create(&labels).clone();
        let histogram = self
            .latency
            .get_or_create(&LatencyLabels {
                face,
                module,
                action,
            })
            .clone();
        let mut handles = self.handles.write().unwrap_or_else(|e| e.into_inner());
        if handles.len() < MAX_HANDLES {
            handles.insert(labels, (counter.clone(), histogram.clone()));
        }
        drop(handles);
        counter.inc();
        histogram.observe(secs);
    }

    /// The live-worlds gauge, for the one who creates and deletes worlds to keep current
    /// (a handle on the same value).
    pub fn worlds_gauge(&self) -> Gauge {
        self.worlds.clone()
    }

    /// Counts one applied fault.
    pub fn fault(&self, effect: &str) {
        self.faults
            .get_or_create(&FaultLabels {
                effect: effect.to_owned(),
            })
            .inc();
    }

    /// The text of a scrape, with the gauges read just now: tasks as `(kind, state,
    /// count)`, the database's size and the journal's length.
    pub fn encode(&self, tasks: &[(String, String, i64)], db_bytes: i64, journal: usize) -> String {
        let _one = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.tasks.clear();
        for (kind, state, n) in tasks {
            self.tasks
                .get_or_create(&TaskLabels {
                    kind: kind.clone(),
                    state: state.clone(),
                })
                .set(*n);
        }
        self.db_bytes.set(db_bytes);
        self.journal_entries
            .set(i64::try_from(journal).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing to a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, starts: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(starts))
    }

    #[test]
    fn requests_counted_through_kept_handles_reach_the_scrape() {
        let m = Metrics::new();
        for _ in 0..3 {
            m.request("invapi", "presets", "list", "ok".into(), 0.0001);
        }
        m.request("invapi", "presets", "list", "error".into(), 0.002);
        m.request("invapi", "eq", "show", "ok".into(), 0.5);
        assert_eq!(m.handles.read().unwrap().len(), 3);
        let text = m.encode(&[], 0, 0);
        let ok = r#"hostkey_emu_requests_total{face="invapi",module="presets",action="list",result="ok"}"#;
        let error = r#"hostkey_emu_requests_total{face="invapi",module="presets",action="list",result="error"}"#;
        assert_eq!(line(&text, ok), Some(&*format!("{ok} 3")), "{text}");
        assert_eq!(line(&text, error), Some(&*format!("{error} 1")), "{text}");
        // One histogram per action, whatever the result: four observations of presets/list.
        let count = r#"hostkey_emu_request_duration_seconds_count{face="invapi",module="presets",action="list"}"#;
        assert_eq!(line(&text, count), Some(&*format!("{count} 4")), "{text}");
        let show = r#"hostkey_emu_request_duration_seconds_count{face="invapi",module="eq",action="show"}"#;
        assert_eq!(line(&text, show), Some(&*format!("{show} 1")), "{text}");
    }

    #[test]
    fn past_the_kept_handles_requests_are_still_counted() {
        let m = Metrics::new();
        let results: Vec<String> = (0..MAX_HANDLES + 5).map(|i| format!("http_{i}")).collect();
        for r in &results {
            m.request("invapi", "eq", "show", r.clone().into(), 0.001);
        }
        m.request(
            "invapi",
            "eq",
            "show",
            results[MAX_HANDLES + 4].clone().into(),
            0.001,
        );
        assert_eq!(m.handles.read().unwrap().len(), MAX_HANDLES);
        let text = m.encode(&[], 0, 0);
        let last = format!(
            r#"hostkey_emu_requests_total{{face="invapi",module="eq",action="show",result="http_{}"}}"#,
            MAX_HANDLES + 4
        );
        assert_eq!(line(&text, &last), Some(&*format!("{last} 2")));
        let count = r#"hostkey_emu_request_duration_seconds_count{face="invapi",module="eq",action="show"}"#;
        assert_eq!(
            line(&text, count),
            Some(&*format!("{count} {}", MAX_HANDLES + 6))
        );
    }
}
