//! The one error envelope: RFC 9457 "problem details" with a list of field errors.

use serde::{Deserialize, Serialize};

/// Media type of every error response.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Every error the API returns has this shape (RFC 9457, `application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "type": "https://postamt.dev/problems/validation",
    "title": "The request contains invalid fields",
    "status": 422,
    "detail": "2 fields are invalid",
    "errors": [
        {"field": "port", "code": "out_of_range", "message": "must be between 1 and 65535"},
        {"field": "sender_address", "code": "invalid_email", "message": "is not a valid e-mail address"}
    ]
})))]
pub struct Problem {
    /// A URI naming the kind of problem; stable, suitable for matching in clients.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field-level errors, all at once (only for validation problems).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Path of the field in the request body, dotted (`auth.password`, `to[2]`).
    pub field: String,
    /// Stable machine-readable code (`required`, `out_of_range`, `invalid_email`, ...).
    pub code: String,
    /// English explanation; clients translate by `code`.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// Stable problem type URIs.
pub mod problem_types {
    pub const VALIDATION: &str = "https://postamt.dev/problems/validation";
    pub const MALFORMED: &str = "https://postamt.dev/problems/malformed-request";
    pub const UNAUTHORIZED: &str = "https://postamt.dev/problems/unauthorized";
    pub const FORBIDDEN: &str = "https://postamt.dev/problems/forbidden";
    pub const NOT_FOUND: &str = "https://postamt.dev/problems/not-found";
    pub const NOT_CONFIGURED: &str = "https://postamt.dev/problems/not-configured";
    pub const CONFLICT: &str = "https://postamt.dev/problems/conflict";
    pub const PRECONDITION_FAILED: &str = "https://postamt.dev/problems/precondition-failed";
    pub const TOO_MANY_REQUESTS: &str = "https://postamt.dev/problems/too-many-requests";
    pub const PAYLOAD_TOO_LARGE: &str = "https://postamt.dev/problems/payload-too-large";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "https://postamt.dev/problems/unsupported-media-type";
    pub const INTERNAL: &str = "https://postamt.dev/problems/internal";
    pub const UNAVAILABLE: &str = "https://postamt.dev/problems/unavailable";
}
