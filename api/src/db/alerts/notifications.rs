//! Notifications: one row per incident, event and channel (a unique index), claimed by one
//! instance at a time under a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, like the outbox's
//! `claim`), retried with backoff until delivered or given up.

use crate::db::schema::alert_notifications::dsl as n;
use crate::db::{now, AnyConnection};
use anyhow::Context;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use postamt_wire::{AlertChannel, AlertEvent};

/// A claimed notification.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::alert_notifications)]
pub struct Notification {
    pub id: i64,
    pub incident_id: i64,
    pub event: String,
    pub channel: String,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
}

/// Where one notification stands, for the list of incidents.
#[derive(Debug, Clone, Queryable)]
pub struct State {
    pub incident_id: i64,
    pub channel: String,
    pub delivered_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
}

/// Queues one notification, due now; a second one for the same incident, event and channel
/// is not added.
pub(super) fn queue(
    conn: &mut AnyConnection,
    incident: i64,
    event: AlertEvent,
    channel: AlertChannel,
    at: NaiveDateTime,
) -> anyhow::Result<()> {
    let p = prefix(conn);
    let insert = diesel::sql_query(format!(
        "INSERT INTO alert_notifications (incident_id, event, channel, next_attempt_at, created_at) \
         VALUES ({p}1, {p}2, {p}3, {p}4, {p}4) ON CONFLICT DO NOTHING"
    ))
    .bind::<BigInt, _>(incident)
    .bind::<Text, _>(event.as_str())
    .bind::<Text, _>(channel.as_str())
    .bind::<Timestamp, _>(at);
    match conn {
        AnyConnection::Postgresql(c) => insert.execute(c)?,
        AnyConnection::Sqlite(c) => insert.execute(c)?,
    };
    Ok(())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Claims up to `limit` due notifications for `owner` until `now + lease`: those never
/// claimed or whose lease ended (their instance died).
pub fn claim(conn: &mut AnyConnection, owner: &str, limit: i64, lease: Duration) -> anyhow::Result<Vec<Notification>> {
    let at = now();
    // Almost always nothing is due: find that out with a read, not with an UPDATE, which
    // would take SQLite's write lock every second.
    let due: Option<i64> = n::alert_notifications
        .filter(n::delivered_at.is_null())
        .filter(n::failed_at.is_null())
        .filter(n::next_attempt_at.le(at))
        .select(n::id)
        .first(conn)
        .optional()
        .context("looking for due notifications")?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    let p = prefix(conn);
    let lock = match conn {
        AnyConnection::Postgresql(_) => " FOR UPDATE SKIP LOCKED",
        AnyConnection::Sqlite(_) => "",
    };
    let query = diesel::sql_query(format!(
        "UPDATE alert_notifications SET claimed_by = {p}1, claim_expires_at = {p}2 \
         WHERE id IN (SELECT id FROM alert_notifications \
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= {p}3 \
             AND (claim_expires_at IS NULL OR claim_expires_at < {p}3) \
             ORDER BY id LIMIT {p}4{lock}) \
         RETURNING id"
    ))
    .bind::<Text, _>(owner)
    .bind::<Timestamp, _>(at + lease)
    .bind::<Timestamp, _>(at)
    .bind::<BigInt, _>(limit);
    let ids: Vec<Id> = match conn {
        AnyConnection::Postgresql(c) => query.load(c)?,
        AnyConnection::Sqlite(c) => query.load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    n::alert_notifications
        .filter(n::id.eq_any(ids.into_iter().map(|i| i.id).collect::<Vec<_>>()))
        .order(n::id.asc())
        .select(Notification::as_select())
        .load(conn)
        .context("loading claimed notifications")
}

/// Delivered; only while `owner` still holds the claim.
pub fn delivered(conn: &mut AnyConnection, id: i64, owner: &str) -> anyhow::Result<()> {
    diesel::update(n::alert_notifications.find(id).filter(n::claimed_by.eq(owner)))
        .set((
            n::delivered_at.eq(now()),
            n::attempts.eq(n::attempts + 1),
            n::claimed_by.eq(None::<String>),
            n::claim_expires_at.eq(None::<NaiveDateTime>),
            n::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .context("recording a delivered notification")?;
    Ok(())
}

/// Not delivered: tried again at `retry_at`, or given up (`None`).
pub fn failed(
    conn: &mut AnyConnection,
    id: i64,
    owner: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> anyhow::Result<()> {
    let at = now();
    diesel::update(n::alert_notifications.find(id).filter(n::claimed_by.eq(owner)))
        .set((
            n::attempts.eq(n::attempts + 1),
            n::next_attempt_at.eq(retry_at.unwrap_or(at)),
            n::failed_at.eq(retry_at.is_none().then_some(at)),
            n::claimed_by.eq(None::<String>),
            n::claim_expires_at.eq(None::<NaiveDateTime>),
            n::last_error.eq(error),
        ))
        .execute(conn)
        .context("recording a failed notification")?;
    Ok(())
}

/// The notifications of these incidents.
pub fn states(conn: &mut AnyConnection, incidents: &[i64]) -> anyhow::Result<Vec<State>> {
    n::alert_notifications
        .filter(n::incident_id.eq_any(incidents))
        .select((n::incident_id, n::channel, n::delivered_at, n::failed_at))
        .load(conn)
        .context("loading notification states")
}

fn prefix(conn: &AnyConnection) -> &'static str {
    match conn {
        AnyConnection::Postgresql(_) => "$",
        AnyConnection::Sqlite(_) => "?",
    }
}
