//! The route a round of deliveries takes: the saved settings, read once per round (or
//! reused, see `worker::ROUTE_FRESH_FOR`), with the decrypted password or OAuth secrets,
//! and the fallback server when one is saved (which of the two a session opens:
//! `failover`).

use crate::db;
use crate::domain::StoredSettings;
use crate::oauth::obtain::{access_token, invalidate, TokenRequest};
use crate::state::{
    AppState, FALLBACK_CLIENT_SECRET_PURPOSE, FALLBACK_PASSWORD_PURPOSE, FALLBACK_SERVICE_ACCOUNT_KEY_PURPOSE,
    SMTP_PASSWORD_PURPOSE,
};
use postamt_smtp::delivery::{DeliveryConfig, DeliveryFailure, SmtpSession};
use postamt_smtp::Credentials;
use postamt_wire::{FailureClass, MailConnection, StageName};
use secrecy::SecretString;
use std::time::Duration;

/// What a batch is sent with: the saved settings at claim time.
pub struct Route {
    pub version: i64,
    pub config: DeliveryConfig,
    pub sender_name: String,
    pub sender_address: String,
    pub force_default_sender: bool,
    pub reply_to_individual_sender: bool,
    pub server: String,
    /// With OAuth 2.0: what the token for each new session is requested with
    /// (`config.credentials` is then filled in when a session opens).
    pub oauth: Option<OAuthRoute>,
    /// The fallback server, if one is saved.
    pub fallback: Option<FallbackRoute>,
}

/// The fallback server with its decrypted password.
pub struct FallbackRoute {
    pub config: DeliveryConfig,
    /// `host:port`.
    pub server: String,
    /// `MAIL FROM` on the fallback instead of the default sender.
    pub envelope_sender: Option<String>,
    /// With OAuth 2.0 (app-only): what its token is requested with.
    pub oauth: Option<OAuthRoute>,
}

/// The saved OAuth settings with their decrypted secrets.
pub struct OAuthRoute {
    pub settings: StoredSettings,
    client_secret: Option<SecretString>,
    service_account_key: Option<SecretString>,
    /// The primary's: outcomes are recorded on its connection row. The fallback's are not.
    saved: bool,
}

impl OAuthRoute {
    pub fn request(&self) -> TokenRequest<'_> {
        TokenRequest {
            settings: &self.settings,
            client_secret: self.client_secret.clone(),
            service_account_key: self.service_account_key.clone(),
            saved: self.saved,
            force: false,
        }
    }
}

impl Route {
    /// The saved settings with the decrypted secrets.
    pub async fn load(state: &AppState) -> Result<Route, DeliveryFailure> {
        let loaded = state
            .db
            .run(db::settings::load)
            .await
            .map_err(|e| internal_failure(format!("{e:#}")))?
            .ok_or_else(not_configured)?;
        let oauth = if loaded.settings.uses_oauth() {
            let req = TokenRequest::saved(state, &loaded).map_err(|e| internal_failure(format!("{e:#}")))?;
            Some(OAuthRoute {
                client_secret: req.client_secret,
                service_account_key: req.service_account_key,
                settings: loaded.settings.clone(),
                saved: true,
            })
        } else {
            None
        };
        let decrypt = |blob: &Option<Vec<u8>>, purpose: &str| {
            blob.as_deref()
                .map(|b| state.cipher.decrypt(b, purpose))
                .transpose()
                .map_err(|e| internal_failure(format!("{e:#}")))
        };
        let fallback = match &loaded.settings.fallback {
            None => None,
            Some(f) => {
                let secrets = &loaded.secrets.fallback;
                let oauth = match (f.uses_oauth(), loaded.settings.fallback_settings()) {
                    (true, Some(settings)) => Some(OAuthRoute {
                        settings,
                        client_secret: decrypt(&secrets.client_secret, FALLBACK_CLIENT_SECRET_PURPOSE)?,
                        service_account_key: decrypt(
                            &secrets.service_account_key,
                            FALLBACK_SERVICE_ACCOUNT_KEY_PURPOSE,
                        )?,
                        saved: false,
                    }),
                    _ => None,
                };
                let password = match (&secrets.password, f.auth_enabled && oauth.is_none()) {
                    (Some(blob), true) => Some(
                        state
                            .cipher
                            .decrypt(blob, FALLBACK_PASSWORD_PURPOSE)
                            .map_err(|e| internal_failure(format!("{e:#}")))?,
                    ),
                    _ => None,
                };
                let credentials = match (f.auth_username.clone(), password) {
                    (Some(username), Some(password)) => Some(Credentials::password(username, password)),
                    _ => None,
                };
                Some(FallbackRoute {
                    server: f.server(),
                    envelope_sender: f.envelope_sender.clone(),
                    oauth,
                    config: DeliveryConfig {
                        host: f.host.clone(),
                        port: f.port,
                        encryption: f.encryption,
                        credentials,
                        trusted_ca_pem: f.tls_trusted_ca_pem.clone(),
                        accept_invalid_certificates: f.tls_accept_invalid_certificates,
                        timeout: Duration::from_secs(u64::from(loaded.settings.timeout_seconds)),
                        ehlo_name: state.ehlo_name.clone(),
                    },
                })
            }
        };
        let s = loaded.settings;
        let password = match (&loaded.secrets.password, s.auth_enabled && oauth.is_none()) {
            (Some(blob), true) => Some(
                state.cipher.decrypt(blob, SMTP_PASSWORD_PURPOSE).map_err(|e| internal_failure(format!("{e:#}")))?,
            ),
            _ => None,
        };
        let credentials = match (s.auth_username.clone(), password) {
            (Some(username), Some(password)) => Some(Credentials::password(username, password)),
            _ => None,
        };
        Ok(Route {
            version: s.version,
            server: format!("{}:{}", s.host, s.port),
            config: DeliveryConfig {
                host: s.host,
                port: s.port,
                encryption: s.encryption,
                credentials,
                trusted_ca_pem: s.tls_trusted_ca_pem,
                accept_invalid_certificates: s.tls_accept_invalid_certificates,
                timeout: Duration::from_secs(u64::from(s.timeout_seconds)),
                ehlo_name: state.ehlo_name.clone(),
            },
            sender_name: s.sender_name,
            sender_address: s.sender_address,
            force_default_sender: s.force_default_sender,
            reply_to_individual_sender: s.reply_to_individual_sender,
            oauth,
            fallback,
        })
    }
}

