//! Alerts: channels (signed webhook, e-mail), conditions, incidents, the webhook's body.

use crate::time::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an incident is about. Each condition has one file under `api/src/alerts/conditions/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertCondition {
    /// Failed delivery attempts within a window above a count or a ratio.
    Failures,
    /// The oldest message not yet sent has waited longer than allowed.
    QueueStuck,
    /// The OAuth connection needs reconnecting, or its token refresh fails.
    Oauth,
    /// A daily limit is used up (`messages_per_day`, `recipients_per_day`), or the server
    /// answered that the quota is exceeded (`quota_exceeded`).
    DailyQuota,
    /// The primary server fails and the fallback server delivers instead.
    FallbackInUse,
}

impl AlertCondition {
    pub const ALL: [AlertCondition; 5] = [
        AlertCondition::Failures,
        AlertCondition::QueueStuck,
        AlertCondition::Oauth,
        AlertCondition::DailyQuota,
        AlertCondition::FallbackInUse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertCondition::Failures => "failures",
            AlertCondition::QueueStuck => "queue_stuck",
            AlertCondition::Oauth => "oauth",
            AlertCondition::DailyQuota => "daily_quota",
            AlertCondition::FallbackInUse => "fallback_in_use",
        }
    }

    pub fn parse(s: &str) -> Option<AlertCondition> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What a notification says (`X-Postamt-Event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    /// An incident was opened.
    Firing,
    /// The incident is over.
    Resolved,
    /// `POST /api/v1/alerts/test`.
    Test,
}

impl AlertEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertEvent::Firing => "firing",
            AlertEvent::Resolved => "resolved",
            AlertEvent::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<AlertEvent> {
        [AlertEvent::Firing, AlertEvent::Resolved, AlertEvent::Test].into_iter().find(|e| e.as_str() == s)
    }
}

/// Where notifications go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertChannel {
    Webhook,
    Email,
}

impl AlertChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertChannel::Webhook => "webhook",
            AlertChannel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<AlertChannel> {
        [AlertChannel::Webhook, AlertChannel::Email].into_iter().find(|c| c.as_str() == s)
    }
}

/// `webhook` as sent: where to POST, and the secret that signs each body.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// https (http only on loopback), e.g. a Slack or Teams incoming webhook.
    #[cfg_attr(feature = "openapi", schema(example = "https://hooks.example.org/postamt"))]
    pub url: String,
    /// Key of the `X-Postamt-Signature` HMAC-SHA256 (16 to 256 characters). Write-only:
    /// omit it to keep the stored one, which is allowed only while `url` stays the same.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = Password, write_only))]
    pub secret: Option<String>,
}

impl std::fmt::Debug for WebhookInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookInput").field("url", &self.url).field("secret_set", &self.secret.is_some()).finish()
    }
}

/// `webhook` as returned: the secret only as `secret_set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub url: String,
    pub secret_set: bool,
}

/// `email`: the admins who get alerts by mail (through the outbox, category `alert`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertEmail {
    /// 1 to 10 addresses.
    pub recipients: Vec<String>,
}

/// Failed delivery attempts within `window_minutes`: at least `count`, or at least `ratio`
/// of all attempts (when there were at least `count / 2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct FailuresCondition {
    pub enabled: bool,
    /// 1 to 100,000 (default 10).
    pub count: u32,
    /// Above 0, at most 1 (default 0.5).
    pub ratio: f64,
    /// 1 to 1,440 (default 15).
    pub window_minutes: u32,
}

impl Default for FailuresCondition {
    fn default() -> Self {
        FailuresCondition { enabled: true, count: 10, ratio: 0.5, window_minutes: 15 }
    }
}

/// The oldest message not yet sent (queued, being sent or waiting for a retry) older than
/// `minutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct QueueStuckCondition {
    pub enabled: bool,
    /// 1 to 1,440 (default 15).
    pub minutes: u32,
}

impl Default for QueueStuckCondition {
    fn default() -> Self {
        QueueStuckCondition { enabled: true, minutes: 15 }
    }
}

