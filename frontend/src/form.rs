//! The settings form as plain data: what the inputs hold, how saved settings fill them and how
//! they become the request body. No UI and no browser here.

use postamt_wire::{AuthInput, Encryption, MailSettings, MailSettingsInput, TlsSettings, TIMEOUT_SECONDS_DEFAULT};

/// Every field of the form exactly as typed (numbers stay text until validated, so a half-typed
/// value is never lost or silently changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub host: String,
    pub port: String,
    pub encryption: Encryption,
    pub sender_name: String,
    pub sender_address: String,
    pub auth_enabled: bool,
    pub auth_username: String,
    /// Only what the admin typed in this editing session; the stored password never reaches the page.
    pub auth_password: String,
    pub tls_trusted_ca_pem: String,
    pub tls_accept_invalid_certificates: bool,
    pub force_default_sender: bool,
    pub reply_to_individual_sender: bool,
    pub timeout_seconds: String,
}

/// Form field names, in the dotted form the API uses in field errors and warnings.
pub mod fields {
    pub const HOST: &str = "host";
    pub const PORT: &str = "port";
    pub const ENCRYPTION: &str = "encryption";
    pub const SENDER_NAME: &str = "sender_name";
    pub const SENDER_ADDRESS: &str = "sender_address";
    pub const AUTH_ENABLED: &str = "auth.enabled";
    pub const AUTH_USERNAME: &str = "auth.username";
    pub const AUTH_PASSWORD: &str = "auth.password";
    pub const TLS_TRUSTED_CA_PEM: &str = "tls.trusted_ca_pem";
    pub const TLS_ACCEPT_INVALID_CERTIFICATES: &str = "tls.accept_invalid_certificates";
    pub const FORCE_DEFAULT_SENDER: &str = "force_default_sender";
    pub const REPLY_TO_INDIVIDUAL_SENDER: &str = "reply_to_individual_sender";
    pub const TIMEOUT_SECONDS: &str = "timeout_seconds";

    /// In the order they appear on the page (the first invalid one gets the focus).
    pub const ALL: [&str; 13] = [
        HOST,
        ENCRYPTION,
        PORT,
        SENDER_NAME,
        SENDER_ADDRESS,
        AUTH_ENABLED,
        AUTH_USERNAME,
        AUTH_PASSWORD,
        TLS_TRUSTED_CA_PEM,
        TLS_ACCEPT_INVALID_CERTIFICATES,
        FORCE_DEFAULT_SENDER,
        REPLY_TO_INDIVIDUAL_SENDER,
        TIMEOUT_SECONDS,
    ];

    /// The element id of a field's input: dots become underscores (`auth.password` → `auth_password`).
    pub fn dom_id(field: &str) -> String {
        field.replace('.', "_")
    }
}

impl Draft {
    /// An empty form for settings that were never saved: STARTTLS on 587, 20 s timeout.
    pub fn new_defaults() -> Self {
        let encryption = Encryption::Starttls;
        Draft {
            host: String::new(),
            port: encryption.default_port().to_string(),
            encryption,
            sender_name: String::new(),
            sender_address: String::new(),
            auth_enabled: false,
            auth_username: String::new(),
            auth_password: String::new(),
            tls_trusted_ca_pem: String::new(),
            tls_accept_invalid_certificates: false,
            force_default_sender: false,
            reply_to_individual_sender: false,
            timeout_seconds: TIMEOUT_SECONDS_DEFAULT.to_string(),
        }
    }

    /// The form showing saved settings (password empty: it is write-only).
    pub fn from_saved(s: &MailSettings) -> Self {
        Draft {
            host: s.host.clone(),
            port: s.port.to_string(),
            encryption: s.encryption,
            sender_name: s.sender_name.clone(),
            sender_address: s.sender_address.clone(),
            auth_enabled: s.auth.enabled,
            auth_username: s.auth.username.clone().unwrap_or_default(),
            auth_password: String::new(),
            tls_trusted_ca_pem: s.tls.trusted_ca_pem.clone().unwrap_or_default(),
            tls_accept_invalid_certificates: s.tls.accept_invalid_certificates,
            force_default_sender: s.force_default_sender,
            reply_to_individual_sender: s.reply_to_individual_sender,
            timeout_seconds: s.timeout_seconds.to_string(),
        }
    }

