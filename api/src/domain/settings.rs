//! The mail settings as stored, and a validated draft of new settings.

use super::fallback::{parse_fallback, FallbackDraft, StoredFallback};
use super::oauth::{parse_oauth, Binding, OAuthDraft, StoredOAuth};
use super::password::{PasswordInput, StoredLogin};
use super::{required, required_port, CaCertificatePem, EmailAddress, FieldProblem, SingleLine, SmtpHost, Violations};
use crate::error::ApiError;
use chrono::{DateTime, Utc};
use postamt_wire::{
    AuthMethod, AuthView, Encryption, FieldChange, MailSettings, MailSettingsInput, SendingLimits, TlsSettings,
    TIMEOUT_SECONDS_DEFAULT, TIMEOUT_SECONDS_MAX, TIMEOUT_SECONDS_MIN,
};
use secrecy::SecretString;

const MAX_NAME_CHARS: usize = 200;
const MAX_USERNAME_CHARS: usize = 320;

/// The saved settings, without the password itself (only whether one is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    pub host: String,
    pub port: u16,
    pub encryption: Encryption,
    pub sender_name: String,
    pub sender_address: String,
    pub auth_enabled: bool,
    pub auth_method: AuthMethod,
    pub auth_username: Option<String>,
    pub password_set: bool,
    /// Method `oauth2`: provider, flow and app (secrets only as `…_set`).
    pub oauth: Option<StoredOAuth>,
    pub tls_trusted_ca_pem: Option<String>,
    pub tls_accept_invalid_certificates: bool,
    pub force_default_sender: bool,
    pub reply_to_individual_sender: bool,
    pub timeout_seconds: u32,
    /// Validated (see `super::limits`).
    pub limits: SendingLimits,
    /// The fallback server, if one is configured.
    pub fallback: Option<StoredFallback>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl StoredSettings {
    /// What stored secrets and a connected account are bound to (see [`Binding`]).
    pub fn binding(&self) -> Binding {
        Binding::new(
            &self.host,
            self.port,
            self.encryption,
            self.auth_username.as_deref(),
            self.auth_method,
            self.oauth.as_ref(),
        )
    }

    /// The fallback server as settings of their own (its server, mailbox and OAuth app; the
    /// rest as these), for what asks for settings: the OAuth token request.
    pub fn fallback_settings(&self) -> Option<StoredSettings> {
        let f = self.fallback.as_ref()?;
        Some(StoredSettings {
            host: f.host.clone(),
            port: f.port,
            encryption: f.encryption,
            auth_enabled: f.auth_enabled,
            auth_method: f.auth_method,
            auth_username: f.auth_username.clone(),
            password_set: f.password_set,
            oauth: f.oauth.clone(),
            tls_trusted_ca_pem: f.tls_trusted_ca_pem.clone(),
            tls_accept_invalid_certificates: f.tls_accept_invalid_certificates,
            fallback: None,
            ..self.clone()
        })
    }

    /// True when mail signs in with OAuth 2.0.
    pub fn uses_oauth(&self) -> bool {
        self.auth_enabled && self.auth_method == AuthMethod::Oauth2 && self.oauth.is_some()
    }

    /// The settings as returned; `oauth2` without its connection state (see
    /// `oauth::connection_view`, which fills it in).
    pub fn to_wire(&self) -> MailSettings {
        MailSettings {
            host: self.host.clone(),
            port: self.port,
            encryption: self.encryption,
            sender_name: self.sender_name.clone(),
            sender_address: self.sender_address.clone(),
            auth: AuthView {
                enabled: self.auth_enabled,
                method: self.auth_method,
                username: self.auth_username.clone(),
                password_set: self.password_set,
                oauth2: self.oauth.as_ref().map(|o| o.to_wire(postamt_wire::OAuthConnection::unknown())),
            },
            tls: TlsSettings {
                trusted_ca_pem: self.tls_trusted_ca_pem.clone(),
                accept_invalid_certificates: self.tls_accept_invalid_certificates,
            },
            force_default_sender: self.force_default_sender,
            reply_to_individual_sender: self.reply_to_individual_sender,
            timeout_seconds: self.timeout_seconds,
            limits: self.limits,
            fallback: self.fallback.as_ref().map(StoredFallback::to_wire),
            version: self.version,
            updated_at: self.updated_at,
            updated_by: self.updated_by.clone(),
            warnings: super::warnings_for(self),
        }
    }
}

