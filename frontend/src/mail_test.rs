//! The test panel as plain data: what its inputs hold, how they are checked, and how they and
//! the settings form become the test request. No UI and no browser here.

use postamt_wire::{
    ActingUser, MailConnection, MailTestMode, MailTestRequest, TIMEOUT_SECONDS_DEFAULT, TIMEOUT_SECONDS_MAX,
};

use crate::form::{fields, Draft};
use crate::validate::{check_mailbox, codes, Issue};

/// Field names of the test request, as the API spells them in 422 errors and failures.
pub mod test_fields {
    pub const RECIPIENT: &str = "recipient";
    pub const ACTING_NAME: &str = "acting_user.name";
    pub const ACTING_ADDRESS: &str = "acting_user.address";

    pub const ALL: [&str; 3] = [RECIPIENT, ACTING_NAME, ACTING_ADDRESS];

    /// The element id of a test panel input.
    pub fn dom_id(field: &str) -> Option<&'static str> {
        match field {
            RECIPIENT => Some("test-recipient"),
            ACTING_NAME => Some("test-acting-name"),
            ACTING_ADDRESS => Some("test-acting-address"),
            _ => None,
        }
    }
}

/// The element id of the input for `field`, a settings field or a test request field.
pub fn input_id(field: &str) -> String {
    test_fields::dom_id(field).map(str::to_owned).unwrap_or_else(|| fields::dom_id(field))
}

/// The test panel's inputs exactly as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestInputs {
    pub recipient: String,
    pub mode: MailTestMode,
    pub acting_name: String,
    pub acting_address: String,
    /// "Primärserver / Ersatzserver": which connection to test.
    pub connection: MailConnection,
}

impl TestInputs {
    /// Problems with the panel's own inputs, in page order.
    pub fn issues(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        if let Some(code) = check_mailbox(self.recipient.trim(), true) {
            issues.push(Issue { field: test_fields::RECIPIENT, code });
        }
        if self.acting_name.contains(['\r', '\n']) {
            issues.push(Issue { field: test_fields::ACTING_NAME, code: codes::CONTAINS_LINE_BREAK });
        }
        let address = self.acting_address.trim();
        if address.is_empty() && !self.acting_name.trim().is_empty() {
            issues.push(Issue { field: test_fields::ACTING_ADDRESS, code: codes::REQUIRED });
        } else if let Some(code) = check_mailbox(address, false) {
            issues.push(Issue { field: test_fields::ACTING_ADDRESS, code });
        }
        issues
    }

    /// The request: the form's current values built exactly as saving builds them (so the
    /// password goes along only when one was typed), the recipient, the mode, the acting
    /// user when an address was given, and the connection (the primary while the form has no
    /// fallback server switched on).
    pub fn request(&self, draft: &Draft) -> MailTestRequest {
        MailTestRequest {
            settings: Some(draft.to_input()),
            recipient: self.recipient.trim().to_owned(),
            mode: self.mode,
            acting_user: acting_user(&self.acting_name, &self.acting_address),
            connection: self.connection(draft),
        }
    }

    /// The connection tested: the fallback only while the form has one switched on.
    pub fn connection(&self, draft: &Draft) -> MailConnection {
        if draft.fallback.enabled {
            self.connection
        } else {
            MailConnection::Primary
        }
    }
}

/// An acting user from a name and an address; none without an address.
pub fn acting_user(name: &str, address: &str) -> Option<ActingUser> {
    let address = address.trim();
    let name = name.trim();
    (!address.is_empty())
        .then(|| ActingUser { name: (!name.is_empty()).then(|| name.to_owned()), address: address.to_owned() })
}

/// The longest a test can take with these settings, in whole seconds: the timeout plus the
/// server's one second of grace.
pub fn max_seconds(draft: &Draft) -> u64 {
    let timeout = draft
        .timeout_seconds
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|t| (1..=TIMEOUT_SECONDS_MAX).contains(t))
        .unwrap_or(TIMEOUT_SECONDS_DEFAULT);
    u64::from(timeout) + 1
}

