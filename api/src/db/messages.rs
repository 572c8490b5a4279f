//! The outbox. A message is committed here before the API answers 202; workers claim due
//! messages with a lease, so a crashed instance's messages are delivered by another.

use super::accept_batch::{insert_all, Prepared};
pub use super::completion::Completion;
use super::due_index::{status_eq, status_is, SENDING, UNFINISHED};
use super::schema::message_content::dsl as c;
use super::schema::messages::dsl as m;
use super::{now, utc, write_transaction, AnyConnection, Db, Durability};
use crate::domain::outgoing::OutgoingMessage;
use anyhow::Context;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use postamt_wire::{MailAddress, MessageStatus, PolicyHeaders, Priority};
use serde::{Deserialize, Serialize};

/// To, Cc and Bcc as stored (JSON) for the status view.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Recipients {
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    pub bcc: Vec<MailAddress>,
}

/// A message to store, owned so that it can wait in the writer's queue.
pub struct NewMessage {
    pub id: String,
    pub created_by: String,
    pub idempotency_key: Option<String>,
    /// With an idempotency key: the hash of the request, to tell a replay from a conflict.
    pub request_hash: Option<String>,
    pub category: String,
    pub priority: Priority,
    pub recipients: Recipients,
    pub headers: PolicyHeaders,
    pub size_bytes: i64,
    pub content: Vec<u8>,
    pub created_at: NaiveDateTime,
    /// Stored already claimed (worker, lease end) when it is handed over to this instance's
    /// workers at once; `None` stores it queued.
    pub claim: Option<(String, NaiveDateTime)>,
}

/// A message already accepted under the same idempotency key.
pub struct Existing {
    pub id: String,
    pub status: MessageStatus,
    pub same_request: bool,
}

pub enum Inserted {
    New,
    Replay(Existing),
}

/// How long an idempotency key protects against a second message.
pub const IDEMPOTENCY_WINDOW_HOURS: i64 = 24;

fn find_by_key(conn: &mut AnyConnection, created_by: &str, key: &str, hash: &str) -> anyhow::Result<Option<Existing>> {
    let found: Option<(String, String, Option<String>)> = m::messages
        .filter(m::created_by.eq(created_by))
        .filter(m::idempotency_key.eq(key))
        .filter(m::created_at.gt(now() - Duration::hours(IDEMPOTENCY_WINDOW_HOURS)))
        .select((m::id, m::status, m::request_hash))
        .first(conn)
        .optional()?;
    Ok(found.map(|(id, status, stored_hash)| Existing {
        id,
        status: MessageStatus::parse(&status).unwrap_or(MessageStatus::Queued),
        same_request: stored_hash.as_deref() == Some(hash),
    }))
}

/// Stores a new message with its content (committed before this returns), or finds the
/// one stored under the same idempotency key within 24 hours. Concurrent accepts share
/// their commit (see `db::writer`); those without a key also share their statements (see
/// `db::accept_batch`).
pub async fn accept(db: &Db, msg: std::sync::Arc<NewMessage>) -> anyhow::Result<Inserted> {
    let prepared = Prepared::new(msg.clone())?;
    if msg.idempotency_key.is_none() {
        db.accepts.store(&db.writer, prepared).await.context("storing the message")?;
        return Ok(Inserted::New);
    }
    let prepared = std::sync::Arc::new(prepared);
    match db.write(Durability::Flushed, move |conn| insert_keyed(conn, &prepared)).await {
        Ok(done) => Ok(done),
        // Two instances took one key at the same moment: the unique index let one win.
        Err(e) if is_unique_violation(&e) => {
            db.run(move |conn| {
                let key = msg.idempotency_key.as_deref().unwrap_or_default();
                find_by_key(conn, &msg.created_by, key, msg.request_hash.as_deref().unwrap_or_default())?
                    .map(Inserted::Replay)
                    .context("idempotency key conflict without a stored message")
            })
            .await
        }
        Err(e) => Err(e.context("storing the message")),
    }
}