/// What happens to the stored SMTP password.
#[derive(Debug)]
pub enum PasswordChange {
    /// Keep the stored one (same server, same username).
    Keep,
    /// A new password was entered.
    Set(SecretString),
    /// Authentication is off: nothing unused is kept.
    Clear,
}

/// New settings that passed every check, ready to be saved or tried.
#[derive(Debug)]
pub struct SettingsDraft {
    pub host: SmtpHost,
    pub port: u16,
    pub encryption: Encryption,
    pub sender_name: SingleLine,
    pub sender_address: EmailAddress,
    /// `Some(username)` when authentication is enabled.
    pub auth_username: Option<SingleLine>,
    pub auth_method: AuthMethod,
    pub password: PasswordChange,
    /// Method `oauth2` (with authentication enabled).
    pub oauth: Option<OAuthDraft>,
    pub tls_trusted_ca_pem: Option<CaCertificatePem>,
    pub tls_accept_invalid_certificates: bool,
    pub force_default_sender: bool,
    pub reply_to_individual_sender: bool,
    pub timeout_seconds: u32,
    pub limits: SendingLimits,
    /// The fallback server (None: none).
    pub fallback: Option<FallbackDraft>,
}

impl SettingsDraft {
    /// Checks every field of `input` and reports all violations at once. `stored` decides
    /// whether an omitted password may keep the stored one: only for the same server and
    /// username, so a stored credential never follows a connection to a new server.
    pub fn parse(input: MailSettingsInput, stored: Option<&StoredSettings>) -> Result<Self, ApiError> {
        let mut v = Violations::default();
        let host = required(&mut v, "host", input.host.as_deref(), |s| SmtpHost::try_from(s));
        let port = required_port(&mut v, "port", input.port);
        let encryption =
            v.check("encryption", input.encryption.ok_or_else(|| FieldProblem::new("required", "is required")));
        let sender_name =
            required(&mut v, "sender_name", input.sender_name.as_deref(), |s| SingleLine::parse(s, MAX_NAME_CHARS));
        let sender_address =
            required(&mut v, "sender_address", input.sender_address.as_deref(), |s| EmailAddress::try_from(s));
        let auth_username = if input.auth.enabled {
            required(&mut v, "auth.username", input.auth.username.as_deref(), |s| {
                SingleLine::parse(s, MAX_USERNAME_CHARS)
            })
            .map(Some)
        } else {
            Some(None)
        };
        let tls_trusted_ca_pem = match input.tls.trusted_ca_pem.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(pem) => v.check("tls.trusted_ca_pem", CaCertificatePem::try_from(pem)).map(Some),
        };
        if input.reply_to_individual_sender && !input.force_default_sender {
            v.add(
                "reply_to_individual_sender",
                "requires_force_default_sender",
                "can only be enabled together with force_default_sender",
            );
        }
        let timeout_seconds = v.check(
            "timeout_seconds",
            match input.timeout_seconds {
                None => Ok(TIMEOUT_SECONDS_DEFAULT),
                Some(t) => u32::try_from(t)
                    .ok()
                    .filter(|t| (TIMEOUT_SECONDS_MIN..=TIMEOUT_SECONDS_MAX).contains(t))
                    .ok_or_else(|| {
                        FieldProblem::new(
                            "out_of_range",
                            format!("must be between {TIMEOUT_SECONDS_MIN} and {TIMEOUT_SECONDS_MAX}"),
                        )
                    }),
            },
        );
        super::limits::check_limits(&mut v, &input.limits);
        let password = super::password::password_change(
            &mut v,
            &PasswordInput {
                field: "auth.password",
                enabled: input.auth.enabled,
                method: input.auth.method,
                password: input.auth.password.as_deref(),
                host: host.as_ref(),
                port,
                encryption,
                username: &auth_username,
                changed: "host, port, encryption or username",
            },
            stored.filter(|s| s.auth_enabled && s.auth_method == AuthMethod::Password && s.password_set).map(|s| {
                StoredLogin {
                    host: &s.host,
                    port: s.port,
                    encryption: s.encryption,
                    username: s.auth_username.as_deref(),
                }
            }),
        );
        let auth_method = if input.auth.enabled { input.auth.method } else { AuthMethod::Password };
        let oauth = if auth_method == AuthMethod::Oauth2 {
            let same_server = stored.is_some_and(|s| {
                s.auth_method == AuthMethod::Oauth2
                    && host.as_ref().map(SmtpHost::as_str) == Some(s.host.as_str())
                    && port == Some(s.port)
                    && encryption == Some(s.encryption)
                    && auth_username.as_ref().and_then(|u| u.as_ref()).map(SingleLine::as_str)
                        == s.auth_username.as_deref()
            });
            parse_oauth(&mut v, input.auth.oauth2.as_ref(), stored.and_then(|s| s.oauth.as_ref()), same_server)
                .map(Some)
        } else {
            Some(None)
        };

