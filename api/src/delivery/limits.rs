//! Sending limits: what the SMTP server lets one mailbox send (Microsoft 365: 30 messages a
//! minute, 10,000 recipients a day, 3 connections; Google Workspace: 2,000 messages a day).
//!
//! How a message travels under limits (a map; each step names its file):
//! 1. `routes::messages`: with limits set, an accepted message is stored queued instead of
//!    being handed to this instance's workers, so that every message takes its turn.
//! 2. `delivery::worker::Worker::run` asks [`take_turn`] instead of claiming freely.
//! 3. `db::send_limits::claim`, in one transaction that locks the limiter row (so all
//!    instances take turns): a session lease when sessions are limited, the next free slots
//!    of the per-minute spacing, the room left in the hour and the day (per-minute counters
//!    in `send_usage`), then the claim itself, high priority first (`db::messages`), and the
//!    recipients that fit. What it grants is counted at once.
//! 4. The worker sends each granted message at its slot time; a message that waits for a
//!    limit stays queued (never failed), and `GET /api/v1/messages/{id}` shows the hold.
//! 5. Without limits none of this runs: the claim is the unlimited one of `db::messages`.

use crate::db::send_limits::{self, LimitedClaim, Turn};
use crate::db::Durability;
use crate::state::AppState;
use postamt_wire::SendingLimits;

/// Slots up to this far ahead are granted at once (the worker waits for them): enough for
/// a few messages at high rates, little enough that a high-priority message arriving now
/// finds the next slot free.
const HORIZON: chrono::Duration = chrono::Duration::seconds(1);

/// The limits in force now (the settings as the send API sees them, at most a second old).
pub async fn in_force(state: &AppState) -> Option<SendingLimits> {
    match state.settings.get(&state.db).await {
        Ok(Some(settings)) if settings.limits.any() => Some(settings.limits),
        Ok(_) => None,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "reading the sending limits failed");
            None
        }
    }
}

/// The next messages `worker` may send under `limits` (see the module map).
pub async fn take_turn(
    state: &AppState,
    worker: &str,
    limits: SendingLimits,
    batch: i64,
    lease: chrono::Duration,
    reclaim_expired: bool,
    inline_up_to: i64,
) -> anyhow::Result<Turn> {
    let worker = worker.to_owned();
    state
        .db
        .write(Durability::Relaxed, move |conn| {
            send_limits::claim(
                conn,
                &LimitedClaim {
                    worker: &worker,
                    limits: &limits,
                    batch,
                    lease,
                    reclaim_expired,
                    inline_up_to,
                    horizon: HORIZON,
                },
            )
        })
        .await
}

/// `worker` closed its SMTP session: its session lease goes to the next worker.
pub async fn release_session(state: &AppState, worker: &str) {
    let worker = worker.to_owned();
    if let Err(e) = state.db.run(move |conn| send_limits::release_session(conn, &worker)).await {
        // Not lost: the lease runs out by itself.
        tracing::error!(error = format!("{e:#}"), "releasing an SMTP session lease failed");
    }
}