impl Route {
    /// The server of `via`, `host:port`, as the log shows it.
    pub fn server_of(&self, via: MailConnection) -> &str {
        match (via, &self.fallback) {
            (MailConnection::Fallback, Some(f)) => &f.server,
            _ => &self.server,
        }
    }

    /// `MAIL FROM` over `via`: the fallback's own envelope sender, if it has one.
    pub fn envelope_sender<'a>(&'a self, via: MailConnection, policy: &'a str) -> &'a str {
        match (via, &self.fallback) {
            (MailConnection::Fallback, Some(FallbackRoute { envelope_sender: Some(e), .. })) => e,
            _ => policy,
        }
    }

    /// Opens an SMTP session over `via` (the fallback: with its password; the primary: see
    /// [`Self::open_session`]).
    pub async fn open(&self, state: &AppState, via: MailConnection) -> Result<SmtpSession, DeliveryFailure> {
        match (via, &self.fallback) {
            (MailConnection::Fallback, Some(f)) => open_with(state, &f.config, f.oauth.as_ref()).await,
            _ => self.open_session(state).await,
        }
    }

    /// Opens an SMTP session with these settings. With OAuth 2.0 the session signs in with an
    /// access token; a token the server refuses is dropped from the cache and the session
    /// is opened once more with a fresh one before the attempt counts as failed.
    pub async fn open_session(&self, state: &AppState) -> Result<SmtpSession, DeliveryFailure> {
        open_with(state, &self.config, self.oauth.as_ref()).await
    }
}

/// Opens a session to `config`, signing in with a token for `oauth` when given.
async fn open_with(
    state: &AppState,
    config: &DeliveryConfig,
    oauth: Option<&OAuthRoute>,
) -> Result<SmtpSession, DeliveryFailure> {
    let Some(oauth) = oauth else { return SmtpSession::open(config).await };
    let request = oauth.request();
    let mut retried = false;
    loop {
        let token = access_token(state, &request).await.map_err(|f| f.to_delivery())?;
        let mut config = config.clone();
        config.credentials = Some(Credentials::access_token(token.mailbox.clone(), token.token.clone()));
        match SmtpSession::open(&config).await {
            Err(failure) if failure.is_token_rejected() && !retried => {
                tracing::info!("the SMTP server refused the OAuth access token; trying once with a fresh one");
                invalidate(state, &token);
                retried = true;
            }
            other => return other,
        }
    }
}

pub fn not_configured() -> DeliveryFailure {
    DeliveryFailure {
        stage: StageName::Resolve,
        class: FailureClass::InvalidSettings,
        field: None,
        reply_code: None,
        reply: None,
        permanent: false,
        hint_de: "Es sind keine E-Mail-Einstellungen gespeichert. Speichern Sie die SMTP-Einstellungen; wartende Nachrichten werden dann zugestellt.".into(),
        hint_en: "No mail settings are saved. Save the SMTP settings; waiting messages are delivered then.".into(),
        detail: Some("mail settings are not configured".into()),
    }
}

pub fn internal_failure(detail: String) -> DeliveryFailure {
    tracing::error!(error = %detail, "delivery could not run");
    DeliveryFailure {
        stage: StageName::Resolve,
        class: FailureClass::ProtocolError,
        field: None,
        reply_code: None,
        reply: None,
        permanent: false,
        hint_de: "Interner Fehler beim Versand; Details stehen im Server-Log. Die Nachricht wird erneut versucht."
            .into(),
        hint_en: "Internal error while sending; see the server log. The message will be tried again.".into(),
        detail: None,
    }
}
