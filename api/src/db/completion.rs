//! Recording how a delivery attempt ended: the message's new state, its content's fate and
//! the log entry, in the writer's transaction (`Durability::Relaxed`: a lost record means
//! the message is sent again).
//!
//! PostgreSQL gets all of it in one statement (data-modifying CTEs): each statement is a
//! round trip to the server and a wake-up of its backend, and three per message were most of
//! the database's share of a delivery. SQLite has no data-modifying CTEs: it writes a
//! round's records in shared statements instead (`record_round`), with the same [`changes`].

use super::mail_log::NewEntry;
use super::now;
use super::pg_prepared::CompleteAttempt;
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use postamt_wire::{MessageStatus, PolicyHeaders};

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

/// PostgreSQL: records how an attempt ended, with its log entry, in one prepared statement.
pub fn complete(
    conn: &mut PgConnection,
    id: &str,
    completion: &Completion,
    headers: Option<&PolicyHeaders>,
    log: &NewEntry,
) -> anyhow::Result<()> {
    let at = now();
    let headers = headers.map(serde_json::to_string).transpose()?;
    let c = changes(completion, at);
    let derived = log.derived()?;
    CompleteAttempt {
        id,
        at,
        status: c.status,
        sent_at: c.sent_at,
        next_attempt_at: c.next_attempt_at,
        headers: headers.as_deref(),
        delete_body: matches!(completion, Completion::Sent),
        keep_body_until: c.keep_body_until,
        log,
        derived: &derived,
    }
    .execute(conn)
    .context("recording the attempt")?;
    Ok(())
}

/// The columns a completion sets: one statement text for every case (NULL keeps a column),
/// so that the database sees the same SQL each time.
pub(super) struct Changes {
    pub status: &'static str,
    pub sent_at: Option<NaiveDateTime>,
    pub next_attempt_at: Option<NaiveDateTime>,
    /// Failed: the content is kept for resend until then.
    pub keep_body_until: Option<NaiveDateTime>,
}

pub(super) fn changes(completion: &Completion, at: NaiveDateTime) -> Changes {
    let status = completion.status().as_str();
    match completion {
        Completion::Sent => Changes { status, sent_at: Some(at), next_attempt_at: None, keep_body_until: None },
        Completion::Retry { at: next } => {
            Changes { status, sent_at: None, next_attempt_at: Some(*next), keep_body_until: None }
        }
        Completion::Failed { keep_body_until } => {
            Changes { status, sent_at: None, next_attempt_at: None, keep_body_until: Some(*keep_body_until) }
        }
    }
}
