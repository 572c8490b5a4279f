//! "Testmail senden": try saved or unsaved settings against the real server.

use crate::auth::{scopes, Authorized};
use crate::db;
use crate::db::mail_log::{Details, NewEntry};
use crate::domain::{
    parse_acting_user, EmailAddress, PasswordChange, SecretChange, SettingsDraft, StoredSettings, Violations,
};
use crate::error::{ApiError, Context};
use crate::extract::ValidJson;
use crate::oauth::obtain::{access_token, invalidate, TokenRequest};
use crate::oauth::{CLIENT_SECRET_PURPOSE, SERVICE_ACCOUNT_KEY_PURPOSE};
use crate::state::{
    AppState, FALLBACK_CLIENT_SECRET_PURPOSE, FALLBACK_PASSWORD_PURPOSE, FALLBACK_SERVICE_ACCOUNT_KEY_PURPOSE,
    SMTP_PASSWORD_PURPOSE,
};
use actix_web::{post, web, HttpResponse};
use postamt_smtp::{Credentials, TestConfig};
use postamt_wire::{
    EffectiveSender, LogKind, MailConnection, MailTestRequest, MailTestResult, MessageStatus, Problem, Stage,
    StageName, StageStatus,
};
use secrecy::SecretString;
use std::time::{Duration, Instant};

/// The secrets a test signs in with, decrypted.
#[derive(Default)]
struct TestSecrets {
    password: Option<SecretString>,
    client_secret: Option<SecretString>,
    service_account_key: Option<SecretString>,
    fallback_password: Option<SecretString>,
    fallback_client_secret: Option<SecretString>,
    fallback_service_account_key: Option<SecretString>,
}

