//! Alerts: an incident opens when a condition holds and resolves when it no longer does; each
//! sends one "firing" and one "resolved" notification per channel, whatever the number of
//! instances.
//!
//! A map, for a newcomer:
//! - settings: `routes::alerts` (`/api/v1/alert-settings`) parses them with [`settings`]
//!   (the webhook secret encrypted under [`WEBHOOK_SECRET_PURPOSE`]); `db::alerts::settings`
//!   stores one versioned row.
//! - conditions: one file each under [`conditions`]; [`conditions::observe`] asks the one
//!   an `AlertCondition` names whether it holds now.
//! - evaluation: [`evaluate::spawn`] runs on every instance every `--alert-check-seconds`.
//!   It opens an incident with a conditional insert (a partial unique index allows one open
//!   incident per condition) and resolves it with a conditional update once the condition
//!   has been clear for a full check; only the instance whose statement changed the row
//!   queues the notifications, in the same transaction (`db::alerts::incidents`).
//! - delivery: [`dispatch::spawn`] on every instance claims due notifications under a lease
//!   (`db::alerts::notifications`) and sends them: [`webhook`] (signed POST, retried with
//!   backoff for 24 hours) or [`email`] (a message in the outbox, category `alert`).
//! - `POST /api/v1/alerts/test` sends a test on each channel at once, without storing it.

pub mod conditions;
pub mod dispatch;
pub mod email;
pub mod evaluate;
pub mod settings;
pub mod text;
pub mod webhook;

use crate::db::alerts::settings::StoredAlerts;
use crate::state::AppState;
use actix_web::web;
use postamt_wire::AlertChannel;
use std::sync::Arc;
use std::time::Duration;

/// Purpose bound to the encrypted webhook secret (see `crypto::SecretCipher::encrypt`).
pub const WEBHOOK_SECRET_PURPOSE: &str = "postamt:alert_settings:webhook_secret";

/// The category of alert e-mails in the outbox.
pub const EMAIL_CATEGORY: &str = "alert";

/// The channels the settings configure.
pub fn channels(settings: &StoredAlerts) -> Vec<AlertChannel> {
    let mut channels = Vec::new();
    if settings.webhook_url.is_some() {
        channels.push(AlertChannel::Webhook);
    }
    if settings.email_recipients.as_ref().is_some_and(|r| !r.is_empty()) {
        channels.push(AlertChannel::Email);
    }
    channels
}

/// Starts this instance's evaluation and delivery jobs (stopped at shutdown like the OAuth
/// check: they hold nothing open).
pub fn spawn(state: web::Data<AppState>, check_interval: Duration) -> Vec<tokio::task::JoinHandle<()>> {
    let wake = Arc::new(tokio::sync::Notify::new());
    vec![evaluate::spawn(state.clone(), check_interval, wake.clone()), dispatch::spawn(state, wake)]
}
