//! The fallback server as stored, and a validated draft of it (part of the settings).
//!
//! The same rules as the primary connection, each error named `fallback.<field>`; its
//! password is write-only and kept only for the same host, port, encryption and username.
//! OAuth 2.0 with the app-only flows (client credentials, Google service account) is parsed
//! by the primary's rules (`oauth::parse_oauth`), its fields renamed `fallback.auth.oauth2.*`.

use super::oauth::{parse_oauth, OAuthDraft, StoredOAuth};
use super::password::{PasswordInput, StoredLogin};
use super::settings::PasswordChange;
use super::{CaCertificatePem, EmailAddress, FieldProblem, SingleLine, SmtpHost, Violations};
use postamt_wire::{
    AuthMethod, Encryption, FallbackAuthView, FallbackInput, FallbackView, FieldChange, OAuthConnection, OAuthFlow,
    TlsSettings,
};

const MAX_USERNAME_CHARS: usize = 320;

/// The saved fallback server, without its password (only whether one is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFallback {
    pub host: String,
    pub port: u16,
    pub encryption: Encryption,
    pub auth_enabled: bool,
    pub auth_method: AuthMethod,
    pub auth_username: Option<String>,
    pub password_set: bool,
    /// Method `oauth2` (app-only flows).
    pub oauth: Option<StoredOAuth>,
    pub tls_trusted_ca_pem: Option<String>,
    pub tls_accept_invalid_certificates: bool,
    pub envelope_sender: Option<String>,
}

impl StoredFallback {
    /// True when the fallback signs in with OAuth 2.0.
    pub fn uses_oauth(&self) -> bool {
        self.auth_enabled && self.auth_method == AuthMethod::Oauth2 && self.oauth.is_some()
    }

    pub fn to_wire(&self) -> FallbackView {
        FallbackView {
            host: self.host.clone(),
            port: self.port,
            encryption: self.encryption,
            auth: FallbackAuthView {
                enabled: self.auth_enabled,
                method: self.auth_method,
                username: self.auth_username.clone(),
                password_set: self.password_set,
                oauth2: self.oauth.as_ref().map(|o| o.to_wire(OAuthConnection::unknown())),
            },
            tls: TlsSettings {
                trusted_ca_pem: self.tls_trusted_ca_pem.clone(),
                accept_invalid_certificates: self.tls_accept_invalid_certificates,
            },
            envelope_sender: self.envelope_sender.clone(),
        }
    }

