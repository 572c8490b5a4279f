//! A worker under sending limits (see `delivery::limits` for the map): its turns, the
//! wait for a granted slot, and the session lease it gives back.

use super::{Worker, BATCH, HELD_RECHECK, INLINE_UP_TO, RECLAIM_EVERY};
use crate::db::messages::Claimed;
use crate::db::now;
use crate::db::send_limits::Turn;
use crate::delivery::limits;
use crate::delivery::worker::lease;
use postamt_wire::SendingLimits;
use std::time::{Duration, Instant};

impl Worker {
    /// Under sending limits: the messages granted to this worker with their slot times, or
    /// `None` after waiting (a limit holds, or nothing is due).
    pub(super) async fn limited_turn(
        &mut self,
        limits: SendingLimits,
    ) -> Option<Vec<(Claimed, chrono::NaiveDateTime)>> {
        // Handed over before the limits were seen: they take their turn like the others.
        let handed: Vec<String> = self.state.handoff.take(BATCH as usize).await.into_iter().map(|m| m.id).collect();
        if !handed.is_empty() {
            self.give_back(handed).await;
        }
        let reclaim = self.reclaimed_at.is_none_or(|at| at.elapsed() > RECLAIM_EVERY);
        if reclaim {
            self.reclaimed_at = Some(Instant::now());
        }
        let turn =
            limits::take_turn(&self.state, &self.id, limits, BATCH, lease(self.claim_timeout), reclaim, INLINE_UP_TO)
                .await;
        self.session_lease = limits.concurrent_sessions.is_some() && !matches!(turn, Ok(Turn::Held(_)));
        match turn {
            Ok(Turn::Granted(granted)) => {
                self.lease_renewed = Instant::now();
                self.due_known = None;
                Some(granted)
            }
            Ok(Turn::Empty) => {
                self.settle().await;
                self.all_recorded().await;
                if limits.concurrent_sessions.is_some() {
                    // Nothing to send: an idle session must not keep another worker (maybe on
                    // another instance) from sending.
                    self.close_session().await;
                }
                self.idle().await;
                None
            }
            Ok(Turn::Held(hold)) => {
                self.settle().await;
                self.all_recorded().await;
                if hold.reason == postamt_wire::LimitReason::ConcurrentSessions {
                    // Without a lease this worker keeps no session open.
                    if let Some(open) = self.open.take() {
                        open.session.close().await;
                    }
                }
                let left = (hold.until.naive_utc() - now()).to_std().unwrap_or(Duration::ZERO);
                tracing::debug!(worker = %self.id, reason = hold.reason.as_str(), wait_ms = left.as_millis() as u64, "a sending limit holds messages back");
                tokio::select! {
                    _ = tokio::time::sleep(left.clamp(Duration::from_millis(10), HELD_RECHECK)) => {}
                    _ = self.state.shutdown.cancelled() => {}
                }
                None
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "claiming messages under the sending limits failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                None
            }
        }
    }

    /// Waits for a granted slot of the per-minute spacing. What is in flight is read
    /// meanwhile, and the records are committed: a slow limit must not hold them.
    pub(super) async fn wait_for_slot(&mut self, slot: chrono::NaiveDateTime) {
        let Ok(left) = (slot - now()).to_std() else { return };
        if left < Duration::from_millis(2) {
            return;
        }
        self.settle().await;
        self.recorded().await;
        let left = (slot - now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(left) => {}
            _ = self.state.shutdown.cancelled() => {}
        }
    }

    /// Closes the SMTP session, and gives its lease of the concurrent-sessions limit back.
    pub(super) async fn close_session(&mut self) {
        if let Some(open) = self.open.take() {
            open.session.close().await;
        }
        if std::mem::take(&mut self.session_lease) {
            limits::release_session(&self.state, &self.id).await;
        }
    }
}
