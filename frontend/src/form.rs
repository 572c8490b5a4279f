//! The settings form as plain data: what the inputs hold, how saved settings fill them and how
//! they become the request body. No UI and no browser here.

use postamt_wire::{
    AuthInput, AuthMethod, Encryption, MailSettings, MailSettingsInput, OAuth2Input, OAuthFlow, OAuthProvider,
    SendingLimits, TlsSettings, TIMEOUT_SECONDS_DEFAULT,
};

#[cfg(feature = "alerts")]
pub mod alerts;
pub mod fallback;

pub use fallback::FallbackDraft;

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
    pub auth_method: AuthMethod,
    pub oauth: OAuthDraft,
    pub tls_trusted_ca_pem: String,
    pub tls_accept_invalid_certificates: bool,
    pub force_default_sender: bool,
    pub reply_to_individual_sender: bool,
    pub timeout_seconds: String,
    /// The sending limits as typed, in the order of [`fields::LIMITS`]; empty: no limit.
    pub limits: [String; 5],
    /// The fallback server ("Ersatzserver").
    pub fallback: FallbackDraft,
}

/// The OAuth 2.0 part of the form (kept while the method is "password", so switching back and
/// forth loses nothing). Secrets hold only what was typed in this editing session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthDraft {
    pub provider: OAuthProvider,
    pub flow: OAuthFlow,
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    pub service_account_key: String,
    pub token_url: String,
    pub authorization_url: String,
    pub scope: String,
}

impl Default for OAuthDraft {
    fn default() -> Self {
        OAuthDraft {
            provider: OAuthProvider::Microsoft,
            flow: OAuthFlow::ClientCredentials,
            tenant: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            service_account_key: String::new(),
            token_url: String::new(),
            authorization_url: String::new(),
            scope: String::new(),
        }
    }
}

impl OAuthDraft {
    /// The text fields, in the order of `state::OAuthState::texts`.
    pub fn texts(&self) -> [&String; 7] {
        [
            &self.tenant,
            &self.client_id,
            &self.client_secret,
            &self.service_account_key,
            &self.token_url,
            &self.authorization_url,
            &self.scope,
        ]
    }
}

/// The flows a provider offers, the first being the one picked when switching to it.
pub fn flows_of(provider: OAuthProvider) -> &'static [OAuthFlow] {
    use OAuthFlow as F;
    match provider {
        OAuthProvider::Google => &[F::AuthorizationCode, F::ServiceAccount],
        _ => &[F::ClientCredentials, F::AuthorizationCode],
    }
}

/// Which OAuth fields a provider and flow use (the API rejects the others as `not_applicable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthUses {
    pub tenant: bool,
    pub client: bool,
    pub secret_required: bool,
    pub key: bool,
    pub generic: bool,
    pub authorization_url: bool,
}

impl OAuthUses {
    pub fn of(provider: OAuthProvider, flow: OAuthFlow) -> Self {
        let generic = provider == OAuthProvider::Generic;
        let key = flow == OAuthFlow::ServiceAccount;
        OAuthUses {
            tenant: provider == OAuthProvider::Microsoft,
            client: !key,
            secret_required: flow == OAuthFlow::ClientCredentials
                || (flow == OAuthFlow::AuthorizationCode && provider == OAuthProvider::Google),
            key,
            generic,
            authorization_url: generic && flow == OAuthFlow::AuthorizationCode,
        }
    }
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
    pub const AUTH_METHOD: &str = "auth.method";
    pub const OAUTH_PROVIDER: &str = "auth.oauth2.provider";
    pub const OAUTH_FLOW: &str = "auth.oauth2.flow";
    pub const OAUTH_TENANT: &str = "auth.oauth2.tenant";
    pub const OAUTH_CLIENT_ID: &str = "auth.oauth2.client_id";
    pub const OAUTH_CLIENT_SECRET: &str = "auth.oauth2.client_secret";
    pub const OAUTH_SERVICE_ACCOUNT_KEY: &str = "auth.oauth2.service_account_key";
    pub const OAUTH_TOKEN_URL: &str = "auth.oauth2.token_url";
    pub const OAUTH_AUTHORIZATION_URL: &str = "auth.oauth2.authorization_url";
    pub const OAUTH_SCOPE: &str = "auth.oauth2.scope";
    /// The delegated sign-in ("Connect account"); a test mail may point at it.
    pub const OAUTH_CONNECTION: &str = "auth.oauth2.connection";
    pub const TLS_TRUSTED_CA_PEM: &str = "tls.trusted_ca_pem";
    pub const TLS_ACCEPT_INVALID_CERTIFICATES: &str = "tls.accept_invalid_certificates";
    pub const FORCE_DEFAULT_SENDER: &str = "force_default_sender";
    pub const REPLY_TO_INDIVIDUAL_SENDER: &str = "reply_to_individual_sender";
    pub const TIMEOUT_SECONDS: &str = "timeout_seconds";
    /// The sending limits, in the order of `SendingLimits`' fields (and of the usage's).
    pub const LIMITS: [&str; 5] = [
        "limits.messages_per_minute",
        "limits.messages_per_hour",
        "limits.messages_per_day",
        "limits.recipients_per_day",
        "limits.concurrent_sessions",
    ];

