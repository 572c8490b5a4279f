//! The conditions. Each is one file with a `check` that says whether it holds now; adding
//! one is a new file, a variant of `postamt_wire::AlertCondition` (with its thresholds in
//! `AlertConditions`) and an arm in [`observe`].

mod daily_quota;
mod failures;
mod fallback_in_use;
mod oauth;
mod queue_stuck;

use crate::state::AppState;
use postamt_wire::{AlertCondition, AlertConditions};

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// It holds; what was seen, one English sentence.
    Holds(String),
    Clear,
}

/// Whether `condition` holds now. A disabled condition is clear (an open incident resolves).
pub async fn observe(
    condition: AlertCondition,
    state: &AppState,
    thresholds: &AlertConditions,
) -> anyhow::Result<Observation> {
    match condition {
        AlertCondition::Failures if thresholds.failures.enabled => failures::check(state, &thresholds.failures).await,
        AlertCondition::QueueStuck if thresholds.queue_stuck.enabled => {
            queue_stuck::check(state, &thresholds.queue_stuck).await
        }
        AlertCondition::Oauth if thresholds.oauth.enabled => oauth::check(state).await,
        AlertCondition::FallbackInUse if thresholds.fallback_in_use.enabled => fallback_in_use::check(state).await,
        AlertCondition::DailyQuota if thresholds.daily_quota.enabled => {
            daily_quota::check(state, &thresholds.daily_quota).await
        }
        _ => Ok(Observation::Clear),
    }
}
