//! `ETag` / `If-Match` for optimistic concurrency: the ETag is the settings version.

use crate::error::ApiError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    Absent,
    /// `If-Match: *`: any existing version.
    Any,
    Version(i64),
}

pub fn etag(version: i64) -> (header::HeaderName, HeaderValue) {
    let value = HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    (header::ETAG, value)
}

pub fn if_match(req: &HttpRequest) -> Result<IfMatch, ApiError> {
    let Some(raw) = req.headers().get(header::IF_MATCH) else { return Ok(IfMatch::Absent) };
    let text = raw.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(IfMatch::Any);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(IfMatch::Version)
        .map_err(|_| ApiError::Malformed("If-Match must be an ETag from a previous response, like \"3\"".into()))
}

impl IfMatch {
    /// Whether the stored `current` version satisfies the precondition.
    pub fn admits(self, current: Option<i64>) -> bool {
        match self {
            IfMatch::Absent => true,
            IfMatch::Any => current.is_some(),
            IfMatch::Version(v) => current == Some(v),
        }
    }
}
