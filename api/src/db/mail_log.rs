//! The mail log: one row per delivery attempt or test. Never bodies or subjects.

use super::schema::mail_log::dsl as l;
use super::sqlite_multi_row::{bind_values, BindRow};
use super::sqlite_time::SqliteTimestamp;
use super::{utc, AnyConnection};
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max, min};
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::sqlite::Sqlite;
use postamt_wire::{
    ErrorGroup, FailureClass, LogKind, MailConnection, MailLogEntry, MessageStatus, SettingsField, StageName,
};
use serde::de::value::{Error as DeError, StrDeserializer};
use serde::de::IntoDeserializer;
use serde::{Deserialize, Serialize};

/// A row to write.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub at: NaiveDateTime,
    pub kind: LogKind,
    pub message_id: Option<String>,
    pub category: String,
    pub status: MessageStatus,
    pub recipients: Vec<String>,
    pub sender: String,
    pub attempt: Option<u32>,
    pub stage: Option<StageName>,
    pub class: Option<FailureClass>,
    pub smtp_reply: Option<String>,
    pub duration_ms: u64,
    pub details: Details,
}

/// Less-queried fields, kept together as JSON (`details`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<SettingsField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_de: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// `primary` or `fallback`: which connection `server` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<MailConnection>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::mail_log)]
pub struct Row {
    pub id: i64,
    pub at: NaiveDateTime,
    pub kind: String,
    pub message_id: Option<String>,
    pub category: String,
    pub status: String,
    pub recipients: String,
    pub sender: String,
    pub attempt: Option<i32>,
    pub stage: Option<String>,
    pub failure_class: Option<String>,
    pub smtp_reply: Option<String>,
    pub duration_ms: i64,
    pub details: String,
}

fn enum_from<'a, T: Deserialize<'a>>(s: &'a str) -> Option<T> {
    let de: StrDeserializer<'a, DeError> = s.into_deserializer();
    T::deserialize(de).ok()
}

pub fn enum_str<T: Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl Row {
    pub fn into_wire(self) -> MailLogEntry {
        let details: Details = serde_json::from_str(&self.details).unwrap_or_default();
        MailLogEntry {
            id: self.id,
            at: utc(self.at),
            kind: enum_from(&self.kind).unwrap_or(LogKind::Delivery),
            message_id: self.message_id,
            category: self.category,
            status: MessageStatus::parse(&self.status).unwrap_or(MessageStatus::Failed),
            recipients: self.recipients.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
            sender: self.sender,
            attempt: self.attempt.and_then(|a| u32::try_from(a).ok()),
            stage: self.stage.as_deref().and_then(enum_from),
            class: self.failure_class.as_deref().and_then(enum_from),
            field: details.field,
            smtp_reply: self.smtp_reply,
            hint_de: details.hint_de,
            hint_en: details.hint_en,
            server: details.server,
            connection: details.connection,
            duration_ms: u64::try_from(self.duration_ms).unwrap_or(0),
        }
    }
}

/// The columns of an entry that are derived rather than copied, as stored.
pub(crate) struct Derived {
    pub kind: String,
    /// Lower-cased and comma-separated, for the recipient filter.
    pub recipients: String,
    pub attempt: Option<i32>,
    pub duration_ms: i64,
    pub details: String,
    pub stage: Option<&'static str>,
    pub class: Option<&'static str>,
}

impl NewEntry {
    pub(crate) fn derived(&self) -> anyhow::Result<Derived> {
        Ok(Derived {
            kind: enum_str(self.kind),
            recipients: self.recipients.iter().map(|r| r.to_ascii_lowercase()).collect::<Vec<_>>().join(","),
            attempt: self.attempt.and_then(|a| i32::try_from(a).ok()),
            duration_ms: i64::try_from(self.duration_ms).unwrap_or(i64::MAX),
            details: serde_json::to_string(&self.details)?,
            stage: self.stage.map(|s| s.as_str()),
            class: self.class.map(|c| c.as_str()),
        })
    }
}

/// A log row as inserted: an entry with its derived columns.
#[derive(Insertable)]
#[diesel(table_name = super::schema::mail_log)]
pub(crate) struct InsertRow<'a> {
    at: NaiveDateTime,
    kind: &'a str,
    message_id: Option<&'a str>,
    category: &'a str,
    status: &'static str,
    recipients: &'a str,
    sender: &'a str,
    attempt: Option<i32>,
    stage: Option<&'static str>,
    failure_class: Option<&'static str>,
    smtp_reply: Option<&'a str>,
    duration_ms: i64,
    details: &'a str,
}

impl<'a> InsertRow<'a> {
    pub(crate) fn new(e: &'a NewEntry, d: &'a Derived) -> Self {
        InsertRow {
            at: e.at,
            kind: &d.kind,
            message_id: e.message_id.as_deref(),
            category: &e.category,
            status: e.status.as_str(),
            recipients: &d.recipients,
            sender: &e.sender,
            attempt: d.attempt,
            stage: d.stage,
            failure_class: d.class,
            smtp_reply: e.smtp_reply.as_deref(),
            duration_ms: d.duration_ms,
            details: &d.details,
        }
    }
}

/// A row of the multi-row INSERT of a round's records (see `record_round`).
impl BindRow for InsertRow<'_> {
    fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        bind_values!(out;
            SqliteTimestamp => &self.at,
            Text => &self.kind,
            Nullable<Text> => &self.message_id,
            Text => &self.category,
            Text => &self.status,
            Text => &self.recipients,
            Text => &self.sender,
            Nullable<Integer> => &self.attempt,
            Nullable<Text> => &self.stage,
            Nullable<Text> => &self.failure_class,
            Nullable<Text> => &self.smtp_reply,
            BigInt => &self.duration_ms,
            Text => &self.details,
        )
    }
}