    /// In the order they appear on the page (the first invalid one gets the focus).
    pub const ALL: [&str; 29] = [
        HOST,
        ENCRYPTION,
        PORT,
        SENDER_NAME,
        SENDER_ADDRESS,
        AUTH_ENABLED,
        AUTH_METHOD,
        AUTH_USERNAME,
        AUTH_PASSWORD,
        OAUTH_PROVIDER,
        OAUTH_FLOW,
        OAUTH_TENANT,
        OAUTH_CLIENT_ID,
        OAUTH_CLIENT_SECRET,
        OAUTH_SERVICE_ACCOUNT_KEY,
        OAUTH_TOKEN_URL,
        OAUTH_AUTHORIZATION_URL,
        OAUTH_SCOPE,
        OAUTH_CONNECTION,
        TLS_TRUSTED_CA_PEM,
        TLS_ACCEPT_INVALID_CERTIFICATES,
        FORCE_DEFAULT_SENDER,
        REPLY_TO_INDIVIDUAL_SENDER,
        TIMEOUT_SECONDS,
        LIMITS[0],
        LIMITS[1],
        LIMITS[2],
        LIMITS[3],
        LIMITS[4],
    ];

    /// The index of a limit's field in [`LIMITS`].
    pub fn limit_index(field: &str) -> Option<usize> {
        LIMITS.iter().position(|f| *f == field)
    }