    /// `host:port`, as the log shows a server.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A fallback server that passed every check.
#[derive(Debug)]
pub struct FallbackDraft {
    pub host: SmtpHost,
    pub port: u16,
    pub encryption: Encryption,
    /// `Some(username)` when authentication is enabled.
    pub auth_username: Option<SingleLine>,
    pub auth_method: AuthMethod,
    pub password: PasswordChange,
    /// Method `oauth2` (with authentication enabled).
    pub oauth: Option<OAuthDraft>,
    pub tls_trusted_ca_pem: Option<CaCertificatePem>,
    pub tls_accept_invalid_certificates: bool,
    pub envelope_sender: Option<EmailAddress>,
}

impl FallbackDraft {
    pub fn to_stored(&self) -> StoredFallback {
        StoredFallback {
            host: self.host.as_str().to_owned(),
            port: self.port,
            encryption: self.encryption,
            auth_enabled: self.auth_username.is_some(),
            auth_method: self.auth_method,
            auth_username: self.auth_username.as_ref().map(|u| u.as_str().to_owned()),
            password_set: matches!(self.password, PasswordChange::Set(_) | PasswordChange::Keep),
            oauth: self.oauth.as_ref().map(|o| o.stored.clone()),
            tls_trusted_ca_pem: self.tls_trusted_ca_pem.as_ref().map(|p| p.as_str().to_owned()),
            tls_accept_invalid_certificates: self.tls_accept_invalid_certificates,
            envelope_sender: self.envelope_sender.as_ref().map(|e| e.as_str().to_owned()),
        }
    }
}

/// Checks `input` (None: no fallback) into `v`; `stored` decides whether an omitted
/// password keeps the stored one. `primary` is the primary's `host` and `port` when valid:
/// a fallback on the very same server would be no fallback. Returns None when a field is
/// invalid (the violations are in `v`).
pub fn parse_fallback(
    v: &mut Violations,
    input: Option<&FallbackInput>,
    stored: Option<&StoredFallback>,
    primary: Option<(&str, u16)>,
) -> Option<Option<FallbackDraft>> {
    let Some(input) = input else { return Some(None) };
    let host = super::required(v, "fallback.host", input.host.as_deref(), |s| SmtpHost::try_from(s));
    let port = super::required_port(v, "fallback.port", input.port);
    let encryption =
        v.check("fallback.encryption", input.encryption.ok_or_else(|| FieldProblem::new("required", "is required")));
    if let (Some(h), Some(p), Some((ph, pp))) = (host.as_ref(), port, primary) {
        if h.as_str().eq_ignore_ascii_case(ph) && p == pp {
            v.add("fallback.host", "same_as_primary", "must be another server than the primary one (host and port)");
        }
    }
    let auth_username = if input.auth.enabled {
        match input.auth.username.as_deref() {
            None => v.check("fallback.auth.username", Err(FieldProblem::new("required", "is required"))),
            Some(s) => v.check("fallback.auth.username", SingleLine::parse(s, MAX_USERNAME_CHARS)),
        }
        .map(Some)
    } else {
        Some(None)
    };
    let tls_trusted_ca_pem = match input.tls.trusted_ca_pem.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(pem) => v.check("fallback.tls.trusted_ca_pem", CaCertificatePem::try_from(pem)).map(Some),
    };
    let envelope_sender = match input.envelope_sender.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(a) => v.check("fallback.envelope_sender", EmailAddress::try_from(a)).map(Some),
    };
    let password = super::password::password_change(
        v,
        &PasswordInput {
            field: "fallback.auth.password",
            enabled: input.auth.enabled,
            method: input.auth.method,
            password: input.auth.password.as_deref(),
            host: host.as_ref(),
            port,
            encryption,
            username: &auth_username,
            changed: "the fallback's host, port, encryption or username",
        },
        stored.filter(|s| s.auth_enabled && s.auth_method == AuthMethod::Password && s.password_set).map(|s| {
            StoredLogin { host: &s.host, port: s.port, encryption: s.encryption, username: s.auth_username.as_deref() }
        }),
    );
    let auth_method = if input.auth.enabled { input.auth.method } else { AuthMethod::Password };
    let oauth = if auth_method == AuthMethod::Oauth2 {
        let same_server = stored.is_some_and(|s| {
            s.auth_method == AuthMethod::Oauth2
                && host.as_ref().map(SmtpHost::as_str) == Some(s.host.as_str())
                && port == Some(s.port)
                && encryption == Some(s.encryption)
                && auth_username.as_ref().and_then(|u| u.as_ref()).map(SingleLine::as_str) == s.auth_username.as_deref()
        });
        let mut inner = Violations::default();
        let parsed =
            parse_oauth(&mut inner, input.auth.oauth2.as_ref(), stored.and_then(|s| s.oauth.as_ref()), same_server);
        for e in inner.0 {
            v.add(&format!("fallback.{}", e.field), &e.code, e.message);
        }
        match parsed {
            Some(d) if d.stored.flow == OAuthFlow::AuthorizationCode => {
                v.add(
                    "fallback.auth.oauth2.flow",
                    "unsupported_flow",
                    "the fallback signs in app-only: client_credentials (microsoft, generic) or service_account (google)",
                );
                None
            }
            Some(d) => Some(Some(d)),
            None => None,
        }
    } else {
        Some(None)
    };
    Some(Some(FallbackDraft {
        host: host?,
        port: port?,
        encryption: encryption?,
        auth_username: auth_username?,
        auth_method,
        password: password?,
        oauth: oauth?,
        tls_trusted_ca_pem: tls_trusted_ca_pem?,
        tls_accept_invalid_certificates: input.tls.accept_invalid_certificates,
        envelope_sender: envelope_sender?,
    }))
}

/// The fallback's fields in the history, in display order (the password only as "changed").
const HISTORY_FIELDS: [&str; 16] = [
    "fallback.host",
    "fallback.port",
    "fallback.encryption",
    "fallback.auth.enabled",
    "fallback.auth.method",
    "fallback.auth.username",
    "fallback.auth.oauth2.provider",
    "fallback.auth.oauth2.flow",
    "fallback.auth.oauth2.tenant",
    "fallback.auth.oauth2.client_id",
    "fallback.auth.oauth2.token_url",
    "fallback.auth.oauth2.scope",
    "fallback.auth.oauth2.service_account",
    "fallback.tls.trusted_ca_pem",
    "fallback.tls.accept_invalid_certificates",
    "fallback.envelope_sender",
];

