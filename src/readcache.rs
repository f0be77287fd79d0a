//! Answers remembered for one write generation: the in-process read model of the hot paths.
//!
//! A [`Memo`] keeps values computed from the database for as long as nothing was written
//! ([`crate::store::Db::generation`] is raised after every committed write). A value is
//! remembered only when no write was committed while it was computed (the generation read
//! before equals the one read after), so a remembered value is always one the database
//! gave at some moment after the last write. The first lookup in a new generation forgets
//! everything of the old one.
//!
//! Some values depend on a few tables only, and are kept for the generation of those
//! tables instead ([`crate::store::Db::generation_of`], raised only by committed writes
//! that changed their rows).
//!
//! What is remembered, and where: sessions with their account by token digest
//! ([`crate::ops::sessions::resolve`], for the auth tables' generation), server rows by id
//! ([`crate::ops::servers::owned`], for the servers table's generation), and whole answers of actions declared pure (the
//! InvAPI dispatcher), keyed by a digest of everything the answer depends on (action,
//! session, parameters, the emulator clock's second), so no parameter is kept in clear.

use foldhash::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Values of one generation, bounded in count and in bytes.
pub struct Memo<K, V> {
    inner: Mutex<Slots<K, V>>,
    max_entries: usize,
    max_bytes: usize,
}

struct Slots<K, V> {
    generation: u64,
    values: HashMap<K, V>,
    bytes: usize,
}

/// The size a value counts for against a memo's byte bound.
pub trait Weigh {
    fn weight(&self) -> usize;
}

impl Weigh for bytes::Bytes {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl<K: Hash + Eq, V: Clone + Weigh> Memo<K, V> {
    /// A memo of at most `max_entries` values and `max_bytes` bytes; when full, it starts
    /// over (the hot keys come back at once).
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Memo {
            inner: Mutex::new(Slots {
                generation: 0,
                values: HashMap::default(),
                bytes: 0,
            }),
            max_entries,
            max_bytes,
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots<K, V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value remembered for `key` in `generation`, if any.
    pub fn get(&self, generation: u64, key: &K) -> Option<V> {
        let slots = self.slots();
        if slots.generation != generation {
            return None;
        }
        slots.values.get(key).cloned()
    }

    /// Remembers `value`, computed between reading generation `before` and `after`; a value
    /// computed while a write was committed is not kept.
    pub fn put(&self, before: u64, after: u64, key: K, value: V) {
        if before != after {
            return;
        }
        let weight = value.weight();
        if weight > self.max_bytes / 4 {
            return;
        }
        let mut slots = self.slots();
        if slots.generation != before {
            if before < slots.generation {
                // Computed in an older generation than the one remembered now.
                return;
            }
            slots.generation = before;
            slots.values.clear();
            slots.bytes = 0;
        }
        if slots.values.len() >= self.max_entries || slots.bytes + weight > self.max_bytes {
            slots.values.clear();
            slots.bytes = 0;
        }
        slots.bytes += weight;
        if let Some(old) = slots.values.insert(key, value) {
            slots.bytes -= old.weight();
        }
    }

    /// The value of `key`: the remembered one, or the one `load` finds, remembered when
    /// no write counted by `generation` was committed while it was loaded. `generation`
    /// is read before `load` runs (a future does nothing until it is awaited) and again
    /// after; nothing found is nothing to remember.
    pub async fn load<E>(
        &self,
        generation: impl Fn() -> u64,
        key: &K,
        load: impl std::future::Future<Output = Result<Option<V>, E>>,
    ) -> Result<Option<V>, E>
    where
        K: Clone,
    {
        let before = generation();
        if let Some(value) = self.get(before, key) {
            return Ok(Some(value));
        }
        let found = load.await?;
        if let Some(value) = &found {
            self.put(before, generation(), key.clone(), value.clone());
        }
        Ok(found)
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut slots = self.slots();
        slots.values.clear();
        slots.bytes = 0;
    }

    /// How many values are remembered (for tests and metrics).
    pub fn len(&self) -> usize {
        self.slots().values.len()
    }

    /// Nothing remembered?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct V(&'static str);
    impl Weigh for V {
        fn weight(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn a_value_is_kept_for_its_generation_only() {
        let m: Memo<u32, V> = Memo::new(10, 1000);
        m.put(1, 1, 7, V("a"));
        assert_eq!(m.get(1, &7), Some(V("a")));
        assert_eq!(m.get(2, &7), None, "a write came in between");
        m.put(2, 2, 7, V("b"));
        assert_eq!(m.get(2, &7), Some(V("b")));
        assert_eq!(m.get(1, &7), None, "the old generation is gone");
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn a_value_computed_across_a_write_is_not_kept() {
        let m: Memo<u32, V> = Memo::new(10, 1000);
        m.put(3, 4, 1, V("torn"));
        assert_eq!(m.get(3, &1), None);
        assert_eq!(m.get(4, &1), None);
        // Nor one from an older generation than the memo's.
        m.put(5, 5, 1, V("new"));
        m.put(4, 4, 2, V("old"));
        assert_eq!(m.get(5, &2), None);
        assert_eq!(m.get(5, &1), Some(V("new")));
    }

    #[tokio::test]
    async fn a_loaded_value_is_kept_only_when_found_and_no_write_came_in_between() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let m: Memo<u32, V> = Memo::new(10, 1000);
        let generation = AtomicU64::new(1);
        let now = || generation.load(Ordering::SeqCst);
        let found = |v: &'static str| async move { Ok::<_, ()>(Some(V(v))) };
        // A write committed while loading: answered, not remembered.
        let torn = m
            .load(now, &1, async {
                generation.store(2, Ordering::SeqCst);
                Ok::<_, ()>(Some(V("torn")))
            })
            .await;
        assert_eq!(torn, Ok(Some(V("torn"))));
        assert!(m.is_empty());
        assert_eq!(m.load(now, &1, found("a")).await, Ok(Some(V("a"))));
        assert_eq!(m.len(), 1);
        // Remembered: the loader is not awaited again.
        assert_eq!(m.load(now, &1, found("b")).await, Ok(Some(V("a"))));
        // Nothing found, or an error: nothing remembered.
        assert_eq!(m.load(now, &2, async { Ok::<_, ()>(None) }).await, Ok(None));
        assert_eq!(
            m.load(now, &3, async { Err::<Option<V>, ()>(()) }).await,
            Err(())
        );
        assert_eq!(m.len(), 1);
        // A later write: loaded again.
        generation.store(3, Ordering::SeqCst);
        assert_eq!(m.load(now, &1, found("c")).await, Ok(Some(V("c"))));
    }

    #[test]
    fn the_bounds_hold() {
        let m: Memo<u32, V> = Memo::new(2, 1000);
        for k in 0..5 {
            m.put(1, 1, k, V("x"));
            assert!(m.len() <= 2);
        }
        let m: Memo<u32, V> = Memo::new(100, 8);
        m.put(1, 1, 1, V("aa"));
        m.put(1, 1, 2, V("bb"));
        m.put(1, 1, 3, V("ccc"));
        m.put(1, 1, 4, V("ddd"));
        assert!(m.len() <= 3);
        m.put(1, 1, 5, V("a value over a quarter of the bound"));
        assert_eq!(m.get(1, &5), None, "too big to keep");
        m.clear();
        assert!(m.is_empty());
    }
}
