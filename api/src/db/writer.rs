//! Group commit for the hot writes: accepting a message, claiming a batch, recording an
//! attempt.
//!
//! Many requests arrive at once; committing each alone makes SQLite writers queue on its one
//! lock (SQLite's busy handler sleeps in steps of milliseconds) and makes PostgreSQL wait
//! for one WAL flush per message. Here a dedicated thread takes every write that is waiting,
//! runs them all in one transaction and answers each caller only after that commit, so a
//! caller still never hears "done" for something that is not durable.
//!
//! If the shared transaction fails, it is rolled back and each job runs again in a
//! transaction of its own, so one job's error never becomes another job's error. Jobs must
//! therefore be safe to run twice: they are plain database statements over captured values.
//!
//! Use [`Writer::write`] for writes on the delivery path; everything else (settings,
//! sessions, keys) is rare and uses `Db::run` with [`super::write_transaction`].

use super::checkpoint::Checkpoints;
use super::{write_transaction, AnyConnection, DbConn, DbPool, Dialect};
use anyhow::Context;
use diesel::RunQueryDsl;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// At most this many jobs share one transaction (bounds its duration and lock time).
const MAX_BATCH: usize = 128;

/// Whether a job's commit must reach the disk before its caller hears of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Accepting a message: the 202 promises durability.
    Flushed,
    /// Recording an attempt: losing it in a crash means the message is sent again (the
    /// at-least-once duplicate of a message in flight), so PostgreSQL may skip the WAL
    /// flush wait. SQLite in WAL mode with `synchronous = NORMAL` survives a process crash
    /// either way.
    Relaxed,
}

/// A write waiting for its turn, type-erased so that one queue carries all kinds.
trait Job: Send {
    fn durability(&self) -> Durability;
    /// Runs the statements; the result is kept until the commit is known.
    fn run(&mut self, conn: &mut AnyConnection) -> anyhow::Result<()>;
    /// Answers the caller: the kept result if `committed` is Ok, else that error.
    fn finish(self: Box<Self>, committed: anyhow::Result<()>);
}

struct TypedJob<T, F> {
    f: F,
    durability: Durability,
    output: Option<T>,
    reply: oneshot::Sender<anyhow::Result<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: FnMut(&mut AnyConnection) -> anyhow::Result<T> + Send,
{
    fn durability(&self) -> Durability {
        self.durability
    }

    fn run(&mut self, conn: &mut AnyConnection) -> anyhow::Result<()> {
        self.output = None;
        self.output = Some((self.f)(conn)?);
        Ok(())
    }

    fn finish(self: Box<Self>, committed: anyhow::Result<()>) {
        let TypedJob { output, reply, .. } = *self;
        let result = committed.and_then(|()| output.context("a write job finished without running"));
        // The caller may have gone away (request cancelled); its write stands regardless.
        let _ = reply.send(result);
    }
}

/// The queue in front of the writer threads. Cloning shares it.
#[derive(Clone)]
pub struct Writer {
    /// Where `Durability::Flushed` jobs go.
    flushed: mpsc::Sender<Box<dyn Job>>,
    /// Where `Durability::Relaxed` jobs go (the same queue on SQLite).
    relaxed: mpsc::Sender<Box<dyn Job>>,
}

/// A submitted write; await it for the result after commit.
pub struct Pending<T>(oneshot::Receiver<anyhow::Result<T>>);

impl<T> std::future::Future for Pending<T> {
    type Output = anyhow::Result<T>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(anyhow::anyhow!("the database writer stopped"))))
    }
}

impl Writer {
    /// Starts the writer threads. SQLite: one thread, one queue (one writer at a time is all
    /// it allows). PostgreSQL: two queues with two threads each, one for accepts and one for
    /// attempt records and claims, so that an accept never waits behind a long batch of
    /// records; each statement is a round trip, and side-by-side batches keep the server
    /// busy between them. The threads stop when the last `Writer` clone is dropped.
    pub fn start(pool: DbPool, dialect: Dialect) -> anyhow::Result<Writer> {
        match dialect {
            Dialect::Sqlite => {
                let queue = spawn_lane(&pool, "writer", 1, true)?;
                Ok(Writer { flushed: queue.clone(), relaxed: queue })
            }
            Dialect::Postgres => Ok(Writer {
                flushed: spawn_lane(&pool, "accept", 2, false)?,
                relaxed: spawn_lane(&pool, "record", 2, false)?,
            }),
        }
    }

