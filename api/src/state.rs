//! Shared application state, handed to handlers as `web::Data<AppState>`.

use crate::crypto::SecretCipher;
use crate::db::Db;
use crate::delivery::handoff::Handoff;
use crate::delivery::metrics::Metrics;
use crate::delivery::DeliveryOptions;
use crate::domain::outgoing::MessageLimits;
use crate::fresh_cache::FreshCache;
use crate::rate_limit::RateLimiter;
use crate::settings_snapshot::SettingsSnapshot;
use postamt_wire::ApiKey;
use std::sync::Arc;

pub struct AppState {
    pub db: Db,
    pub cipher: SecretCipher,
    pub session_hours: u32,
    /// Test mails per caller: each one opens a connection to a mail server.
    pub test_limiter: RateLimiter,
    pub limits: MessageLimits,
    pub delivery: DeliveryOptions,
    /// Wakes one idle worker of this instance per accepted message.
    pub delivery_notify: tokio::sync::Notify,
    /// Set when a message was stored queued (not handed over): the next worker round
    /// claims from the outbox.
    pub outbox_pending: std::sync::atomic::AtomicBool,
    pub metrics: Metrics,
    /// The settings as the send API reads them (re-read at most once a second).
    pub settings: SettingsSnapshot,
    /// API keys by the hash of the presented token (see `fresh_cache`): a deleted key is
    /// refused here at once, on other instances within a second.
    pub api_keys: FreshCache<String, Arc<ApiKey>>,
    /// Messages accepted here, passed to this instance's workers without a claim query.
    pub handoff: Handoff,
    /// Sending stops for a while after a throttling or quota reply (`delivery::pause`).
    pub pause: crate::delivery::pause::ConnectionPause,
    /// Whether the primary connection is down and the fallback server in use, on this
    /// instance (`delivery::failover`).
    pub failover: crate::delivery::failover::Failover,
    /// OAuth 2.0: the token client, this instance's token cache, the endpoints.
    pub oauth: crate::oauth::OAuthService,
    /// The configured EHLO name; `None`: `postamt_smtp::default_ehlo_name` per connection.
    pub ehlo_name: Option<String>,
    /// Cancelled when the instance shuts down: the delivery workers stop taking messages
    /// and close their SMTP sessions (see `crate::shutdown`).
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// Purpose string bound to the encrypted SMTP password.
pub const SMTP_PASSWORD_PURPOSE: &str = "postamt:mail_settings:auth_password";
/// Purpose string bound to the encrypted password of the fallback server.
pub const FALLBACK_PASSWORD_PURPOSE: &str = "postamt:fallback_connection:auth_password";
/// Purpose strings bound to the fallback's encrypted OAuth client secret and key.
pub const FALLBACK_CLIENT_SECRET_PURPOSE: &str = "postamt:fallback_connection:oauth_client_secret";
pub const FALLBACK_SERVICE_ACCOUNT_KEY_PURPOSE: &str = "postamt:fallback_connection:oauth_service_account_key";