/// Test the settings: deliver a test mail (`send`) or go through every stage up to DATA
/// without delivering (`probe`).
///
/// Works with unsaved `settings`; nothing of the request is stored. Without
/// `auth.password`, the stored password is used only for the saved host, port, encryption
/// and username (else 422 on `auth.password`); the same holds for the OAuth client secret
/// and service account key, which also need the same provider, flow and app. With OAuth
/// 2.0 the test begins with the stage `token`; a delegated connection (`authorization_code`)
/// is tested with the connected account, so only settings of the same binding as the saved
/// ones can use it. Answers 200 whether or not mail worked:
/// `ok`, the stage timeline, the failure with its class, field and hint, the masked
/// transcript and the certificate. Ends within `timeout_seconds` plus one second.
///
/// `connection: fallback` tests the fallback server instead (`settings.fallback`, or the
/// saved one; 422 on `fallback` when there is none), with its envelope sender; its
/// password may be omitted under the same rule, for the saved fallback's host, port,
/// encryption and username.
#[utoipa::path(
    tag = "mail-settings",
    request_body = MailTestRequest,
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")),
    responses(
        (status = 200, description = "The test ran; see `ok`", body = MailTestResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No settings given and none saved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many tests; see Retry-After", body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:write"]), ("session_cookie" = []))
)]
#[post("/api/v1/mail-settings/test")]
pub async fn test_mail_settings(
    state: web::Data<AppState>,
    auth: Authorized<scopes::SettingsWrite>,
    body: ValidJson<MailTestRequest>,
) -> Result<HttpResponse, ApiError> {
    let MailTestRequest { settings, recipient, mode, acting_user, connection } = body.0;
    let saved = state.db.run(db::settings::load).await.internal("loading mail settings")?;

    let mut v = Violations::default();
    let recipient = v.check("recipient", EmailAddress::try_from(recipient.as_str()));
    let acting_user = acting_user.and_then(|u| parse_acting_user(&mut v, &u));
    let (settings, secrets): (StoredSettings, TestSecrets) = match settings {
        Some(input) => {
            let draft = SettingsDraft::parse(input, saved.as_ref().map(|s| &s.settings))
                .map_err(|e| std::mem::take(&mut v).merged_into(e))?;
            let stored = |pick: fn(&db::settings::EncryptedSecrets) -> &Option<Vec<u8>>, purpose| {
                decrypt(&state, saved.as_ref().and_then(|s| pick(&s.secrets).as_deref()), purpose)
            };
            let password = match &draft.password {
                PasswordChange::Set(secret) => Some(secret.clone()),
                PasswordChange::Keep => stored(|s| &s.password, SMTP_PASSWORD_PURPOSE)?,
                PasswordChange::Clear => None,
            };
            let oauth_secret = |change: Option<&SecretChange>, pick, purpose| match change {
                Some(SecretChange::Set(secret)) => Ok(Some(secret.clone())),
                Some(SecretChange::Keep) => stored(pick, purpose),
                Some(SecretChange::Clear) | None => Ok(None),
            };
            let oauth = draft.oauth.as_ref();
            let fallback_password = match draft.fallback.as_ref().map(|f| &f.password) {
                Some(PasswordChange::Set(secret)) => Some(secret.clone()),
                Some(PasswordChange::Keep) => stored(|s| &s.fallback.password, FALLBACK_PASSWORD_PURPOSE)?,
                Some(PasswordChange::Clear) | None => None,
            };
            let fallback_oauth = draft.fallback.as_ref().and_then(|f| f.oauth.as_ref());
            let secrets = TestSecrets {
                fallback_password,
                fallback_client_secret: oauth_secret(
                    fallback_oauth.map(|o| &o.client_secret),
                    |s| &s.fallback.client_secret,
                    FALLBACK_CLIENT_SECRET_PURPOSE,
                )?,
                fallback_service_account_key: oauth_secret(
                    fallback_oauth.map(|o| &o.service_account_key),
                    |s| &s.fallback.service_account_key,
                    FALLBACK_SERVICE_ACCOUNT_KEY_PURPOSE,
                )?,
                client_secret: oauth_secret(
                    oauth.map(|o| &o.client_secret),
                    |s| &s.client_secret,
                    CLIENT_SECRET_PURPOSE,
                )?,
                service_account_key: oauth_secret(
                    oauth.map(|o| &o.service_account_key),
                    |s| &s.service_account_key,
                    SERVICE_ACCOUNT_KEY_PURPOSE,
                )?,
                password,
            };
            (draft.to_stored(secrets.password.is_some(), 0, chrono::Utc::now(), &auth.caller.actor), secrets)
        }
        None => {
            let loaded = saved.as_ref().ok_or(ApiError::NotConfigured)?;
            let secrets = TestSecrets {
                password: decrypt(&state, loaded.secrets.password.as_deref(), SMTP_PASSWORD_PURPOSE)?,
                client_secret: decrypt(&state, loaded.secrets.client_secret.as_deref(), CLIENT_SECRET_PURPOSE)?,
                service_account_key: decrypt(
                    &state,
                    loaded.secrets.service_account_key.as_deref(),
                    SERVICE_ACCOUNT_KEY_PURPOSE,
                )?,
                fallback_password: decrypt(
                    &state,
                    loaded.secrets.fallback.password.as_deref(),
                    FALLBACK_PASSWORD_PURPOSE,
                )?,
                fallback_client_secret: decrypt(
                    &state,
                    loaded.secrets.fallback.client_secret.as_deref(),
                    FALLBACK_CLIENT_SECRET_PURPOSE,
                )?,
                fallback_service_account_key: decrypt(
                    &state,
                    loaded.secrets.fallback.service_account_key.as_deref(),
                    FALLBACK_SERVICE_ACCOUNT_KEY_PURPOSE,
                )?,
            };
            (loaded.settings.clone(), secrets)
        }
    };
    // Only the saved connection records its state and may use the connected account.
    let same_as_saved = saved.as_ref().is_some_and(|s| s.settings.binding() == settings.binding());
    if connection == MailConnection::Fallback && settings.fallback.is_none() {
        v.add("fallback", "required", "is required to test the fallback server");
    }
    v.into_result()?;
    let recipient = recipient.map(|r| r.as_str().to_owned()).unwrap_or_default();

    state.test_limiter.hit(&auth.caller.actor).map_err(|retry_after_seconds| ApiError::TooManyRequests {
        retry_after_seconds,
        detail: "too many test mails from this caller",
    })?;

    let sender = EffectiveSender::apply(
        &settings.sender_name,
        &settings.sender_address,
        settings.force_default_sender,
        settings.reply_to_individual_sender,
        acting_user.as_ref(),
    );
    let fallback = settings.fallback.as_ref().filter(|_| connection == MailConnection::Fallback);
    let mut cfg = match fallback {
        None => {
            let mut cfg = TestConfig::new(settings.host.clone(), settings.port, settings.encryption, sender, recipient);
            cfg.trusted_ca_pem = settings.tls_trusted_ca_pem.clone();
            cfg.accept_invalid_certificates = settings.tls_accept_invalid_certificates;
            cfg
        }
        Some(f) => {
            let sender =
                EffectiveSender { envelope_from: f.envelope_sender.clone().unwrap_or(sender.envelope_from), ..sender };
            let mut cfg = TestConfig::new(f.host.clone(), f.port, f.encryption, sender, recipient);
            cfg.trusted_ca_pem = f.tls_trusted_ca_pem.clone();
            cfg.accept_invalid_certificates = f.tls_accept_invalid_certificates;
            cfg
        }
    };
    cfg.mode = mode;
    cfg.timeout = Duration::from_secs(u64::from(settings.timeout_seconds));
    cfg.ehlo_name = state.ehlo_name.clone();
    let fallback_oauth = fallback.filter(|f| f.uses_oauth()).and_then(|_| settings.fallback_settings());
    let result = if let Some(fallback_settings) = &fallback_oauth {
        // App-only: nothing is recorded on the primary's connection row.
        let req = TokenRequest {
            settings: fallback_settings,
            client_secret: secrets.fallback_client_secret,
            service_account_key: secrets.fallback_service_account_key,
            saved: false,
            force: false,
        };
        test_with_oauth(&state, &req, &mut cfg).await
    } else if let Some(f) = fallback {
        cfg.credentials = match (f.auth_username.clone(), secrets.fallback_password) {
            (Some(username), Some(password)) if f.auth_enabled => Some(Credentials::password(username, password)),
            _ => None,
        };
        postamt_smtp::run_test(&cfg).await
    } else if settings.uses_oauth() {
        let req = TokenRequest {
            settings: &settings,
            client_secret: secrets.client_secret,
            service_account_key: secrets.service_account_key,
            saved: same_as_saved,
            force: false,
        };
        test_with_oauth(&state, &req, &mut cfg).await
    } else {
        cfg.credentials = match (settings.auth_username.clone(), secrets.password) {
            (Some(username), Some(password)) if settings.auth_enabled => {
                Some(Credentials::password(username, password))
            }
            _ => None,
        };
        postamt_smtp::run_test(&cfg).await
    };
    let entry = log_entry(&result, format!("{}:{}", cfg.host, cfg.port), connection);
    if let Err(e) = state.db.run(move |conn| db::mail_log::insert(conn, &entry)).await {
        tracing::error!(error = format!("{e:#}"), "logging a test mail failed");
    }
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(result))
}

