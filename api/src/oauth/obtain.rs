//! The one way to an access token (see the map in `oauth`).

use super::failure::TokenFailure;
use super::REFRESH_TOKEN_PURPOSE;
use crate::db::mail_log::{Details, NewEntry};
use crate::db::oauth_connection::{self as conn_db, Lease};
use crate::db::{self, now};
use crate::domain::StoredSettings;
use crate::state::AppState;
use chrono::NaiveDateTime;
use postamt_oauth::{CacheKey, OAuthError, OAuthErrorClass, ServiceAccountKey, TokenResponse};
use postamt_wire::{LogKind, MessageStatus, OAuthFlow, StageName};
use secrecy::SecretString;
use std::time::{Duration, Instant};

/// How long one instance may hold the refresh lease: a token request's timeout and room.
const LEASE: Duration = Duration::from_secs(60);
/// How often a waiting instance looks whether the lease is free again.
const LEASE_POLL: Duration = Duration::from_millis(100);
/// The same failure goes to the error log again after this long.
const RELOG_AFTER_MINUTES: i64 = 60;

/// What a token is requested for: settings (saved or not) with their decrypted secrets.
pub struct TokenRequest<'a> {
    pub settings: &'a StoredSettings,
    pub client_secret: Option<SecretString>,
    pub service_account_key: Option<SecretString>,
    /// The settings are the saved ones: the outcome is recorded on the connection row, and
    /// a delegated connection uses the stored refresh token.
    pub saved: bool,
    /// Ask the provider even if a fresh token is cached (the connection check).
    pub force: bool,
}

impl<'a> TokenRequest<'a> {
    /// For the saved settings, with their secrets decrypted.
    pub fn saved(state: &AppState, loaded: &'a crate::db::settings::Loaded) -> anyhow::Result<Self> {
        use super::{CLIENT_SECRET_PURPOSE, SERVICE_ACCOUNT_KEY_PURPOSE};
        let decrypt =
            |blob: &Option<Vec<u8>>, purpose| blob.as_deref().map(|b| state.cipher.decrypt(b, purpose)).transpose();
        Ok(TokenRequest {
            settings: &loaded.settings,
            client_secret: decrypt(&loaded.secrets.client_secret, CLIENT_SECRET_PURPOSE)?,
            service_account_key: decrypt(&loaded.secrets.service_account_key, SERVICE_ACCOUNT_KEY_PURPOSE)?,
            saved: true,
            force: false,
        })
    }
}

/// An access token for the mailbox.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: SecretString,
    pub mailbox: String,
    /// Which cache entry it came from (to drop it when the SMTP server refuses it).
    pub key: CacheKey,
    /// For the test's stage line: who issued it and for how long it is valid.
    pub detail: String,
    pub detail_de: String,
}

/// An access token from the cache or, on a miss, from the provider.
pub async fn access_token(state: &AppState, req: &TokenRequest<'_>) -> Result<Issued, TokenFailure> {
    let result = fetch(state, req).await;
    if let Err(failure) = &result {
        state.metrics.oauth_failure(failure.class.as_str());
        if req.saved {
            record_failure(state, req.settings, failure).await;
        }
    }
    result
}

/// Drops a token the SMTP server refused, so the next [`access_token`] fetches a new one.
pub fn invalidate(state: &AppState, issued: &Issued) {
    state.oauth.cache.invalidate(&issued.key);
}

