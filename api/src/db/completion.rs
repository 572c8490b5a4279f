//! Recording how a delivery attempt ended: the message's new state, its content's fate and
//! the log entry, written by the record lane of the writer (`Durability::Relaxed`: a lost
//! record means the message is sent again).
//!
//! PostgreSQL gets a whole round of records in one statement (data-modifying CTEs over
//! arrays): each statement is a round trip to the server and a wake-up of its backend, and
//! sending those replies over the socket was the largest part of the server's time per
//! message. SQLite has no data-modifying CTEs: it writes a round's records in shared
//! statements instead (`record_round`), with the same [`changes`].

use super::now;
use super::pg_prepared::RecordAttempts;
use super::record_round::Record;
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use postamt_wire::MessageStatus;

/// How an attempt ended.
pub enum Completion {
    Sent,
    Retry { at: NaiveDateTime },
    Failed { keep_body_until: NaiveDateTime },
}

impl Completion {
    fn status(&self) -> MessageStatus {
        match self {
            Completion::Sent => MessageStatus::Sent,
            Completion::Retry { .. } => MessageStatus::Retrying,
            Completion::Failed { .. } => MessageStatus::Failed,
        }
    }
}

/// PostgreSQL: records a round of attempts, with their log entries, in one prepared statement.
pub fn complete(conn: &mut PgConnection, records: &[Record]) -> anyhow::Result<()> {
    let at = now();
    let mut round = RecordAttempts { at, ..RecordAttempts::default() };
    for r in records {
        let c = changes(&r.completion, at);
        round.id.push(&r.id);
        round.status.push(c.status);
        round.sent_at.push(c.sent_at);
        round.next_attempt_at.push(c.next_attempt_at);
        round.headers.push(r.headers.as_deref());
        round.drop_content.push(c.drop_content);
        round.keep_content_until.push(c.keep_content_until);
        round.log.push(&r.log, &r.derived);
    }
    round.execute(conn).context("recording the attempts")?;
    Ok(())
}

/// The columns a completion sets: one statement text for every case (NULL keeps a column),
/// so that the database sees the same SQL each time.
pub(super) struct Changes {
    pub status: &'static str,
    pub sent_at: Option<NaiveDateTime>,
    pub next_attempt_at: Option<NaiveDateTime>,
    /// Sent: the content is not needed any more.
    pub drop_content: bool,
    /// Failed for good: the content is kept for a resend until then.
    pub keep_content_until: Option<NaiveDateTime>,
}

pub(super) fn changes(completion: &Completion, at: NaiveDateTime) -> Changes {
    let status = completion.status().as_str();
    let keep = Changes { status, sent_at: None, next_attempt_at: None, drop_content: false, keep_content_until: None };
    match completion {
        Completion::Sent => Changes { sent_at: Some(at), drop_content: true, ..keep },
        Completion::Retry { at: next } => Changes { next_attempt_at: Some(*next), ..keep },
        Completion::Failed { keep_body_until } => Changes { keep_content_until: Some(*keep_body_until), ..keep },
    }
}