/// A message with an idempotency key, inside the writer's transaction: the first one
/// under its key within 24 hours is stored, a repeat finds it.
fn insert_keyed(conn: &mut AnyConnection, prepared: &Prepared) -> anyhow::Result<Inserted> {
    let msg = &prepared.msg;
    if let Some(key) = &msg.idempotency_key {
        if let Some(existing) =
            find_by_key(conn, &msg.created_by, key, msg.request_hash.as_deref().unwrap_or_default())?
        {
            return Ok(Inserted::Replay(existing));
        }
        // An expired key of the same caller must not block the unique index.
        diesel::update(m::messages.filter(m::created_by.eq(&msg.created_by)).filter(m::idempotency_key.eq(key)))
            .set(m::idempotency_key.eq(None::<String>))
            .execute(conn)?;
    }
    insert_all(conn, std::slice::from_ref(prepared))?;
    Ok(Inserted::New)
}

impl NewMessage {
    pub(super) fn status(&self) -> MessageStatus {
        if self.claim.is_some() {
            MessageStatus::Sending
        } else {
            MessageStatus::Queued
        }
    }
}

fn is_unique_violation(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<diesel::result::Error>(),
        Some(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
    )
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::messages)]
pub struct Row {
    pub id: String,
    pub category: String,
    pub status: String,
    pub recipients: String,
    pub headers: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub priority: i16,
}