        let fallback = parse_fallback(
            &mut v,
            input.fallback.as_ref(),
            stored.and_then(|s| s.fallback.as_ref()),
            host.as_ref().map(SmtpHost::as_str).zip(port),
        );

        v.into_result()?;
        let Some(fallback) = fallback else {
            return Err(ApiError::Internal(anyhow::anyhow!("validation passed without a fallback draft")));
        };
        match (
            host,
            port,
            encryption,
            sender_name,
            sender_address,
            auth_username,
            tls_trusted_ca_pem,
            timeout_seconds,
            password,
            oauth,
        ) {
            (
                Some(host),
                Some(port),
                Some(encryption),
                Some(sender_name),
                Some(sender_address),
                Some(auth_username),
                Some(tls_trusted_ca_pem),
                Some(timeout_seconds),
                Some(password),
                Some(oauth),
            ) => Ok(SettingsDraft {
                host,
                port,
                encryption,
                sender_name,
                sender_address,
                auth_username,
                auth_method,
                password,
                oauth,
                tls_trusted_ca_pem,
                tls_accept_invalid_certificates: input.tls.accept_invalid_certificates,
                force_default_sender: input.force_default_sender,
                reply_to_individual_sender: input.reply_to_individual_sender,
                timeout_seconds,
                limits: input.limits,
                fallback,
            }),
            _ => Err(ApiError::Internal(anyhow::anyhow!("validation passed without a value for every field"))),
        }
    }

    /// The settings as they will be stored (version and audit fields filled in by the caller).
    pub fn to_stored(
        &self,
        password_set: bool,
        version: i64,
        updated_at: DateTime<Utc>,
        updated_by: &str,
    ) -> StoredSettings {
        StoredSettings {
            host: self.host.as_str().to_owned(),
            port: self.port,
            encryption: self.encryption,
            sender_name: self.sender_name.as_str().to_owned(),
            sender_address: self.sender_address.as_str().to_owned(),
            auth_enabled: self.auth_username.is_some(),
            auth_method: self.auth_method,
            auth_username: self.auth_username.as_ref().map(|u| u.as_str().to_owned()),
            password_set,
            oauth: self.oauth.as_ref().map(|o| o.stored.clone()),
            tls_trusted_ca_pem: self.tls_trusted_ca_pem.as_ref().map(|p| p.as_str().to_owned()),
            tls_accept_invalid_certificates: self.tls_accept_invalid_certificates,
            force_default_sender: self.force_default_sender,
            reply_to_individual_sender: self.reply_to_individual_sender,
            timeout_seconds: self.timeout_seconds,
            limits: self.limits,
            fallback: self.fallback.as_ref().map(FallbackDraft::to_stored),
            version,
            updated_at,
            updated_by: updated_by.to_owned(),
        }
    }
}

