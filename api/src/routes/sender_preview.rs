//! Which From, Reply-To and envelope sender a module's mail gets.

use crate::auth::{scopes, Authorized};
use crate::db;
use crate::domain::{parse_acting_user, SettingsDraft, Violations};
use crate::error::{ApiError, Context};
use crate::extract::ValidJson;
use crate::state::AppState;
use actix_web::{post, web, HttpResponse};
use postamt_wire::{EffectiveSender, Problem, SenderPreviewRequest};

/// Preview the sender policy, for saved or unsaved settings.
///
/// Force off: From is the acting user (else the default sender). Force on: From is the
/// default sender; with the Reply-To option, Reply-To is the acting user. The envelope
/// sender is always the default sender address.
#[utoipa::path(
    tag = "mail-settings",
    request_body = SenderPreviewRequest,
    responses(
        (status = 200, body = EffectiveSender),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No settings given and none saved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:read"]), ("session_cookie" = []))
)]
#[post("/api/v1/mail-settings/preview")]
pub async fn preview_mail_sender(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::SettingsRead>,
    body: ValidJson<SenderPreviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let SenderPreviewRequest { settings, acting_user } = body.0;
    let mut v = Violations::default();
    let acting_user = acting_user.and_then(|u| parse_acting_user(&mut v, &u));
    let (name, address, force, reply_to) = match settings {
        Some(mut input) => {
            // The password plays no part in who the sender is: check everything else.
            input.auth.enabled = false;
            let draft = SettingsDraft::parse(input, None).map_err(|e| std::mem::take(&mut v).merged_into(e))?;
            (
                draft.sender_name.as_str().to_owned(),
                draft.sender_address.as_str().to_owned(),
                draft.force_default_sender,
                draft.reply_to_individual_sender,
            )
        }
        None => {
            let saved = state.db.run(db::settings::load).await.internal("loading mail settings")?;
            let s = saved.ok_or(ApiError::NotConfigured)?.settings;
            (s.sender_name, s.sender_address, s.force_default_sender, s.reply_to_individual_sender)
        }
    };
    v.into_result()?;
    Ok(HttpResponse::Ok().json(EffectiveSender::apply(&name, &address, force, reply_to, acting_user.as_ref())))
}