pub fn get(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Option<(Row, bool)>> {
    let row: Option<Row> = m::messages
        .filter(m::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .context("loading a message")?;
    let Some(row) = row else { return Ok(None) };
    let has_body: i64 =
        c::message_content.filter(c::id.eq(id)).filter(c::content.is_not_null()).count().get_result(conn)?;
    Ok(Some((row, has_body > 0)))
}

/// A message a worker holds.
pub struct Claimed {
    pub id: String,
    pub category: String,
    pub priority: Priority,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    /// The message; `None` for a large one, read with [`content`] right before it is sent,
    /// so that a claimed batch does not hold dozens of large messages in memory.
    pub content: Option<Content>,
    /// Handed over at acceptance (see `delivery::handoff`): when its claim's lease ends.
    /// Claims from the outbox are renewed by their worker instead.
    pub lease_ends: Option<std::time::Instant>,
}

/// A claimed message's content.
pub enum Content {
    /// As stored (see `domain::outgoing::stored`).
    Stored(Vec<u8>),
    /// Handed over by the accepting request, which parsed it already: the worker need not
    /// decompress and parse it again.
    Parsed(Box<OutgoingMessage>),
}

#[derive(QueryableByName)]
struct ClaimedId {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Claims up to `limit` due messages for `worker` until `now + lease`: those whose claim
/// expired (their instance died), then, priority by priority (high, normal, low), retrying
/// and queued ones whose time has come. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets
/// instances claim side by side without waiting or double claims; SQLite serialises
/// writers, which has the same effect.
///
/// One statement per status and priority, each walking `messages_due` (status, priority,
/// next_attempt_at) in order and stopping at the limit: a single statement over all of
/// them needed a sort of every due message, which grew with the backlog exactly when the
/// backlog needed the workers most; an order by priority over one status would walk past
/// every retrying message not yet due. Expired claims only exist after an instance died,
/// so callers look for them only now and then (`reclaim_expired`).
///
/// PostgreSQL: the planner, misled by a queue table's ever-stale statistics, picked bitmap
/// scans that read and sorted every due row (and every dead index entry) to return 32;
/// they are switched off for these statements so that the ordered index scan stops at the
/// limit and marks dead entries as it passes them.
pub fn claim(
    conn: &mut AnyConnection,
    worker: &str,
    limit: i64,
    lease: Duration,
    reclaim_expired: bool,
    inline_up_to: i64,
) -> anyhow::Result<Vec<Claimed>> {
    let ids = claim_ids(conn, worker, limit, lease, reclaim_expired)?;
    load_claimed(conn, &ids, inline_up_to)
}

/// The statements of [`claim`]: the ids claimed, in the order served.
pub(super) fn claim_ids(
    conn: &mut AnyConnection,
    worker: &str,
    limit: i64,
    lease: Duration,
    reclaim_expired: bool,
) -> anyhow::Result<Vec<String>> {
    claim_ids_where(conn, worker, limit, lease, reclaim_expired, &Priority::ALL, "")
}

/// Postamt's own alert e-mails (category `alert`, high priority), due now: they go ahead of
/// every sending limit (`db::send_limits`), so that an alert about a used-up quota is not
/// itself held. Only the high-priority part of the due index is looked through, which holds
/// few messages even while a bulk run waits.
pub(super) fn claim_alert_ids(
    conn: &mut AnyConnection,
    worker: &str,
    limit: i64,
    lease: Duration,
) -> anyhow::Result<Vec<String>> {
    claim_ids_where(conn, worker, limit, lease, false, &[Priority::High], " AND category = 'alert'")
}

/// [`claim_ids`] over `priorities`, with `extra` (`" AND …"`, fixed SQL) added to every due
/// condition.
fn claim_ids_where(
    conn: &mut AnyConnection,
    worker: &str,
    limit: i64,
    lease: Duration,
    reclaim_expired: bool,
    priorities: &[Priority],
    extra: &str,
) -> anyhow::Result<Vec<String>> {
    let at = now();
    let until = at + lease;
    let mut ids: Vec<String> = Vec::new();
    if let AnyConnection::Postgresql(c) = conn {
        diesel::sql_query("SET LOCAL enable_bitmapscan = off").execute(c)?;
    }
    let expired = reclaim_expired.then(|| format!("{} AND claim_expires_at < ", status_eq(MessageStatus::Sending)));
    let due = priorities.iter().flat_map(|p| {
        [MessageStatus::Retrying, MessageStatus::Queued]
            .map(|status| format!("{}{extra} AND priority = {} AND next_attempt_at <= ", status_eq(status), p.rank()))
    });
    for condition in expired.into_iter().chain(due) {
        let wanted = limit - i64::try_from(ids.len()).unwrap_or(limit);
        if wanted <= 0 {
            break;
        }
        let order = if condition.contains("claim_expires_at") { "claim_expires_at" } else { "next_attempt_at" };
        // The same statement on both; PostgreSQL numbers its parameters `$n` and also
        // skips rows another instance is claiming right now.
        let (p, lock) = match conn {
            AnyConnection::Postgresql(_) => ("$", " FOR UPDATE SKIP LOCKED"),
            AnyConnection::Sqlite(_) => ("?", ""),
        };
        let query = diesel::sql_query(format!(
            "UPDATE messages SET status = 'sending', claimed_by = {p}1, claim_expires_at = {p}2, updated_at = {p}3 \
             WHERE id IN (SELECT id FROM messages WHERE {condition}{p}3 \
                 ORDER BY {order} LIMIT {p}4{lock}) \
             RETURNING id"
        ))
        .bind::<Text, _>(worker)
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(at)
        .bind::<BigInt, _>(wanted);
        let claimed: Vec<ClaimedId> = match conn {
            AnyConnection::Postgresql(c) => query.load(c)?,
            AnyConnection::Sqlite(c) => query.load(c)?,
        };
        ids.extend(claimed.into_iter().map(|r| r.id));
    }
    if let AnyConnection::Postgresql(c) = conn {
        // The rest of the writer's transaction plans as usual.
        diesel::sql_query("SET LOCAL enable_bitmapscan = on").execute(c)?;
    }
    Ok(ids)
}

/// The claimed messages of `ids`, highest priority first; those up to `inline_up_to`
/// bytes with their content.
pub(super) fn load_claimed(
    conn: &mut AnyConnection,
    ids: &[String],
    inline_up_to: i64,
) -> anyhow::Result<Vec<Claimed>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<(String, String, i16, i32, NaiveDateTime, i64)> = m::messages
        .filter(m::id.eq_any(ids))
        // One whose content is gone (deleted meanwhile) is not delivered.
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("content IS NOT NULL"))
        .select((m::id, m::category, m::priority, m::attempts, m::created_at, m::size_bytes))
        .load(conn)
        .context("loading claimed messages")?;
    let position: std::collections::HashMap<&str, usize> =
        ids.iter().enumerate().map(|(n, id)| (id.as_str(), n)).collect();
    rows.sort_by_key(|(id, ..)| position.get(id.as_str()).copied().unwrap_or(usize::MAX));
    // Only messages up to `inline_up_to` bytes come with their content.
    let small: Vec<&str> = rows.iter().filter(|(.., size)| *size <= inline_up_to).map(|(id, ..)| id.as_str()).collect();
    let mut contents: std::collections::HashMap<String, Vec<u8>> = c::message_content
        .filter(c::id.eq_any(&small))
        .select((c::id, c::content))
        .load::<(String, Option<Vec<u8>>)>(conn)
        .context("loading claimed messages' content")?
        .into_iter()
        .filter_map(|(id, content)| Some((id, content?)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|(id, category, priority, attempts, created_at, _)| Claimed {
            content: contents.remove(&id).map(Content::Stored),
            id,
            category,
            priority: Priority::from_rank(priority),
            attempts,
            created_at,
            lease_ends: None,
        })
        .collect())
}

/// How many recipients (To, Cc and Bcc) each message of `ids` has, in that order.
pub(super) fn recipient_counts(conn: &mut AnyConnection, ids: &[String]) -> anyhow::Result<Vec<i64>> {
    let rows: Vec<(String, String)> = m::messages
        .filter(m::id.eq_any(ids))
        .select((m::id, m::recipients))
        .load(conn)
        .context("counting recipients")?;
    let counts: std::collections::HashMap<String, i64> = rows
        .into_iter()
        .map(|(id, json)| {
            let r: Recipients = serde_json::from_str(&json).unwrap_or_default();
            (id, i64::try_from(r.to.len() + r.cc.len() + r.bcc.len()).unwrap_or(i64::MAX))
        })
        .collect();
    Ok(ids.iter().map(|id| counts.get(id).copied().unwrap_or(0)).collect())
}

/// A claimed message's stored content (`None`: it is gone).
pub fn content(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let content: Option<Option<Vec<u8>>> = c::message_content
        .filter(c::id.eq(id))
        .select(c::content)
        .first(conn)
        .optional()
        .context("loading a message's content")?;
    Ok(content.flatten())
}

pub enum Resend {
    Queued,
    NotFound,
    /// Not failed, or its content was already deleted.
    NotResendable(MessageStatus),
}

pub fn resend(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Resend> {
    write_transaction(conn, |conn| {
        let Some((row, has_body)) = get(conn, id)? else { return Ok(Resend::NotFound) };
        let status = MessageStatus::parse(&row.status).unwrap_or(MessageStatus::Failed);
        if status != MessageStatus::Failed || !has_body {
            return Ok(Resend::NotResendable(status));
        }
        let at = now();
        diesel::update(m::messages.filter(m::id.eq(id)))
            .set((
                m::status.eq(MessageStatus::Queued.as_str()),
                m::attempts.eq(0),
                m::next_attempt_at.eq(at),
                m::updated_at.eq(at),
            ))
            .execute(conn)?;
        diesel::update(c::message_content.filter(c::id.eq(id)))
            .set(c::content_delete_after.eq(None::<NaiveDateTime>))
            .execute(conn)?;
        Ok(Resend::Queued)
    })
}

/// Messages waiting (queued or retrying), by priority rank (high, normal, low).
pub fn waiting_by_priority(conn: &mut AnyConnection) -> anyhow::Result<[i64; 3]> {
    let rows: Vec<(i16, i64)> = m::messages
        .filter(status_is(super::due_index::DUE))
        .group_by(m::priority)
        .select((m::priority, diesel::dsl::count_star()))
        .load(conn)
        .context("counting waiting messages")?;
    let mut by_rank = [0; 3];
    for (rank, n) in rows {
        if let Some(slot) = usize::try_from(rank).ok().and_then(|r| by_rank.get_mut(r)) {
            *slot = n;
        }
    }
    Ok(by_rank)
}

/// Messages not yet sent or failed.
pub fn outbox_depth(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    m::messages.filter(status_is(UNFINISHED)).count().get_result(conn).context("counting the outbox")
}

#[derive(QueryableByName)]
struct NextDue {
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamp>)]
    due: Option<NaiveDateTime>,
}

