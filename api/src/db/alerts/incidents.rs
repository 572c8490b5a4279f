//! Incidents: at most one open per condition across all instances (the partial unique
//! index `alert_incidents_open`). Opening is a conditional insert, resolving a conditional
//! update; the instance whose statement changed the row queues the notifications, in the
//! same transaction, so each event is queued exactly once.

use super::notifications::queue;
use crate::db::schema::alert_incidents::dsl as i;
use crate::db::schema::alert_notifications::dsl as n;
use crate::db::{now, write_transaction, AnyConnection};
use anyhow::Context;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use postamt_wire::{AlertChannel, AlertCondition, AlertEvent};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::alert_incidents)]
pub struct Incident {
    pub id: i64,
    pub condition: String,
    pub opened_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub clear_since: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub detail: String,
}

/// What a check did to the incident of one condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    Opened(i64),
    Resolved(i64),
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The open incident of `condition`, if any.
pub fn open_of(conn: &mut AnyConnection, condition: AlertCondition) -> anyhow::Result<Option<Incident>> {
    i::alert_incidents
        .filter(i::condition.eq(condition.as_str()))
        .filter(i::resolved_at.is_null())
        .select(Incident::as_select())
        .first(conn)
        .optional()
        .context("loading the open incident")
}

pub fn get(conn: &mut AnyConnection, id: i64) -> anyhow::Result<Option<Incident>> {
    i::alert_incidents.find(id).select(Incident::as_select()).first(conn).optional().context("loading an incident")
}

/// Newest first.
pub fn list(conn: &mut AnyConnection, limit: i64) -> anyhow::Result<Vec<Incident>> {
    i::alert_incidents
        .order((i::opened_at.desc(), i::id.desc()))
        .limit(limit)
        .select(Incident::as_select())
        .load(conn)
        .context("listing incidents")
}

/// Deletes incidents resolved before `before`, with their notifications.
pub fn purge(conn: &mut AnyConnection, before: NaiveDateTime) -> anyhow::Result<usize> {
    let old = i::alert_incidents.filter(i::resolved_at.lt(before)).select(i::id);
    diesel::delete(n::alert_notifications.filter(n::incident_id.eq_any(old)))
        .execute(conn)
        .context("purging old notifications")?;
    diesel::delete(i::alert_incidents.filter(i::resolved_at.lt(before))).execute(conn).context("purging old incidents")
}

/// The condition holds: opens an incident (queuing a firing notification per channel) or
/// marks the open one as seen now.
pub fn holds(
    conn: &mut AnyConnection,
    condition: AlertCondition,
    detail: &str,
    channels: &[AlertChannel],
) -> anyhow::Result<Change> {
    let at = now();
    write_transaction(conn, |conn| {
        let p = match conn {
            AnyConnection::Postgresql(_) => "$",
            AnyConnection::Sqlite(_) => "?",
        };
        // Whichever instance inserts first opens it; the others insert nothing.
        let insert = diesel::sql_query(format!(
            "INSERT INTO alert_incidents (condition, opened_at, last_seen_at, detail) \
             VALUES ({p}1, {p}2, {p}2, {p}3) ON CONFLICT DO NOTHING RETURNING id"
        ))
        .bind::<Text, _>(condition.as_str())
        .bind::<Timestamp, _>(at)
        .bind::<Text, _>(detail);
        let opened: Vec<Id> = match conn {
            AnyConnection::Postgresql(c) => insert.load(c)?,
            AnyConnection::Sqlite(c) => insert.load(c)?,
        };
        if let Some(Id { id }) = opened.into_iter().next() {
            for channel in channels {
                queue(conn, id, AlertEvent::Firing, *channel, at)?;
            }
            return Ok(Change::Opened(id));
        }
        diesel::update(i::alert_incidents.filter(i::condition.eq(condition.as_str())).filter(i::resolved_at.is_null()))
            .set((i::last_seen_at.eq(at), i::detail.eq(detail), i::clear_since.eq(None::<NaiveDateTime>)))
            .execute(conn)?;
        Ok(Change::None)
    })
}

/// The condition does not hold. An open incident is resolved once the checks have found it
/// clear for `settle` (one full check interval), so a condition that flaps between two
/// checks keeps its incident; the resolving instance queues the resolved notifications.
pub fn clear(
    conn: &mut AnyConnection,
    condition: AlertCondition,
    settle: Duration,
    channels: &[AlertChannel],
) -> anyhow::Result<Change> {
    // Nothing open (the usual case): no write at all.
    if open_of(conn, condition)?.is_none() {
        return Ok(Change::None);
    }
    let at = now();
    write_transaction(conn, |conn| {
        // Again under the write lock: another instance may have changed it meanwhile.
        let Some(open) = open_of(conn, condition)? else { return Ok(Change::None) };
        let Some(since) = open.clear_since else {
            diesel::update(i::alert_incidents.find(open.id).filter(i::clear_since.is_null()))
                .set(i::clear_since.eq(at))
                .execute(conn)?;
            return Ok(Change::None);
        };
        if at - since < settle {
            return Ok(Change::None);
        }
        let resolved = diesel::update(
            i::alert_incidents.find(open.id).filter(i::resolved_at.is_null()).filter(i::clear_since.is_not_null()),
        )
        .set(i::resolved_at.eq(at))
        .execute(conn)?;
        if resolved == 0 {
            // Another instance resolved it (or saw it hold again) first.
            return Ok(Change::None);
        }
        for channel in channels {
            queue(conn, open.id, AlertEvent::Resolved, *channel, at)?;
        }
        Ok(Change::Resolved(open.id))
    })
}
