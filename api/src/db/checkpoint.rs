//! SQLite WAL checkpoints, run by the writer thread between its batches.
//!
//! With `wal_autocheckpoint`, the commit that crosses the WAL size limit copies the WAL into
//! the database file and fsyncs both before it returns, so one request in a thousand paid
//! tens of milliseconds. A checkpoint thread of its own avoided that but starved: under
//! steady load the writer appended frames while it copied, the copy never caught up with
//! the end of the WAL, and SQLite restarts the WAL from its beginning only after a
//! checkpoint that copied all of it. The bench measured a WAL of 780 MB after 40,000
//! messages, every new frame extending the file (the kernel zeroes each new block).
//!
//! The writer is the only writer, so a PASSIVE checkpoint between two of its batches copies
//! the whole WAL (unless a reader still needs an old frame) and the next commit starts the
//! WAL over, in pages the kernel already holds. It runs after the batch's callers were
//! answered; jobs arriving meanwhile wait for it, a few milliseconds at most, since the WAL
//! is small when checkpoints keep up.

use super::AnyConnection;
use diesel::RunQueryDsl;
use std::time::{Duration, Instant};

/// Under load: at most this long between two checkpoints.
const BUSY_EVERY: Duration = Duration::from_millis(50);
/// Idle: a checkpoint this long after the last write.
pub const IDLE_AFTER: Duration = Duration::from_millis(500);

/// When the writer thread checkpoints.
pub struct Checkpoints {
    last: Instant,
    /// Writes since the last checkpoint.
    dirty: bool,
}

impl Checkpoints {
    pub fn new() -> Self {
        Checkpoints { last: Instant::now(), dirty: false }
    }

    /// After a committed batch: checkpoint if the last one is long enough ago.
    pub fn after_batch(&mut self, conn: &mut AnyConnection) {
        self.dirty = true;
        if self.last.elapsed() >= BUSY_EVERY {
            self.run(conn);
        }
    }

    /// No job arrived for `IDLE_AFTER`: copy what is left, so that an idle server leaves a
    /// small WAL behind.
    pub fn when_idle(&mut self, conn: &mut AnyConnection) {
        if self.dirty {
            self.run(conn);
        }
    }

    fn run(&mut self, conn: &mut AnyConnection) {
        self.last = Instant::now();
        self.dirty = false;
        if let AnyConnection::Sqlite(c) = conn {
            if let Err(e) = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").execute(c) {
                tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
                self.dirty = true;
            }
        }
    }
}