    /// Queues `f` to run in the next shared transaction. The returned future resolves after
    /// the commit (or with the error of `f` or of the commit). Submitting happens at once,
    /// so a caller may queue several writes before awaiting any.
    pub fn write<T, F>(&self, durability: Durability, f: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnMut(&mut AnyConnection) -> anyhow::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob { f, durability, output: None, reply });
        let queue = match durability {
            Durability::Flushed => &self.flushed,
            Durability::Relaxed => &self.relaxed,
        };
        if let Err(mpsc::SendError(job)) = queue.send(job) {
            job.finish(Err(anyhow::anyhow!("the database writer stopped")));
        }
        Pending(answer)
    }
}

/// A queue and `threads` threads that take batches from it.
/// `checkpoints`: the lane is SQLite's only writer and keeps the WAL short (see `checkpoint`).
fn spawn_lane(
    pool: &DbPool,
    name: &str,
    threads: usize,
    checkpoints: bool,
) -> anyhow::Result<mpsc::Sender<Box<dyn Job>>> {
    let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
    let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs));
    for n in 0..threads {
        let (pool, jobs) = (pool.clone(), jobs.clone());
        let checkpoints = if checkpoints { Some(Checkpoints::start(&pool)?) } else { None };
        std::thread::Builder::new()
            .name(format!("postamt-db-{name}-{n}"))
            .spawn(move || writer_loop(&pool, &jobs, checkpoints))
            .context("starting a database writer thread")?;
    }
    Ok(queue)
}

