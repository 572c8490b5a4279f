//! SQLite WAL checkpoints in the background.
//!
//! With `wal_autocheckpoint`, the commit that crosses the WAL size limit copies the WAL
//! into the database file and fsyncs both before it returns, so one request in a thousand
//! paid tens of milliseconds. Here a thread of its own runs a PASSIVE checkpoint twice a
//! second: it copies what no reader still needs and never blocks writers, which keep
//! appending to the WAL meanwhile. SQLite restarts the WAL from its beginning once a
//! checkpoint has copied all of it, so the file does not grow without bound.

use super::DbPool;
use anyhow::Context;
use diesel::RunQueryDsl;
use std::sync::mpsc;
use std::time::Duration;

const EVERY: Duration = Duration::from_millis(500);

/// Stops the thread when dropped.
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    pub fn start(pool: DbPool) -> anyhow::Result<Checkpointer> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("postamt-db-checkpoint".into())
            .spawn(move || {
                // Runs until the sender is dropped (Disconnected).
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    if let Err(e) = checkpoint(&pool) {
                        tracing::warn!(error = format!("{e:#}"), "WAL checkpoint failed; retrying");
                    }
                }
                // A last one, so that a clean shutdown leaves a small WAL behind.
                let _ = checkpoint(&pool);
            })
            .context("starting the WAL checkpoint thread")?;
        Ok(Checkpointer { _stop: stop })
    }
}

fn checkpoint(pool: &DbPool) -> anyhow::Result<()> {
    let mut conn = pool.get().context("no database connection for the checkpoint")?;
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *conn).context("PRAGMA wal_checkpoint")?;
    Ok(())
}
