//! The shared SMTP settings.

use super::etag::{etag, if_match, IfMatch};
use crate::auth::{scopes, Authorized};
use crate::db::fallback::FallbackSecrets;
use crate::db::settings::{EncryptedSecrets, Loaded};
use crate::db::{self, settings::Outcome};
use crate::domain::{PasswordChange, SecretChange, SecretsChanged, SettingsDraft, StoredSettings};
use crate::error::{ApiError, Context};
use crate::extract::ValidJson;
use crate::oauth::{CLIENT_SECRET_PURPOSE, SERVICE_ACCOUNT_KEY_PURPOSE};
use crate::state::{
    AppState, FALLBACK_CLIENT_SECRET_PURPOSE, FALLBACK_PASSWORD_PURPOSE, FALLBACK_SERVICE_ACCOUNT_KEY_PURPOSE,
    SMTP_PASSWORD_PURPOSE,
};
use actix_web::{delete, get, put, web, HttpRequest, HttpResponse};
use postamt_wire::{MailSettings, MailSettingsInput, Problem, SettingsHistory};
use serde::Deserialize;

/// How often a write is retried when another writer got in between (only without If-Match).
const WRITE_ATTEMPTS: usize = 3;

/// The saved settings. The password is never returned, only `auth.password_set`.
#[utoipa::path(
    tag = "mail-settings",
    responses(
        (status = 200, body = MailSettings, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Nothing saved yet (type .../not-configured)", body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:read"]), ("session_cookie" = []))
)]
#[get("/api/v1/mail-settings")]
pub async fn get_mail_settings(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::SettingsRead>,
) -> Result<HttpResponse, ApiError> {
    let loaded = state.db.run(db::settings::load).await.internal("loading mail settings")?;
    let settings = loaded.ok_or(ApiError::NotConfigured)?.settings;
    let view = view_with_connection(&state, &settings).await?;
    Ok(HttpResponse::Ok().insert_header(etag(settings.version)).insert_header(("Cache-Control", "no-store")).json(view))
}

/// The settings as returned, with the OAuth connection's current state.
pub async fn view_with_connection(state: &AppState, settings: &StoredSettings) -> Result<MailSettings, ApiError> {
    let mut view = settings.to_wire();
    if let (Some(oauth2), true) = (view.auth.oauth2.as_mut(), settings.oauth.is_some()) {
        let row = state.db.run(db::oauth_connection::load).await.internal("loading the OAuth connection")?;
        oauth2.connection = crate::oauth::view::connection(settings, row.as_ref());
    }
    Ok(view)
}

/// The encrypted secrets to store for `draft`, and which of them changed.
fn secrets_for(
    state: &AppState,
    draft: &SettingsDraft,
    current: Option<&Loaded>,
) -> Result<(EncryptedSecrets, SecretsChanged), ApiError> {
    let stored = current.map(|c| c.secrets.clone()).unwrap_or_default();
    let (password, password_changed) = match &draft.password {
        PasswordChange::Keep => (stored.password.clone(), false),
        PasswordChange::Set(secret) => {
            (Some(state.cipher.encrypt(secret, SMTP_PASSWORD_PURPOSE).internal("encrypting the password")?), true)
        }
        PasswordChange::Clear => (None, stored.password.is_some()),
    };
    let (fallback_password, fallback_password_changed) = match draft.fallback.as_ref().map(|f| &f.password) {
        Some(PasswordChange::Keep) => (stored.fallback.password.clone(), false),
        Some(PasswordChange::Set(secret)) => (
            Some(state.cipher.encrypt(secret, FALLBACK_PASSWORD_PURPOSE).internal("encrypting the fallback password")?),
            true,
        ),
        Some(PasswordChange::Clear) | None => (None, stored.fallback.password.is_some()),
    };
    let oauth_secret = |change: Option<&SecretChange>, kept: &Option<Vec<u8>>, purpose: &str| {
        Ok::<_, ApiError>(match change {
            Some(SecretChange::Keep) => (kept.clone(), false),
            Some(SecretChange::Set(secret)) => {
                (Some(state.cipher.encrypt(secret, purpose).internal("encrypting an OAuth secret")?), true)
            }
            Some(SecretChange::Clear) | None => (None, kept.is_some()),
        })
    };
    let oauth = draft.oauth.as_ref();
    let (client_secret, client_secret_changed) =
        oauth_secret(oauth.map(|o| &o.client_secret), &stored.client_secret, CLIENT_SECRET_PURPOSE)?;
    let (service_account_key, key_changed) =
        oauth_secret(oauth.map(|o| &o.service_account_key), &stored.service_account_key, SERVICE_ACCOUNT_KEY_PURPOSE)?;
    let fallback_oauth = draft.fallback.as_ref().and_then(|f| f.oauth.as_ref());
    let (fallback_client_secret, fallback_client_secret_changed) = oauth_secret(
        fallback_oauth.map(|o| &o.client_secret),
        &stored.fallback.client_secret,
        FALLBACK_CLIENT_SECRET_PURPOSE,
    )?;
    let (fallback_key, fallback_key_changed) = oauth_secret(
        fallback_oauth.map(|o| &o.service_account_key),
        &stored.fallback.service_account_key,
        FALLBACK_SERVICE_ACCOUNT_KEY_PURPOSE,
    )?;
    Ok((
        EncryptedSecrets {
            password,
            client_secret,
            service_account_key,
            fallback: FallbackSecrets {
                password: fallback_password,
                client_secret: fallback_client_secret,
                service_account_key: fallback_key,
            },
        },
        SecretsChanged {
            password: password_changed,
            client_secret: client_secret_changed,
            service_account_key: key_changed,
            refresh_token: false,
            fallback_password: fallback_password_changed,
            fallback_client_secret: fallback_client_secret_changed,
            fallback_service_account_key: fallback_key_changed,
        },
    ))
}

