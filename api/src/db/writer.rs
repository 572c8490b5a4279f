//! Group commit for the hot writes: accepting a message, claiming a batch, recording an
//! attempt.
//!
//! Many requests arrive at once; committing each alone makes SQLite writers queue on its one
//! lock (SQLite's busy handler sleeps in steps of milliseconds) and makes PostgreSQL wait
//! for one WAL flush per message. Here a dedicated thread takes every write that is waiting,
//! runs them all in one transaction and answers each caller only after that commit, so a
//! caller still never hears "done" for something that is not durable.
//!
//! If the shared transaction fails, it is rolled back and each job runs again alone
//! ([`Pass::Again`]), so one job's error never becomes another job's error. Jobs must
//! therefore be safe to run twice: they are plain database statements over captured values.
//!
//! Use [`Writer::write`] for writes on the delivery path, and [`Writer::write_items`] for
//! the two that write many independent items (accepted messages, attempt records);
//! everything else (settings, sessions, keys) is rare and uses `Db::run` with
//! [`super::write_transaction`].
//!
//! On PostgreSQL the writer threads hold connections of their own, outside the pool, so
//! that the settings of a lane stay on its connections (see `lane_conn`).

use super::checkpoint::Checkpoints;
use super::lane_conn::{LaneConn, Source, RELAXED_SESSION};
use super::{write_transaction, AnyConnection, DbPool, Dialect};
use anyhow::Context;
use diesel::Connection;
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

/// How a job runs this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The first run, possibly in a transaction shared with other jobs: any error fails the
    /// whole pass, and every job of it runs again.
    First,
    /// Again and alone, after the first pass failed: a job of several items writes each
    /// one by itself (see [`isolated`]), so that only the failing ones fail.
    Again,
}

/// Runs `f` so that its failure leaves the connection usable for the next item: under a
/// savepoint inside a transaction; outside one, each statement commits by itself anyway.
pub fn isolated<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use diesel::connection::TransactionManager;
    let status = <AnyConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn);
    if status.transaction_depth()?.is_some() {
        conn.transaction(f)
    } else {
        f(conn)
    }
}

/// A write waiting for its turn, type-erased so that one queue carries all kinds.
trait Job: Send {
    /// Each of the job's statements is atomic by itself (see [`Writer::write_items`]).
    fn of_items(&self) -> bool;
    /// Runs the statements; the result is kept until the commit is known.
    fn run(&mut self, conn: &mut AnyConnection, pass: Pass) -> anyhow::Result<()>;
    /// Answers the caller: the kept result if `committed` is Ok, else that error.
    fn finish(self: Box<Self>, committed: anyhow::Result<()>);
}

