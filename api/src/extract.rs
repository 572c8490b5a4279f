//! Request body parsing at the edge: JSON errors become problem responses that name the field.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use postamt_wire::FieldError;
use serde::de::DeserializeOwned;

/// The raw bytes of a JSON body: 415 unless it is declared JSON, 413 beyond the route's
/// `web::PayloadConfig` limit (256 KiB unless the route sets more).
#[derive(Debug)]
pub struct JsonBody(pub web::Bytes);

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared_json = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !declared_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            body.await.map(JsonBody).map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::Malformed("the body could not be read".into())
                }
            })
        })
    }
}

/// Like `web::Json<T>`, but every failure is an [`ApiError`]: malformed JSON is a 400, a
/// wrong type, a missing or an unknown field is a 422 naming the field by its path.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = JsonBody::from_request(req, payload);
        Box::pin(async move { parse_json(&body.await?.0).map(ValidJson) })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let mime = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
        .unwrap_or(false)
}

/// Parses JSON, naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Tracking the path costs about as much as the parse itself, and most bodies are valid:
    // they are parsed without it, and only a failure is parsed again to name its field.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(path_error_to_api)?;
    de.end().map_err(|e| ApiError::Malformed(format!("trailing characters after the JSON body: {e}")))?;
    Ok(value)
}

fn path_error_to_api(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if !inner.is_data() {
        return ApiError::Malformed(format!("the body is not valid JSON: {inner}"));
    }
    let message = inner.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
    let parent = if path == "." { String::new() } else { path };
    let join = |name: &str| if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") };
    let (field, code, text) = if let Some(name) = backticked(&message, "unknown field `") {
        // The path already ends with the unknown field's name.
        let field = if parent.ends_with(&name) { parent.clone() } else { join(&name) };
        (field, "unknown_field", "is not a known field".to_owned())
    } else if let Some(name) = backticked(&message, "missing field `") {
        (join(&name), "required", "is required".to_owned())
    } else if message.starts_with("invalid type") {
        (or_root(parent), "invalid_type", message)
    } else {
        // "unknown variant", "invalid value", "invalid length", ...
        (or_root(parent), "invalid_value", message)
    };
    ApiError::Validation(vec![FieldError::new(field, code, text)])
}

fn or_root(path: String) -> String {
    if path.is_empty() {
        "body".to_owned()
    } else {
        path
    }
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    Some(rest.split('`').next()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postamt_wire::MailSettingsInput;

    fn errors(body: &str) -> Vec<FieldError> {
        match parse_json::<MailSettingsInput>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_nested_field_is_named_with_its_path() {
        let e = errors(r#"{"auth": {"enabled": true, "pasword": "x"}}"#);
        assert_eq!(e[0].field, "auth.pasword");
        assert_eq!(e[0].code, "unknown_field");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let e = errors(r#"{"port": "587"}"#);
        assert_eq!(e[0].field, "port");
        assert_eq!(e[0].code, "invalid_type");
    }

    #[test]
    fn unknown_enum_value_names_the_field() {
        let e = errors(r#"{"encryption": "ssl"}"#);
        assert_eq!(e[0].field, "encryption");
        assert_eq!(e[0].code, "invalid_value");
    }

    #[test]
    fn syntax_error_is_malformed() {
        assert!(matches!(parse_json::<MailSettingsInput>(b"{\"host\":"), Err(ApiError::Malformed(_))));
        assert!(matches!(parse_json::<MailSettingsInput>(b"{} x"), Err(ApiError::Malformed(_))));
    }
}
