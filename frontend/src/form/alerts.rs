//! The alerts form ("Benachrichtigungen / Alerts") as plain data: channels and conditions as
//! typed, how the saved alert settings fill them, how they are checked and how they become
//! the request body. No UI and no browser here.
//!
//! The inputs are two arrays (texts and switches) indexed by the constants below: the views
//! and their state are then one loop instead of one copy per input, which keeps the page's
//! wasm small.

use postamt_wire::{
    AlertConditions, AlertEmail, AlertSettings, AlertSettingsInput, DailyQuotaCondition, FailuresCondition,
    FallbackInUseCondition, OAuthCondition, QueueStuckCondition, WebhookInput,
};

use crate::validate::{check_integer, check_mailbox, codes, Issue};

/// Text inputs, by index into [`AlertsDraft::texts`].
pub const URL: usize = 0;
pub const SECRET: usize = 1;
pub const RECIPIENTS: usize = 2;
pub const FAILURES_COUNT: usize = 3;
/// In percent (the API's `ratio` times 100).
pub const FAILURES_PERCENT: usize = 4;
pub const FAILURES_WINDOW: usize = 5;
pub const STUCK_MINUTES: usize = 6;
pub const QUOTA_WINDOW: usize = 7;

/// Switches, by index into [`AlertsDraft::flags`].
pub const WEBHOOK: usize = 0;
pub const EMAIL: usize = 1;
pub const FAILURES: usize = 2;
pub const QUEUE_STUCK: usize = 3;
pub const OAUTH: usize = 4;
pub const DAILY_QUOTA: usize = 5;
pub const FALLBACK_IN_USE: usize = 6;

/// The texts' field names (as the API names them in 422 errors).
pub const TEXT_FIELDS: [&str; 8] = [
    "webhook.url",
    "webhook.secret",
    "email.recipients",
    "conditions.failures.count",
    "conditions.failures.ratio",
    "conditions.failures.window_minutes",
    "conditions.queue_stuck.minutes",
    "conditions.daily_quota.window_minutes",
];

/// The switches' field names (the channels' are the page's own).
pub const FLAG_FIELDS: [&str; 7] = [
    "webhook.enabled",
    "email.enabled",
    "conditions.failures.enabled",
    "conditions.queue_stuck.enabled",
    "conditions.oauth.enabled",
    "conditions.daily_quota.enabled",
    "conditions.fallback_in_use.enabled",
];

/// Every field in page order (the first invalid one gets the focus).
pub const ALL: [&str; 15] = [
    FLAG_FIELDS[WEBHOOK],
    TEXT_FIELDS[URL],
    TEXT_FIELDS[SECRET],
    FLAG_FIELDS[EMAIL],
    TEXT_FIELDS[RECIPIENTS],
    FLAG_FIELDS[FAILURES],
    TEXT_FIELDS[FAILURES_COUNT],
    TEXT_FIELDS[FAILURES_PERCENT],
    TEXT_FIELDS[FAILURES_WINDOW],
    FLAG_FIELDS[QUEUE_STUCK],
    TEXT_FIELDS[STUCK_MINUTES],
    FLAG_FIELDS[OAUTH],
    FLAG_FIELDS[DAILY_QUOTA],
    TEXT_FIELDS[QUOTA_WINDOW],
    FLAG_FIELDS[FALLBACK_IN_USE],
];

pub fn on_page(field: &str) -> bool {
    ALL.contains(&field)
}

/// The field an API error is shown at: `email.recipients[3]` at the recipients.
pub fn error_field(field: &str) -> &str {
    if field.starts_with("email.recipients[") {
        TEXT_FIELDS[RECIPIENTS]
    } else {
        field
    }
}

/// Upper bounds of the numbers (the lower one is 1), as the API checks them.
const COUNT_MAX: i64 = 100_000;
const MINUTES_MAX: i64 = 1440;
const MAX_RECIPIENTS: usize = 10;
const SECRET_CHARS: std::ops::RangeInclusive<usize> = 16..=256;

/// The alerts form exactly as typed (numbers stay text until checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsDraft {
    pub texts: [String; 8],
    pub flags: [bool; 7],
}