async fn fetch(state: &AppState, req: &TokenRequest<'_>) -> Result<Issued, TokenFailure> {
    let settings = req.settings;
    let oauth = settings.oauth.as_ref().ok_or_else(TokenFailure::not_connected)?;
    let mailbox = settings.auth_username.clone().unwrap_or_default();
    let binding = settings.binding();
    let service = &state.oauth;
    let provider_name = oauth.provider.as_str();
    let fresh_start = |key: &CacheKey| {
        if req.force {
            service.cache.invalidate(key);
        }
    };
    let (key, token) = match oauth.flow {
        OAuthFlow::ClientCredentials => {
            let app = oauth.app(req.client_secret.clone());
            let key = CacheKey::for_app(&app, Some(&mailbox));
            fresh_start(&key);
            let token = service
                .cache
                .get_or_fetch(&key, || async {
                    let t = service.client.client_credentials(&app).await?;
                    issued(state, req, &binding, &t).await;
                    Ok(t)
                })
                .await;
            (key, token)
        }
        OAuthFlow::ServiceAccount => {
            let secret = req.service_account_key.as_ref().ok_or_else(|| {
                TokenFailure::from(&OAuthError::new(OAuthErrorClass::ServiceAccountKeyInvalid, "no key is stored"))
            })?;
            let sa = ServiceAccountKey::from_json(secret).map_err(|e| TokenFailure::from(&e))?;
            let key = CacheKey::for_service_account(&sa, &mailbox, None);
            fresh_start(&key);
            let token = service
                .cache
                .get_or_fetch(&key, || async {
                    let t = service.client.service_account(&sa, &mailbox, None).await?;
                    issued(state, req, &binding, &t).await;
                    Ok(t)
                })
                .await;
            (key, token)
        }
        OAuthFlow::AuthorizationCode => {
            let row = if req.saved {
                state
                    .db
                    .run({
                        let binding = binding.as_str().to_owned();
                        move |c| conn_db::load_for(c, &binding)
                    })
                    .await
                    .map_err(|e| internal(&e))?
            } else {
                None
            };
            let Some(row) = row.filter(|r| r.refresh_token_enc.is_some()) else {
                return Err(TokenFailure::not_connected());
            };
            let app = oauth.app(req.client_secret.clone());
            // A new sign-in (another account perhaps) must never get the old sign-in's token.
            let connected = row.connected_at.map(|t| t.to_string()).unwrap_or_default();
            let key =
                CacheKey::from_parts(&[CacheKey::for_app(&app, Some(&mailbox)).as_str(), binding.as_str(), &connected]);
            fresh_start(&key);
            let token = service.cache.get_or_fetch(&key, || refresh_under_lease(state, &app, binding.as_str())).await;
            (key, token)
        }
    };
    let token = token.map_err(|e| {
        tracing::warn!(provider = provider_name, error = %e, "OAuth token request failed");
        TokenFailure::from(&e)
    })?;
    let valid_for = token.expires_at.saturating_duration_since(Instant::now()).as_secs() / 60;
    Ok(Issued {
        token: token.access_token,
        mailbox,
        key,
        detail: format!("access token from {provider_name} ({}), valid for {valid_for} min", oauth.flow.as_str()),
        detail_de: format!("Zugriffstoken von {provider_name} ({}), gültig für {valid_for} min", oauth.flow.as_str()),
    })
}

/// Refreshes the delegated token: one instance at a time (the lease), with the refresh
/// token read under the lease and the rotated one stored before the access token is used.
async fn refresh_under_lease(
    state: &AppState,
    app: &postamt_oauth::OAuthApp,
    binding: &str,
) -> Result<TokenResponse, OAuthError> {
    let owner = state.delivery.instance_id.clone();
    let waited = Instant::now();
    let stored = loop {
        let until = now() + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let lease = state
            .db
            .run({
                let (binding, owner) = (binding.to_owned(), owner.clone());
                move |c| conn_db::take_refresh_lease(c, &binding, &owner, until)
            })
            .await
            .map_err(|e| db_error(&e))?;
        match lease {
            Lease::Taken(token) => break token,
            Lease::NotConnected => {
                return Err(OAuthError::new(OAuthErrorClass::RefreshTokenInvalid, "the account was disconnected"))
            }
            Lease::Busy if waited.elapsed() < LEASE => tokio::time::sleep(LEASE_POLL).await,
            Lease::Busy => {
                return Err(OAuthError::new(OAuthErrorClass::Timeout, "another instance holds the refresh lease"))
            }
        }
    };
    let release = |state: &AppState| {
        let (binding, owner) = (binding.to_owned(), owner.clone());
        let db = state.db.clone();
        async move {
            if let Err(e) = db.run(move |c| conn_db::release_lease(c, &binding, &owner)).await {
                tracing::error!(error = format!("{e:#}"), "releasing the OAuth refresh lease failed");
            }
        }
    };
    let refresh_token = match state.cipher.decrypt(&stored, REFRESH_TOKEN_PURPOSE) {
        Ok(t) => t,
        Err(e) => {
            release(state).await;
            return Err(db_error(&e));
        }
    };
    let response = match state.oauth.client.refresh(app, &refresh_token).await {
        Ok(r) => r,
        Err(e) => {
            release(state).await;
            return Err(e);
        }
    };
    let rotated =
        match response.refresh_token.as_ref().map(|t| state.cipher.encrypt(t, REFRESH_TOKEN_PURPOSE)).transpose() {
            Ok(r) => r,
            Err(e) => {
                release(state).await;
                return Err(db_error(&e));
            }
        };
    let (issued_at, expires_at) = times(&response);
    let saved = state
        .db
        .run({
            let (binding, owner) = (binding.to_owned(), owner.clone());
            move |c| conn_db::refreshed(c, &binding, &owner, rotated.as_deref(), issued_at, expires_at)
        })
        .await;
    if let Err(e) = saved {
        // The provider may already have revoked the old refresh token: say so loudly.
        tracing::error!(error = format!("{e:#}"), "storing the rotated OAuth refresh token failed");
        return Err(db_error(&e));
    }
    state.metrics.oauth_token();
    tracing::info!(rotated = response.refresh_token.is_some(), "OAuth access token refreshed");
    Ok(response)
}

