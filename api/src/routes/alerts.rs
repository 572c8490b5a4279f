//! Alerts: the channels and conditions, the incidents, and a test notification.

use super::etag::{etag, if_match, IfMatch};
use crate::alerts::text::About;
use crate::alerts::{self, dispatch, email};
use crate::auth::{scopes, Authorized};
use crate::db::{self, utc};
use crate::error::{ApiError, Context};
use crate::extract::ValidJson;
use crate::state::AppState;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use postamt_wire::{
    AlertChannel, AlertCondition, AlertEvent, AlertIncident, AlertList, AlertSettings, AlertSettingsInput,
    AlertTestOutcome, AlertTestResult, ChannelNotifications, IncidentState, Problem, WebhookPayload,
};
use serde::Deserialize;

/// How often a write is retried when another writer got in between (only without If-Match).
const WRITE_ATTEMPTS: usize = 3;

/// The alert settings. The webhook secret is never returned, only `webhook.secret_set`.
/// Before anything is saved: no channel, the default conditions, version 0.
#[utoipa::path(
    tag = "alerts",
    responses(
        (status = 200, body = AlertSettings, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:read"]), ("session_cookie" = []))
)]
#[get("/api/v1/alert-settings")]
pub async fn get_alert_settings(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::SettingsRead>,
) -> Result<HttpResponse, ApiError> {
    let stored = state.db.run(db::alerts::settings::load).await.internal("loading the alert settings")?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(stored.version))
        .insert_header(("Cache-Control", "no-store"))
        .json(alerts::settings::view(&stored)))
}

/// Save the alert settings.
///
/// All invalid fields are reported at once (422). `webhook.secret` may be omitted to keep
/// the stored secret, but only while `webhook.url` stays the same. With `If-Match`, a
/// version that is no longer current gets 412.
#[utoipa::path(
    tag = "alerts",
    request_body = AlertSettingsInput,
    params(
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
        ("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")
    ),
    responses(
        (status = 200, body = AlertSettings, headers(("ETag" = String, description = "The new version"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed in the meantime", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:write"]), ("session_cookie" = []))
)]
#[put("/api/v1/alert-settings")]
pub async fn replace_alert_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authorized<scopes::SettingsWrite>,
    body: ValidJson<AlertSettingsInput>,
) -> Result<HttpResponse, ApiError> {
    let precondition = if_match(&req)?;
    for _ in 0..WRITE_ATTEMPTS {
        let current = state.db.run(db::alerts::settings::load).await.internal("loading the alert settings")?;
        let admitted = match precondition {
            IfMatch::Absent | IfMatch::Any => true,
            IfMatch::Version(v) => v == current.version,
        };
        if !admitted {
            return Err(ApiError::PreconditionFailed { current: Some(current.version) });
        }
        let new = alerts::settings::parse(body.0.clone(), &current, &state.cipher)?;
        let (expected, actor) = (current.version, auth.caller.actor.clone());
        let saved = state
            .db
            .run(move |conn| db::alerts::settings::save(conn, expected, &new, &actor))
            .await
            .internal("saving the alert settings")?;
        match saved {
            Some(saved) => {
                tracing::info!(version = saved.version, by = %auth.caller.actor, "alert settings saved");
                return Ok(HttpResponse::Ok()
                    .insert_header(etag(saved.version))
                    .insert_header(("Cache-Control", "no-store"))
                    .json(alerts::settings::view(&saved)));
            }
            None if precondition != IfMatch::Absent => {
                let now = state.db.run(db::alerts::settings::load).await.internal("loading the alert settings")?;
                return Err(ApiError::PreconditionFailed { current: Some(now.version) });
            }
            None => continue,
        }
    }
    Err(ApiError::PreconditionFailed { current: None })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// How many incidents, newest first (1 to 500, default 50).
    limit: Option<i64>,
}

