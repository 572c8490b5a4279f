//! The shared failover state (`failover_state`, one row, id = 1): whether the primary
//! connection is down and the fallback server in use, as any instance last saw it.
//!
//! Written only on transitions (see `delivery::failover`): the primary went down, the
//! fallback delivered its first message of the incident, the primary is back. Read it with
//! [`load`] (or `delivery::failover::shared_state`): alerts and status pages see "primary
//! down, fallback in use" across instances without asking any of them.

use super::schema::failover_state::dsl as fs;
use super::{now, utc, write_transaction, AnyConnection};
use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

const ROW_ID: i32 = 1;

/// The shared state as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailoverState {
    /// Since when the primary is down (None: it is up, or never was down).
    pub primary_down_since: Option<DateTime<Utc>>,
    /// Why it went down: the failure class (`connection_refused`, `throttled`, …).
    pub primary_down_class: Option<String>,
    /// When it last came back.
    pub primary_back_at: Option<DateTime<Utc>>,
    /// When the fallback was last seen delivering: set when it delivers its first message
    /// of an incident and again when the incident ends (it was in use until then).
    pub fallback_last_used_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// The instance that wrote the last transition.
    pub updated_by: Option<String>,
}

impl FailoverState {
    /// The primary is down and the fallback delivers meanwhile.
    pub fn fallback_in_use(&self) -> bool {
        self.primary_down_since.is_some()
            && self.fallback_last_used_at.zip(self.primary_down_since).is_some_and(|(used, down)| used >= down)
    }
}

type Row = (Option<NaiveDateTime>, Option<String>, Option<NaiveDateTime>, Option<NaiveDateTime>, NaiveDateTime, String);

/// The shared state (all None when no transition was ever written).
pub fn load(conn: &mut AnyConnection) -> anyhow::Result<FailoverState> {
    let row: Option<Row> = fs::failover_state
        .filter(fs::id.eq(ROW_ID))
        .select((
            fs::primary_down_since,
            fs::primary_down_class,
            fs::primary_back_at,
            fs::fallback_last_used_at,
            fs::updated_at,
            fs::updated_by,
        ))
        .first(conn)
        .optional()
        .context("loading the failover state")?;
    Ok(row
        .map(|(down, class, back, used, at, by)| FailoverState {
            primary_down_since: down.map(utc),
            primary_down_class: class,
            primary_back_at: back.map(utc),
            fallback_last_used_at: used.map(utc),
            updated_at: Some(utc(at)),
            updated_by: Some(by),
        })
        .unwrap_or_default())
}

/// A transition seen by one instance.
#[derive(Debug, Clone)]
pub enum Transition {
    /// The primary failed for a reason of the connection (class); the fallback takes over.
    PrimaryDown(String),
    /// The fallback delivered its first message of this incident.
    FallbackUsed,
    /// The primary delivered again.
    PrimaryBack,
}

/// Writes `transition` (by instance `by`) into the shared row.
pub fn record(conn: &mut AnyConnection, transition: &Transition, by: &str) -> anyhow::Result<()> {
    write_transaction(conn, |conn| {
        let at = now();
        let current = load(conn)?;
        let naive = |t: Option<DateTime<Utc>>| t.map(|t| t.naive_utc());
        let (down, class, back, used) = match transition {
            // The earliest instance's "down" holds while the incident lasts.
            Transition::PrimaryDown(class) => match current.primary_down_since {
                Some(since) => (
                    Some(since.naive_utc()),
                    current.primary_down_class.clone(),
                    naive(current.primary_back_at),
                    naive(current.fallback_last_used_at),
                ),
                None => (
                    Some(at),
                    Some(class.clone()),
                    naive(current.primary_back_at),
                    naive(current.fallback_last_used_at),
                ),
            },
            Transition::FallbackUsed => (
                naive(current.primary_down_since),
                current.primary_down_class.clone(),
                naive(current.primary_back_at),
                Some(at),
            ),
            Transition::PrimaryBack => {
                let was_in_use = current.fallback_in_use();
                (None, None, Some(at), if was_in_use { Some(at) } else { naive(current.fallback_last_used_at) })
            }
        };
        let values = (
            fs::primary_down_since.eq(down),
            fs::primary_down_class.eq(class),
            fs::primary_back_at.eq(back),
            fs::fallback_last_used_at.eq(used),
            fs::updated_at.eq(at),
            fs::updated_by.eq(by),
        );
        if current.updated_at.is_some() {
            diesel::update(fs::failover_state.filter(fs::id.eq(ROW_ID))).set(values).execute(conn)?;
        } else {
            diesel::insert_into(fs::failover_state).values((fs::id.eq(ROW_ID), values)).execute(conn)?;
        }
        Ok(())
    })
}

/// Forgets the incident (the settings were deleted).
pub fn clear(conn: &mut AnyConnection) -> anyhow::Result<()> {
    diesel::delete(fs::failover_state).execute(conn).context("clearing the failover state")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_db::TestDb;

    /// Down, fallback used, back: what other code reads after each transition.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn transitions_are_read_back() {
        for test_db in TestDb::both() {
            test_db
                .db
                .run(|conn| {
                    assert_eq!(load(conn)?, FailoverState::default());
                    record(conn, &Transition::PrimaryDown("connection_refused".into()), "a")?;
                    let down = load(conn)?;
                    assert!(down.primary_down_since.is_some() && !down.fallback_in_use());
                    assert_eq!(down.primary_down_class.as_deref(), Some("connection_refused"));
                    // Another instance's "down" keeps the first one's time and reason.
                    record(conn, &Transition::PrimaryDown("throttled".into()), "b")?;
                    let again = load(conn)?;
                    assert_eq!(again.primary_down_since, down.primary_down_since);
                    assert_eq!(again.primary_down_class.as_deref(), Some("connection_refused"));
                    record(conn, &Transition::FallbackUsed, "a")?;
                    let in_use = load(conn)?;
                    assert!(in_use.fallback_in_use(), "{in_use:?}");
                    record(conn, &Transition::PrimaryBack, "b")?;
                    let back = load(conn)?;
                    assert!(back.primary_down_since.is_none() && !back.fallback_in_use());
                    assert!(back.primary_back_at.is_some() && back.fallback_last_used_at.is_some());
                    assert_eq!(back.updated_by.as_deref(), Some("b"));
                    clear(conn)?;
                    assert_eq!(load(conn)?, FailoverState::default());
                    Ok(())
                })
                .await
                .unwrap();
        }
    }
}
