//! Recording how a delivery attempt ended: the message's new state, its content's fate and
//! the log entry, in the writer's transaction (`Durability::Relaxed`: a lost record means
//! the message is sent again).
//!
//! PostgreSQL gets all of it in one statement (data-modifying CTEs): each statement is a
//! round trip to the server and a wake-up of its backend, and three per message were most of
//! the database's share of a delivery. SQLite runs in-process, where separate statements
//! cost no round trip and data-modifying CTEs do not exist.

use super::mail_log::{self, NewEntry};
use super::pg_prepared::CompleteAttempt;
use super::schema::message_bodies::dsl as b;
use super::schema::messages::dsl as m;
use super::{now, AnyConnection};
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

/// Records how an attempt ended, with its log entry (one record; see `record_round` for
/// a round of them).
pub fn complete(
    conn: &mut AnyConnection,
    id: &str,
    completion: &Completion,
    headers: Option<&PolicyHeaders>,
    log: &NewEntry,
) -> anyhow::Result<()> {
    let at = now();
    let headers = headers.map(serde_json::to_string).transpose()?;
    match conn {
        AnyConnection::Postgresql(c) => complete_in_one_statement(c, id, completion, headers, log, at),
        AnyConnection::Sqlite(_) => complete_statement_by_statement(conn, id, completion, headers, log, at),
    }
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

fn complete_in_one_statement(
    conn: &mut PgConnection,
    id: &str,
    completion: &Completion,
    headers: Option<String>,
    log: &NewEntry,
    at: NaiveDateTime,
) -> anyhow::Result<()> {
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

fn complete_statement_by_statement(
    conn: &mut AnyConnection,
    id: &str,
    completion: &Completion,
    headers: Option<String>,
    log: &NewEntry,
    at: NaiveDateTime,
) -> anyhow::Result<()> {
    let c = changes(completion, at);
    macro_rules! finish {
        ($($set:expr),*) => {
            diesel::update(m::messages.filter(m::id.eq(id)))
                .set((
                    m::attempts.eq(m::attempts + 1),
                    m::claimed_by.eq(None::<String>),
                    m::claim_expires_at.eq(None::<NaiveDateTime>),
                    m::updated_at.eq(at),
                    m::status.eq(c.status),
                    $($set),*
                ))
                .execute(conn)?
        };
    }
    match (completion, headers.as_deref()) {
        (Completion::Sent, Some(h)) => finish!(m::sent_at.eq(Some(at)), m::headers.eq(h)),
        (Completion::Sent, None) => finish!(m::sent_at.eq(Some(at))),
        (Completion::Retry { at: next }, Some(h)) => finish!(m::next_attempt_at.eq(*next), m::headers.eq(h)),
        (Completion::Retry { at: next }, None) => finish!(m::next_attempt_at.eq(*next)),
        (Completion::Failed { .. }, Some(h)) => finish!(m::headers.eq(h)),
        (Completion::Failed { .. }, None) => finish!(),
    };
    match completion {
        // Delivered: the content is not needed any more.
        Completion::Sent => {
            diesel::delete(b::message_bodies.filter(b::message_id.eq(id))).execute(conn)?;
        }
        Completion::Retry { .. } => {}
        // Kept for resend until the retention job removes it.
        Completion::Failed { .. } => {
            diesel::update(b::message_bodies.filter(b::message_id.eq(id)))
                .set(b::delete_after.eq(c.keep_body_until))
                .execute(conn)?;
        }
    }
    mail_log::insert(conn, log)
}
