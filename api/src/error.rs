//! Errors that reach HTTP clients.
//!
//! Which type to use where:
//! - Handlers and extractors return [`ApiError`]. Each variant maps to one status code and is
//!   rendered as RFC 9457 `application/problem+json` ([`postamt_wire::Problem`]).
//! - Validation of request bodies collects [`postamt_wire::FieldError`]s and returns
//!   [`ApiError::Validation`] with all of them at once (422).
//! - Everything unexpected (database, crypto, I/O) travels as `anyhow::Error` inside
//!   [`ApiError::Internal`]: its full cause chain is logged, the client gets an opaque 500
//!   that never contains internal text.
//! - Lower layers (repositories, crypto) return `anyhow::Result` or their own small error
//!   enums; the handler decides what the client may learn.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use postamt_wire::{problem_types as types, FieldError, Problem, Scope, PROBLEM_CONTENT_TYPE};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: one or more fields are invalid; all of them are listed.
    #[error("{} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// 400: the body is not JSON, or not the JSON we expect, beyond what a field error says.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 413: the body is larger than the route accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the body is not JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 401: no valid credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403: valid credentials without the needed scope.
    #[error("forbidden: missing scope {0}")]
    MissingScope(Scope),
    /// 403: an API key on an endpoint for the signed-in admin only.
    #[error("forbidden: admin session required")]
    AdminOnly,
    /// 403: cookie-authenticated change without the session's CSRF token.
    #[error("forbidden: CSRF token missing or wrong")]
    Csrf,
    /// 404 for an unknown resource.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// 404 for `GET /api/v1/mail-settings` before anything is saved.
    #[error("mail settings are not configured")]
    NotConfigured,
    /// 409 for sending before any settings are saved.
    #[error("mail settings are not configured")]
    SettingsMissing,
    /// 409: the resource is not in a state that allows this.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412: `If-Match` names a version that is no longer current.
    #[error("precondition failed: current version is {current:?}")]
    PreconditionFailed { current: Option<i64> },
    /// 429 with `Retry-After`.
    #[error("too many requests")]
    TooManyRequests { retry_after_seconds: u64, detail: &'static str },
    /// 500: logged with its cause chain, opaque to the client.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: &str, code: &str, message: &str) -> Self {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code().as_u16();
        let (problem_type, title, detail, errors) = match self {
            ApiError::Validation(errors) => (
                types::VALIDATION,
                "The request contains invalid fields",
                Some(match errors.len() {
                    1 => "1 field is invalid".to_owned(),
                    n => format!("{n} fields are invalid"),
                }),
                errors.clone(),
            ),
            ApiError::Malformed(detail) => (types::MALFORMED, "The request is malformed", Some(detail.clone()), vec![]),
            ApiError::PayloadTooLarge => (
                types::PAYLOAD_TOO_LARGE,
                "The request body is too large",
                Some("the body exceeds the size this endpoint accepts".to_owned()),
                vec![],
            ),
            ApiError::UnsupportedMediaType => (
                types::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                Some("the body must be JSON (Content-Type: application/json)".to_owned()),
                vec![],
            ),
            ApiError::Unauthorized(detail) => {
                (types::UNAUTHORIZED, "Authentication required", Some((*detail).to_owned()), vec![])
            }
            ApiError::MissingScope(scope) => {
                (types::FORBIDDEN, "Not allowed", Some(format!("the API key lacks the scope {scope}")), vec![])
            }
            ApiError::AdminOnly => (
                types::FORBIDDEN,
                "Not allowed",
                Some("only the signed-in admin can do this; API keys cannot".to_owned()),
                vec![],
            ),
            ApiError::Csrf => (
                types::FORBIDDEN,
                "Not allowed",
                Some("the X-CSRF-Token header is missing or does not match the session".to_owned()),
                vec![],
            ),
            ApiError::NotFound(what) => (types::NOT_FOUND, "Not found", Some(format!("{what} not found")), vec![]),
            ApiError::NotConfigured => (
                types::NOT_CONFIGURED,
                "Mail settings are not configured",
                Some("no SMTP settings have been saved yet".to_owned()),
                vec![],
            ),
            ApiError::SettingsMissing => (
                types::NOT_CONFIGURED,
                "Mail settings are not configured",
                Some("save the SMTP settings before sending mail".to_owned()),
                vec![],
            ),
            ApiError::Conflict(detail) => (types::CONFLICT, "Conflict", Some(detail.clone()), vec![]),
            ApiError::PreconditionFailed { current } => (
                types::PRECONDITION_FAILED,
                "The resource was changed in the meantime",
                Some(match current {
                    Some(v) => format!("If-Match does not match the current version {v}; reload and retry"),
                    None => "If-Match does not match: the resource no longer exists".to_owned(),
                }),
                vec![],
            ),
            ApiError::TooManyRequests { retry_after_seconds, detail } => (
                types::TOO_MANY_REQUESTS,
                "Too many requests",
                Some(format!("{detail}; retry in {retry_after_seconds} s")),
                vec![],
            ),
            ApiError::Internal(_) => (
                types::INTERNAL,
                "Internal server error",
                Some("the error was logged; please try again later".to_owned()),
                vec![],
            ),
        };
        Problem { problem_type: problem_type.to_owned(), title: title.to_owned(), status, detail, errors }
    }
}

/// Renders a problem body with the right content type.
pub fn problem_response(status: StatusCode, problem: &Problem) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)).json(problem)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::MissingScope(_) | ApiError::AdminOnly | ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NotConfigured => StatusCode::NOT_FOUND,
            ApiError::SettingsMissing | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            if is_overload(cause) {
                // No database connection within the pool's timeout: the store is saturated.
                // Say so (503, retry soon) rather than an opaque 500.
                tracing::warn!(error = format!("{cause:#}"), "request refused: database busy");
                let problem = Problem {
                    problem_type: types::UNAVAILABLE.to_owned(),
                    title: "Temporarily unavailable".to_owned(),
                    status: 503,
                    detail: Some("the database is busy; retry in a moment".to_owned()),
                    errors: vec![],
                };
                let mut response = problem_response(StatusCode::SERVICE_UNAVAILABLE, &problem);
                response.headers_mut().insert(header::RETRY_AFTER, 1.into());
                return response;
            }
            // `{:#}` prints the whole chain: "saving settings: database is locked".
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let mut response = problem_response(self.status_code(), &self.problem());
        match self {
            ApiError::TooManyRequests { retry_after_seconds, .. } => {
                response.headers_mut().insert(header::RETRY_AFTER, (*retry_after_seconds).into());
            }
            ApiError::Unauthorized(_) => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// Whether the cause is a connection pool that had no connection in time.
fn is_overload(cause: &anyhow::Error) -> bool {
    cause.chain().any(|c| c.is::<diesel::r2d2::PoolError>())
}

/// Turns anything into an opaque 500 with context for the log.
pub trait Context<T> {
    fn internal(self, context: &'static str) -> Result<T, ApiError>;
}

impl<T, E: Into<anyhow::Error>> Context<T> for Result<T, E> {
    fn internal(self, context: &'static str) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::Internal(e.into().context(context)))
    }
}
