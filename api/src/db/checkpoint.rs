//! SQLite WAL checkpoints: copied by a thread of their own, bounded by the writer thread.
//!
//! With `wal_autocheckpoint`, the commit that crosses the WAL size limit copies the WAL into
//! the database file and fsyncs both before it returns, so one request in a thousand paid
//! tens of milliseconds. Run by the writer thread between its batches, every checkpoint
//! stalled every write for its copy and its two fsyncs (about 8 ms every 50 ms under load
//! in the bench, which capped the outbox's throughput). Run only by a thread of its own, it
//! starved: under steady load the writer appends frames while it copies, and SQLite starts
//! the WAL over only after a checkpoint that copied all of it, so the WAL grew without
//! bound (780 MB after 40,000 messages in the bench).
//!
//! So both: the checkpoint thread copies the WAL (PASSIVE, concurrent with writes) whenever
//! the writer has written for [`BUSY_EVERY`]. If the WAL is then still longer than
//! [`WRITER_STEPS_IN_AT`] frames, it has not started over for a while, and the writer thread
//! checkpoints once itself between two batches: as the only writer it copies the whole
//! remainder (little, since the thread copied the rest), and the next commit starts the WAL
//! over. SQLite reports a checkpoint that found another one copying as `busy`, not as an
//! error: the writer then waits for the thread's copy to end and copies the rest, rather
//! than let the WAL grow while a starved thread copies slowly. The WAL stays within about
//! that many frames (4 KiB each) under any load, and writes stall only for that occasional
//! short copy. An idle writer checkpoints itself.

use super::{AnyConnection, DbConn, DbPool};
use anyhow::Context;
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Under load: the checkpoint thread copies the WAL this often.
const BUSY_EVERY: Duration = Duration::from_millis(50);
/// Idle: the writer checkpoints this long after its last write.
pub const IDLE_AFTER: Duration = Duration::from_millis(500);
/// WAL frames after which the writer copies the rest itself (16 MiB of 4 KiB pages).
const WRITER_STEPS_IN_AT: i64 = 4096;

/// The writer thread's side.
pub struct Checkpoints {
    /// Wakes the checkpoint thread; dropping it (the writer stops) stops the thread.
    wake: mpsc::Sender<()>,
    /// Set by the checkpoint thread when the WAL did not start over.
    writer_steps_in: Arc<AtomicBool>,
    /// Held by the checkpoint thread while it copies.
    copying: Arc<Mutex<()>>,
    last_wake: Instant,
    /// Writes since the writer's last own checkpoint.
    dirty: bool,
}

impl Checkpoints {
    /// Starts the checkpoint thread, which takes a connection of `pool` when first needed.
    pub fn start(pool: &DbPool) -> anyhow::Result<Checkpoints> {
        let (wake, woken) = mpsc::channel();
        let writer_steps_in = Arc::new(AtomicBool::new(false));
        let copying = Arc::new(Mutex::new(()));
        let (pool, flag, lock) = (pool.clone(), writer_steps_in.clone(), copying.clone());
        std::thread::Builder::new()
            .name("postamt-db-checkpoint".into())
            .spawn(move || checkpoint_thread(&pool, &woken, &flag, &lock))
            .context("starting the WAL checkpoint thread")?;
        Ok(Checkpoints { wake, writer_steps_in, copying, last_wake: Instant::now(), dirty: false })
    }

    /// After a committed batch: wake the checkpoint thread now and then, and copy the
    /// remainder here when it asked for that, again after each batch until the whole WAL
    /// is copied. If the thread's own copy holds SQLite's checkpoint lock at that moment,
    /// the writer waits for it to end: on a machine too busy to give that thread the CPU,
    /// writes pause briefly rather than let the WAL grow while the copy crawls.
    pub fn after_batch(&mut self, conn: &mut AnyConnection) {
        self.dirty = true;
        if self.writer_steps_in.load(Ordering::Acquire) {
            let mut outcome = self.run(conn);
            if outcome == Copy::Busy {
                let copying = self.copying.clone();
                let _turn = copying.lock().unwrap_or_else(PoisonError::into_inner);
                outcome = self.run(conn);
            }
            if outcome == Copy::All {
                self.writer_steps_in.store(false, Ordering::Release);
            }
        }
        if self.last_wake.elapsed() >= BUSY_EVERY {
            self.last_wake = Instant::now();
            let _ = self.wake.send(());
        }
    }