/// When the next queued or retrying message is due, to sleep until then: the first entry
/// of each status and priority in the due index, the earliest of them.
pub fn next_due(conn: &mut AnyConnection) -> anyhow::Result<Option<NaiveDateTime>> {
    let firsts: Vec<String> = Priority::ALL
        .into_iter()
        .flat_map(|p| {
            [MessageStatus::Retrying, MessageStatus::Queued].map(|status| {
                format!(
                    "SELECT (SELECT next_attempt_at FROM messages WHERE {} AND priority = {} \
                     ORDER BY next_attempt_at LIMIT 1) AS due",
                    status_eq(status),
                    p.rank()
                )
            })
        })
        .collect();
    let query = diesel::sql_query(format!("SELECT MIN(due) AS due FROM ({}) AS firsts", firsts.join(" UNION ALL ")));
    let found: NextDue = match conn {
        AnyConnection::Postgresql(c) => query.get_result(c),
        AnyConnection::Sqlite(c) => query.get_result(c),
    }
    .context("finding the next due message")?;
    Ok(found.due)
}

/// Retention: content of failed messages past their time, idempotency keys older than the
/// window, and message records older than `before`.
pub fn purge(conn: &mut AnyConnection, before: NaiveDateTime) -> anyhow::Result<()> {
    let at = now();
    diesel::update(c::message_content.filter(c::content_delete_after.lt(at)))
        .set((c::content.eq(None::<Vec<u8>>), c::content_delete_after.eq(None::<NaiveDateTime>)))
        .execute(conn)?;
    diesel::update(
        m::messages
            .filter(m::idempotency_key.is_not_null())
            .filter(m::created_at.lt(at - Duration::hours(IDEMPOTENCY_WINDOW_HOURS))),
    )
    .set(m::idempotency_key.eq(None::<String>))
    .execute(conn)?;
    let old = m::messages
        .filter(m::created_at.lt(before))
        .filter(m::status.eq_any([MessageStatus::Sent.as_str(), MessageStatus::Failed.as_str()]));
    diesel::delete(old).execute(conn)?;
    Ok(())
}

pub fn row_created_at(row: &Row) -> chrono::DateTime<chrono::Utc> {
    utc(row.created_at)
}

/// Puts these claimed messages back in the queue, as they were (no attempt counted).
pub fn release_ids(conn: &mut AnyConnection, ids: &[String]) -> anyhow::Result<usize> {
    diesel::update(m::messages.filter(status_is(SENDING)).filter(m::id.eq_any(ids)))
        .set((
            m::status.eq(MessageStatus::Queued.as_str()),
            m::claimed_by.eq(None::<String>),
            m::claim_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .context("releasing claims")
}

/// Puts messages claimed under `prefix` (all, for an empty prefix) back in the queue.
pub fn release_claims(conn: &mut AnyConnection, prefix: &str) -> anyhow::Result<usize> {
    let mut query = diesel::update(m::messages.filter(status_is(SENDING))).into_boxed();
    if !prefix.is_empty() {
        let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        query = query.filter(m::claimed_by.like(format!("{escaped}%")).escape('\\'));
    }
    query
        .set((
            m::status.eq(MessageStatus::Queued.as_str()),
            m::claimed_by.eq(None::<String>),
            m::claim_expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .context("releasing stale claims")
}
