//! The connections of the writer threads (see `writer`).
//!
//! On PostgreSQL each writer thread holds a connection of its own, outside the pool, so that
//! the settings of its lane stay on its connections and never reach a pool user.

use super::{AnyConnection, DbConn, DbPool};
use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::Connection;

/// PostgreSQL: the settings of the connections that write attempt records and claims
/// (`Durability::Relaxed`):
/// - a commit does not wait for its WAL flush;
/// - the planner looks rows up by index only. These statements join the queue tables with
///   arrays of a round's ids, and a connection keeps a statement's generic plan for good:
///   one planned while the tables were small or their statistics stale (a queue's always
///   are) scanned and hashed a whole table on every round ever after. With the other ways
///   off, the join is a nested loop of index lookups, whatever the statistics say.
pub(super) const RELAXED_SESSION: &str = "SET synchronous_commit = off; SET enable_seqscan = off; \
     SET enable_hashjoin = off; SET enable_mergejoin = off";

/// Where a writer thread gets its connection.
pub(super) enum Source {
    /// SQLite: the pool's (its connections carry the pragmas; see `ConnectionSetup`).
    Pool(DbPool),
    /// PostgreSQL: a connection of the thread's own, with `session` settings that must not
    /// reach other users of the pool.
    Own { url: String, session: &'static str },
}

/// A writer thread's connection.
pub(super) enum LaneConn {
    Pooled(DbConn),
    Own(Box<AnyConnection>),
}

impl LaneConn {
    pub(super) fn conn(&mut self) -> &mut AnyConnection {
        match self {
            LaneConn::Pooled(c) => c,
            LaneConn::Own(c) => c,
        }
    }
}

impl Source {
    pub(super) fn connect(&self) -> anyhow::Result<LaneConn> {
        match self {
            Source::Pool(pool) => {
                Ok(LaneConn::Pooled(pool.get().context("no database connection available for writing")?))
            }
            Source::Own { url, session } => {
                let mut conn = diesel::PgConnection::establish(&with_connect_timeout(url))
                    .context("connecting to the database for writing")?;
                if !session.is_empty() {
                    conn.batch_execute(session)?;
                }
                Ok(LaneConn::Own(Box::new(AnyConnection::Postgresql(conn))))
            }
        }
    }
}

/// The pool gives up on a connection after 10 s; a writer thread's own connection must not
/// wait longer for an unreachable server (libpq waits indefinitely by default), unless the
/// URL says otherwise.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout=10")
}

#[cfg(test)]
mod tests {
    use super::with_connect_timeout;

    #[test]
    fn a_writer_connection_gives_up_like_the_pool() {
        assert_eq!(with_connect_timeout("postgres://h/db"), "postgres://h/db?connect_timeout=10");
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=disable"),
            "postgres://h/db?sslmode=disable&connect_timeout=10"
        );
        assert_eq!(with_connect_timeout("postgres://h/db?connect_timeout=3"), "postgres://h/db?connect_timeout=3");
    }
}