/// Save the settings (create or replace).
///
/// All invalid fields are reported at once (422). `auth.password` may be omitted to keep
/// the stored password, except when host, port, encryption or username change: then it
/// must be sent again. Likewise `auth.oauth2.client_secret` and `service_account_key`,
/// which also must be sent again when provider, flow, tenant or client id change; such a
/// change also disconnects a connected account (`authorization_code`). With `If-Match`, a
/// version that is no longer current gets 412.
///
/// `fallback` (optional; `null` or absent removes it): a second server used while this one
/// fails for a reason of the connection, checked by the same rules with errors named
/// `fallback.*`; `fallback.auth.password` (and its OAuth secrets) may be omitted to keep the
/// stored ones for the same fallback host, port, encryption and username.
#[utoipa::path(
    tag = "mail-settings",
    request_body = MailSettingsInput,
    params(
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
        ("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")
    ),
    responses(
        (status = 200, body = MailSettings, headers(("ETag" = String, description = "The new version"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed in the meantime", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:write"]), ("session_cookie" = []))
)]
#[put("/api/v1/mail-settings")]
pub async fn replace_mail_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authorized<scopes::SettingsWrite>,
    body: ValidJson<MailSettingsInput>,
) -> Result<HttpResponse, ApiError> {
    let precondition = if_match(&req)?;
    let input = body.0;
    for _ in 0..WRITE_ATTEMPTS {
        let current = state.db.run(db::settings::load).await.internal("loading mail settings")?;
        let current_version = current.as_ref().map(|c| c.settings.version);
        if !precondition.admits(current_version) {
            return Err(ApiError::PreconditionFailed { current: current_version });
        }
        let draft = SettingsDraft::parse(input.clone(), current.as_ref().map(|c| &c.settings))?;
        let (secrets, changed) = secrets_for(&state, &draft, current.as_ref())?;
        let actor = auth.caller.actor.clone();
        let outcome = state
            .db
            .run(move |conn| db::settings::save(conn, current_version, &draft, secrets, changed, &actor))
            .await
            .internal("saving mail settings")?;
        state.settings.invalidate();
        match outcome {
            Outcome::Done(saved) => {
                tracing::info!(version = saved.version, by = %saved.updated_by, "mail settings saved");
                let view = view_with_connection(&state, &saved).await?;
                return Ok(HttpResponse::Ok()
                    .insert_header(etag(saved.version))
                    .insert_header(("Cache-Control", "no-store"))
                    .json(view));
            }
            // Someone saved between our read and our write. With If-Match that is the
            // caller's conflict; without, decide again on the fresh state.
            Outcome::Conflict { current } if precondition != IfMatch::Absent => {
                return Err(ApiError::PreconditionFailed { current });
            }
            Outcome::Conflict { .. } => continue,
        }
    }
    Err(ApiError::PreconditionFailed { current: None })
}

/// Remove the settings: back to "not configured".
#[utoipa::path(
    tag = "mail-settings",
    params(
        ("If-Match" = Option<String>, Header, description = "ETag of the version to delete"),
        ("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Nothing saved", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed in the meantime", body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:write"]), ("session_cookie" = []))
)]
#[delete("/api/v1/mail-settings")]
pub async fn delete_mail_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authorized<scopes::SettingsWrite>,
) -> Result<HttpResponse, ApiError> {
    let expected = match if_match(&req)? {
        IfMatch::Version(v) => Some(v),
        IfMatch::Absent | IfMatch::Any => None,
    };
    let actor = auth.caller.actor;
    let outcome = state
        .db
        .run(move |conn| db::settings::delete(conn, expected, &actor))
        .await
        .internal("deleting mail settings")?;
    state.settings.invalidate();
    match outcome {
        Outcome::Done(()) => {
            tracing::info!("mail settings deleted");
            Ok(HttpResponse::NoContent().finish())
        }
        Outcome::Conflict { current: None } => Err(ApiError::NotConfigured),
        Outcome::Conflict { current } => Err(ApiError::PreconditionFailed { current }),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many entries, newest first (1 to 500, default 50).
    limit: Option<i64>,
}

/// Every change of the settings: who, when, which fields. Secret values never appear.
#[utoipa::path(
    tag = "mail-settings",
    params(HistoryQuery),
    responses(
        (status = 200, body = SettingsHistory),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:read"]), ("session_cookie" = []))
)]
#[get("/api/v1/mail-settings/history")]
pub async fn list_mail_settings_history(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::SettingsRead>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "out_of_range", "must be between 1 and 500"));
    }
    let entries =
        state.db.run(move |conn| db::history::list(conn, limit)).await.internal("loading the settings history")?;
    Ok(HttpResponse::Ok().json(SettingsHistory { entries }))
}
