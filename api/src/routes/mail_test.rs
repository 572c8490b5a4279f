//! "Testmail senden": try saved or unsaved settings against the real server.

use crate::auth::{scopes, Authorized};
use crate::db;
use crate::db::mail_log::{Details, NewEntry};
use crate::domain::{parse_acting_user, EmailAddress, PasswordChange, SettingsDraft, StoredSettings, Violations};
use crate::error::{ApiError, Context};
use crate::extract::ValidJson;
use crate::state::{AppState, SMTP_PASSWORD_PURPOSE};
use actix_web::{post, web, HttpResponse};
use postamt_smtp::{Credentials, TestConfig};
use postamt_wire::{EffectiveSender, LogKind, MailTestRequest, MailTestResult, MessageStatus, Problem};
use secrecy::SecretString;
use std::time::Duration;

/// Test the settings: deliver a test mail (`send`) or go through every stage up to DATA
/// without delivering (`probe`).
///
/// Works with unsaved `settings`; nothing of the request is stored. Without
/// `auth.password`, the stored password is used only for the saved host, port, encryption
/// and username (else 422 on `auth.password`). Answers 200 whether or not mail worked:
/// `ok`, the stage timeline, the failure with its class, field and hint, the masked
/// transcript and the certificate. Ends within `timeout_seconds` plus one second.
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
    let MailTestRequest { settings, recipient, mode, acting_user } = body.0;
    let saved = state.db.run(db::settings::load).await.internal("loading mail settings")?;

    let mut v = Violations::default();
    let recipient = v.check("recipient", EmailAddress::try_from(recipient.as_str()));
    let acting_user = acting_user.and_then(|u| parse_acting_user(&mut v, &u));
    let (settings, password): (StoredSettings, Option<SecretString>) = match settings {
        Some(input) => {
            let draft = SettingsDraft::parse(input, saved.as_ref().map(|s| &s.settings))
                .map_err(|e| std::mem::take(&mut v).merged_into(e))?;
            let password = match &draft.password {
                PasswordChange::Set(secret) => Some(secret.clone()),
                PasswordChange::Keep => stored_password(&state, saved.as_ref())?,
                PasswordChange::Clear => None,
            };
            (draft.to_stored(password.is_some(), 0, chrono::Utc::now(), &auth.caller.actor), password)
        }
        None => {
            let loaded = saved.as_ref().ok_or(ApiError::NotConfigured)?;
            let password = if loaded.settings.auth_enabled { stored_password(&state, Some(loaded))? } else { None };
            (loaded.settings.clone(), password)
        }
    };
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
    let mut cfg = TestConfig::new(settings.host.clone(), settings.port, settings.encryption, sender, recipient);
    cfg.mode = mode;
    cfg.timeout = Duration::from_secs(u64::from(settings.timeout_seconds));
    cfg.trusted_ca_pem = settings.tls_trusted_ca_pem.clone();
    cfg.accept_invalid_certificates = settings.tls_accept_invalid_certificates;
    cfg.credentials = match (settings.auth_username.clone(), password) {
        (Some(username), Some(password)) if settings.auth_enabled => Some(Credentials::password(username, password)),
        _ => None,
    };
    let result = postamt_smtp::run_test(&cfg).await;
    let entry = log_entry(&result, format!("{}:{}", cfg.host, cfg.port));
    if let Err(e) = state.db.run(move |conn| db::mail_log::insert(conn, &entry)).await {
        tracing::error!(error = format!("{e:#}"), "logging a test mail failed");
    }
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(result))
}

/// The test as a mail-log entry (category `test`): outcome, stage, reply and hint only.
fn log_entry(result: &MailTestResult, server: String) -> NewEntry {
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
        },
    }
}

fn stored_password(state: &AppState, saved: Option<&db::settings::Loaded>) -> Result<Option<SecretString>, ApiError> {
    saved
        .and_then(|s| s.password_enc.as_deref())
        .map(|blob| state.cipher.decrypt(blob, SMTP_PASSWORD_PURPOSE))
        .transpose()
        .internal("decrypting the stored SMTP password")
}
