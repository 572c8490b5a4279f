//! Sending mail for every module: `POST /api/v1/messages` and the message status.

use crate::time::{DateTime, Utc};
use crate::{ActingUser, FailureClass, LimitHold, MailAddress, Priority, StageName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Header with which a client makes `POST /api/v1/messages` safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// A mailbox as clients may write it: `"Name <addr>"`, `"addr"`, or an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum MailboxInput {
    /// `"Erika Mustermann <erika@example.org>"` or `"erika@example.org"`.
    Text(String),
    Object(MailAddress),
}

/// An attachment, its content base64-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AttachmentInput {
    /// Shown to the recipient; path parts and control characters are removed.
    pub filename: String,
    /// MIME type, e.g. `application/pdf` (default `application/octet-stream`).
    #[serde(default)]
    pub content_type: Option<String>,
    pub content_base64: String,
}

/// Body of `POST /api/v1/messages`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// The sending module, a lowercase word: `finance`, `calendar`, `otp`, ...
    #[cfg_attr(feature = "openapi", schema(example = "finance"))]
    pub category: String,
    /// The person on whose behalf the module sends; the sender policy decides whether they
    /// appear in From or in Reply-To.
    #[serde(default)]
    pub acting_user: Option<ActingUser>,
    #[serde(default)]
    pub to: Vec<MailboxInput>,
    #[serde(default)]
    pub cc: Vec<MailboxInput>,
    #[serde(default)]
    pub bcc: Vec<MailboxInput>,
    /// Used when the sender policy sets no Reply-To of its own.
    #[serde(default)]
    pub reply_to: Option<MailboxInput>,
    pub subject: String,
    /// Plain text body; at least one of `text` and `html`.
    #[serde(default)]
    pub text: Option<String>,
    /// HTML body; without `text`, a text part is derived from it.
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
    /// Custom headers, `X-` headers only.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Not delivered by then: not sent at all, logged with the class `expired` (one-time
    /// passwords). At most 30 days ahead. Or `expires_in_seconds`, not both.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// As `expires_at`, counted from acceptance: 1 to 2,592,000 (30 days).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = 300, minimum = 1, maximum = 2592000))]
    pub expires_in_seconds: Option<i64>,
    /// `high`, `normal` or `low`; the default comes from the category (`otp` and `alert`
    /// high, everything else normal; `--category-priority` changes it).
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// Where a message is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Accepted and stored; waiting for a worker.
    Queued,
    /// A worker is delivering it now.
    Sending,
    Sent,
    /// A temporary failure; another attempt is scheduled.
    Retrying,
    /// A permanent failure, or no attempts left. May be resent.
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Retrying => "retrying",
            MessageStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<MessageStatus> {
        [Self::Queued, Self::Sending, Self::Sent, Self::Retrying, Self::Failed].into_iter().find(|v| v.as_str() == s)
    }
}

/// Answer to `POST /api/v1/messages` (202): the message is stored and will be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageAccepted {
    pub id: String,
    pub status: MessageStatus,
}

/// The headers the sender policy produced, plus the generated ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyHeaders {
    pub from: MailAddress,
    pub reply_to: Option<MailAddress>,
    /// `MAIL FROM`: the default sender address.
    pub envelope_from: String,
    pub message_id: String,
    pub date: DateTime<Utc>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `sent`, `retrying` (temporary failure) or `failed` (permanent).
    pub outcome: MessageStatus,
    pub stage: Option<StageName>,
    pub class: Option<FailureClass>,
    /// The server's reply, e.g. `451 4.7.1 Greylisted, try again later`.
    pub smtp_reply: Option<String>,
    pub duration_ms: u64,
    /// The connection the attempt went over: `primary` or `fallback` (none when it did
    /// not get as far as a server).
    pub connection: Option<crate::MailConnection>,
}

/// `GET /api/v1/messages/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageView {
    pub id: String,
    pub category: String,
    pub status: MessageStatus,
    pub priority: Priority,
    /// Waiting (queued or retrying) while a sending limit or the server's throttling holds
    /// messages back: which, and until when at the earliest.
    pub held: Option<LimitHold>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    /// Bcc recipients are shown to the API, never put in a header.
    pub bcc: Vec<MailAddress>,
    pub headers: PolicyHeaders,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (queued and retrying only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempts: Vec<DeliveryAttempt>,
    /// Sent messages: the connection that delivered it, `primary` or `fallback`.
    pub delivered_via: Option<crate::MailConnection>,
    /// Whether `POST /api/v1/messages/{id}/resend` can re-queue it (failed, content kept).
    pub resendable: bool,
}
