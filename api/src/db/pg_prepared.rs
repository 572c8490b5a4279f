//! The two PostgreSQL statements on every message's path (accept a batch, record a round of
//! attempts), as named prepared statements.
//!
//! diesel prepares and caches a statement when its type fixes its SQL; `sql_query` and
//! every UPDATE are sent unnamed and parsed and planned anew each time, which showed as
//! the parser, the rewriter and the planner in the profile of the PostgreSQL backends.
//! These types write fixed SQL with their binds in order and declare a static query id,
//! so each connection prepares them once.

use super::mail_log::{Derived, NewEntry};
use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Binary, Integer, Nullable, SmallInt, Text, Timestamp};
use diesel::{QueryResult, RunQueryDsl};

/// Messages with their content in one statement, whatever their number: each column is
/// one array parameter (`unnest`), so the SQL is fixed and prepared once per connection.
/// Per statement, PostgreSQL rebuilds the CHECK constraints' expressions from their stored
/// form and looks up locks and plans; with one statement per batch instead of per message,
/// that is paid once.
#[derive(Default)]
pub struct InsertMessages<'a> {
    pub id: Vec<&'a str>,
    pub created_by: Vec<&'a str>,
    pub idempotency_key: Vec<Option<&'a str>>,
    pub request_hash: Vec<Option<&'a str>>,
    pub category: Vec<&'a str>,
    pub status: Vec<&'a str>,
    pub claimed_by: Vec<Option<&'a str>>,
    pub claim_expires_at: Vec<Option<NaiveDateTime>>,
    pub recipients: Vec<&'a str>,
    pub headers: Vec<&'a str>,
    pub created_at: Vec<NaiveDateTime>,
    pub size_bytes: Vec<i64>,
    pub content: Vec<&'a [u8]>,
    pub priority: Vec<i16>,
}

impl QueryId for InsertMessages<'_> {
    type QueryId = InsertMessages<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for InsertMessages<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO messages (id, created_by, idempotency_key, request_hash, category, status, claimed_by, \
             claim_expires_at, recipients, headers, attempts, next_attempt_at, created_at, updated_at, size_bytes, \
             content, priority) SELECT id, created_by, idempotency_key, request_hash, category, status, claimed_by, \
             claim_expires_at, recipients, headers, 0, created_at, created_at, created_at, size_bytes, content, \
             priority FROM unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.created_by)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.idempotency_key)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.request_hash)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.category)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.claimed_by)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.claim_expires_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.recipients)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.headers)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.created_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.size_bytes)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Binary>, _>(&self.content)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SmallInt>, _>(&self.priority)?;
        out.push_sql(
            ") AS t (id, created_by, idempotency_key, request_hash, category, status, claimed_by, \
             claim_expires_at, recipients, headers, created_at, size_bytes, content, priority)",
        );
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for InsertMessages<'_> {}

/// A round of attempt records in one statement, whatever their number (see `record_round`):
/// the messages' new states (the content of the sent ones dropped, that of the failed ones
/// kept for a resend until a time) and the log entries. Each record column is one array.
/// Per message, a statement of its own had been a round trip: PostgreSQL's time went mostly
/// into sending its replies over the socket and into setting up each statement's plan.
/// NULL leaves a column as it is, so one statement serves every outcome.
#[derive(Default)]
pub struct RecordAttempts<'a> {
    pub at: NaiveDateTime,
    pub id: Vec<&'a str>,
    pub status: Vec<&'a str>,
    pub sent_at: Vec<Option<NaiveDateTime>>,
    pub next_attempt_at: Vec<Option<NaiveDateTime>>,
    pub headers: Vec<Option<&'a str>>,
    /// Sent: the content goes.
    pub drop_content: Vec<bool>,
    /// Failed for good: the content stays until then.
    pub keep_content_until: Vec<Option<NaiveDateTime>>,
    pub log: LogColumns<'a>,
}

/// The log entries of a round, one array per column.
#[derive(Default)]
pub struct LogColumns<'a> {
    pub at: Vec<NaiveDateTime>,
    pub kind: Vec<&'a str>,
    pub message_id: Vec<Option<&'a str>>,
    pub category: Vec<&'a str>,
    pub status: Vec<&'static str>,
    pub recipients: Vec<&'a str>,
    pub sender: Vec<&'a str>,
    pub attempt: Vec<Option<i32>>,
    pub stage: Vec<Option<&'static str>>,
    pub class: Vec<Option<&'static str>>,
    pub smtp_reply: Vec<Option<&'a str>>,
    pub duration_ms: Vec<i64>,
    pub details: Vec<&'a str>,
}

impl<'a> LogColumns<'a> {
    pub fn push(&mut self, log: &'a NewEntry, d: &'a Derived) {
        self.at.push(log.at);
        self.kind.push(&d.kind);
        self.message_id.push(log.message_id.as_deref());
        self.category.push(&log.category);
        self.status.push(log.status.as_str());
        self.recipients.push(&d.recipients);
        self.sender.push(&log.sender);
        self.attempt.push(d.attempt);
        self.stage.push(d.stage);
        self.class.push(d.class);
        self.smtp_reply.push(log.smtp_reply.as_deref());
        self.duration_ms.push(d.duration_ms);
        self.details.push(&d.details);
    }
}

impl QueryId for RecordAttempts<'_> {
    type QueryId = RecordAttempts<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for RecordAttempts<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // The joins with `unnest` are planned for a handful of rows (PostgreSQL's guess for
        // an array parameter): index lookups by id, never a scan of the table.
        out.push_sql(
            "WITH finished AS (UPDATE messages m SET attempts = m.attempts + 1, claimed_by = NULL, \
             claim_expires_at = NULL, updated_at = ",
        );
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(
            ", status = r.status, sent_at = COALESCE(r.sent_at, m.sent_at), \
             next_attempt_at = COALESCE(r.next_attempt_at, m.next_attempt_at), \
             headers = COALESCE(r.headers, m.headers), \
             content = CASE WHEN r.drop_content THEN NULL ELSE m.content END, \
             content_delete_after = COALESCE(r.keep_until, m.content_delete_after) FROM unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.sent_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.next_attempt_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.headers)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<diesel::sql_types::Bool>, _>(&self.drop_content)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Timestamp>>, _>(&self.keep_content_until)?;
        out.push_sql(
            ") AS r (id, status, sent_at, next_attempt_at, headers, drop_content, keep_until) \
             WHERE m.id = r.id) \
             INSERT INTO mail_log (at, kind, message_id, category, status, recipients, sender, \
             attempt, stage, failure_class, smtp_reply, duration_ms, details) SELECT * FROM unnest(",
        );
        let log = &self.log;
        out.push_bind_param::<Array<Timestamp>, _>(&log.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&log.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&log.message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&log.category)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&log.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&log.recipients)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&log.sender)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Integer>>, _>(&log.attempt)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&log.stage)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&log.class)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&log.smtp_reply)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&log.duration_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&log.details)?;
        out.push_sql(")");
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for RecordAttempts<'_> {}