fn writer_loop(
    pool: &DbPool,
    jobs: &std::sync::Mutex<mpsc::Receiver<Box<dyn Job>>>,
    mut checkpoints: Option<Checkpoints>,
) {
    // The thread keeps its connection between batches: the pool checks a connection with a
    // `SELECT 1` round trip on every checkout. After a failed batch it takes a fresh one, so
    // a connection that broke is not reused.
    let mut conn: Option<DbConn> = None;
    loop {
        // Take the first waiting job, then everything queued behind it. The lock is held only
        // while taking, so with two threads one collects while the other commits.
        let batch = {
            let jobs = jobs.lock().unwrap_or_else(|p| p.into_inner());
            let first = match checkpoints.as_mut() {
                None => jobs.recv().ok(),
                Some(checkpoints) => match jobs.recv_timeout(super::checkpoint::IDLE_AFTER) {
                    Ok(job) => Some(job),
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Some(c) = conn.as_mut() {
                            checkpoints.when_idle(c);
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        // Shutting down: leave a small WAL behind.
                        if let Some(c) = conn.as_mut() {
                            checkpoints.when_idle(c);
                        }
                        None
                    }
                },
            };
            let Some(first) = first else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        // A panicking job must not take the writer (and with it every later write) down:
        // its batch's callers hear "stopped" (their reply channels are dropped), the
        // connection is discarded by the pool as broken, and the thread goes on.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_batch(pool, &mut conn, batch)));
        if !matches!(ran, Ok(true)) {
            conn = None;
        }
        if ran.is_err() {
            tracing::error!("a database write panicked; its batch was rolled back");
        }
        if let (Some(checkpoints), Some(c)) = (checkpoints.as_mut(), conn.as_mut()) {
            checkpoints.after_batch(c);
        }
    }
}

/// Runs one batch; false when something failed (the connection is then replaced).
fn run_batch(pool: &DbPool, kept: &mut Option<DbConn>, mut batch: Vec<Box<dyn Job>>) -> bool {
    if kept.is_none() {
        match pool.get().context("no database connection available for writing") {
            Ok(fresh) => *kept = Some(fresh),
            Err(e) => {
                let message = format!("{e:#}");
                for job in batch {
                    job.finish(Err(anyhow::anyhow!("{message}")));
                }
                return false;
            }
        }
    }
    let Some(conn) = kept.as_mut() else { return false };
    let relaxed = batch.iter().all(|j| j.durability() == Durability::Relaxed);
    let shared = write_transaction(conn, |conn| {
        if relaxed {
            relax_commit(conn)?;
        }
        for job in batch.iter_mut() {
            job.run(conn)?;
        }
        Ok(())
    });
    match shared {
        Ok(()) => {
            for job in batch {
                job.finish(Ok(()));
            }
            true
        }
        Err(e) if batch.len() == 1 => {
            if let Some(job) = batch.pop() {
                job.finish(Err(e));
            }
            false
        }
        Err(_) => {
            // Someone's statement failed: give each job its own transaction and its own answer.
            for mut job in batch {
                let relaxed = job.durability() == Durability::Relaxed;
                let alone = write_transaction(conn, |conn| {
                    if relaxed {
                        relax_commit(conn)?;
                    }
                    job.run(conn)
                });
                job.finish(alone);
            }
            false
        }
    }
}

/// PostgreSQL: this transaction's commit does not wait for its WAL flush.
fn relax_commit(conn: &mut AnyConnection) -> anyhow::Result<()> {
    if let AnyConnection::Postgresql(c) = conn {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(c)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::mail_log::{self, Details, NewEntry};
    use crate::db::{now, Db};
    use diesel::prelude::*;
    use postamt_wire::{LogKind, MessageStatus};

    fn entry(category: &str) -> NewEntry {
        NewEntry {
            at: now(),
            kind: LogKind::Delivery,
            message_id: None,
            category: category.into(),
            status: MessageStatus::Sent,
            recipients: vec!["a@example.com".into()],
            sender: "s@example.com".into(),
            attempt: Some(1),
            stage: None,
            class: None,
            smtp_reply: None,
            duration_ms: 1,
            details: Details::default(),
        }
    }

    fn categories(db_conn: &mut AnyConnection) -> Vec<String> {
        use crate::db::schema::mail_log::dsl as l;
        l::mail_log.select(l::category).order(l::id.asc()).load(db_conn).unwrap()
    }

    /// Jobs queued behind a busy writer share one transaction; one failing job rolls that
    /// transaction back, and every job then runs alone: the failing one gets its own error,
    /// the others are committed exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_fails_alone_and_the_others_commit_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(dir.path().join("w.sqlite3").to_str().unwrap()).unwrap();
        // Keeps the writer busy so that the jobs below pile up into one batch.
        let slow = db.write(Durability::Flushed, |_conn: &mut AnyConnection| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok(())
        });
        let pending: Vec<_> = (0..10)
            .map(|n| {
                db.write(Durability::Relaxed, move |conn: &mut AnyConnection| {
                    mail_log::insert(conn, &entry(&format!("job{n}")))?;
                    anyhow::ensure!(n != 6, "job 6 refuses");
                    Ok(n)
                })
            })
            .collect();
        slow.await.unwrap();
        let mut answers = Vec::new();
        for p in pending {
            answers.push(p.await.map_err(|e| e.to_string()));
        }
        for (n, answer) in answers.iter().enumerate() {
            if n == 6 {
                assert_eq!(answer.as_ref().unwrap_err(), "job 6 refuses");
            } else {
                assert_eq!(answer.as_ref().unwrap(), &n);
            }
        }
        let stored = db.run(|conn| Ok(categories(conn))).await.unwrap();
        let expected: Vec<String> = (0..10).filter(|n| *n != 6).map(|n| format!("job{n}")).collect();
        assert_eq!(stored, expected);
    }

    /// The caller hears "done" only after the commit: what a finished write wrote is visible
    /// to every other connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answered_write_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(dir.path().join("w.sqlite3").to_str().unwrap()).unwrap();
        for n in 0..20 {
            db.write(Durability::Flushed, move |conn| mail_log::insert(conn, &entry(&format!("c{n}")))).await.unwrap();
            let seen = db.run(|conn| Ok(categories(conn).len())).await.unwrap();
            assert_eq!(seen, n + 1);
        }
    }

    /// A job that panics fails its batch, not the writer: later writes still work.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_survives_a_panicking_job() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(dir.path().join("w.sqlite3").to_str().unwrap()).unwrap();
        let panicked = db
            .write(Durability::Flushed, |_conn: &mut AnyConnection| -> anyhow::Result<()> { panic!("a bug in a job") });
        assert!(panicked.await.is_err());
        db.write(Durability::Flushed, |conn| mail_log::insert(conn, &entry("after"))).await.unwrap();
        assert_eq!(db.run(|conn| Ok(categories(conn))).await.unwrap(), ["after"]);
    }
}
