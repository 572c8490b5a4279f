//! `queue_stuck`: the oldest message not yet sent (queued, being sent, or waiting for a
//! retry) was accepted more than `minutes` ago.

use super::Observation;
use crate::db::{self, now};
use crate::state::AppState;
use postamt_wire::QueueStuckCondition;

pub(super) async fn check(state: &AppState, c: &QueueStuckCondition) -> anyhow::Result<Observation> {
    let oldest = state.db.run(db::alerts::observe::oldest_unfinished).await?;
    let Some(oldest) = oldest else { return Ok(Observation::Clear) };
    let waited = now() - oldest;
    if waited < chrono::Duration::minutes(i64::from(c.minutes)) {
        return Ok(Observation::Clear);
    }
    Ok(Observation::Holds(format!(
        "the oldest unsent message has waited {} minutes (since {} UTC)",
        waited.num_minutes(),
        oldest.format("%Y-%m-%d %H:%M")
    )))
}