/// Records an app-only or service-account token on the connection row (saved settings only).
async fn issued(state: &AppState, req: &TokenRequest<'_>, binding: &crate::domain::Binding, t: &TokenResponse) {
    state.metrics.oauth_token();
    if !req.saved {
        return;
    }
    let (issued_at, expires_at) = times(t);
    let binding = binding.as_str().to_owned();
    if let Err(e) = state.db.run(move |c| conn_db::token_issued(c, &binding, issued_at, expires_at)).await {
        tracing::error!(error = format!("{e:#}"), "recording an issued OAuth token failed");
    }
}

fn times(t: &TokenResponse) -> (NaiveDateTime, NaiveDateTime) {
    let issued = now();
    let expires = chrono::DateTime::<chrono::Utc>::from(t.expires_at).naive_utc();
    (issued, expires)
}

/// The failure on the connection row and, once per class and hour, in the error log.
pub(crate) async fn record_failure(state: &AppState, settings: &StoredSettings, failure: &TokenFailure) {
    let binding = settings.binding().as_str().to_owned();
    let class = failure.class.as_str();
    let log = match state
        .db
        .run(move |c| conn_db::failed(c, &binding, class, chrono::Duration::minutes(RELOG_AFTER_MINUTES)))
        .await
    {
        Ok(log) => log,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "recording an OAuth failure failed");
            return;
        }
    };
    if !log {
        return;
    }
    let entry = NewEntry {
        at: now(),
        kind: LogKind::Connection,
        message_id: None,
        category: "oauth".to_owned(),
        status: MessageStatus::Failed,
        recipients: Vec::new(),
        sender: settings.auth_username.clone().unwrap_or_default(),
        attempt: None,
        stage: Some(StageName::Token),
        class: Some(failure.class),
        smtp_reply: None,
        duration_ms: 0,
        details: Details {
            connection: None,
            field: failure.field,
            hint_de: Some(failure.hint.de.clone()),
            hint_en: Some(failure.hint.en.clone()),
            server: settings.oauth.as_ref().map(|o| o.provider.as_str().to_owned()),
        },
    };
    if let Err(e) = state.db.run(move |c| db::mail_log::insert(c, &entry)).await {
        tracing::error!(error = format!("{e:#}"), "logging an OAuth failure failed");
    }
}

fn db_error(e: &anyhow::Error) -> OAuthError {
    tracing::error!(error = format!("{e:#}"), "OAuth token step failed internally");
    OAuthError::new(OAuthErrorClass::ProviderError, "internal error; see the server log")
}

fn internal(e: &anyhow::Error) -> TokenFailure {
    TokenFailure::from(&db_error(e))
}