fn history_value(s: &StoredFallback, field: &str) -> Option<String> {
    match field {
        "fallback.host" => Some(s.host.clone()),
        "fallback.port" => Some(s.port.to_string()),
        "fallback.encryption" => Some(s.encryption.as_str().to_owned()),
        "fallback.auth.enabled" => Some(s.auth_enabled.to_string()),
        "fallback.auth.method" => Some(s.auth_method.as_str().to_owned()),
        "fallback.auth.username" => s.auth_username.clone(),
        "fallback.auth.oauth2.provider" => s.oauth.as_ref().map(|o| o.provider.as_str().to_owned()),
        "fallback.auth.oauth2.flow" => s.oauth.as_ref().map(|o| o.flow.as_str().to_owned()),
        "fallback.auth.oauth2.tenant" => s.oauth.as_ref().and_then(|o| o.tenant.clone()),
        "fallback.auth.oauth2.client_id" => s.oauth.as_ref().and_then(|o| o.client_id.clone()),
        "fallback.auth.oauth2.token_url" => s.oauth.as_ref().and_then(|o| o.token_url.clone()),
        "fallback.auth.oauth2.scope" => s.oauth.as_ref().and_then(|o| o.scope.clone()),
        "fallback.auth.oauth2.service_account" => s.oauth.as_ref().and_then(|o| o.service_account.clone()),
        "fallback.tls.trusted_ca_pem" => s.tls_trusted_ca_pem.clone(),
        "fallback.tls.accept_invalid_certificates" => Some(s.tls_accept_invalid_certificates.to_string()),
        "fallback.envelope_sender" => s.envelope_sender.clone(),
        _ => None,
    }
}

/// The fallback's changes for the history: adding or removing it changes each of its fields.
pub fn changed_fields(old: Option<&StoredFallback>, new: Option<&StoredFallback>) -> Vec<FieldChange> {
    HISTORY_FIELDS
        .iter()
        .filter_map(|field| {
            let before = old.and_then(|s| history_value(s, field));
            let after = new.and_then(|s| history_value(s, field));
            (before != after).then(|| FieldChange {
                field: (*field).to_owned(),
                old: before,
                new: after,
                secret: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use postamt_wire::FallbackAuthInput;

    fn input() -> FallbackInput {
        FallbackInput {
            host: Some("smtp.backup.example.org".into()),
            port: Some(587),
            encryption: Some(Encryption::Starttls),
            auth: FallbackAuthInput {
                enabled: true,
                username: Some("relay@example.org".into()),
                password: Some("backup-secret".into()),
                ..Default::default()
            },
            tls: TlsSettings::default(),
            envelope_sender: Some("bounces@backup.example.org".into()),
        }
    }

    fn parse(input: &FallbackInput, stored: Option<&StoredFallback>) -> (Option<FallbackDraft>, Vec<(String, String)>) {
        let mut v = Violations::default();
        let draft = parse_fallback(&mut v, Some(input), stored, Some(("smtp.example.org", 587))).flatten();
        (draft, v.0.into_iter().map(|e| (e.field, e.code)).collect())
    }

    #[test]
    fn every_error_names_its_fallback_field() {
        let bad = FallbackInput {
            host: Some("smtp://x".into()),
            port: Some(0),
            encryption: None,
            auth: FallbackAuthInput { enabled: true, ..Default::default() },
            tls: TlsSettings { trusted_ca_pem: Some("not a pem".into()), accept_invalid_certificates: false },
            envelope_sender: Some("nope".into()),
        };
        let (draft, errors) = parse(&bad, None);
        assert!(draft.is_none());
        let names: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        for expected in [
            "fallback.host",
            "fallback.port",
            "fallback.encryption",
            "fallback.auth.username",
            "fallback.auth.password",
            "fallback.tls.trusted_ca_pem",
            "fallback.envelope_sender",
        ] {
            assert!(names.contains(&expected), "{expected} missing in {errors:?}");
        }
    }

    #[test]
    fn the_primary_server_is_no_fallback() {
        let mut same = input();
        same.host = Some("SMTP.example.org".into());
        let (_, errors) = parse(&same, None);
        assert_eq!(errors, vec![("fallback.host".to_owned(), "same_as_primary".to_owned())]);
    }

    #[test]
    fn an_omitted_password_is_kept_only_for_the_same_server_and_username() {
        let stored = parse(&input(), None).0.unwrap().to_stored();
        assert!(stored.password_set);
        let mut kept = input();
        kept.auth.password = None;
        kept.envelope_sender = None;
        assert!(matches!(parse(&kept, Some(&stored)).0.unwrap().password, PasswordChange::Keep));
        for change in [
            |i: &mut FallbackInput| i.host = Some("evil.example.net".into()),
            |i: &mut FallbackInput| i.port = Some(465),
            |i: &mut FallbackInput| i.encryption = Some(Encryption::Tls),
            |i: &mut FallbackInput| i.auth.username = Some("other@example.org".into()),
        ] {
            let mut changed = kept.clone();
            change(&mut changed);
            let (_, errors) = parse(&changed, Some(&stored));
            assert_eq!(errors, vec![("fallback.auth.password".to_owned(), "password_required_again".to_owned())]);
        }
    }

    #[test]
    fn removing_the_fallback_is_a_change_of_each_field() {
        let stored = parse(&input(), None).0.unwrap().to_stored();
        let changes = changed_fields(Some(&stored), None);
        let names: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert!(names.contains(&"fallback.host") && names.contains(&"fallback.envelope_sender"), "{names:?}");
        assert!(changes.iter().all(|c| c.new.is_none() && !c.secret));
        assert!(changed_fields(Some(&stored), Some(&stored)).is_empty());
    }
}