impl AlertsDraft {
    /// The form showing saved alert settings (the webhook secret empty: it is write-only).
    pub fn from_saved(s: &AlertSettings) -> Self {
        let c = &s.conditions;
        let webhook = s.webhook.as_ref();
        let recipients = s.email.as_ref().map(|e| e.recipients.join("\n")).unwrap_or_default();
        AlertsDraft {
            texts: [
                webhook.map(|w| w.url.clone()).unwrap_or_default(),
                String::new(),
                recipients,
                c.failures.count.to_string(),
                percent_text(c.failures.ratio),
                c.failures.window_minutes.to_string(),
                c.queue_stuck.minutes.to_string(),
                c.daily_quota.window_minutes.to_string(),
            ],
            flags: [
                webhook.is_some(),
                s.email.is_some(),
                c.failures.enabled,
                c.queue_stuck.enabled,
                c.oauth.enabled,
                c.daily_quota.enabled,
                c.fallback_in_use.enabled,
            ],
        }
    }

    /// A field's value as text (to tell whether it changed since a server error).
    pub fn field_value(&self, field: &str) -> String {
        if let Some(i) = TEXT_FIELDS.iter().position(|f| *f == field) {
            return self.texts[i].clone();
        }
        FLAG_FIELDS.iter().position(|f| *f == field).map(|i| self.flags[i].to_string()).unwrap_or_default()
    }

    /// The recipients as typed: separated by commas, semicolons, spaces or line breaks.
    pub fn recipients(&self) -> Vec<String> {
        self.texts[RECIPIENTS]
            .split([',', ';', ' ', '\t', '\r', '\n'])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The request body. A channel switched off is sent as `null` (removed); the secret only
    /// when typed (else the stored one is kept, while the URL stays the same). A number that
    /// does not parse is sent as 0, which the server refuses naming the field (the page
    /// checks first).
    pub fn to_input(&self) -> AlertSettingsInput {
        let t = &self.texts;
        let f = &self.flags;
        let number = |i: usize| t[i].trim().parse::<u32>().unwrap_or(0);
        AlertSettingsInput {
            webhook: f[WEBHOOK].then(|| WebhookInput {
                url: t[URL].trim().to_owned(),
                secret: (!t[SECRET].is_empty()).then(|| t[SECRET].clone()),
            }),
            email: f[EMAIL].then(|| AlertEmail { recipients: self.recipients() }),
            conditions: AlertConditions {
                failures: FailuresCondition {
                    enabled: f[FAILURES],
                    count: number(FAILURES_COUNT),
                    ratio: parse_percent(&t[FAILURES_PERCENT]).unwrap_or(0.0),
                    window_minutes: number(FAILURES_WINDOW),
                },
                queue_stuck: QueueStuckCondition { enabled: f[QUEUE_STUCK], minutes: number(STUCK_MINUTES) },
                oauth: OAuthCondition { enabled: f[OAUTH] },
                daily_quota: DailyQuotaCondition { enabled: f[DAILY_QUOTA], window_minutes: number(QUOTA_WINDOW) },
                fallback_in_use: FallbackInUseCondition { enabled: f[FALLBACK_IN_USE] },
            },
        }
    }

    /// Every problem at once, in page order, as the server checks them. `saved` decides
    /// whether the secret may stay empty (one stored, and the same URL).
    pub fn issues(&self, saved: &AlertSettings) -> Vec<Issue> {
        let t = &self.texts;
        let mut issues = Vec::new();
        let mut add = |i: usize, code: Option<&'static str>| {
            if let Some(code) = code {
                issues.push(Issue { field: TEXT_FIELDS[i], code });
            }
        };
        if self.flags[WEBHOOK] {
            let url = t[URL].trim();
            add(
                URL,
                if url.is_empty() {
                    Some(codes::REQUIRED)
                } else if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ') {
                    Some(codes::INVALID_URL)
                } else {
                    None
                },
            );
            let kept = saved.webhook.as_ref().is_some_and(|w| w.secret_set && w.url == url);
            add(
                SECRET,
                match t[SECRET].chars().count() {
                    0 if kept => None,
                    0 => Some(codes::REQUIRED),
                    n if !SECRET_CHARS.contains(&n) => Some(codes::INVALID_LENGTH),
                    _ => None,
                },
            );
        }
        if self.flags[EMAIL] {
            let recipients = self.recipients();
            add(
                RECIPIENTS,
                if recipients.is_empty() {
                    Some(codes::REQUIRED)
                } else if recipients.len() > MAX_RECIPIENTS {
                    Some(codes::OUT_OF_RANGE)
                } else {
                    recipients.iter().find_map(|r| check_mailbox(r, true))
                },
            );
        }
        add(FAILURES_COUNT, check_integer(&t[FAILURES_COUNT], 1, COUNT_MAX, true));
        add(
            FAILURES_PERCENT,
            match parse_percent(&t[FAILURES_PERCENT]) {
                _ if t[FAILURES_PERCENT].trim().is_empty() => Some(codes::REQUIRED),
                None => Some(codes::NOT_A_NUMBER),
                Some(r) if !(r > 0.0 && r <= 1.0) => Some(codes::OUT_OF_RANGE),
                Some(_) => None,
            },
        );
        add(FAILURES_WINDOW, check_integer(&t[FAILURES_WINDOW], 1, MINUTES_MAX, true));
        add(STUCK_MINUTES, check_integer(&t[STUCK_MINUTES], 1, MINUTES_MAX, true));
        add(QUOTA_WINDOW, check_integer(&t[QUOTA_WINDOW], 1, MINUTES_MAX, true));
        issues
    }
}

