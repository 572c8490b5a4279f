//! Sending limits of the SMTP connection, message priorities, and the use of the limits
//! (`GET /api/v1/mail-settings/usage`).

use crate::time::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Upper bound of every limit (a typo such as 300000000 is refused, not obeyed).
pub const LIMIT_MAX: u32 = 10_000_000;
/// Upper bound of `concurrent_sessions`.
pub const CONCURRENT_SESSIONS_MAX: u32 = 100;

/// What the SMTP server lets one mailbox send. Every limit is optional (absent: none) and
/// holds across all instances. A message over a limit waits in the outbox, high priority
/// first; it never fails because of a limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendingLimits {
    /// Messages in any 60 seconds; they are spaced evenly (30 a minute: one every 2 s).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = 30, minimum = 1, maximum = 10000000))]
    pub messages_per_minute: Option<u32>,
    /// Messages in any 60 minutes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000000))]
    pub messages_per_hour: Option<u32>,
    /// Messages in any 24 hours.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = 2000, minimum = 1, maximum = 10000000))]
    pub messages_per_day: Option<u32>,
    /// Recipients (To, Cc and Bcc together) in any 24 hours.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = 10000, minimum = 1, maximum = 10000000))]
    pub recipients_per_day: Option<u32>,
    /// SMTP sessions open at once, all instances together.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = 3, minimum = 1, maximum = 100))]
    pub concurrent_sessions: Option<u32>,
}

impl SendingLimits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        *self != SendingLimits::default()
    }

    /// Microsoft 365 / Exchange Online: 30 messages a minute, 10,000 recipients a day,
    /// 3 concurrent connections per mailbox.
    pub fn microsoft_365() -> SendingLimits {
        SendingLimits {
            messages_per_minute: Some(30),
            recipients_per_day: Some(10_000),
            concurrent_sessions: Some(3),
            ..SendingLimits::default()
        }
    }

    /// Google Workspace (smtp.gmail.com): 2,000 messages and 10,000 recipients a day.
    pub fn google_workspace() -> SendingLimits {
        SendingLimits { messages_per_day: Some(2_000), recipients_per_day: Some(10_000), ..SendingLimits::default() }
    }
}

/// How urgent a message is. Workers and limits serve `high` before `normal` before `low`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// As stored: 0 high, 1 normal, 2 low (the outbox claims in ascending order).
    pub fn rank(self) -> i16 {
        match self {
            Priority::High => 0,
            Priority::Normal => 1,
            Priority::Low => 2,
        }
    }

    pub fn from_rank(rank: i16) -> Priority {
        match rank {
            0 => Priority::High,
            2 => Priority::Low,
            _ => Priority::Normal,
        }
    }
}

/// Which limit holds messages back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LimitReason {
    MessagesPerMinute,
    MessagesPerHour,
    MessagesPerDay,
    RecipientsPerDay,
    ConcurrentSessions,
    /// The server answered with a throttling or quota reply (`throttled`, `quota_exceeded`).
    ServerThrottled,
}

impl LimitReason {
    pub const ALL: [LimitReason; 6] = [
        LimitReason::MessagesPerMinute,
        LimitReason::MessagesPerHour,
        LimitReason::MessagesPerDay,
        LimitReason::RecipientsPerDay,
        LimitReason::ConcurrentSessions,
        LimitReason::ServerThrottled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LimitReason::MessagesPerMinute => "messages_per_minute",
            LimitReason::MessagesPerHour => "messages_per_hour",
            LimitReason::MessagesPerDay => "messages_per_day",
            LimitReason::RecipientsPerDay => "recipients_per_day",
            LimitReason::ConcurrentSessions => "concurrent_sessions",
            LimitReason::ServerThrottled => "server_throttled",
        }
    }

    pub fn parse(s: &str) -> Option<LimitReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Why waiting messages wait, and until when (at the earliest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitHold {
    pub reason: LimitReason,
    pub until: DateTime<Utc>,
}

/// One limit and its use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitUse {
    pub limit: LimitReason,
    /// The configured maximum (`None`: no limit set; the use is shown anyway).
    pub max: Option<u32>,
    /// Used in the current window (sessions: open now).
    pub used: u64,
}

/// `GET /api/v1/mail-settings/usage`: the limits' use, across all instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendingUsage {
    /// Messages per minute, hour and day, recipients per day, sessions (in that order).
    pub limits: Vec<LimitUse>,
    /// Set while a limit or the server's throttling holds messages back.
    pub hold: Option<LimitHold>,
    /// Messages waiting (queued or retrying), by priority.
    pub waiting_high: u64,
    pub waiting_normal: u64,
    pub waiting_low: u64,
}