/// The incidents, newest first: state, first and last seen, and how their notifications went.
#[utoipa::path(
    tag = "alerts",
    params(AlertsQuery),
    responses(
        (status = 200, body = AlertList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:read"]), ("session_cookie" = []))
)]
#[get("/api/v1/alerts")]
pub async fn list_alerts(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::SettingsRead>,
    query: web::Query<AlertsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "out_of_range", "must be between 1 and 500"));
    }
    let (incidents, states) = state
        .db
        .run(move |conn| {
            let incidents = db::alerts::incidents::list(conn, limit)?;
            let ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
            Ok((incidents, db::alerts::notifications::states(conn, &ids)?))
        })
        .await
        .internal("loading the incidents")?;
    let incidents = incidents
        .into_iter()
        .filter_map(|i| {
            let condition = AlertCondition::parse(&i.condition)?;
            let notifications = [AlertChannel::Webhook, AlertChannel::Email]
                .into_iter()
                .filter_map(|channel| {
                    let mine: Vec<_> =
                        states.iter().filter(|s| s.incident_id == i.id && s.channel == channel.as_str()).collect();
                    let count = |f: &dyn Fn(&&db::alerts::notifications::State) -> bool| {
                        u32::try_from(mine.iter().filter(|s| f(s)).count()).unwrap_or(u32::MAX)
                    };
                    (!mine.is_empty()).then(|| ChannelNotifications {
                        channel,
                        delivered: count(&|s| s.delivered_at.is_some()),
                        failed: count(&|s| s.delivered_at.is_none() && s.failed_at.is_some()),
                        pending: count(&|s| s.delivered_at.is_none() && s.failed_at.is_none()),
                    })
                })
                .collect();
            Some(AlertIncident {
                id: i.id,
                condition,
                state: if i.resolved_at.is_some() { IncidentState::Resolved } else { IncidentState::Firing },
                opened_at: utc(i.opened_at),
                last_seen_at: utc(i.last_seen_at),
                resolved_at: i.resolved_at.map(utc),
                detail: i.detail,
                notifications,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(AlertList { incidents }))
}

/// Send a test notification on every configured channel now: the webhook is called at once
/// (its answer is in the result), the e-mail is queued in the outbox (its message id is in
/// the result). 409 when no channel is configured.
#[utoipa::path(
    tag = "alerts",
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")),
    responses(
        (status = 200, body = AlertTestResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No channel is configured", body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:write"]), ("session_cookie" = []))
)]
#[post("/api/v1/alerts/test")]
pub async fn send_alert_test(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::SettingsWrite>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.db.run(db::alerts::settings::load).await.internal("loading the alert settings")?;
    let channels = alerts::channels(&settings);
    if channels.is_empty() {
        return Err(ApiError::Conflict(
            "no alert channel is configured: save a webhook or e-mail recipients first".into(),
        ));
    }
    let instance = state.delivery.instance_id.clone();
    let about = About { event: AlertEvent::Test, incident: None, detail: "", instance: &instance };
    let mut results = Vec::new();
    for channel in channels {
        let mut outcome = AlertTestOutcome { channel, ok: false, status: None, error: None, message_id: None };
        match channel {
            AlertChannel::Webhook => {
                let payload = WebhookPayload {
                    event: AlertEvent::Test,
                    condition: None,
                    incident_id: None,
                    opened_at: None,
                    resolved_at: None,
                    detail: "test".to_owned(),
                    instance: instance.clone(),
                    text: about.line(),
                };
                match dispatch::send_webhook(&state, &settings, &payload).await {
                    Ok(status) => (outcome.ok, outcome.status) = (true, Some(status)),
                    Err(failed) => (outcome.status, outcome.error) = (failed.status, Some(failed.error)),
                }
            }
            AlertChannel::Email => {
                let recipients = settings.email_recipients.clone().unwrap_or_default();
                match email::queue(&state, &recipients, &about, None).await {
                    Ok(id) => (outcome.ok, outcome.message_id) = (true, Some(id)),
                    Err(e) => outcome.error = Some(format!("{e:#}")),
                }
            }
        }
        results.push(outcome);
    }
    Ok(HttpResponse::Ok().json(AlertTestResult { results }))
}