/// Fields listed in the history, in display order (secrets are summarised separately).
const HISTORY_FIELDS: [&str; 21] = [
    "host",
    "port",
    "encryption",
    "sender_name",
    "sender_address",
    "auth.enabled",
    "auth.method",
    "auth.username",
    "auth.oauth2.provider",
    "auth.oauth2.flow",
    "auth.oauth2.tenant",
    "auth.oauth2.client_id",
    "auth.oauth2.token_url",
    "auth.oauth2.authorization_url",
    "auth.oauth2.scope",
    "auth.oauth2.service_account",
    "tls.trusted_ca_pem",
    "tls.accept_invalid_certificates",
    "force_default_sender",
    "reply_to_individual_sender",
    "timeout_seconds",
];

fn history_value(s: &StoredSettings, field: &str) -> Option<String> {
    match field {
        "host" => Some(s.host.clone()),
        "port" => Some(s.port.to_string()),
        "encryption" => Some(s.encryption.as_str().to_owned()),
        "sender_name" => Some(s.sender_name.clone()),
        "sender_address" => Some(s.sender_address.clone()),
        "auth.enabled" => Some(s.auth_enabled.to_string()),
        "auth.method" => Some(s.auth_method.as_str().to_owned()),
        "auth.username" => s.auth_username.clone(),
        "auth.oauth2.provider" => s.oauth.as_ref().map(|o| o.provider.as_str().to_owned()),
        "auth.oauth2.flow" => s.oauth.as_ref().map(|o| o.flow.as_str().to_owned()),
        "auth.oauth2.tenant" => s.oauth.as_ref().and_then(|o| o.tenant.clone()),
        "auth.oauth2.client_id" => s.oauth.as_ref().and_then(|o| o.client_id.clone()),
        "auth.oauth2.token_url" => s.oauth.as_ref().and_then(|o| o.token_url.clone()),
        "auth.oauth2.authorization_url" => s.oauth.as_ref().and_then(|o| o.authorization_url.clone()),
        "auth.oauth2.scope" => s.oauth.as_ref().and_then(|o| o.scope.clone()),
        "auth.oauth2.service_account" => s.oauth.as_ref().and_then(|o| o.service_account.clone()),
        "tls.trusted_ca_pem" => s.tls_trusted_ca_pem.clone(),
        "tls.accept_invalid_certificates" => Some(s.tls_accept_invalid_certificates.to_string()),
        "force_default_sender" => Some(s.force_default_sender.to_string()),
        "reply_to_individual_sender" => Some(s.reply_to_individual_sender.to_string()),
        "timeout_seconds" => Some(s.timeout_seconds.to_string()),
        field if field.starts_with("limits.") => super::limits::history_value(&s.limits, field),
        _ => None,
    }
}

/// Which secrets a save changed (set, replaced or removed); the history names them only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretsChanged {
    pub password: bool,
    pub client_secret: bool,
    pub service_account_key: bool,
    /// The connected account's refresh token was dropped (the binding changed).
    pub refresh_token: bool,
    /// The fallback server's password.
    pub fallback_password: bool,
    /// The fallback's OAuth client secret and service account key.
    pub fallback_client_secret: bool,
    pub fallback_service_account_key: bool,
}