pub fn insert(conn: &mut AnyConnection, e: &NewEntry) -> anyhow::Result<()> {
    let d = e.derived()?;
    diesel::insert_into(l::mail_log).values(InsertRow::new(e, &d)).execute(conn).context("writing the mail log")?;
    Ok(())
}

/// Filters of `GET /api/v1/mail-log`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub status: Option<MessageStatus>,
    pub category: Option<String>,
    pub recipient: Option<String>,
    /// Only entries older than this id (the cursor).
    pub before_id: Option<i64>,
    pub failures_only: bool,
}

/// Newest first, at most `limit`.
pub fn list(conn: &mut AnyConnection, f: &Filter, limit: i64) -> anyhow::Result<Vec<MailLogEntry>> {
    let mut query = l::mail_log.select(Row::as_select()).into_boxed();
    if let Some(from) = f.from {
        query = query.filter(l::at.ge(from));
    }
    if let Some(to) = f.to {
        query = query.filter(l::at.lt(to));
    }
    if let Some(status) = f.status {
        query = query.filter(l::status.eq(status.as_str()));
    }
    if let Some(category) = &f.category {
        query = query.filter(l::category.eq(category.clone()));
    }
    if let Some(recipient) = &f.recipient {
        let escaped = recipient.to_ascii_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        query = query.filter(l::recipients.like(format!("%{escaped}%")).escape('\\'));
    }
    if let Some(before) = f.before_id {
        query = query.filter(l::id.lt(before));
    }
    if f.failures_only {
        query = query.filter(l::failure_class.is_not_null());
    }
    // Failures are read by time so the partial index on failures serves them; walking the
    // whole log by id would read every row when fewer failures than a page match.
    let query = if f.failures_only { query.order((l::at.desc(), l::id.desc())) } else { query.order(l::id.desc()) };
    let rows: Vec<Row> = query.limit(limit).load(conn).context("reading the mail log")?;
    Ok(rows.into_iter().map(Row::into_wire).collect())
}

/// Failures since `since`.
pub fn count_failures(conn: &mut AnyConnection, since: NaiveDateTime) -> anyhow::Result<u64> {
    let n: i64 = l::mail_log
        .filter(l::failure_class.is_not_null())
        .filter(l::at.ge(since))
        .select(count_star())
        .first(conn)
        .context("counting failures")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// class, count, first seen, last seen, id of the latest.
type GroupRow = (Option<String>, i64, Option<NaiveDateTime>, Option<NaiveDateTime>, Option<i64>);

/// Failures since `since`, one group per class, most frequent first.
pub fn failure_groups(conn: &mut AnyConnection, since: NaiveDateTime) -> anyhow::Result<Vec<ErrorGroup>> {
    let rows: Vec<GroupRow> = l::mail_log
        .filter(l::failure_class.is_not_null())
        .filter(l::at.ge(since))
        .group_by(l::failure_class)
        .select((l::failure_class, count_star(), min(l::at), max(l::at), max(l::id)))
        .load(conn)
        .context("grouping failures")?;
    let latest_ids: Vec<i64> = rows.iter().filter_map(|r| r.4).collect();
    let latest: Vec<Row> = l::mail_log
        .filter(l::id.eq_any(&latest_ids))
        .select(Row::as_select())
        .load(conn)
        .context("loading the latest failures")?;
    let mut latest: std::collections::HashMap<i64, MailLogEntry> =
        latest.into_iter().map(|r| (r.id, r.into_wire())).collect();
    let mut groups: Vec<ErrorGroup> = rows
        .into_iter()
        .filter_map(|(class, count, first, last, id)| {
            Some(ErrorGroup {
                class: enum_from(class.as_deref()?)?,
                count: u64::try_from(count).ok()?,
                first_seen: utc(first?),
                last_seen: utc(last?),
                latest: latest.remove(&id?)?,
            })
        })
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_seen.cmp(&a.last_seen)));
    Ok(groups)
}

/// The lowest and highest id in the log (both primary-key lookups), to split an export
/// into id ranges.
pub fn id_span(conn: &mut AnyConnection) -> anyhow::Result<Option<(i64, i64)>> {
    let (low, high): (Option<i64>, Option<i64>) =
        l::mail_log.select((min(l::id), max(l::id))).first(conn).context("finding the log's id range")?;
    Ok(low.zip(high))
}

/// A slice of the export: rows with `ids` in the time range, oldest first, as stored (the
/// export renders them without building `MailLogEntry`s).
pub fn export_range(
    conn: &mut AnyConnection,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    ids: std::ops::Range<i64>,
) -> anyhow::Result<Vec<Row>> {
    let mut query =
        l::mail_log.select(Row::as_select()).filter(l::id.ge(ids.start)).filter(l::id.lt(ids.end)).into_boxed();
    if let Some(from) = from {
        query = query.filter(l::at.ge(from));
    }
    if let Some(to) = to {
        query = query.filter(l::at.lt(to));
    }
    query.order(l::id.asc()).load(conn).context("exporting the mail log")
}

/// Attempts of one message, oldest first.
pub fn for_message(conn: &mut AnyConnection, message_id: &str) -> anyhow::Result<Vec<MailLogEntry>> {
    let rows: Vec<Row> = l::mail_log
        .filter(l::message_id.eq(message_id))
        .select(Row::as_select())
        .order(l::id.asc())
        .load(conn)
        .context("loading the attempts")?;
    Ok(rows.into_iter().map(Row::into_wire).collect())
}

/// Deletes entries older than `before`; returns how many.
pub fn purge(conn: &mut AnyConnection, before: NaiveDateTime) -> anyhow::Result<usize> {
    diesel::delete(l::mail_log.filter(l::at.lt(before))).execute(conn).context("purging the mail log")
}
