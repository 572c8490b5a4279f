//! The redirect back from the provider's sign-in page: `?code=…&state=…` or
//! `?error=access_denied&error_description=…&state=…`.

use secrecy::SecretString;
use url::form_urlencoded;

use crate::error::{sanitize, OAuthError, OAuthErrorClass};

/// Takes the callback's query string (without `?`) and the `state` sent with the request;
/// returns the authorization code. A wrong or missing `state` is refused (CSRF), an `error`
/// from the provider is classified (`access_denied` → [`OAuthErrorClass::AccessDenied`]).
pub fn parse_callback(query: &str, expected_state: &str) -> Result<SecretString, OAuthError> {
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(SecretString::from(v.into_owned())),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    // The state must match before anything else is believed, errors included.
    if state.as_deref() != Some(expected_state) || expected_state.is_empty() {
        return Err(OAuthError::new(
            OAuthErrorClass::AuthorizationCodeInvalid,
            "the callback's state does not match the sign-in request",
        ));
    }
    if let Some(error) = error {
        let class = match error.as_str() {
            "access_denied" | "consent_required" | "interaction_required" | "login_required" => {
                OAuthErrorClass::AccessDenied
            }
            "invalid_scope" => OAuthErrorClass::InvalidScope,
            "unauthorized_client" => OAuthErrorClass::UnauthorizedClient,
            _ => OAuthErrorClass::ProviderError,
        };
        return Err(OAuthError {
            class,
            http_status: None,
            provider_error: Some(sanitize(&error)),
            provider_codes: Vec::new(),
            description: description.as_deref().map(sanitize),
        });
    }
    code.ok_or_else(|| OAuthError::new(OAuthErrorClass::AuthorizationCodeInvalid, "the callback has no code"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn code_state_and_errors() {
        assert_eq!(parse_callback("code=abc&state=s1", "s1").unwrap().expose_secret(), "abc");
        let e = parse_callback("code=abc&state=other", "s1").unwrap_err();
        assert_eq!(e.class, OAuthErrorClass::AuthorizationCodeInvalid);
        let e = parse_callback("error=access_denied&error_description=AADSTS65004%3A+User+declined&state=s1", "s1")
            .unwrap_err();
        assert_eq!(e.class, OAuthErrorClass::AccessDenied);
        assert_eq!(e.description.as_deref(), Some("AADSTS65004: User declined"));
        assert!(parse_callback("state=s1", "s1").is_err());
    }
}
