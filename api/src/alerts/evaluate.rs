//! The evaluation job: every check interval, each instance asks every condition whether it
//! holds and records the answer on the incidents (see `db::alerts::incidents` for why two
//! instances never open or resolve one incident twice).

use super::conditions::{observe, Observation};
use crate::db;
use crate::db::alerts::incidents::Change;
use crate::state::AppState;
use actix_web::web;
use postamt_wire::AlertCondition;
use std::sync::Arc;
use std::time::Duration;

/// How often resolved incidents older than the mail log's retention are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

pub fn spawn(
    state: web::Data<AppState>,
    interval: Duration,
    wake: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut purged_at: Option<std::time::Instant> = None;
        loop {
            tick.tick().await;
            if purged_at.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                purged_at = Some(std::time::Instant::now());
                if let Err(e) = purge(&state).await {
                    tracing::error!(error = format!("{e:#}"), "purging old incidents failed");
                }
            }
            match check(&state, interval).await {
                Ok(true) => wake.notify_one(),
                Ok(false) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "alert check failed"),
            }
        }
    })
}

/// One check of every condition; whether a notification was queued.
pub async fn check(state: &AppState, interval: Duration) -> anyhow::Result<bool> {
    let settings = state.db.run(db::alerts::settings::load).await?;
    let channels = super::channels(&settings);
    // Clear for a whole interval (less a little for the timer's drift): the next check
    // after the one that first found it clear resolves it.
    let settle = chrono::Duration::from_std(interval - interval / 10)?;
    let mut queued = false;
    for condition in AlertCondition::ALL {
        let observation = match observe(condition, state, &settings.conditions).await {
            Ok(o) => o,
            Err(e) => {
                // One condition that cannot be read does not stop the others.
                tracing::error!(condition = condition.as_str(), error = format!("{e:#}"), "alert condition failed");
                continue;
            }
        };
        let targets = channels.clone();
        let change = state
            .db
            .run(move |conn| match observation {
                Observation::Holds(detail) => db::alerts::incidents::holds(conn, condition, &detail, &targets),
                Observation::Clear => db::alerts::incidents::clear(conn, condition, settle, &targets),
            })
            .await?;
        match change {
            Change::Opened(id) => {
                tracing::warn!(incident = id, condition = condition.as_str(), "alert: incident opened")
            }
            Change::Resolved(id) => {
                tracing::info!(incident = id, condition = condition.as_str(), "alert: incident resolved")
            }
            Change::None => continue,
        }
        queued |= !channels.is_empty();
    }
    Ok(queued)
}

/// Resolved incidents are kept as long as the mail log (`--log-retention-days`).
async fn purge(state: &AppState) -> anyhow::Result<()> {
    let before = db::now() - state.delivery.log_retention;
    state.db.run(move |conn| db::alerts::incidents::purge(conn, before)).await?;
    Ok(())
}
