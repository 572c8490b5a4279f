//! The delivery job: every second (or at once when the evaluation queued something), each
//! instance claims due notifications under a lease and sends them. A failure is retried
//! after 5 s, doubling up to 10 min, for 24 hours; a notification whose channel was removed
//! meanwhile is given up at once.

use super::text::About;
use super::{email, webhook, WEBHOOK_SECRET_PURPOSE};
use crate::db::alerts::notifications::Notification;
use crate::db::alerts::settings::StoredAlerts;
use crate::db::{self, now, utc};
use crate::state::AppState;
use actix_web::web;
use chrono::Duration;
use postamt_wire::{AlertChannel, AlertCondition, AlertEvent, WebhookPayload};
use std::sync::Arc;

/// How often each instance looks for due notifications.
const POLL: std::time::Duration = std::time::Duration::from_secs(1);
/// A claim's lease: longer than a webhook's timeout.
const LEASE_SECONDS: i64 = 60;
/// Notifications claimed at once.
const BATCH: i64 = 10;
/// How long a notification is retried.
const GIVE_UP_AFTER_HOURS: i64 = 24;

pub fn spawn(state: web::Data<AppState>, wake: Arc<tokio::sync::Notify>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = wake.notified() => {}
            }
            if let Err(e) = round(&state).await {
                tracing::error!(error = format!("{e:#}"), "sending alert notifications failed");
            }
        }
    })
}

/// The delay before attempt `attempts + 1`: 5 s, doubling, at most 10 min.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    Duration::seconds((5_i64 << doublings).min(600))
}

async fn round(state: &AppState) -> anyhow::Result<()> {
    let owner = format!("{}:alerts", state.delivery.instance_id);
    let claimed = {
        let owner = owner.clone();
        state
            .db
            .run(move |c| db::alerts::notifications::claim(c, &owner, BATCH, Duration::seconds(LEASE_SECONDS)))
            .await?
    };
    if claimed.is_empty() {
        return Ok(());
    }
    let settings = state.db.run(db::alerts::settings::load).await?;
    for n in claimed {
        let outcome = send(state, &settings, &n).await;
        let (id, owner) = (n.id, owner.clone());
        match outcome {
            Ok(()) => {
                tracing::info!(notification = id, channel = %n.channel, event = %n.event, "alert notification sent");
                state.db.run(move |c| db::alerts::notifications::delivered(c, id, &owner)).await?;
            }
            Err((error, retry)) => {
                let given_up = !retry || now() - n.created_at >= Duration::hours(GIVE_UP_AFTER_HOURS);
                let retry_at = (!given_up).then(|| now() + backoff(n.attempts + 1));
                tracing::warn!(notification = id, channel = %n.channel, error, given_up, "alert notification not sent");
                state.db.run(move |c| db::alerts::notifications::failed(c, id, &owner, &error, retry_at)).await?;
            }
        }
    }
    Ok(())
}

/// Sends one notification; on failure the reason and whether to try again.
async fn send(state: &AppState, settings: &StoredAlerts, n: &Notification) -> Result<(), (String, bool)> {
    let incident_id = n.incident_id;
    let incident = state
        .db
        .run(move |c| db::alerts::incidents::get(c, incident_id))
        .await
        .map_err(|e| (format!("{e:#}"), true))?
        .ok_or_else(|| ("the incident is gone".to_owned(), false))?;
    let event = AlertEvent::parse(&n.event).ok_or_else(|| (format!("unknown event {}", n.event), false))?;
    let condition = AlertCondition::parse(&incident.condition)
        .ok_or_else(|| (format!("unknown condition {}", incident.condition), false))?;
    let about = About {
        event,
        incident: Some((incident.id, condition)),
        detail: &incident.detail,
        instance: &state.delivery.instance_id,
    };
    match AlertChannel::parse(&n.channel) {
        Some(AlertChannel::Webhook) => {
            let payload = WebhookPayload {
                event,
                condition: Some(condition),
                incident_id: Some(incident.id),
                opened_at: Some(utc(incident.opened_at)),
                resolved_at: incident.resolved_at.filter(|_| event == AlertEvent::Resolved).map(utc),
                detail: incident.detail.clone(),
                instance: state.delivery.instance_id.clone(),
                text: about.line(),
            };
            send_webhook(state, settings, &payload).await.map(|_| ()).map_err(|f| (f.error, f.retry))
        }
        Some(AlertChannel::Email) => {
            let recipients = settings.email_recipients.as_deref().unwrap_or_default();
            if recipients.is_empty() {
                return Err(("the e-mail channel was removed".to_owned(), false));
            }
            let key = format!("alert-notification-{}", n.id);
            email::queue(state, recipients, &about, Some(key)).await.map(|_| ()).map_err(|e| (format!("{e:#}"), true))
        }
        None => Err((format!("unknown channel {}", n.channel), false)),
    }
}

/// POSTs to the saved webhook: the receiver's 2xx status, or why not.
pub async fn send_webhook(
    state: &AppState,
    settings: &StoredAlerts,
    payload: &WebhookPayload,
) -> Result<u16, webhook::Failed> {
    let gone = |error: String| webhook::Failed { status: None, error, retry: false };
    let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret_enc) else {
        return Err(gone("the webhook was removed".to_owned()));
    };
    let secret = state.cipher.decrypt(secret, WEBHOOK_SECRET_PURPOSE).map_err(|e| gone(format!("{e:#}")))?;
    webhook::post(url, &secret, payload).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_5_seconds_to_10_minutes() {
        let s: Vec<i64> = (1..=10).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(s, vec![5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
    }
}
