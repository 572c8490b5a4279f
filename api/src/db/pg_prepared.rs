//! The two PostgreSQL statements on every message's path (accept, record an attempt), as
//! named prepared statements.
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
use diesel::sql_types::{Array, BigInt, Binary, Integer, Nullable, Text, Timestamp};
use diesel::{QueryResult, RunQueryDsl};

/// Messages and their content in one statement, whatever their number: each column is
/// one array parameter (`unnest`), so the SQL is fixed and prepared once per connection.
/// Per statement, PostgreSQL rebuilds the CHECK constraints' expressions from their stored
/// form and looks up locks and plans; with one statement per batch instead of per message,
/// that is paid once. The foreign key of the content is checked at the statement's end.
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
}

impl QueryId for InsertMessages<'_> {
    type QueryId = InsertMessages<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for InsertMessages<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH message AS (INSERT INTO messages (id, created_by, idempotency_key, request_hash, category, \
             status, claimed_by, claim_expires_at, recipients, headers, attempts, next_attempt_at, created_at, \
             updated_at, size_bytes) SELECT id, created_by, idempotency_key, request_hash, category, status, \
             claimed_by, claim_expires_at, recipients, headers, 0, created_at, created_at, created_at, size_bytes \
             FROM unnest(",
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
        out.push_sql(
            ") AS t (id, created_by, idempotency_key, request_hash, category, status, claimed_by, \
             claim_expires_at, recipients, headers, created_at, size_bytes)) \
             INSERT INTO message_bodies (message_id, content) SELECT * FROM unnest($1, ",
            // $1: the ids, the first parameter above.
        );
        out.push_bind_param::<Array<Binary>, _>(&self.content)?;
        out.push_sql(")");
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for InsertMessages<'_> {}

/// How an attempt ended: the message's new state, its content deleted (sent) or kept for
/// a resend until a time (failed), and the log entry. NULL leaves a column as it is, so
/// one statement serves every outcome.
pub struct CompleteAttempt<'a> {
    pub id: &'a str,
    pub at: NaiveDateTime,
    pub status: &'a str,
    pub sent_at: Option<NaiveDateTime>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub headers: Option<&'a str>,
    pub delete_body: bool,
    pub keep_body_until: Option<NaiveDateTime>,
    pub log: &'a NewEntry,
    pub derived: &'a Derived,
}

impl QueryId for CompleteAttempt<'_> {
    type QueryId = CompleteAttempt<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for CompleteAttempt<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH finished AS (UPDATE messages SET attempts = attempts + 1, claimed_by = NULL, \
             claim_expires_at = NULL, updated_at = ",
        );
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", status = ");
        out.push_bind_param::<Text, _>(self.status)?;
        out.push_sql(", sent_at = COALESCE(");
        out.push_bind_param::<Nullable<Timestamp>, _>(&self.sent_at)?;
        out.push_sql(", sent_at), next_attempt_at = COALESCE(");
        out.push_bind_param::<Nullable<Timestamp>, _>(&self.next_attempt_at)?;
        out.push_sql(", next_attempt_at), headers = COALESCE(");
        out.push_bind_param::<Nullable<Text>, _>(&self.headers)?;
        out.push_sql(", headers) WHERE id = ");
        out.push_bind_param::<Text, _>(self.id)?;
        out.push_sql("), dropped AS (DELETE FROM message_bodies WHERE message_id = ");
        out.push_bind_param::<Text, _>(self.id)?;
        out.push_sql(" AND ");
        out.push_bind_param::<diesel::sql_types::Bool, _>(&self.delete_body)?;
        out.push_sql("), kept AS (UPDATE message_bodies SET delete_after = ");
        out.push_bind_param::<Nullable<Timestamp>, _>(&self.keep_body_until)?;
        out.push_sql(" WHERE message_id = ");
        out.push_bind_param::<Text, _>(self.id)?;
        out.push_sql(" AND ");
        out.push_bind_param::<Nullable<Timestamp>, _>(&self.keep_body_until)?;
        out.push_sql(
            " IS NOT NULL) INSERT INTO mail_log (at, kind, message_id, category, status, recipients, sender, \
             attempt, stage, failure_class, smtp_reply, duration_ms, details) VALUES (",
        );
        let (log, d) = (self.log, self.derived);
        out.push_bind_param::<Timestamp, _>(&log.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&d.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&log.message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&log.category)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(log.status.as_str())?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&d.recipients)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&log.sender)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Integer>, _>(&d.attempt)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&d.stage)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&d.class)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&log.smtp_reply)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&d.duration_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&d.details)?;
        out.push_sql(")");
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for CompleteAttempt<'_> {}