/// The OAuth connection needs reconnecting (a revoked or invalid grant) or its token
/// refresh fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct OAuthCondition {
    pub enabled: bool,
}

impl Default for OAuthCondition {
    fn default() -> Self {
        OAuthCondition { enabled: true }
    }
}

/// A daily sending limit is used up, or the server refused with a quota reply within the
/// last `window_minutes`: messages wait until the quota allows again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct DailyQuotaCondition {
    pub enabled: bool,
    /// 1 to 1,440 (default 15): how far back a quota reply counts.
    pub window_minutes: u32,
}

impl Default for DailyQuotaCondition {
    fn default() -> Self {
        DailyQuotaCondition { enabled: true, window_minutes: 15 }
    }
}

/// The primary server is down and the fallback server delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct FallbackInUseCondition {
    pub enabled: bool,
}

impl Default for FallbackInUseCondition {
    fn default() -> Self {
        FallbackInUseCondition { enabled: true }
    }
}

/// The conditions; each one left out takes its defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct AlertConditions {
    pub failures: FailuresCondition,
    pub queue_stuck: QueueStuckCondition,
    pub oauth: OAuthCondition,
    pub daily_quota: DailyQuotaCondition,
    pub fallback_in_use: FallbackInUseCondition,
}

/// Body of `PUT /api/v1/alert-settings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertSettingsInput {
    #[serde(default)]
    pub webhook: Option<WebhookInput>,
    #[serde(default)]
    pub email: Option<AlertEmail>,
    #[serde(default)]
    pub conditions: AlertConditions,
}

/// The alert settings (`GET`/`PUT /api/v1/alert-settings`). Before anything is saved:
/// no channel, the default conditions, version 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertSettings {
    pub webhook: Option<WebhookView>,
    pub email: Option<AlertEmail>,
    pub conditions: AlertConditions,
    /// Also the ETag.
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

/// An incident's state: firing until resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Firing,
    Resolved,
}

/// How the notifications of an incident went on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelNotifications {
    pub channel: AlertChannel,
    /// Delivered (webhook: a 2xx answer; e-mail: queued in the outbox).
    pub delivered: u32,
    /// Still being tried.
    pub pending: u32,
    /// Given up after 24 hours, or the channel was removed.
    pub failed: u32,
}

/// One incident: one "firing" and one "resolved" notification per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertIncident {
    pub id: i64,
    pub condition: AlertCondition,
    pub state: IncidentState,
    pub opened_at: DateTime<Utc>,
    /// The last check that found the condition holding.
    pub last_seen_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// What the last check saw, in English.
    pub detail: String,
    pub notifications: Vec<ChannelNotifications>,
}

/// `GET /api/v1/alerts`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertList {
    pub incidents: Vec<AlertIncident>,
}

/// The outcome of a test notification on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertTestOutcome {
    pub channel: AlertChannel,
    pub ok: bool,
    /// Webhook: the receiver's HTTP status.
    pub status: Option<u16>,
    pub error: Option<String>,
    /// E-mail: the queued message (see `GET /api/v1/messages/{id}`).
    pub message_id: Option<String>,
}

/// `POST /api/v1/alerts/test`: one outcome per configured channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertTestResult {
    pub results: Vec<AlertTestOutcome>,
}

/// Header with `sha256=<hex HMAC-SHA256 of the body, keyed with the webhook secret>`.
pub const SIGNATURE_HEADER: &str = "X-Postamt-Signature";
/// Header with the event (`firing`, `resolved`, `test`).
pub const EVENT_HEADER: &str = "X-Postamt-Event";

/// The webhook's JSON body. `text` is one sentence for people, so the same body works as a
/// Slack or Teams incoming webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookPayload {
    pub event: AlertEvent,
    /// `null` for a test.
    pub condition: Option<AlertCondition>,
    /// `null` for a test.
    pub incident_id: Option<i64>,
    pub opened_at: Option<DateTime<Utc>>,
    /// Set for `resolved`.
    pub resolved_at: Option<DateTime<Utc>>,
    pub detail: String,
    /// The instance that sent it.
    pub instance: String,
    pub text: String,
}
