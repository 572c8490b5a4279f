//! Where the providers live, and the rule that tokens only travel over https.
//!
//! The lead fills [`Endpoints`] from the server's configuration (the defaults are the real
//! providers); tests point them at the loopback provider double, which is why plain `http`
//! is allowed for loopback hosts and nowhere else.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::error::{OAuthError, OAuthErrorClass};

/// Microsoft's default authority (global cloud).
pub const MICROSOFT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// Google's token endpoint.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google's authorization (sign-in) page.
pub const GOOGLE_AUTHORIZATION_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";

/// Base addresses of Microsoft and Google; `Default` gives the real ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `https://login.microsoftonline.com` (or a national cloud); the token URL is
    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    pub microsoft_authority: String,
    pub google_token_url: String,
    pub google_authorization_url: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            microsoft_authority: MICROSOFT_AUTHORITY.to_owned(),
            google_token_url: GOOGLE_TOKEN_URL.to_owned(),
            google_authorization_url: GOOGLE_AUTHORIZATION_URL.to_owned(),
        }
    }
}

impl Endpoints {
    /// Checks all three addresses with [`validate_endpoint`].
    pub fn validate(&self) -> Result<(), OAuthError> {
        validate_endpoint(&self.microsoft_authority)?;
        validate_endpoint(&self.google_token_url)?;
        validate_endpoint(&self.google_authorization_url)?;
        Ok(())
    }
}

/// Parses an endpoint and requires `https`, or `http` on a loopback host (127.0.0.0/8, ::1,
/// `localhost`). Pure: no name is resolved, nothing is connected. A URL with user info is
/// refused too, so credentials never sit in an address that gets logged.
pub fn validate_endpoint(address: &str) -> Result<Url, OAuthError> {
    let url = Url::parse(address.trim())
        .map_err(|e| OAuthError::new(OAuthErrorClass::InsecureEndpoint, format!("not a valid URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OAuthError::new(
            OAuthErrorClass::InsecureEndpoint,
            "the endpoint URL must not contain a user name or password",
        ));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if url.host().as_ref().is_some_and(is_loopback) => Ok(url),
        "http" => Err(OAuthError::new(
            OAuthErrorClass::InsecureEndpoint,
            format!(
                "{} uses http; only https is allowed (http only on loopback)",
                url.host_str().unwrap_or("the endpoint")
            ),
        )),
        other => Err(OAuthError::new(
            OAuthErrorClass::InsecureEndpoint,
            format!("scheme {other:?} is not allowed; use https"),
        )),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            *ip == Ipv6Addr::LOCALHOST || ip.to_ipv4_mapped().is_some_and(|v4: Ipv4Addr| v4.is_loopback())
        }
    }
}

/// Appends path segments to a base URL without losing the base's own path (national clouds
/// and the double may sit below a prefix).
pub(crate) fn join_segments(base: &Url, segments: &[&str]) -> Result<Url, OAuthError> {
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| OAuthError::new(OAuthErrorClass::InsecureEndpoint, "the authority cannot have a path"))?;
        path.pop_if_empty();
        path.extend(segments);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_everywhere_http_only_on_loopback() {
        assert!(validate_endpoint("https://login.microsoftonline.com").is_ok());
        for ok in ["http://127.0.0.1:9/token", "http://127.8.9.10/x", "http://[::1]:80/", "http://LOCALHOST/"] {
            assert!(validate_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://login.microsoftonline.com",
            "http://10.0.0.1/token",
            "http://localhost.example.org/",
            "http://128.0.0.1/",
            "ftp://127.0.0.1/",
            "https://user:pw@example.org/",
            "not a url",
        ] {
            let e = validate_endpoint(bad).unwrap_err();
            assert_eq!(e.class, OAuthErrorClass::InsecureEndpoint, "{bad}");
        }
    }

    #[test]
    fn join_keeps_the_base_path() {
        let base = Url::parse("https://h/prefix/").unwrap();
        assert_eq!(join_segments(&base, &["t", "oauth2"]).unwrap().as_str(), "https://h/prefix/t/oauth2");
        // A tenant cannot smuggle in a path or query.
        let base = Url::parse("https://h").unwrap();
        assert_eq!(join_segments(&base, &["a/b?c"]).unwrap().as_str(), "https://h/a%2Fb%3Fc");
    }
}