/// The test as a mail-log entry (category `test`): outcome, stage, reply and hint only.
fn log_entry(result: &MailTestResult, server: String, connection: MailConnection) -> NewEntry {
    let failed_stage = result.failure.as_ref().and_then(|f| result.stages.iter().find(|s| s.name == f.stage));
    let last_reply = failed_stage.or_else(|| result.stages.iter().rev().find(|s| s.reply_code.is_some()));
    let smtp_reply = last_reply.and_then(|s| {
        let code = s.reply_code?;
        Some(format!("{code} {}", s.server_text.as_deref().unwrap_or("")).trim_end().to_owned())
    });
    NewEntry {
        at: db::now(),
        kind: LogKind::Test,
        message_id: None,
        category: "test".to_owned(),
        status: if result.ok { MessageStatus::Sent } else { MessageStatus::Failed },
        recipients: vec![result.recipient.clone()],
        sender: result.sender.envelope_from.clone(),
        attempt: None,
        stage: result.failure.as_ref().map(|f| f.stage),
        class: result.failure.as_ref().map(|f| f.class),
        smtp_reply,
        duration_ms: result.duration_ms,
        details: Details {
            field: result.failure.as_ref().and_then(|f| f.field),
            hint_de: result.failure.as_ref().map(|f| f.hint_de.clone()),
            hint_en: result.failure.as_ref().map(|f| f.hint_en.clone()),
            server: Some(server),
            connection: Some(connection),
        },
    }
}

fn decrypt(state: &AppState, blob: Option<&[u8]>, purpose: &str) -> Result<Option<SecretString>, ApiError> {
    blob.map(|blob| state.cipher.decrypt(blob, purpose)).transpose().internal("decrypting a stored secret")
}

/// The test with an OAuth 2.0 sign-in: the `token` stage, then the SMTP stages with the
/// token. A token the server refuses is dropped and the test runs once more with a fresh
/// one, as delivery does.
async fn test_with_oauth(state: &AppState, req: &TokenRequest<'_>, cfg: &mut TestConfig) -> MailTestResult {
    let mut retried = false;
    loop {
        let started = Instant::now();
        let issued = access_token(state, req).await;
        let token_ms = started.elapsed().as_millis() as u64;
        let token = match issued {
            Ok(token) => token,
            Err(failure) => {
                let mut result = postamt_smtp::not_started(cfg, failure.to_wire(), token_ms);
                result.stages.insert(0, token_stage(StageStatus::Failed, token_ms, failure.detail, failure.detail_de));
                return result;
            }
        };
        cfg.credentials = Some(Credentials::access_token(token.mailbox.clone(), token.token.clone()));
        let mut result = postamt_smtp::run_test(cfg).await;
        if !retried && result.failure.as_ref().is_some_and(|f| f.class.is_token_rejected()) {
            invalidate(state, &token);
            retried = true;
            continue;
        }
        result.stages.insert(0, token_stage(StageStatus::Ok, token_ms, token.detail, Some(token.detail_de)));
        result.duration_ms += token_ms;
        return result;
    }
}

fn token_stage(status: StageStatus, duration_ms: u64, detail: String, detail_de: Option<String>) -> Stage {
    Stage {
        name: StageName::Token,
        status,
        duration_ms,
        reply_code: None,
        enhanced_code: None,
        server_text: None,
        detail: Some(detail),
        detail_de,
    }
}
