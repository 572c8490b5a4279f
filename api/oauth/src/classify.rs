//! Turns a token endpoint's error answer (Microsoft's or Google's real JSON) into an
//! [`OAuthError`].
//!
//! Microsoft sends `{"error":"invalid_client","error_description":"AADSTS7000215: …",
//! "error_codes":[7000215],"trace_id":…}`; the AADSTS number is the precise reason, the
//! `error` only the RFC 6749 family, so the numbers win. Google sends only `error` and
//! `error_description`; there the grant that was attempted tells `invalid_grant` apart.

use serde::Deserialize;

use crate::error::{sanitize, OAuthError, OAuthErrorClass};

/// Which grant the failed request was: the same `invalid_grant` means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantKind {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
    JwtBearer,
}

impl GrantKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GrantKind::ClientCredentials => "client_credentials",
            GrantKind::AuthorizationCode => "authorization_code",
            GrantKind::RefreshToken => "refresh_token",
            GrantKind::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u64>,
}

/// Classifies a non-2xx answer. A body that is not an OAuth error JSON is an invalid
/// response (a proxy's HTML page, a wrong URL).
pub(crate) fn classify_error(status: u16, body: &[u8], grant: GrantKind) -> OAuthError {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return OAuthError {
            class: OAuthErrorClass::InvalidResponse,
            http_status: Some(status),
            provider_error: None,
            provider_codes: Vec::new(),
            description: Some(format!("HTTP {status} without an OAuth error body")),
        };
    };
    let description = parsed.error_description.as_deref().unwrap_or("");
    let mut codes = parsed.error_codes.clone();
    // Some endpoints (v1, B2C) leave `error_codes` out; the number is also in the text.
    if codes.is_empty() {
        if let Some(code) = aadsts_in(description) {
            codes.push(code);
        }
    }
    let class = class_for(&parsed.error, &codes, description, grant);
    OAuthError {
        class,
        http_status: Some(status),
        provider_error: Some(sanitize(&parsed.error)),
        provider_codes: codes,
        description: parsed.error_description.as_deref().map(sanitize),
    }
}

fn class_for(error: &str, codes: &[u64], description: &str, grant: GrantKind) -> OAuthErrorClass {
    use OAuthErrorClass as C;
    for code in codes {
        let class = match code {
            90002 | 900023 | 90013 => Some(C::TenantNotFound),
            7000215 => Some(C::InvalidClientSecret),
            7000222 => Some(C::ClientSecretExpired),
            700016 => Some(C::ApplicationNotFound),
            65001 => Some(C::ConsentMissing),
            // 700082 expired by inactivity, 50173 revoked (password change), 70008 expired
            // or revoked, 700084 SPA token lifetime, 50089 flow token expired.
            700082 | 50173 | 70008 | 700084 | 50089 => Some(C::RefreshTokenInvalid),
            // 54005 code already redeemed, 70000 grant invalid, 501481 PKCE verifier mismatch.
            54005 | 501481 => Some(C::AuthorizationCodeInvalid),
            70011 | 28000 | 28003 => Some(C::InvalidScope),
            _ => None,
        };
        if let Some(class) = class {
            return class;
        }
    }
    match error {
        "invalid_grant" => match grant {
            GrantKind::RefreshToken => C::RefreshTokenInvalid,
            GrantKind::AuthorizationCode => C::AuthorizationCodeInvalid,
            GrantKind::JwtBearer => C::ServiceAccountRejected,
            GrantKind::ClientCredentials => C::ProviderError,
        },
        "invalid_client" => {
            // Google: "The OAuth client was not found." / Microsoft without codes.
            if description.to_ascii_lowercase().contains("not found") {
                C::ApplicationNotFound
            } else {
                C::InvalidClientSecret
            }
        }
        "unauthorized_client" => C::UnauthorizedClient,
        "invalid_scope" => C::InvalidScope,
        "access_denied" | "consent_required" => C::AccessDenied,
        _ => C::ProviderError,
    }
}

/// The first `AADSTS<digits>` in a description.
fn aadsts_in(description: &str) -> Option<u64> {
    let start = description.find("AADSTS")? + "AADSTS".len();
    let digits: String = description[start..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(code: u64, error: &str) -> Vec<u8> {
        format!(
            r#"{{"error":"{error}","error_description":"AADSTS{code}: text.\r\nTrace ID: 1\r\nCorrelation ID: 2\r\nTimestamp: 2026","error_codes":[{code}],"timestamp":"2026","trace_id":"1","correlation_id":"2"}}"#
        )
        .into_bytes()
    }

    #[test]
    fn microsoft_codes_decide() {
        use OAuthErrorClass as C;
        let cases = [
            (90002, "invalid_request", C::TenantNotFound),
            (900023, "invalid_request", C::TenantNotFound),
            (7000215, "invalid_client", C::InvalidClientSecret),
            (7000222, "invalid_client", C::ClientSecretExpired),
            (700016, "unauthorized_client", C::ApplicationNotFound),
            (65001, "invalid_grant", C::ConsentMissing),
            (700082, "invalid_grant", C::RefreshTokenInvalid),
            (50173, "invalid_grant", C::RefreshTokenInvalid),
            (70011, "invalid_scope", C::InvalidScope),
        ];
        for (code, error, class) in cases {
            let e = classify_error(400, &ms(code, error), GrantKind::ClientCredentials);
            assert_eq!(e.class, class, "AADSTS{code}");
            assert_eq!(e.provider_codes, vec![code]);
            assert_eq!(e.description.as_deref(), Some(format!("AADSTS{code}: text.").as_str()));
        }
    }

    #[test]
    fn google_errors_depend_on_the_grant() {
        let body = br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#;
        assert_eq!(classify_error(400, body, GrantKind::RefreshToken).class, OAuthErrorClass::RefreshTokenInvalid);
        assert_eq!(classify_error(400, body, GrantKind::JwtBearer).class, OAuthErrorClass::ServiceAccountRejected);
        let body = br#"{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}"#;
        assert_eq!(classify_error(401, body, GrantKind::JwtBearer).class, OAuthErrorClass::UnauthorizedClient);
    }

    #[test]
    fn non_json_is_an_invalid_response() {
        let e = classify_error(502, b"<html>Bad gateway</html>", GrantKind::RefreshToken);
        assert_eq!(e.class, OAuthErrorClass::InvalidResponse);
        assert_eq!(e.http_status, Some(502));
    }
}