/// How long the page waits for the answer before giving up: the test's own limit plus time for
/// the network and the server's work around it.
pub fn wait_ms(draft: &Draft) -> u32 {
    u32::try_from(max_seconds(draft) * 1000 + 10_000).unwrap_or(u32::MAX)
}

pub fn parse_mode(s: &str) -> MailTestMode {
    match s {
        "probe" => MailTestMode::Probe,
        _ => MailTestMode::Send,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> TestInputs {
        TestInputs {
            recipient: " admin@example.org ".into(),
            mode: MailTestMode::Probe,
            acting_name: String::new(),
            acting_address: String::new(),
            connection: MailConnection::Primary,
        }
    }

    #[test]
    fn request_uses_the_unsaved_form_like_saving_does() {
        let mut d = Draft::new_defaults();
        d.host = "smtp.example.org".into();
        d.auth_enabled = true;
        d.auth_username = "u".into();
        let r = inputs().request(&d);
        assert_eq!(r.settings, Some(d.to_input()));
        assert_eq!(r.settings.as_ref().and_then(|s| s.auth.password.clone()), None);
        assert_eq!(r.recipient, "admin@example.org");
        assert_eq!(r.mode, MailTestMode::Probe);
        assert_eq!(r.acting_user, None);
        d.auth_password = "typed".into();
        assert_eq!(inputs().request(&d).settings.and_then(|s| s.auth.password).as_deref(), Some("typed"));
    }

    #[test]
    fn the_fallback_is_tested_only_while_switched_on() {
        let mut d = Draft::new_defaults();
        d.host = "smtp.example.org".into();
        let mut i = inputs();
        i.connection = MailConnection::Fallback;
        assert_eq!(i.request(&d).connection, MailConnection::Primary);
        d.fallback.enabled = true;
        d.fallback.host = "smtp.backup.example.org".into();
        let r = i.request(&d);
        assert_eq!(r.connection, MailConnection::Fallback);
        assert_eq!(
            r.settings.and_then(|s| s.fallback).and_then(|f| f.host).as_deref(),
            Some("smtp.backup.example.org")
        );
        i.connection = MailConnection::Primary;
        assert_eq!(i.request(&d).connection, MailConnection::Primary);
    }

    #[test]
    fn acting_user_only_with_an_address() {
        assert_eq!(acting_user("Erika", " "), None);
        assert_eq!(
            acting_user(" Erika Mustermann ", "erika@example.org"),
            Some(ActingUser { name: Some("Erika Mustermann".into()), address: "erika@example.org".into() })
        );
        assert_eq!(acting_user("", "erika@example.org").and_then(|u| u.name), None);
    }

    #[test]
    fn panel_checks() {
        assert!(inputs().issues().is_empty());
        let mut i = inputs();
        i.recipient = "nope".into();
        i.acting_name = "Erika".into();
        let found: Vec<_> = i.issues().into_iter().map(|i| (i.field, i.code)).collect();
        assert_eq!(found, vec![("recipient", "invalid_email"), ("acting_user.address", "required")]);
        i.recipient = String::new();
        i.acting_address = "erika@".into();
        let found: Vec<_> = i.issues().into_iter().map(|i| (i.field, i.code)).collect();
        assert_eq!(found, vec![("recipient", "required"), ("acting_user.address", "invalid_email")]);
    }

    #[test]
    fn deadlines() {
        let mut d = Draft::new_defaults();
        assert_eq!(max_seconds(&d), 21);
        d.timeout_seconds = "5".into();
        assert_eq!(max_seconds(&d), 6);
        assert_eq!(wait_ms(&d), 16_000);
        d.timeout_seconds = "500".into();
        assert_eq!(max_seconds(&d), 21);
    }

    #[test]
    fn ids() {
        assert_eq!(input_id("recipient"), "test-recipient");
        assert_eq!(input_id("acting_user.address"), "test-acting-address");
        assert_eq!(input_id("auth.password"), "auth_password");
    }
}
