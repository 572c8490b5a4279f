//! Values read from the database and reused for a short time: the settings and the API keys
//! that every send request needs. Reading them per request cost a blocking-pool hop and a
//! query each, for values that change a few times a year.
//!
//! A change made through this instance is seen at once: its route calls
//! [`FreshCache::invalidate`], which also discards a read that raced with the change. A change
//! made through another instance (several instances on one PostgreSQL) is seen after at most
//! the cache's freshness period.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many keys are kept; beyond, the cache starts over (the values are cheap to
/// read again, and unknown keys are never stored, so only real callers fill it).
const MAX_ENTRIES: usize = 1024;

pub struct FreshCache<K, V> {
    fresh_for: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
    /// Bumped by every local change, so that a read that raced with it is not kept.
    generation: AtomicU64,
}

/// The generation a read started in; pass it back to [`FreshCache::store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

impl<K: Eq + Hash, V: Clone> FreshCache<K, V> {
    pub fn new(fresh_for: Duration) -> Self {
        FreshCache { fresh_for, entries: Mutex::new(HashMap::new()), generation: AtomicU64::new(0) }
    }

    /// The cached value when it is fresh; otherwise the generation to store a new read under.
    pub fn lookup(&self, key: &K) -> Result<V, Generation> {
        let generation = Generation(self.generation.load(Ordering::Acquire));
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((at, value)) if at.elapsed() < self.fresh_for => Ok(value.clone()),
            _ => Err(generation),
        }
    }

    /// Keeps a value read from the database, unless a local change happened since the read
    /// began (it may predate the change).
    pub fn store(&self, key: K, generation: Generation, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation.0 {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// The generation now: it changes with every local change ([`FreshCache::invalidate`]),
    /// for holders of values read elsewhere that must notice one.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// Something changed here: every later lookup reads again.
    pub fn invalidate(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_value_is_served_until_it_is_stale() {
        let cache = FreshCache::new(Duration::from_millis(50));
        let generation = cache.lookup(&"k").unwrap_err();
        cache.store("k", generation, 1);
        assert_eq!(cache.lookup(&"k").ok(), Some(1));
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.lookup(&"k").is_err());
    }

    #[test]
    fn a_read_that_raced_with_a_local_change_is_not_kept() {
        let cache = FreshCache::new(Duration::from_secs(60));
        let generation = cache.lookup(&"k").unwrap_err();
        cache.invalidate();
        cache.store("k", generation, "old");
        assert!(cache.lookup(&"k").is_err());
    }

    #[test]
    fn invalidate_drops_every_entry() {
        let cache = FreshCache::new(Duration::from_secs(60));
        for key in ["a", "b"] {
            let generation = cache.lookup(&key).unwrap_err();
            cache.store(key, generation, key.len());
        }
        cache.invalidate();
        assert!(cache.lookup(&"a").is_err() && cache.lookup(&"b").is_err());
    }
}