    /// No job arrived for `IDLE_AFTER`: copy what is left, so that an idle server leaves a
    /// small WAL behind.
    pub fn when_idle(&mut self, conn: &mut AnyConnection) {
        if self.dirty {
            self.run(conn);
        }
    }

    fn run(&mut self, conn: &mut AnyConnection) -> Copy {
        match passive(conn) {
            Ok(checkpoint) if checkpoint.busy != 0 => Copy::Busy,
            Ok(checkpoint) if checkpoint.checkpointed >= checkpoint.log => {
                self.dirty = false;
                Copy::All
            }
            // A reader still uses an older snapshot: the rest is copied on a later try.
            Ok(_) => Copy::Part,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "WAL checkpoint failed; the next one retries");
                Copy::Part
            }
        }
    }
}

/// What a checkpoint of the writer's copied.
#[derive(Debug, PartialEq, Eq)]
enum Copy {
    /// All of the WAL: the next commit starts it over.
    All,
    /// Not all of it.
    Part,
    /// Nothing: another connection's checkpoint held the lock.
    Busy,
}

fn checkpoint_thread(pool: &DbPool, woken: &mpsc::Receiver<()>, writer_steps_in: &AtomicBool, copying: &Mutex<()>) {
    let mut conn: Option<DbConn> = None;
    while woken.recv().is_ok() {
        // Wake-ups that arrived during the last copy are served by this one.
        while woken.try_recv().is_ok() {}
        if conn.is_none() {
            conn = pool.get().map_err(|e| tracing::warn!(error = %e, "no connection for WAL checkpoints")).ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        let copied = {
            let _copying = copying.lock().unwrap_or_else(PoisonError::into_inner);
            passive(c)
        };
        match copied {
            Ok(checkpoint) if checkpoint.log > WRITER_STEPS_IN_AT => writer_steps_in.store(true, Ordering::Release),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "WAL checkpoint failed; the next one retries");
                conn = None;
            }
        }
    }
}

#[derive(QueryableByName)]
struct CheckpointResult {
    /// 1 when another connection's checkpoint held the lock: then nothing was copied
    /// (SQLite reports that in this column, not as an error).
    #[diesel(sql_type = BigInt)]
    busy: i64,
    /// Frames in the WAL (since it last started over).
    #[diesel(sql_type = BigInt)]
    log: i64,
    /// Frames of it copied into the database file.
    #[diesel(sql_type = BigInt)]
    checkpointed: i64,
}

/// A PASSIVE checkpoint: copies what it can without waiting for anyone.
fn passive(conn: &mut AnyConnection) -> anyhow::Result<CheckpointResult> {
    let AnyConnection::Sqlite(c) = conn else { return Ok(CheckpointResult { busy: 0, log: 0, checkpointed: 0 }) };
    Ok(diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(c)?)
}

#[cfg(test)]
mod tests {
    use crate::db::{Db, Durability};
    use diesel::RunQueryDsl;

    /// Under a steady stream of writes the WAL starts over again and again: 96 MiB written
    /// back to back leave a WAL file far shorter than that (it would hold all of it if
    /// nothing checkpointed, and grow without end if only the checkpoint thread did). The
    /// bound is three times the 16 MiB at which the writer checkpoints by itself, room for a
    /// checkpoint thread that another busy process keeps off the CPU for a while.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_steady_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite3");
        let db = Db::connect(path.to_str().unwrap()).unwrap();
        db.run(|conn| {
            diesel::sql_query("CREATE TABLE filler (b BLOB NOT NULL)").execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
        for _ in 0..768 {
            db.write(Durability::Flushed, |conn| {
                diesel::sql_query("INSERT INTO filler (b) VALUES (randomblob(131072))").execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("c.sqlite3-wal")).unwrap().len();
        assert!(wal < 48 << 20, "WAL of {} MiB after 96 MiB written", wal >> 20);
    }
}
