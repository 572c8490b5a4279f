//! The mail log: browse, the errors of the last 24 hours, and the full export.

use crate::auth::{scopes, Authorized};
use crate::db::{self, mail_log::Filter};
use crate::domain::Violations;
use crate::error::{ApiError, Context};
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use postamt_wire::{MailErrors, MailLogPage, MessageStatus, Problem};
use serde::Deserialize;

mod csv;
mod export;
mod gzip_stream;
pub use export::export_mail_log;

fn timestamp(v: &mut Violations, field: &str, raw: Option<&str>) -> Option<NaiveDateTime> {
    let raw = raw?.trim();
    v.check(
        field,
        DateTime::parse_from_rfc3339(raw).map(|t| t.with_timezone(&Utc).naive_utc()).map_err(|_| {
            crate::domain::FieldProblem::new("invalid_timestamp", "must be an RFC 3339 time like 2026-11-27T08:00:00Z")
        }),
    )
}

fn limit(v: &mut Violations, raw: Option<i64>, default: i64) -> i64 {
    match raw {
        None => default,
        Some(n) if (1..=500).contains(&n) => n,
        Some(_) => {
            v.add("limit", "out_of_range", "must be between 1 and 500");
            default
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Entries at or after this time (RFC 3339).
    from: Option<String>,
    /// Entries before this time (RFC 3339).
    to: Option<String>,
    /// `sent`, `retrying` or `failed`.
    status: Option<String>,
    /// The sending module, or `test`.
    category: Option<String>,
    /// Entries with this address among the recipients (substring, case-insensitive).
    recipient: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 500, default 100.
    limit: Option<i64>,
}

/// Every delivery attempt and test, newest first, page by page.
#[utoipa::path(
    tag = "mail-log",
    params(LogQuery),
    responses(
        (status = 200, body = MailLogPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["log:read"]), ("session_cookie" = []))
)]
#[get("/api/v1/mail-log")]
pub async fn list_mail_log(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::LogRead>,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let mut v = Violations::default();
    let status = q.status.as_deref().and_then(|s| {
        let parsed = MessageStatus::parse(s)
            .filter(|s| matches!(s, MessageStatus::Sent | MessageStatus::Retrying | MessageStatus::Failed));
        if parsed.is_none() {
            v.add("status", "invalid_value", "must be sent, retrying or failed");
        }
        parsed
    });
    let before_id = q.cursor.as_deref().and_then(|c| {
        let parsed = c.parse::<i64>().ok();
        if parsed.is_none() {
            v.add("cursor", "invalid_value", "use the next_cursor of a previous page");
        }
        parsed
    });
    let filter = Filter {
        from: timestamp(&mut v, "from", q.from.as_deref()),
        to: timestamp(&mut v, "to", q.to.as_deref()),
        status,
        category: q.category.filter(|c| !c.is_empty()),
        recipient: q.recipient.filter(|r| !r.trim().is_empty()).map(|r| r.trim().to_owned()),
        before_id,
        failures_only: false,
    };
    let limit = limit(&mut v, q.limit, 100);
    v.into_result()?;
    let mut entries = state
        .db
        .run(move |conn| db::mail_log::list(conn, &filter, limit + 1))
        .await
        .internal("reading the mail log")?;
    let more = entries.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    entries.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more { entries.last().map(|e| e.id.to_string()) } else { None };
    Ok(HttpResponse::Ok().json(MailLogPage { entries, next_cursor }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ErrorsQuery {
    /// Failures at or after this time (RFC 3339); default: 24 hours ago.
    since: Option<String>,
    /// `class` groups the failures by failure class.
    group: Option<String>,
    /// Failures listed, 1 to 500, default 100.
    limit: Option<i64>,
}

/// The failures of the last 24 hours (or since `since`), as a list or grouped by class,
/// each with the stage, the server's reply and a hint saying what to change.
#[utoipa::path(
    tag = "mail-log",
    params(ErrorsQuery),
    responses(
        (status = 200, body = MailErrors),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["log:read"]), ("session_cookie" = []))
)]
#[get("/api/v1/mail-log/errors")]
pub async fn list_mail_errors(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::LogRead>,
    query: web::Query<ErrorsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let mut v = Violations::default();
    let since =
        timestamp(&mut v, "since", q.since.as_deref()).unwrap_or_else(|| db::now() - chrono::Duration::hours(24));
    let grouped = match q.group.as_deref() {
        None | Some("") => false,
        Some("class") => true,
        Some(_) => {
            v.add("group", "invalid_value", "the only grouping is `class`");
            false
        }
    };
    let limit = limit(&mut v, q.limit, 100);
    v.into_result()?;
    let (entries, groups, total) = state
        .db
        .run(move |conn| {
            let total = db::mail_log::count_failures(conn, since)?;
            if grouped {
                return Ok((Vec::new(), db::mail_log::failure_groups(conn, since)?, total));
            }
            let filter = Filter { from: Some(since), failures_only: true, ..Filter::default() };
            Ok((db::mail_log::list(conn, &filter, limit)?, Vec::new(), total))
        })
        .await
        .internal("reading failures")?;
    Ok(HttpResponse::Ok().json(MailErrors { since: db::utc(since), entries, groups, total }))
}

/// Prometheus metrics of this instance (the outbox depth covers all instances).
#[utoipa::path(
    tag = "mail-log",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["log:read"]), ("session_cookie" = []))
)]
#[get("/metrics")]
pub async fn get_metrics(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::LogRead>,
) -> Result<HttpResponse, ApiError> {
    let depth = state.db.run(db::messages::outbox_depth).await.internal("counting the outbox")?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render(depth)))
}
