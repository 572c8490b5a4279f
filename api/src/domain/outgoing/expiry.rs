//! A message's expiry from `expires_at` or `expires_in_seconds` (one-time passwords).

use crate::domain::Violations;
use chrono::{DateTime, Utc};

/// The longest an expiry may lie ahead.
const MAX_EXPIRY_SECONDS: i64 = 30 * 24 * 3600;

/// `expires_at` or `expires_in_seconds` (not both) as a point in time.
pub(super) fn expiry(
    v: &mut Violations,
    at: Option<DateTime<Utc>>,
    in_seconds: Option<i64>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match (at, in_seconds) {
        (Some(_), Some(_)) => {
            v.add("expires_in_seconds", "conflicts", "give expires_at or expires_in_seconds, not both");
            None
        }
        (None, Some(secs)) if !(1..=MAX_EXPIRY_SECONDS).contains(&secs) => {
            v.add("expires_in_seconds", "out_of_range", "must be between 1 and 2592000 (30 days)");
            None
        }
        (None, Some(secs)) => Some(now + chrono::Duration::seconds(secs)),
        (Some(at), None) if at <= now => {
            v.add("expires_at", "in_the_past", "must lie in the future");
            None
        }
        (Some(at), None) if at > now + chrono::Duration::seconds(MAX_EXPIRY_SECONDS) => {
            v.add("expires_at", "out_of_range", "must lie at most 30 days ahead");
            None
        }
        (at, None) => at,
    }
}
