//! The fallback server's part of the settings form as plain data ("Ersatzserver / Fallback
//! server"): what its inputs hold, how the saved fallback fills them, how they are checked and
//! how they become `fallback` in the request. No UI and no browser here.
//!
//! The page signs in to the fallback with a password. A fallback saved with OAuth 2.0 (set up
//! over the API) is carried through unchanged, its secrets kept by the server's rule, and so
//! are its TLS settings: the page's size budget has no room for their inputs.

use postamt_wire::{
    AuthMethod, Encryption, FallbackAuthInput, FallbackInput, FallbackView, MailSettings, OAuth2Input, OAuth2View,
    TlsSettings,
};

use crate::validate::{check_host, check_integer, check_mailbox, check_username, codes, Issue};

/// Field names, as the API names them in field errors and warnings.
pub mod fields {
    use super::super::fields as primary;

    /// The switch "use a fallback server" (the API's `fallback` itself: present or `null`).
    pub const ENABLED: &str = "fallback";
    pub const HOST: &str = "fallback.host";
    pub const PORT: &str = "fallback.port";
    pub const ENCRYPTION: &str = "fallback.encryption";
    pub const AUTH_ENABLED: &str = "fallback.auth.enabled";
    pub const AUTH_USERNAME: &str = "fallback.auth.username";
    pub const AUTH_PASSWORD: &str = "fallback.auth.password";
    pub const ENVELOPE_SENDER: &str = "fallback.envelope_sender";

    /// The inputs, in the order they appear on the page.
    pub const ALL: [&str; 8] =
        [ENABLED, HOST, ENCRYPTION, PORT, AUTH_ENABLED, AUTH_USERNAME, AUTH_PASSWORD, ENVELOPE_SENDER];

    /// The primary connection's fields and the fallback's of the same meaning (the TLS
    /// settings have no input of the fallback's on the page).
    const PAIRS: [(&str, &str); 9] = [
        (primary::HOST, HOST),
        (primary::ENCRYPTION, ENCRYPTION),
        (primary::PORT, PORT),
        (primary::AUTH_ENABLED, AUTH_ENABLED),
        (primary::AUTH_METHOD, "fallback.auth.method"),
        (primary::AUTH_USERNAME, AUTH_USERNAME),
        (primary::AUTH_PASSWORD, AUTH_PASSWORD),
        (primary::TLS_TRUSTED_CA_PEM, "fallback.tls.trusted_ca_pem"),
        (primary::TLS_ACCEPT_INVALID_CERTIFICATES, "fallback.tls.accept_invalid_certificates"),
    ];

    /// The fallback's field for a field of the primary connection: a test mail over the
    /// fallback names the connection's fields as the primary's (`host` is the fallback's host).
    #[cfg_attr(not(feature = "fallback"), allow(dead_code))]
    pub fn of_primary(field: &str) -> Option<&'static str> {
        PAIRS.iter().find(|p| p.0 == field).map(|p| p.1)
    }

    /// The primary's field for a field of the fallback (`fallback.port` → `port`): they share
    /// labels and error texts.
    pub fn primary_of(field: &str) -> Option<&'static str> {
        PAIRS.iter().find(|p| p.1 == field).map(|p| p.0)
    }
}

/// The fallback's inputs exactly as typed. Kept while the switch is off, so switching it off
/// and on again loses nothing; only `enabled` decides what is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackDraft {
    pub enabled: bool,
    pub host: String,
    pub port: String,
    pub encryption: Encryption,
    pub auth_enabled: bool,
    pub auth_username: String,
    /// Only what the admin typed in this editing session; the stored password never reaches the page.
    pub auth_password: String,
    pub envelope_sender: String,
    /// A saved OAuth 2.0 sign-in as a request part (secrets left out: kept); the page has no
    /// inputs for it (see the module docs).
    pub oauth: Option<OAuth2Input>,
    /// The saved TLS settings, sent back unchanged (no inputs on the page).
    pub tls: TlsSettings,
}

impl Default for FallbackDraft {
    /// Switched off, STARTTLS on 587.
    fn default() -> Self {
        FallbackDraft {
            enabled: false,
            host: String::new(),
            port: Encryption::Starttls.default_port().to_string(),
            encryption: Encryption::Starttls,
            auth_enabled: false,
            auth_username: String::new(),
            auth_password: String::new(),
            envelope_sender: String::new(),
            oauth: None,
            tls: TlsSettings::default(),
        }
    }
}

