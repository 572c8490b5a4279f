//! The saved settings as the send API reads them: at most once a second from the database.
//!
//! Every accepted message needs the sender policy, and reading the settings row per request
//! cost a blocking-pool hop and a query for a value that changes a few times a year. A change
//! made through this instance is seen at once (the settings routes call
//! [`SettingsSnapshot::invalidate`]); one made through another instance within a second.
//! Headers computed at acceptance are previews: delivery re-reads the settings itself and
//! records the headers it really used.

use crate::db::{self, Db};
use crate::domain::StoredSettings;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FRESH_FOR: Duration = Duration::from_secs(1);

type Cached = Option<Arc<StoredSettings>>;

#[derive(Default)]
pub struct SettingsSnapshot {
    slot: Mutex<Option<(Instant, u64, Cached)>>,
    /// Bumped by every local change, so that a read that raced with it is not kept.
    generation: AtomicU64,
}

impl SettingsSnapshot {
    /// The saved settings (None: not configured), re-read when older than a second.
    pub async fn get(&self, db: &Db) -> anyhow::Result<Cached> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((at, seen, cached)) = self.slot.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if *seen == generation && at.elapsed() < FRESH_FOR {
                return Ok(cached.clone());
            }
        }
        let loaded = db.run(db::settings::load).await?.map(|l| Arc::new(l.settings));
        if self.generation.load(Ordering::Acquire) == generation {
            *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), generation, loaded.clone()));
        }
        Ok(loaded)
    }

    /// The settings were changed here: the next `get` reads them again.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