/// Field-by-field differences for the history. Secrets appear only as "changed".
pub fn changed_fields(
    old: Option<&StoredSettings>,
    new: Option<&StoredSettings>,
    secrets: SecretsChanged,
) -> Vec<FieldChange> {
    let mut changes: Vec<FieldChange> = HISTORY_FIELDS
        .iter()
        .chain(super::limits::HISTORY_FIELDS.iter())
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
        .collect();
    changes.extend(super::fallback::changed_fields(
        old.and_then(|s| s.fallback.as_ref()),
        new.and_then(|s| s.fallback.as_ref()),
    ));
    for (changed, field) in [
        (secrets.password, "auth.password"),
        (secrets.client_secret, "auth.oauth2.client_secret"),
        (secrets.service_account_key, "auth.oauth2.service_account_key"),
        (secrets.refresh_token, "auth.oauth2.refresh_token"),
        (secrets.fallback_password, "fallback.auth.password"),
        (secrets.fallback_client_secret, "fallback.auth.oauth2.client_secret"),
        (secrets.fallback_service_account_key, "fallback.auth.oauth2.service_account_key"),
    ] {
        if changed {
            changes.push(FieldChange { field: field.to_owned(), old: None, new: None, secret: true });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use postamt_wire::AuthInput;

    fn input() -> MailSettingsInput {
        MailSettingsInput {
            host: Some("smtp.example.org".into()),
            port: Some(587),
            encryption: Some(Encryption::Starttls),
            sender_name: Some("TEAMBOX".into()),
            sender_address: Some("teambox@example.org".into()),
            auth: AuthInput {
                enabled: true,
                username: Some("teambox@example.org".into()),
                password: Some("s3cret".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn stored() -> StoredSettings {
        let draft = SettingsDraft::parse(input(), None).unwrap();
        draft.to_stored(true, 1, Utc::now(), "admin")
    }

    fn fields(err: ApiError) -> Vec<(String, String)> {
        match err {
            ApiError::Validation(e) => e.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn reports_every_violation_at_once() {
        let bad = MailSettingsInput {
            host: Some("smtp://x".into()),
            port: Some(70000),
            encryption: None,
            sender_name: Some("A\nB".into()),
            sender_address: Some("nope".into()),
            auth: AuthInput { enabled: true, ..Default::default() },
            reply_to_individual_sender: true,
            timeout_seconds: Some(0),
            ..Default::default()
        };
        let got = fields(SettingsDraft::parse(bad, None).unwrap_err());
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        for expected in [
            "host",
            "port",
            "encryption",
            "sender_name",
            "sender_address",
            "auth.username",
            "auth.password",
            "reply_to_individual_sender",
            "timeout_seconds",
        ] {
            assert!(names.contains(&expected), "{expected} missing in {got:?}");
        }
    }

    #[test]
    fn omitted_password_keeps_the_stored_one_for_the_same_server() {
        let mut same = input();
        same.auth.password = None;
        same.sender_name = Some("Other name".into());
        assert!(matches!(SettingsDraft::parse(same, Some(&stored())).unwrap().password, PasswordChange::Keep));
    }

    #[test]
    fn omitted_password_is_refused_when_the_connection_changes() {
        for change in [
            |i: &mut MailSettingsInput| i.host = Some("evil.example.net".into()),
            |i: &mut MailSettingsInput| i.port = Some(465),
            |i: &mut MailSettingsInput| i.encryption = Some(Encryption::Tls),
            |i: &mut MailSettingsInput| i.auth.username = Some("other@example.org".into()),
        ] {
            let mut changed = input();
            changed.auth.password = None;
            change(&mut changed);
            let got = fields(SettingsDraft::parse(changed, Some(&stored())).unwrap_err());
            assert_eq!(got, vec![("auth.password".to_owned(), "password_required_again".to_owned())]);
        }
    }

    #[test]
    fn disabling_auth_clears_the_password() {
        let mut off = input();
        off.auth = AuthInput::default();
        assert!(matches!(SettingsDraft::parse(off, Some(&stored())).unwrap().password, PasswordChange::Clear));
    }

    #[test]
    fn history_never_holds_the_password() {
        let old = stored();
        let mut new = old.clone();
        new.port = 465;
        let changes = changed_fields(Some(&old), Some(&new), SecretsChanged { password: true, ..Default::default() });
        assert_eq!(changes[0].field, "port");
        assert_eq!((changes[0].old.as_deref(), changes[0].new.as_deref()), (Some("587"), Some("465")));
        let secret = changes.iter().find(|c| c.field == "auth.password").unwrap();
        assert!(secret.secret && secret.old.is_none() && secret.new.is_none());
    }
}