/// The saved OAuth sign-in as sent back: provider, flow and app unchanged, secrets omitted.
fn oauth_input(o: &OAuth2View) -> OAuth2Input {
    OAuth2Input {
        provider: Some(o.provider),
        flow: Some(o.flow),
        tenant: o.tenant.clone(),
        client_id: o.client_id.clone(),
        client_secret: None,
        service_account_key: None,
        token_url: o.token_url.clone(),
        authorization_url: o.authorization_url.clone(),
        scope: o.scope.clone(),
    }
}

impl FallbackDraft {
    /// The form showing the saved fallback (`None`: none saved, switched off).
    pub fn from_saved(f: Option<&FallbackView>) -> Self {
        let Some(f) = f else { return FallbackDraft::default() };
        let oauth = f.auth.oauth2.as_ref().filter(|_| f.auth.method == AuthMethod::Oauth2).map(oauth_input);
        FallbackDraft {
            enabled: true,
            host: f.host.clone(),
            port: f.port.to_string(),
            encryption: f.encryption,
            auth_enabled: f.auth.enabled,
            auth_username: f.auth.username.clone().unwrap_or_default(),
            auth_password: String::new(),
            envelope_sender: f.envelope_sender.clone().unwrap_or_default(),
            oauth,
            tls: f.tls.clone(),
        }
    }

    /// Signs in with the saved OAuth 2.0 (else with a password, when auth is on).
    pub fn uses_oauth(&self) -> bool {
        self.auth_enabled && self.oauth.is_some()
    }

    /// `fallback` in the request: `None` (sent as `null`, which removes a saved one) while
    /// switched off. Text trimmed (except the password), empty optional fields omitted, the
    /// password only when typed (so the stored one is kept).
    pub fn to_input(&self) -> Option<FallbackInput> {
        if !self.enabled {
            return None;
        }
        let oauth = self.uses_oauth();
        Some(FallbackInput {
            host: text(&self.host),
            port: self.port.trim().parse().ok(),
            encryption: Some(self.encryption),
            auth: FallbackAuthInput {
                enabled: self.auth_enabled,
                method: if oauth { AuthMethod::Oauth2 } else { AuthMethod::Password },
                username: text(&self.auth_username),
                password: (self.auth_enabled && !oauth && !self.auth_password.is_empty())
                    .then(|| self.auth_password.clone()),
                oauth2: if oauth { self.oauth.clone() } else { None },
            },
            tls: self.tls.clone(),
            envelope_sender: text(&self.envelope_sender),
        })
    }

    /// The value of one of the fallback's fields as text; `None` for other fields.
    #[cfg_attr(not(feature = "fallback"), allow(dead_code))]
    pub fn field_value(&self, field: &str) -> Option<String> {
        Some(match field {
            fields::ENABLED => self.enabled.to_string(),
            fields::HOST => self.host.clone(),
            fields::PORT => self.port.clone(),
            fields::ENCRYPTION => self.encryption.as_str().to_owned(),
            fields::AUTH_ENABLED => self.auth_enabled.to_string(),
            fields::AUTH_USERNAME => self.auth_username.clone(),
            fields::AUTH_PASSWORD => self.auth_password.clone(),
            fields::ENVELOPE_SENDER => self.envelope_sender.clone(),
            _ => return None,
        })
    }

    /// Whether the server insists on the password being typed again: host, port, encryption
    /// or username differ from the saved fallback's (the server's rule).
    #[cfg_attr(not(feature = "fallback"), allow(dead_code))]
    fn connection_changed(&self, saved: &FallbackView) -> bool {
        self.host.trim() != saved.host
            || self.port.trim() != saved.port.to_string()
            || self.encryption != saved.encryption
            || self.auth_username.trim() != saved.auth.username.as_deref().unwrap_or("")
    }

