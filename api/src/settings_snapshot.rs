//! The saved settings as the send API reads them: at most once a second from the database
//! (see [`crate::fresh_cache`] for when a change is seen).
//!
//! Headers computed at acceptance are previews: delivery reads the settings itself (see
//! `delivery::worker`) and records the headers it really used.

use crate::db::{self, Db};
use crate::domain::StoredSettings;
use crate::fresh_cache::{FreshCache, Generation};
use std::sync::Arc;
use std::time::Duration;

type Cached = Option<Arc<StoredSettings>>;

pub struct SettingsSnapshot(FreshCache<(), Cached>);

impl Default for SettingsSnapshot {
    fn default() -> Self {
        SettingsSnapshot(FreshCache::new(Duration::from_secs(1)))
    }
}

impl SettingsSnapshot {
    /// The saved settings (None: not configured), re-read when older than a second.
    pub async fn get(&self, db: &Db) -> anyhow::Result<Cached> {
        let generation = match self.0.lookup(&()) {
            Ok(cached) => return Ok(cached),
            Err(generation) => generation,
        };
        self.read(db, generation).await
    }

    /// As [`Self::get`], but "not configured" is never answered from the cache: the send API
    /// must not refuse a message because this instance's workers looked (and found nothing)
    /// a moment before another instance saved the settings.
    pub async fn get_configured(&self, db: &Db) -> anyhow::Result<Cached> {
        let generation = match self.0.lookup(&()) {
            Ok(Some(cached)) => return Ok(Some(cached)),
            Ok(None) => self.0.generation(),
            Err(generation) => generation,
        };
        self.read(db, generation).await
    }

    async fn read(&self, db: &Db, generation: Generation) -> anyhow::Result<Cached> {
        let loaded = db.run(db::settings::load).await?.map(|l| Arc::new(l.settings));
        self.0.store((), generation, loaded.clone());
        Ok(loaded)
    }

    /// Changes with every change of the settings made here (see `delivery::worker`).
    pub fn generation(&self) -> Generation {
        self.0.generation()
    }

    /// The settings were changed here: the next `get` reads them again.
    pub fn invalidate(&self) {
        self.0.invalidate();
    }
}
