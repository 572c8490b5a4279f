//! The store: one diesel codebase over SQLite and PostgreSQL.
//!
//! [`AnyConnection`] is a diesel `MultiConnection`: ordinary diesel queries run on both
//! backends. Dialect branches exist only where the SQL differs (pragmas, advisory locks).
//! Migrations for each dialect live in `migrations/<dialect>/` and are embedded in the binary.

mod accept_batch;
pub mod admin;
pub mod alerts;
pub mod api_keys;
mod checkpoint;
mod completion;
pub mod delivery_pause;
mod due_index;
pub mod failover_state;
pub mod fallback;
pub mod history;
mod lane_conn;
pub mod libpq_tls;
pub mod mail_log;
pub mod messages;
mod migrations;
pub mod oauth_connection;
mod pg_prepared;
pub mod record_round;
pub mod schema;
pub mod send_limits;
pub mod sessions;
pub mod settings;
pub mod sign_in_failures;
mod sqlite_multi_row;
mod sqlite_time;
#[cfg(test)]
pub mod test_db;
mod writer;

use writer::Writer;
pub use writer::{isolated, Durability, Pass, Pending};

use anyhow::Context;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::RunQueryDsl;
use std::time::Duration;

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = Pool<ConnectionManager<AnyConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<AnyConnection>>;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of(url: &str) -> Dialect {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }
}

/// Shared handle to the connection pool; runs blocking diesel work off the async workers.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    pub dialect: Dialect,
    writer: Writer,
    /// Accepted messages waiting to be stored together (see `accept_batch`).
    accepts: accept_batch::AcceptBatch,
}

impl Db {
    /// Opens the pool and applies pending migrations.
    pub fn connect(url: &str) -> anyhow::Result<Db> {
        let dialect = Dialect::of(url);
        if dialect == Dialect::Postgres {
            libpq_tls::init();
        }
        let (url, max_size) = match dialect {
            // diesel's SQLite connection takes a path; accept `sqlite://` URLs too.
            Dialect::Sqlite => (url.strip_prefix("sqlite://").unwrap_or(url).to_owned(), 8),
            // The writer threads hold connections of their own besides (see `writer`).
            Dialect::Postgres => (url.to_owned(), 16),
        };
        let pool = Pool::builder()
            .max_size(max_size)
            // Open connections as needed rather than all at once at start-up.
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            // A checkout costs a `SELECT 1`; worth it for a server connection that may have
            // dropped, not for a SQLite file handle.
            .test_on_check_out(dialect == Dialect::Postgres)
            .connection_customizer(Box::new(ConnectionSetup))
            .build(ConnectionManager::<AnyConnection>::new(url.clone()))
            .context("opening the database (check --database-url / DATABASE_URL)")?;
        let mut conn = pool.get().context("connecting to the database")?;
        migrations::run(&mut conn).context("applying database migrations")?;
        let writer = Writer::start(pool.clone(), dialect, &url)?;
        Ok(Db { pool, dialect, writer, accepts: accept_batch::AcceptBatch::default() })
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool.get().context("no database connection available")?;
            f(&mut conn)
        })
        .await
        .context("database task panicked")?
    }

    /// Queues a write on the delivery path for the next group commit (see [`writer`]).
    /// `f` runs inside a shared transaction and may run twice (see there).
    pub fn write<T, F>(&self, durability: Durability, f: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnMut(&mut AnyConnection) -> anyhow::Result<T> + Send + 'static,
    {
        self.writer.write(durability, f)
    }

    /// Queues a write of independent items (see [`Writer::write_items`]).
    pub fn write_items<T, F>(&self, durability: Durability, f: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnMut(&mut AnyConnection, Pass) -> anyhow::Result<T> + Send + 'static,
    {
        self.writer.write_items(durability, f)
    }

    /// `SELECT 1`, for readiness checks.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.run(|conn| {
            diesel::sql_query("SELECT 1").execute(conn).context("ping")?;
            Ok(())
        })
        .await
    }
}

/// Per-connection settings for SQLite: WAL for concurrent readers, a busy timeout instead
/// of immediate "database is locked" errors, and enforced foreign keys.
#[derive(Debug)]
struct ConnectionSetup;

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        if let AnyConnection::Sqlite(c) = conn {
            // busy_timeout first, so that the pragmas after it wait instead of failing while
            // another connection holds a lock. WAL is persistent; setting it again is cheap.
            // No automatic checkpoints: they run inside the commit that crosses the limit,
            // fsync included, which put tens of milliseconds on random requests; the writer
            // thread runs them between its batches instead (see `checkpoint`).
            for pragma in [
                "PRAGMA busy_timeout = 5000",
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA foreign_keys = ON",
                "PRAGMA wal_autocheckpoint = 0",
            ] {
                diesel::sql_query(pragma).execute(c).map_err(diesel::r2d2::Error::QueryError)?;
            }
        }
        Ok(())
    }
}

/// Timestamps are stored as UTC without zone (portable across both dialects).
pub fn now() -> chrono::NaiveDateTime {
    // Microseconds: what both SQLite's text format and PostgreSQL's TIMESTAMP keep.
    let now = chrono::Utc::now().naive_utc();
    now - chrono::Duration::nanoseconds(i64::from(now.and_utc().timestamp_subsec_nanos() % 1000))
}

pub fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}

/// A transaction that writes. On SQLite it takes the write lock first: a deferred
/// transaction that reads and then writes cannot wait for a concurrent writer (SQLite
/// answers "database is locked" at once), whereas a first write statement waits up to the
/// busy timeout. The no-op UPDATE below is that first write; on PostgreSQL it does nothing.
pub fn write_transaction<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use diesel::Connection;
    conn.transaction(|conn| {
        if let AnyConnection::Sqlite(c) = conn {
            diesel::sql_query("UPDATE admin_account SET id = id WHERE id = -1").execute(c)?;
        }
        f(conn)
    })
}