    /// The fallback's problems (none while switched off), in page order, as the server
    /// checks them. `primary` is the primary's host and port as typed, `saved` the settings
    /// the server holds (they decide whether a password must be typed).
    #[cfg_attr(not(feature = "fallback"), allow(dead_code))]
    pub fn issues(&self, primary: (&str, &str), saved: Option<&MailSettings>, out: &mut Vec<Issue>) {
        if !self.enabled {
            return;
        }
        let mut add = |field: &'static str, code: Option<&'static str>| {
            if let Some(code) = code {
                out.push(Issue { field, code });
            }
        };
        let host = self.host.trim();
        let same = host.eq_ignore_ascii_case(primary.0.trim()) && self.port.trim() == primary.1.trim();
        add(fields::HOST, check_host(host).or(same.then_some(codes::SAME_AS_PRIMARY)));
        add(fields::PORT, check_integer(&self.port, 1, 65535, true));
        if self.auth_enabled {
            add(fields::AUTH_USERNAME, check_username(self.auth_username.trim()));
            if !self.uses_oauth() {
                add(fields::AUTH_PASSWORD, self.password_issue(saved.and_then(|s| s.fallback.as_ref())));
            }
        }
        add(fields::ENVELOPE_SENDER, check_mailbox(self.envelope_sender.trim(), false));
    }

    #[cfg_attr(not(feature = "fallback"), allow(dead_code))]
    fn password_issue(&self, saved: Option<&FallbackView>) -> Option<&'static str> {
        if !self.auth_password.is_empty() {
            return None;
        }
        match saved {
            Some(s) if s.auth.enabled && s.auth.method == AuthMethod::Password && s.auth.password_set => {
                self.connection_changed(s).then_some(codes::PASSWORD_REQUIRED_AGAIN)
            }
            _ => Some(codes::REQUIRED),
        }
    }
}

