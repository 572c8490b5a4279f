//! The sending limits' use (`GET /api/v1/mail-settings/usage`), across all instances.

use crate::auth::{scopes, Authorized};
use crate::db::{self, send_limits};
use crate::error::{ApiError, Context};
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use postamt_wire::{LimitHold, LimitReason, LimitUse, Priority, Problem, SendingLimits, SendingUsage};

/// How much of each sending limit is used now, what holds messages back, and how many
/// wait, by priority. The use is shown also where no limit is set.
#[utoipa::path(
    tag = "mail-settings",
    responses(
        (status = 200, body = SendingUsage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:read"]), ("session_cookie" = []))
)]
#[get("/api/v1/mail-settings/usage")]
pub async fn get_mail_settings_usage(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::SettingsRead>,
) -> Result<HttpResponse, ApiError> {
    let (limits, used, sessions, hold, waiting) = state
        .db
        .run(|conn| {
            let at = db::now();
            let limits = db::settings::load(conn)?.map(|l| l.settings.limits).unwrap_or_default();
            let used = send_limits::used(conn, at)?;
            let sessions = send_limits::sessions_held(conn, at)?;
            let hold = send_limits::current_hold(conn)?;
            let waiting = db::messages::waiting_by_priority(conn)?;
            Ok((limits, used, sessions, hold, waiting))
        })
        .await
        .internal("reading the sending use")?;
    let held = hold.or_else(|| {
        let left = state.pause.remaining()?;
        Some(LimitHold {
            reason: LimitReason::ServerThrottled,
            until: chrono::Utc::now() + chrono::Duration::from_std(left).ok()?,
        })
    });
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let SendingLimits {
        messages_per_minute,
        messages_per_hour,
        messages_per_day,
        recipients_per_day,
        concurrent_sessions,
    } = limits;
    let usage = SendingUsage {
        limits: vec![
            LimitUse { limit: LimitReason::MessagesPerMinute, max: messages_per_minute, used: count(used.last_minute) },
            LimitUse { limit: LimitReason::MessagesPerHour, max: messages_per_hour, used: count(used.hour) },
            LimitUse { limit: LimitReason::MessagesPerDay, max: messages_per_day, used: count(used.day) },
            LimitUse {
                limit: LimitReason::RecipientsPerDay,
                max: recipients_per_day,
                used: count(used.day_recipients),
            },
            LimitUse { limit: LimitReason::ConcurrentSessions, max: concurrent_sessions, used: count(sessions) },
        ],
        // A hold matters only while messages wait (a per-minute limit always names its next
        // free slot).
        hold: held.filter(|_| waiting.iter().sum::<i64>() > 0),
        waiting_high: count(waiting[usize::from(Priority::High.rank().unsigned_abs())]),
        waiting_normal: count(waiting[usize::from(Priority::Normal.rank().unsigned_abs())]),
        waiting_low: count(waiting[usize::from(Priority::Low.rank().unsigned_abs())]),
    };
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(usage))
}