    /// Whether the page has an input for `field` (else its errors and warnings are listed by
    /// the buttons).
    pub fn on_page(field: &str) -> bool {
        ALL.contains(&field) || (cfg!(feature = "fallback") && super::fallback::fields::ALL.contains(&field))
    }

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
            auth_method: AuthMethod::Password,
            oauth: OAuthDraft::default(),
            tls_trusted_ca_pem: String::new(),
            tls_accept_invalid_certificates: false,
            force_default_sender: false,
            reply_to_individual_sender: false,
            timeout_seconds: TIMEOUT_SECONDS_DEFAULT.to_string(),
            limits: Default::default(),
            fallback: FallbackDraft::default(),
        }
    }

    /// The form showing saved settings (password and OAuth secrets empty: they are write-only).
    pub fn from_saved(s: &MailSettings) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let oauth = s.auth.oauth2.as_ref().map_or_else(OAuthDraft::default, |o| OAuthDraft {
            provider: o.provider,
            flow: o.flow,
            tenant: text(&o.tenant),
            client_id: text(&o.client_id),
            client_secret: String::new(),
            service_account_key: String::new(),
            token_url: text(&o.token_url),
            authorization_url: text(&o.authorization_url),
            scope: text(&o.scope),
        });
        Draft {
            host: s.host.clone(),
            port: s.port.to_string(),
            encryption: s.encryption,
            sender_name: s.sender_name.clone(),
            sender_address: s.sender_address.clone(),
            auth_enabled: s.auth.enabled,
            auth_username: text(&s.auth.username),
            auth_password: String::new(),
            auth_method: s.auth.method,
            oauth,
            tls_trusted_ca_pem: text(&s.tls.trusted_ca_pem),
            tls_accept_invalid_certificates: s.tls.accept_invalid_certificates,
            force_default_sender: s.force_default_sender,
            reply_to_individual_sender: s.reply_to_individual_sender,
            timeout_seconds: s.timeout_seconds.to_string(),
            limits: limit_texts(&s.limits),
            fallback: FallbackDraft::from_saved(s.fallback.as_ref()),
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
            fields::AUTH_METHOD => self.auth_method.as_str().to_owned(),
            fields::OAUTH_PROVIDER => self.oauth.provider.as_str().to_owned(),
            fields::OAUTH_FLOW => self.oauth.flow.as_str().to_owned(),
            fields::OAUTH_TENANT => self.oauth.tenant.clone(),
            fields::OAUTH_CLIENT_ID => self.oauth.client_id.clone(),
            fields::OAUTH_CLIENT_SECRET => self.oauth.client_secret.clone(),
            fields::OAUTH_SERVICE_ACCOUNT_KEY => self.oauth.service_account_key.clone(),
            fields::OAUTH_TOKEN_URL => self.oauth.token_url.clone(),
            fields::OAUTH_AUTHORIZATION_URL => self.oauth.authorization_url.clone(),
            fields::OAUTH_SCOPE => self.oauth.scope.clone(),
            fields::TLS_TRUSTED_CA_PEM => self.tls_trusted_ca_pem.clone(),
            fields::TLS_ACCEPT_INVALID_CERTIFICATES => flag(self.tls_accept_invalid_certificates),
            fields::FORCE_DEFAULT_SENDER => flag(self.force_default_sender),
            fields::REPLY_TO_INDIVIDUAL_SENDER => flag(self.reply_to_individual_sender),
            fields::TIMEOUT_SECONDS => self.timeout_seconds.clone(),
            // The fallback's fields are on the page only with its inputs (see Cargo.toml).
            #[cfg(feature = "fallback")]
            _ => fields::limit_index(field)
                .map(|i| self.limits[i].clone())
                .or_else(|| self.fallback.field_value(field))
                .unwrap_or_default(),
            #[cfg(not(feature = "fallback"))]
            _ => fields::limit_index(field).map(|i| self.limits[i].clone()).unwrap_or_default(),
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

    /// Whether an omitted OAuth secret keeps the stored one: same server and mailbox, and the
    /// same provider, flow and app (the server's rule, so a secret never follows a change).
    pub fn oauth_secrets_reusable(&self, saved: &MailSettings) -> bool {
        let Some(o) =
            saved.auth.oauth2.as_ref().filter(|_| saved.auth.enabled && saved.auth.method == AuthMethod::Oauth2)
        else {
            return false;
        };
        let d = &self.oauth;
        let uses = OAuthUses::of(d.provider, d.flow);
        let same = |typed: &str, applies: bool, stored: &Option<String>| {
            text(typed).filter(|_| applies).as_deref() == stored.as_deref()
        };
        !self.connection_changed(saved)
            && (d.provider, d.flow) == (o.provider, o.flow)
            && same(&d.tenant, uses.tenant, &o.tenant)
            && same(&d.client_id, uses.client, &o.client_id)
            && same(&d.token_url, uses.generic, &o.token_url)
            && same(&d.authorization_url, uses.authorization_url, &o.authorization_url)
            && same(&d.scope, uses.generic, &o.scope)
    }

    /// `auth.oauth2` with only the fields the provider and flow use; secrets only when typed.
    fn oauth_input(&self) -> OAuth2Input {
        let d = &self.oauth;
        let uses = OAuthUses::of(d.provider, d.flow);
        let only = |applies: bool, s: &str| text(s).filter(|_| applies);
        OAuth2Input {
            provider: Some(d.provider),
            flow: Some(d.flow),
            tenant: only(uses.tenant, &d.tenant),
            client_id: only(uses.client, &d.client_id),
            client_secret: only(uses.client, &d.client_secret),
            service_account_key: only(uses.key, &d.service_account_key),
            token_url: only(uses.generic, &d.token_url),
            authorization_url: only(uses.authorization_url, &d.authorization_url),
            scope: only(uses.generic, &d.scope),
        }
    }

    /// The request body. Text is trimmed (except the password); empty optional fields are
    /// omitted; the password is sent only when one was typed, so the stored one is kept.
    pub fn to_input(&self) -> MailSettingsInput {
        fn number(s: &str) -> Option<i64> {
            s.trim().parse().ok()
        }
        let oauth = self.auth_enabled && self.auth_method == AuthMethod::Oauth2;
        MailSettingsInput {
            host: text(&self.host),
            port: number(&self.port),
            encryption: Some(self.encryption),
            sender_name: text(&self.sender_name),
            sender_address: text(&self.sender_address),
            auth: AuthInput {
                enabled: self.auth_enabled,
                method: self.auth_method,
                username: text(&self.auth_username),
                password: (self.auth_enabled && !oauth && !self.auth_password.is_empty())
                    .then(|| self.auth_password.clone()),
                oauth2: oauth.then(|| self.oauth_input()),
            },
            tls: TlsSettings {
                trusted_ca_pem: text(&self.tls_trusted_ca_pem),
                accept_invalid_certificates: self.tls_accept_invalid_certificates,
            },
            force_default_sender: self.force_default_sender,
            reply_to_individual_sender: self.reply_to_individual_sender,
            timeout_seconds: number(&self.timeout_seconds),
            limits: limits_input(&self.limits),
            fallback: self.fallback.to_input(),
        }
    }
}