struct TypedJob<T, F> {
    f: F,
    of_items: bool,
    output: Option<T>,
    reply: oneshot::Sender<anyhow::Result<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: FnMut(&mut AnyConnection, Pass) -> anyhow::Result<T> + Send,
{
    fn of_items(&self) -> bool {
        self.of_items
    }

    fn run(&mut self, conn: &mut AnyConnection, pass: Pass) -> anyhow::Result<()> {
        self.output = None;
        self.output = Some((self.f)(conn, pass)?);
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
    /// it allows). PostgreSQL: two queues, one for accepts and one for attempt records and
    /// claims, so that an accept never waits behind a long batch of records. Records have
    /// two threads: side-by-side batches keep the server busy between round trips. Accepts
    /// have one: an accept batch is one statement and one WAL flush, and with a second
    /// thread the batches were half as large for the same flushes per second.
    /// The threads stop when the last `Writer` clone is dropped.
    pub fn start(pool: DbPool, dialect: Dialect, url: &str) -> anyhow::Result<Writer> {
        match dialect {
            Dialect::Sqlite => {
                let queue = spawn_lane(Source::Pool(pool), "writer", 1)?;
                Ok(Writer { flushed: queue.clone(), relaxed: queue })
            }
            Dialect::Postgres => {
                let own = |session: &'static str| Source::Own { url: url.to_owned(), session };
                Ok(Writer {
                    flushed: spawn_lane(own(""), "accept", 1)?,
                    relaxed: spawn_lane(own(RELAXED_SESSION), "record", 2)?,
                })
            }
        }
    }

    /// Queues `f` to run in the next shared transaction. The returned future resolves after
    /// the commit (or with the error of `f` or of the commit). Submitting happens at once,
    /// so a caller may queue several writes before awaiting any.
    pub fn write<T, F>(&self, durability: Durability, mut f: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnMut(&mut AnyConnection) -> anyhow::Result<T> + Send + 'static,
    {
        self.submit(durability, false, move |conn, _pass| f(conn))
    }

    /// Queues a job that writes independent items, each statement atomic by itself: all
    /// items together on the first pass, and each alone if that fails (`Pass::Again`).
    /// On PostgreSQL such a job, alone in its batch, runs without BEGIN and COMMIT: its one
    /// statement is a transaction of its own, and a round trip instead of three (five with
    /// a savepoint) was most of the server's time per accept batch and per record round.
    pub fn write_items<T, F>(&self, durability: Durability, f: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnMut(&mut AnyConnection, Pass) -> anyhow::Result<T> + Send + 'static,
    {
        self.submit(durability, true, f)
    }

    fn submit<T, F>(&self, durability: Durability, of_items: bool, f: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnMut(&mut AnyConnection, Pass) -> anyhow::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob { f, of_items, output: None, reply });
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

/// A queue and `threads` threads that take batches from it. SQLite's only writer also
/// keeps the WAL short (see `checkpoint`).
fn spawn_lane(source: Source, name: &str, threads: usize) -> anyhow::Result<mpsc::Sender<Box<dyn Job>>> {
    let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
    let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs));
    let source = std::sync::Arc::new(source);
    for n in 0..threads {
        let (source, jobs) = (source.clone(), jobs.clone());
        let checkpoints = match source.as_ref() {
            Source::Pool(pool) => Some(Checkpoints::start(pool)?),
            Source::Own { .. } => None,
        };
        std::thread::Builder::new()
            .name(format!("postamt-db-{name}-{n}"))
            .spawn(move || writer_loop(&source, &jobs, checkpoints))
            .context("starting a database writer thread")?;
    }
    Ok(queue)
}

fn writer_loop(
    source: &Source,
    jobs: &std::sync::Mutex<mpsc::Receiver<Box<dyn Job>>>,
    mut checkpoints: Option<Checkpoints>,
) {
    // The thread keeps its connection between batches (a checkout from PostgreSQL's pool
    // costs a `SELECT 1` round trip). After a failed batch it takes a fresh one, so a
    // connection that broke is not reused.
    let mut conn: Option<LaneConn> = None;
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
                            checkpoints.when_idle(c.conn());
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        // Shutting down: leave a small WAL behind.
                        if let Some(c) = conn.as_mut() {
                            checkpoints.when_idle(c.conn());
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
        // connection is discarded, and the thread goes on.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_batch(source, &mut conn, batch)));
        if !matches!(ran, Ok(true)) {
            conn = None;
        }
        if ran.is_err() {
            tracing::error!("a database write panicked; its batch was rolled back");
        }
        if let (Some(checkpoints), Some(c)) = (checkpoints.as_mut(), conn.as_mut()) {
            checkpoints.after_batch(c.conn());
        }
    }
}

/// Runs one batch; false when something failed (the connection is then replaced).
fn run_batch(source: &Source, kept: &mut Option<LaneConn>, mut batch: Vec<Box<dyn Job>>) -> bool {
    if kept.is_none() {
        match source.connect() {
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
    let Some(conn) = kept.as_mut().map(LaneConn::conn) else { return false };
    let first = match batch.as_mut_slice() {
        [job] if without_transaction(conn, job.as_ref()) => job.run(conn, Pass::First),
        jobs => write_transaction(conn, |conn| jobs.iter_mut().try_for_each(|job| job.run(conn, Pass::First))),
    };
    if first.is_ok() {
        for job in batch {
            job.finish(Ok(()));
        }
        return true;
    }
    // Someone's statement failed: every job again, alone, with its own answer.
    for mut job in batch {
        let alone = if without_transaction(conn, job.as_ref()) {
            job.run(conn, Pass::Again)
        } else {
            write_transaction(conn, |conn| job.run(conn, Pass::Again))
        };
        job.finish(alone);
    }
    false
}

/// A job of items runs without a transaction on PostgreSQL (see [`Writer::write_items`]).
/// SQLite keeps one: its jobs write several statements, and its commits are cheap.
fn without_transaction(conn: &AnyConnection, job: &dyn Job) -> bool {
    job.of_items() && matches!(conn, AnyConnection::Postgresql(_))
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

    /// PostgreSQL: only the lane of attempt records and claims commits without waiting for
    /// the WAL flush; accepts, and everyone using the pool, keep the durable default.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_relaxed_writes_skip_the_flush_wait() {
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            synchronous_commit: String,
        }
        fn show(conn: &mut AnyConnection) -> anyhow::Result<String> {
            let s: Setting = diesel::sql_query("SHOW synchronous_commit").get_result(conn)?;
            Ok(s.synchronous_commit)
        }
        let test_db = crate::db::test_db::TestDb::postgres();
        let db = &test_db.db;
        assert_eq!(db.write(Durability::Flushed, show).await.unwrap(), "on");
        assert_eq!(db.write_items(Durability::Flushed, |conn, _| show(conn)).await.unwrap(), "on");
        assert_eq!(db.write(Durability::Relaxed, show).await.unwrap(), "off");
        assert_eq!(db.write_items(Durability::Relaxed, |conn, _| show(conn)).await.unwrap(), "off");
        assert_eq!(db.run(show).await.unwrap(), "on");
    }

    /// A job of items that fails on its first pass runs again, told so, and its answer is
    /// that of the second pass; on PostgreSQL, alone, without a transaction around it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_job_of_items_runs_again_to_write_each_item() {
        for test_db in crate::db::test_db::TestDb::both() {
            let db = &test_db.db;
            let answer = db
                .write_items(Durability::Flushed, |conn, pass| {
                    let in_transaction = {
                        use diesel::connection::TransactionManager;
                        <AnyConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
                            .transaction_depth()?
                            .is_some()
                    };
                    mail_log::insert(conn, &entry(&format!("{pass:?}")))?;
                    anyhow::ensure!(pass == Pass::Again, "the first pass fails");
                    Ok(in_transaction)
                })
                .await
                .unwrap();
            let sqlite = matches!(db.dialect, crate::db::Dialect::Sqlite);
            assert_eq!(answer, sqlite, "a transaction on SQLite only");
            // Without a transaction each statement commits by itself: on PostgreSQL the first
            // pass's row stays (why a job of items must be safe to repeat statement by
            // statement); SQLite's transaction rolled it back.
            let stored = db.run(|conn| Ok(categories(conn))).await.unwrap();
            assert_eq!(stored, if sqlite { vec!["Again"] } else { vec!["First", "Again"] });
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