/// Trimmed text, `None` when empty.
fn text(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postamt_wire::{FallbackAuthView, OAuthConnection, OAuthFlow, OAuthProvider};

    fn saved_view(password_set: bool) -> FallbackView {
        FallbackView {
            host: "smtp.backup.example.org".into(),
            port: 587,
            encryption: Encryption::Starttls,
            auth: FallbackAuthView {
                enabled: true,
                method: AuthMethod::Password,
                username: Some("relay@example.org".into()),
                password_set,
                oauth2: None,
            },
            tls: TlsSettings::default(),
            envelope_sender: Some("bounces@backup.example.org".into()),
        }
    }

    fn settings_with(fallback: Option<FallbackView>) -> MailSettings {
        MailSettings {
            host: "smtp.example.org".into(),
            port: 587,
            encryption: Encryption::Starttls,
            sender_name: "TEAMBOX".into(),
            sender_address: "teambox@example.org".into(),
            auth: postamt_wire::AuthView {
                enabled: false,
                method: AuthMethod::Password,
                username: None,
                password_set: false,
                oauth2: None,
            },
            tls: TlsSettings::default(),
            force_default_sender: false,
            reply_to_individual_sender: false,
            timeout_seconds: 20,
            limits: postamt_wire::SendingLimits::default(),
            fallback,
            version: 1,
            updated_at: postamt_wire::time::DateTime::from_rfc3339_text("1970-01-01T00:00:00Z"),
            updated_by: "admin".into(),
            warnings: vec![],
        }
    }

    fn codes_of(d: &FallbackDraft, saved: Option<&MailSettings>) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        d.issues(("smtp.example.org", "587"), saved, &mut out);
        out.into_iter().map(|i| (i.field, i.code)).collect()
    }

    #[test]
    fn switched_off_sends_null_and_checks_nothing() {
        let mut d = FallbackDraft::from_saved(Some(&saved_view(true)));
        assert!(d.enabled);
        d.enabled = false;
        d.host = "not a host".into();
        assert_eq!(d.to_input(), None);
        assert!(codes_of(&d, None).is_empty());
        assert_eq!(FallbackDraft::from_saved(None), FallbackDraft::default());
        assert_eq!(FallbackDraft::default().to_input(), None);
    }

    #[test]
    fn saved_fallback_goes_back_unchanged_without_its_password() {
        let view = saved_view(true);
        let d = FallbackDraft::from_saved(Some(&view));
        let input = d.to_input().expect("switched on");
        assert_eq!(input.host.as_deref(), Some("smtp.backup.example.org"));
        assert_eq!(input.port, Some(587));
        assert_eq!(input.encryption, Some(Encryption::Starttls));
        assert!(input.auth.enabled);
        assert_eq!(input.auth.method, AuthMethod::Password);
        assert_eq!(input.auth.username.as_deref(), Some("relay@example.org"));
        assert_eq!(input.auth.password, None);
        assert_eq!(input.envelope_sender.as_deref(), Some("bounces@backup.example.org"));
        assert_eq!(input.tls, view.tls);
        // Nothing to type: the stored password is kept for the same server and username.
        assert!(codes_of(&d, Some(&settings_with(Some(view)))).is_empty());
    }

    #[test]
    fn password_rules_as_the_primarys() {
        let view = saved_view(true);
        let saved = settings_with(Some(view.clone()));
        let mut d = FallbackDraft::from_saved(Some(&view));
        d.port = "465".into();
        assert_eq!(codes_of(&d, Some(&saved)), vec![("fallback.auth.password", "password_required_again")]);
        d.auth_password = " typed ".into();
        assert!(codes_of(&d, Some(&saved)).is_empty());
        assert_eq!(d.to_input().and_then(|f| f.auth.password).as_deref(), Some(" typed "));
        // Nothing stored: required; auth off: not sent.
        let mut new = FallbackDraft { enabled: true, host: "smtp.backup.example.org".into(), ..Default::default() };
        new.auth_enabled = true;
        new.auth_username = "relay".into();
        assert_eq!(codes_of(&new, None), vec![("fallback.auth.password", "required")]);
        new.auth_password = "x".into();
        new.auth_enabled = false;
        assert_eq!(new.to_input().and_then(|f| f.auth.password), None);
    }

    #[test]
    fn checks_name_the_fallbacks_fields() {
        let mut d = FallbackDraft { enabled: true, ..Default::default() };
        d.port = "0".into();
        d.auth_enabled = true;
        d.envelope_sender = "nope".into();
        assert_eq!(
            codes_of(&d, None),
            vec![
                ("fallback.host", "required"),
                ("fallback.port", "out_of_range"),
                ("fallback.auth.username", "required"),
                ("fallback.auth.password", "required"),
                ("fallback.envelope_sender", "invalid_email"),
            ]
        );
        // The primary's own server is no fallback (host case-insensitive).
        let same = FallbackDraft { enabled: true, host: "SMTP.example.org".into(), ..Default::default() };
        assert_eq!(codes_of(&same, None), vec![("fallback.host", "same_as_primary")]);
    }

    #[test]
    fn an_oauth_fallback_is_carried_through() {
        let mut view = saved_view(false);
        view.auth.method = AuthMethod::Oauth2;
        view.auth.oauth2 = Some(OAuth2View {
            provider: OAuthProvider::Microsoft,
            flow: OAuthFlow::ClientCredentials,
            tenant: Some("contoso.onmicrosoft.com".into()),
            client_id: Some("app".into()),
            token_url: None,
            authorization_url: None,
            scope: None,
            client_secret_set: true,
            service_account_key_set: false,
            service_account: None,
            connection: OAuthConnection::unknown(),
        });
        let mut d = FallbackDraft::from_saved(Some(&view));
        assert!(codes_of(&d, Some(&settings_with(Some(view.clone())))).is_empty());
        let auth = d.to_input().expect("on").auth;
        assert_eq!(auth.method, AuthMethod::Oauth2);
        let o = auth.oauth2.expect("oauth2 sent back");
        assert_eq!((o.provider, o.flow), (Some(OAuthProvider::Microsoft), Some(OAuthFlow::ClientCredentials)));
        assert_eq!((o.tenant.as_deref(), o.client_secret), (Some("contoso.onmicrosoft.com"), None));
        // Authentication off: neither is sent.
        d.auth_enabled = false;
        let auth = d.to_input().expect("on").auth;
        assert_eq!((auth.method, auth.oauth2, auth.password), (AuthMethod::Password, None, None));
    }

    #[test]
    fn primary_fields_map_to_the_fallbacks() {
        assert_eq!(fields::of_primary("host"), Some("fallback.host"));
        assert_eq!(fields::of_primary("auth.password"), Some("fallback.auth.password"));
        assert_eq!(
            fields::of_primary("tls.accept_invalid_certificates"),
            Some("fallback.tls.accept_invalid_certificates")
        );
        assert_eq!(fields::of_primary("sender_address"), None);
        assert_eq!(fields::primary_of("fallback.port"), Some("port"));
        assert_eq!(fields::primary_of("fallback.envelope_sender"), None);
        assert_eq!(fields::primary_of("port"), None);
        for f in &fields::ALL[1..7] {
            assert_eq!(fields::primary_of(f).and_then(fields::of_primary), Some(*f));
        }
    }
}