/// The limits as the form shows them: each number as text, empty for no limit.
pub fn limit_texts(l: &SendingLimits) -> [String; 5] {
    [l.messages_per_minute, l.messages_per_hour, l.messages_per_day, l.recipients_per_day, l.concurrent_sessions]
        .map(|v| v.map(|n| n.to_string()).unwrap_or_default())
}

/// The limits as typed: empty is no limit. Anything else is sent as the number it is, so
/// the server names what it refuses (the page checks first: 1 up to the bound).
fn limits_input(texts: &[String; 5]) -> SendingLimits {
    let [messages_per_minute, messages_per_hour, messages_per_day, recipients_per_day, concurrent_sessions] =
        texts.each_ref().map(|s| s.trim().parse().ok());
    SendingLimits { messages_per_minute, messages_per_hour, messages_per_day, recipients_per_day, concurrent_sessions }
}

/// Trimmed text, `None` when empty.
fn text(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
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

    #[test]
    fn oauth_method_and_fields_are_sent_for_the_flow_only() {
        let mut d = Draft::new_defaults();
        d.auth_enabled = true;
        d.auth_method = AuthMethod::Oauth2;
        d.auth_password = "left over".into();
        d.oauth = OAuthDraft {
            provider: OAuthProvider::Google,
            flow: OAuthFlow::ServiceAccount,
            tenant: "contoso".into(),
            client_id: "id".into(),
            client_secret: "s".into(),
            service_account_key: " {\"k\": 1} ".into(),
            scope: "x".into(),
            ..OAuthDraft::default()
        };
        let auth = d.to_input().auth;
        assert_eq!(auth.method, AuthMethod::Oauth2);
        assert_eq!(auth.password, None);
        let o = auth.oauth2.expect("oauth2");
        assert_eq!((o.provider, o.flow), (Some(OAuthProvider::Google), Some(OAuthFlow::ServiceAccount)));
        assert_eq!(o.service_account_key.as_deref(), Some("{\"k\": 1}"));
        assert_eq!((o.tenant, o.client_id, o.client_secret, o.scope), (None, None, None, None));
        d.auth_method = AuthMethod::Password;
        assert_eq!(d.to_input().auth.oauth2, None);
        assert_eq!(d.to_input().auth.method, AuthMethod::Password);
    }

    #[test]
    fn limits_are_typed_text_and_empty_is_no_limit() {
        let mut d = Draft::new_defaults();
        assert_eq!(d.limits, <[String; 5]>::default());
        assert_eq!(d.to_input().limits, SendingLimits::default());
        d.limits = limit_texts(&SendingLimits::microsoft_365());
        assert_eq!(d.limits, ["30", "", "", "10000", "3"].map(String::from));
        assert_eq!(d.to_input().limits, SendingLimits::microsoft_365());
        // A half-typed value stays as typed; surrounding spaces do not count.
        d.limits[1] = " 500 ".into();
        d.limits[2] = "2 0".into();
        assert_eq!(d.field_value("limits.messages_per_day"), "2 0");
        let sent = d.to_input().limits;
        assert_eq!((sent.messages_per_hour, sent.messages_per_day), (Some(500), None));
        // Saved limits come back as the same text.
        let google = SendingLimits::google_workspace();
        assert_eq!(limits_input(&limit_texts(&google)), google);
        assert_eq!(fields::limit_index("limits.concurrent_sessions"), Some(4));
        assert!(fields::LIMITS.iter().all(|f| fields::ALL.contains(f)));
    }

    #[test]
    fn every_provider_offers_its_flows() {
        assert_eq!(flows_of(OAuthProvider::Google), &[OAuthFlow::AuthorizationCode, OAuthFlow::ServiceAccount]);
        assert_eq!(flows_of(OAuthProvider::Microsoft), &[OAuthFlow::ClientCredentials, OAuthFlow::AuthorizationCode]);
        let uses = OAuthUses::of(OAuthProvider::Generic, OAuthFlow::AuthorizationCode);
        assert!(uses.generic && uses.authorization_url && uses.client && !uses.secret_required && !uses.tenant);
    }
}
