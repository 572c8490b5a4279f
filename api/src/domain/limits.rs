//! The sending limits of the connection: checked at the edge, named in the history.

use super::Violations;
use postamt_wire::{SendingLimits, CONCURRENT_SESSIONS_MAX, LIMIT_MAX};

/// Each limit's field (as the API names it) with its value and bound.
fn fields(limits: &SendingLimits) -> [(&'static str, Option<u32>, u32); 5] {
    [
        ("limits.messages_per_minute", limits.messages_per_minute, LIMIT_MAX),
        ("limits.messages_per_hour", limits.messages_per_hour, LIMIT_MAX),
        ("limits.messages_per_day", limits.messages_per_day, LIMIT_MAX),
        ("limits.recipients_per_day", limits.recipients_per_day, LIMIT_MAX),
        ("limits.concurrent_sessions", limits.concurrent_sessions, CONCURRENT_SESSIONS_MAX),
    ]
}

/// Every limit is absent or between 1 and its bound. (An out-of-range JSON number such as
/// -1 never gets here: the body is refused with the field named when it is read.)
pub fn check_limits(v: &mut Violations, limits: &SendingLimits) {
    for (field, value, max) in fields(limits) {
        if value.is_some_and(|n| n == 0 || n > max) {
            v.add(field, "out_of_range", format!("must be between 1 and {max}, or left out for no limit"));
        }
    }
}

/// The limits' fields for the settings history.
pub const HISTORY_FIELDS: [&str; 5] = [
    "limits.messages_per_minute",
    "limits.messages_per_hour",
    "limits.messages_per_day",
    "limits.recipients_per_day",
    "limits.concurrent_sessions",
];

/// A limit's value as the history shows it.
pub fn history_value(limits: &SendingLimits, field: &str) -> Option<String> {
    fields(limits).into_iter().find(|(name, ..)| *name == field).and_then(|(_, value, _)| value.map(|n| n.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_too_large_are_refused_with_their_field() {
        let mut v = Violations::default();
        let limits = SendingLimits {
            messages_per_minute: Some(0),
            concurrent_sessions: Some(101),
            ..SendingLimits::microsoft_365()
        };
        check_limits(&mut v, &limits);
        let fields: Vec<&str> = v.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limits.messages_per_minute", "limits.concurrent_sessions"]);
        let mut v = Violations::default();
        check_limits(&mut v, &SendingLimits::google_workspace());
        assert!(v.0.is_empty());
    }

    #[test]
    fn history_names_each_limit() {
        let limits = SendingLimits::microsoft_365();
        assert_eq!(history_value(&limits, "limits.messages_per_minute").as_deref(), Some("30"));
        assert_eq!(history_value(&limits, "limits.messages_per_day"), None);
        assert!(HISTORY_FIELDS.iter().all(|f| fields(&limits).iter().any(|(name, ..)| name == f)));
    }
}