    /// What the form shows for `saved` (`None`: not configured yet).
    pub fn for_saved(saved: Option<&MailSettings>) -> Self {
        saved.map(Draft::from_saved).unwrap_or_else(Draft::new_defaults)
    }

    /// The value of one field as text, to tell whether a field changed since a server error.
    pub fn field_value(&self, field: &str) -> String {
        fn flag(b: bool) -> String {
            b.to_string()
        }
        match field {
            fields::HOST => self.host.clone(),
            fields::PORT => self.port.clone(),
            fields::ENCRYPTION => self.encryption.as_str().to_owned(),
            fields::SENDER_NAME => self.sender_name.clone(),
            fields::SENDER_ADDRESS => self.sender_address.clone(),
            fields::AUTH_ENABLED => flag(self.auth_enabled),
            fields::AUTH_USERNAME => self.auth_username.clone(),
            fields::AUTH_PASSWORD => self.auth_password.clone(),
            fields::TLS_TRUSTED_CA_PEM => self.tls_trusted_ca_pem.clone(),
            fields::TLS_ACCEPT_INVALID_CERTIFICATES => flag(self.tls_accept_invalid_certificates),
            fields::FORCE_DEFAULT_SENDER => flag(self.force_default_sender),
            fields::REPLY_TO_INDIVIDUAL_SENDER => flag(self.reply_to_individual_sender),
            fields::TIMEOUT_SECONDS => self.timeout_seconds.clone(),
            _ => String::new(),
        }
    }

    /// Whether the connection or the account changed against the saved settings, in which case
    /// the server insists on the password being entered again.
    pub fn connection_changed(&self, saved: &MailSettings) -> bool {
        self.host.trim() != saved.host
            || self.port.trim() != saved.port.to_string()
            || self.encryption != saved.encryption
            || self.auth_username.trim() != saved.auth.username.as_deref().unwrap_or("")
    }

    /// The request body. Text is trimmed (except the password); empty optional fields are
    /// omitted; the password is sent only when one was typed, so the stored one is kept.
    pub fn to_input(&self) -> MailSettingsInput {
        fn text(s: &str) -> Option<String> {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        fn number(s: &str) -> Option<i64> {
            s.trim().parse().ok()
        }
        MailSettingsInput {
            host: text(&self.host),
            port: number(&self.port),
            encryption: Some(self.encryption),
            sender_name: text(&self.sender_name),
            sender_address: text(&self.sender_address),
            auth: AuthInput {
                enabled: self.auth_enabled,
                username: text(&self.auth_username),
                password: (self.auth_enabled && !self.auth_password.is_empty()).then(|| self.auth_password.clone()),
                ..AuthInput::default()
            },
            tls: TlsSettings {
                trusted_ca_pem: text(&self.tls_trusted_ca_pem),
                accept_invalid_certificates: self.tls_accept_invalid_certificates,
            },
            force_default_sender: self.force_default_sender,
            reply_to_individual_sender: self.reply_to_individual_sender,
            timeout_seconds: number(&self.timeout_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_sent_only_when_typed_and_auth_is_on() {
        let mut d = Draft::new_defaults();
        d.auth_enabled = true;
        assert_eq!(d.to_input().auth.password, None);
        d.auth_password = " secret ".into();
        assert_eq!(d.to_input().auth.password.as_deref(), Some(" secret "));
        d.auth_enabled = false;
        assert_eq!(d.to_input().auth.password, None);
    }

    #[test]
    fn text_is_trimmed_and_empty_optional_fields_are_omitted() {
        let mut d = Draft::new_defaults();
        d.host = "  smtp.example.org ".into();
        d.timeout_seconds = " ".into();
        let input = d.to_input();
        assert_eq!(input.host.as_deref(), Some("smtp.example.org"));
        assert_eq!(input.port, Some(587));
        assert_eq!(input.timeout_seconds, None);
        assert_eq!(input.tls.trusted_ca_pem, None);
    }
}
