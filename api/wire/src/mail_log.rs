//! The mail log: every delivery attempt and every test, without message bodies.

use crate::time::{DateTime, Utc};
use crate::{FailureClass, MessageStatus, SettingsField, StageName};
use serde::{Deserialize, Serialize};

/// What a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// A delivery attempt of a module's message.
    Delivery,
    /// A test mail or probe from the settings page or the API.
    Test,
    /// A problem of the connection found outside a delivery, e.g. an OAuth 2.0 token refresh
    /// that failed (category `oauth`).
    Connection,
}

/// One log entry. Bodies, subjects and attachments are never logged: one-time passwords
/// and invoices must not end up in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailLogEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: LogKind,
    /// The message (deliveries only).
    pub message_id: Option<String>,
    /// The sending module; `test` for tests.
    pub category: String,
    /// `sent`, `retrying` or `failed` (tests: `sent` or `failed`).
    pub status: MessageStatus,
    pub recipients: Vec<String>,
    /// Envelope sender.
    pub sender: String,
    /// Attempt number (deliveries only).
    pub attempt: Option<u32>,
    pub stage: Option<StageName>,
    pub class: Option<FailureClass>,
    /// The settings field most likely at fault.
    pub field: Option<SettingsField>,
    pub smtp_reply: Option<String>,
    pub hint_de: Option<String>,
    pub hint_en: Option<String>,
    /// The SMTP server used, `host:port`.
    pub server: Option<String>,
    /// Which connection that server is: `primary` or `fallback` (deliveries and tests).
    pub connection: Option<crate::MailConnection>,
    pub duration_ms: u64,
}

/// A page of `GET /api/v1/mail-log`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailLogPage {
    pub entries: Vec<MailLogEntry>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Failures of one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorGroup {
    pub class: FailureClass,
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The most recent failure of this class.
    pub latest: MailLogEntry,
}

/// `GET /api/v1/mail-log/errors`: failures since `since`, as a list or grouped by class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailErrors {
    pub since: DateTime<Utc>,
    /// Failures, newest first (without `group`); at most `limit`.
    pub entries: Vec<MailLogEntry>,
    /// With `group=class`: one group per class, most frequent first.
    pub groups: Vec<ErrorGroup>,
    /// All failures since `since`.
    pub total: u64,
}