/// A ratio as a percentage for the form: 0.5 → "50", 0.125 → "12.5" (at most two decimals;
/// integer arithmetic only, which keeps float formatting out of the page's wasm).
pub fn percent_text(ratio: f64) -> String {
    let hundredths = (ratio * 10_000.0).round().max(0.0) as u64;
    let (whole, part) = (hundredths / 100, hundredths % 100);
    match part {
        0 => whole.to_string(),
        p if p % 10 == 0 => format!("{whole}.{}", p / 10),
        p => format!("{whole}.{p:02}"),
    }
}

/// A percentage as typed ("50", "12.5", "12,5") as a ratio; `None` when it is not a number.
/// Parsed by hand for the same reason as [`percent_text`].
pub fn parse_percent(text: &str) -> Option<f64> {
    let text = text.trim();
    let (whole, part) = text.split_once(['.', ',']).unwrap_or((text, ""));
    let digits = |s: &str| s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && part.is_empty()) || !digits(whole) || !digits(part) {
        return None;
    }
    let whole = whole.parse::<u32>().unwrap_or(0);
    let part_value = part.parse::<u32>().unwrap_or(0);
    let scale = 10u32.pow(part.len() as u32);
    Some((f64::from(whole) + f64::from(part_value) / f64::from(scale)) / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use postamt_wire::WebhookView;

    fn saved() -> AlertSettings {
        AlertSettings {
            webhook: Some(WebhookView { url: "https://hooks.example.org/postamt".into(), secret_set: true }),
            email: Some(AlertEmail { recipients: vec!["ops@example.org".into(), "it@example.org".into()] }),
            conditions: AlertConditions::default(),
            version: 3,
            updated_at: None,
            updated_by: None,
        }
    }

    fn never_saved() -> AlertSettings {
        AlertSettings {
            webhook: None,
            email: None,
            conditions: AlertConditions::default(),
            version: 0,
            updated_at: None,
            updated_by: None,
        }
    }

    fn codes_of(d: &AlertsDraft, s: &AlertSettings) -> Vec<(&'static str, &'static str)> {
        d.issues(s).into_iter().map(|i| (i.field, i.code)).collect()
    }

    #[test]
    fn saved_settings_go_back_unchanged_without_the_secret() {
        let s = saved();
        let d = AlertsDraft::from_saved(&s);
        assert_eq!(d.texts[RECIPIENTS], "ops@example.org\nit@example.org");
        assert_eq!(d.texts[FAILURES_PERCENT], "50");
        assert!(codes_of(&d, &s).is_empty());
        let input = d.to_input();
        assert_eq!(input.webhook, Some(WebhookInput { url: "https://hooks.example.org/postamt".into(), secret: None }));
        assert_eq!(input.email, s.email);
        assert_eq!(input.conditions, AlertConditions::default());
    }

    #[test]
    fn never_saved_shows_the_defaults_and_no_channel() {
        let s = never_saved();
        let d = AlertsDraft::from_saved(&s);
        assert_eq!(d.flags, [false, false, true, true, true, true, true]);
        assert_eq!(d.texts[FAILURES_COUNT], "10");
        assert!(codes_of(&d, &s).is_empty());
        let input = d.to_input();
        assert_eq!((input.webhook, input.email), (None, None));
    }

    #[test]
    fn the_secret_is_needed_for_a_new_url_and_checked_for_length() {
        let s = saved();
        let mut d = AlertsDraft::from_saved(&s);
        d.texts[URL] = "https://hooks.example.org/other".into();
        assert_eq!(codes_of(&d, &s), vec![("webhook.secret", "required")]);
        d.texts[SECRET] = "short".into();
        assert_eq!(codes_of(&d, &s), vec![("webhook.secret", "invalid_length")]);
        d.texts[SECRET] = "a-secret-of-enough-length".into();
        assert!(codes_of(&d, &s).is_empty());
        assert_eq!(d.to_input().webhook.and_then(|w| w.secret).as_deref(), Some("a-secret-of-enough-length"));
        // Nothing stored yet: required even for the URL shown.
        let mut new = AlertsDraft::from_saved(&never_saved());
        new.flags[WEBHOOK] = true;
        assert_eq!(codes_of(&new, &never_saved()), vec![("webhook.url", "required"), ("webhook.secret", "required")]);
        new.texts[URL] = "hooks.example.org".into();
        assert_eq!(codes_of(&new, &never_saved())[0], ("webhook.url", "invalid_url"));
    }

    #[test]
    fn recipients_are_split_and_checked() {
        let s = saved();
        let mut d = AlertsDraft::from_saved(&s);
        d.texts[RECIPIENTS] = " a@example.org, b@example.org;\n\nc@example.org ".into();
        assert_eq!(d.recipients(), ["a@example.org", "b@example.org", "c@example.org"]);
        assert!(codes_of(&d, &s).is_empty());
        d.texts[RECIPIENTS] = "a@example.org, nope".into();
        assert_eq!(codes_of(&d, &s), vec![("email.recipients", "invalid_email")]);
        d.texts[RECIPIENTS] = " ".into();
        assert_eq!(codes_of(&d, &s), vec![("email.recipients", "required")]);
        d.texts[RECIPIENTS] = (0..11).map(|i| format!("a{i}@example.org")).collect::<Vec<_>>().join(",");
        assert_eq!(codes_of(&d, &s), vec![("email.recipients", "out_of_range")]);
        // Switched off: not checked, sent as null.
        d.flags[EMAIL] = false;
        assert!(codes_of(&d, &s).is_empty());
        assert_eq!(d.to_input().email, None);
        assert_eq!(error_field("email.recipients[3]"), "email.recipients");
        assert_eq!(error_field("webhook.url"), "webhook.url");
    }

    #[test]
    fn thresholds_are_checked_in_range() {
        let s = saved();
        let mut d = AlertsDraft::from_saved(&s);
        d.texts[FAILURES_COUNT] = "0".into();
        d.texts[FAILURES_PERCENT] = "101".into();
        d.texts[FAILURES_WINDOW] = "x".into();
        d.texts[STUCK_MINUTES] = "1441".into();
        d.texts[QUOTA_WINDOW] = "".into();
        assert_eq!(
            codes_of(&d, &s),
            vec![
                ("conditions.failures.count", "out_of_range"),
                ("conditions.failures.ratio", "out_of_range"),
                ("conditions.failures.window_minutes", "not_a_number"),
                ("conditions.queue_stuck.minutes", "out_of_range"),
                ("conditions.daily_quota.window_minutes", "required"),
            ]
        );
        d.texts[FAILURES_COUNT] = " 25 ".into();
        d.texts[FAILURES_PERCENT] = "12,5".into();
        d.flags[OAUTH] = false;
        let c = d.to_input().conditions;
        assert_eq!((c.failures.count, c.failures.ratio, c.oauth.enabled), (25, 0.125, false));
        // What does not parse goes as 0, which the server refuses by name.
        assert_eq!(c.failures.window_minutes, 0);
    }

    #[test]
    fn percentages() {
        assert_eq!(percent_text(0.5), "50");
        assert_eq!(percent_text(0.125), "12.5");
        assert_eq!(percent_text(0.3333), "33.33");
        assert_eq!(percent_text(1.0), "100");
        assert_eq!(parse_percent("50"), Some(0.5));
        assert_eq!(parse_percent(" 12,5 "), Some(0.125));
        assert_eq!(parse_percent(".5"), Some(0.005));
        assert_eq!(parse_percent("5%"), None);
        assert_eq!(parse_percent("1.2.3"), None);
        assert_eq!(parse_percent(""), None);
        for r in [0.5, 0.125, 0.01, 1.0, 0.3333] {
            assert_eq!(parse_percent(&percent_text(r)), Some(r), "{r}");
        }
    }

    #[test]
    fn field_values_and_names() {
        let d = AlertsDraft::from_saved(&saved());
        assert_eq!(d.field_value("conditions.queue_stuck.minutes"), "15");
        assert_eq!(d.field_value("webhook.enabled"), "true");
        assert_eq!(d.field_value("nope"), "");
        assert!(ALL.iter().all(|f| TEXT_FIELDS.contains(f) || FLAG_FIELDS.contains(f)));
        assert!(on_page("conditions.failures.ratio") && !on_page("email.recipients[0]"));
    }
}
