//! A token endpoint's success answer.

use std::time::{Duration, Instant, SystemTime};

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{OAuthError, OAuthErrorClass};

/// Lifetime assumed when a provider leaves `expires_in` out (RFC 6749 makes it optional;
/// both Microsoft and Google send it). Short, so a wrong guess costs a refresh, not a failure.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Tokens from one successful request. Every token is a [`SecretString`]; `Debug` redacts them.
///
/// A `refresh_token` here may be a *rotated* one: the old one is then dead at the provider,
/// so the caller must store this one in the same step as it uses the access token.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    pub access_token: SecretString,
    /// Usually `Bearer`.
    pub token_type: String,
    /// Lifetime the provider granted.
    pub expires_in: Duration,
    /// When the request was sent (the lifetime counts from here, to stay on the safe side).
    pub obtained_at: Instant,
    /// Wall-clock expiry, for storing.
    pub expires_at: SystemTime,
    pub refresh_token: Option<SecretString>,
    pub id_token: Option<SecretString>,
    /// The scope granted, when the provider says.
    pub scope: Option<String>,
}

impl TokenResponse {
    /// Monotonic expiry instant (for the cache).
    pub fn expires_at_instant(&self) -> Instant {
        self.obtained_at + self.expires_in
    }
}

#[derive(Deserialize)]
struct Body {
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    // Some providers send it as a string ("3599"), so take either.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

pub(crate) fn parse_success(
    status: u16,
    body: &[u8],
    sent_at: Instant,
    sent_wall: SystemTime,
) -> Result<TokenResponse, OAuthError> {
    let invalid = |what: &str| OAuthError {
        class: OAuthErrorClass::InvalidResponse,
        http_status: Some(status),
        provider_error: None,
        provider_codes: Vec::new(),
        description: Some(what.to_owned()),
    };
    let parsed: Body = serde_json::from_slice(body).map_err(|_| invalid("the answer is not JSON"))?;
    let access_token =
        parsed.access_token.filter(|t| !t.is_empty()).ok_or_else(|| invalid("the answer has no access_token"))?;
    let expires_in = match parsed.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .map(Duration::from_secs)
    .unwrap_or(DEFAULT_LIFETIME);
    Ok(TokenResponse {
        access_token: SecretString::from(access_token),
        token_type: parsed.token_type.unwrap_or_else(|| "Bearer".to_owned()),
        expires_in,
        obtained_at: sent_at,
        expires_at: sent_wall + expires_in,
        refresh_token: parsed.refresh_token.filter(|t| !t.is_empty()).map(SecretString::from),
        id_token: parsed.id_token.filter(|t| !t.is_empty()).map(SecretString::from),
        scope: parsed.scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn parses_and_rejects() {
        let now = Instant::now();
        let t = parse_success(
            200,
            br#"{"access_token":"at","expires_in":"3599","token_type":"Bearer","refresh_token":"rt"}"#,
            now,
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(t.access_token.expose_secret(), "at");
        assert_eq!(t.expires_in, Duration::from_secs(3599));
        assert_eq!(t.refresh_token.as_ref().map(|r| r.expose_secret().to_owned()).as_deref(), Some("rt"));
        assert!(!format!("{t:?}").contains("\"at\""));
        let e = parse_success(200, b"<html>", now, SystemTime::now()).unwrap_err();
        assert_eq!(e.class, OAuthErrorClass::InvalidResponse);
        let e = parse_success(200, br#"{"token_type":"Bearer"}"#, now, SystemTime::now()).unwrap_err();
        assert_eq!(e.class, OAuthErrorClass::InvalidResponse);
    }
}
