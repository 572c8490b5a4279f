//! The OAuth client: authorization URL, code exchange, refresh, client credentials and the
//! service account grant, each one form-encoded POST to the token endpoint.

use std::time::{Duration, Instant, SystemTime};

use reqwest::redirect::Policy;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::app::{OAuthApp, Provider, GOOGLE_MAIL_SCOPE, MICROSOFT_APP_SCOPE, MICROSOFT_DELEGATED_SCOPE};
use crate::classify::{classify_error, GrantKind};
use crate::endpoints::{join_segments, validate_endpoint, Endpoints};
use crate::error::{OAuthError, OAuthErrorClass};
use crate::pkce::PkceVerifier;
use crate::service_account::ServiceAccountKey;
use crate::token::{parse_success, TokenResponse};

/// Largest token answer read; real ones are a few kB (Microsoft's with an id_token ~ 8 kB).
const MAX_BODY: usize = 256 * 1024;

/// What goes into the authorization URL (the sign-in page the admin's browser is sent to).
#[derive(Debug, Clone)]
pub struct AuthorizationRequest<'a> {
    /// Where the provider sends the browser back with `code` and `state`.
    pub redirect_uri: &'a str,
    /// From [`crate::random_state`]; compare it on the callback.
    pub state: &'a str,
    /// From [`PkceVerifier::challenge`].
    pub pkce_challenge: &'a str,
    /// Pre-fills the sign-in page with the mailbox.
    pub login_hint: Option<&'a str>,
}

/// Talks to token endpoints. Cheap to clone (one shared connection pool); build one per
/// process.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    endpoints: Endpoints,
}

impl OAuthClient {
    /// Validates the endpoints (https, or http on loopback) and builds the HTTP client with
    /// `timeout` for each whole request (connect, send, answer).
    pub fn new(endpoints: Endpoints, timeout: Duration) -> Result<Self, OAuthError> {
        endpoints.validate()?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A token endpoint never redirects; following one could post the secret elsewhere.
            .redirect(Policy::none())
            .user_agent(concat!("postamt/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                OAuthError::new(OAuthErrorClass::EndpointUnreachable, format!("HTTP client: {}", e.without_url()))
            })?;
        Ok(OAuthClient { http, endpoints })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The token endpoint of an app (validated).
    pub fn token_url(&self, app: &OAuthApp) -> Result<Url, OAuthError> {
        match &app.provider {
            Provider::Microsoft { tenant } => {
                let authority = validate_endpoint(&self.endpoints.microsoft_authority)?;
                join_segments(&authority, &[tenant.trim(), "oauth2", "v2.0", "token"])
            }
            Provider::Google => validate_endpoint(&self.endpoints.google_token_url),
            Provider::Generic { token_url, .. } => validate_endpoint(token_url),
        }
    }

    /// The URL to send the browser to for the authorization code flow with PKCE (S256).
    /// Microsoft asks for `SMTP.Send offline_access`; Google for `https://mail.google.com/`
    /// with `access_type=offline&prompt=consent` so that a refresh token comes back.
    pub fn authorization_url(&self, app: &OAuthApp, request: &AuthorizationRequest<'_>) -> Result<Url, OAuthError> {
        let mut url = match &app.provider {
            Provider::Microsoft { tenant } => {
                let authority = validate_endpoint(&self.endpoints.microsoft_authority)?;
                join_segments(&authority, &[tenant.trim(), "oauth2", "v2.0", "authorize"])?
            }
            Provider::Google => validate_endpoint(&self.endpoints.google_authorization_url)?,
            Provider::Generic { authorization_url: Some(u), .. } => validate_endpoint(u)?,
            Provider::Generic { authorization_url: None, .. } => {
                return Err(OAuthError::new(
                    OAuthErrorClass::InsecureEndpoint,
                    "the generic provider has no authorization URL",
                ));
            }
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &app.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", request.redirect_uri)
                .append_pair("scope", &delegated_scope(app))
                .append_pair("state", request.state)
                .append_pair("code_challenge", request.pkce_challenge)
                .append_pair("code_challenge_method", "S256");
            match app.provider {
                Provider::Microsoft { .. } => {
                    q.append_pair("response_mode", "query");
                }
                Provider::Google => {
                    q.append_pair("access_type", "offline").append_pair("prompt", "consent");
                }
                Provider::Generic { .. } => {}
            }
            if let Some(hint) = request.login_hint {
                q.append_pair("login_hint", hint);
            }
        }
        Ok(url)
    }

    /// App-only token (Microsoft, generic) with the client secret.
    pub async fn client_credentials(&self, app: &OAuthApp) -> Result<TokenResponse, OAuthError> {
        let scope = match (&app.provider, &app.scope) {
            (_, Some(s)) => s.clone(),
            (Provider::Microsoft { .. }, None) => MICROSOFT_APP_SCOPE.to_owned(),
            (Provider::Generic { scope, .. }, None) => scope.clone(),
            // Google has no client credentials grant for Gmail; the service account is its
            // app-only way.
            (Provider::Google, None) => GOOGLE_MAIL_SCOPE.to_owned(),
        };
        let secret = required_secret(app)?;
        let form = vec![
            ("grant_type", GrantKind::ClientCredentials.as_str().to_owned()),
            ("client_id", app.client_id.clone()),
            ("client_secret", secret.expose_secret().to_owned()),
            ("scope", scope),
        ];
        self.post(app.provider.name(), self.token_url(app)?, form, GrantKind::ClientCredentials).await
    }

    /// Exchanges the code from the authorize callback (with the PKCE verifier of that
    /// request). The answer normally carries the first refresh token.
    pub async fn exchange_code(
        &self,
        app: &OAuthApp,
        code: &SecretString,
        verifier: &PkceVerifier,
        redirect_uri: &str,
    ) -> Result<TokenResponse, OAuthError> {
        let mut form = vec![
            ("grant_type", GrantKind::AuthorizationCode.as_str().to_owned()),
            ("client_id", app.client_id.clone()),
            ("code", code.expose_secret().to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("code_verifier", verifier.secret().expose_secret().to_owned()),
        ];
        if let Some(secret) = &app.client_secret {
            form.push(("client_secret", secret.expose_secret().to_owned()));
        }
        if let Provider::Microsoft { .. } = app.provider {
            form.push(("scope", delegated_scope(app)));
        }
        self.post(app.provider.name(), self.token_url(app)?, form, GrantKind::AuthorizationCode).await
    }

    /// New access token from a refresh token. When the answer has a `refresh_token`, the
    /// provider rotated it: the one passed in is dead, store the new one.
    pub async fn refresh(&self, app: &OAuthApp, refresh_token: &SecretString) -> Result<TokenResponse, OAuthError> {
        let mut form = vec![
            ("grant_type", GrantKind::RefreshToken.as_str().to_owned()),
            ("client_id", app.client_id.clone()),
            ("refresh_token", refresh_token.expose_secret().to_owned()),
        ];
        if let Some(secret) = &app.client_secret {
            form.push(("client_secret", secret.expose_secret().to_owned()));
        }
        if let Provider::Microsoft { .. } = app.provider {
            form.push(("scope", delegated_scope(app)));
        }
        self.post(app.provider.name(), self.token_url(app)?, form, GrantKind::RefreshToken).await
    }

    /// Google domain-wide delegation: a JWT signed with the key, for `subject` (the mailbox
    /// to send as), exchanged at the key's `token_uri`. `scope` defaults to
    /// `https://mail.google.com/`.
    pub async fn service_account(
        &self,
        key: &ServiceAccountKey,
        subject: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let token_url = validate_endpoint(&key.token_uri)?;
        let assertion = key.assertion(subject, scope.unwrap_or(GOOGLE_MAIL_SCOPE), token_url.as_str())?;
        let form = vec![
            ("grant_type", GrantKind::JwtBearer.as_str().to_owned()),
            ("assertion", assertion.expose_secret().to_owned()),
        ];
        self.post("google", token_url, form, GrantKind::JwtBearer).await
    }

    /// One token request. The form (with the secrets) goes only into the body; the URL and
    /// every log line carry none.
    async fn post(
        &self,
        provider: &'static str,
        url: Url,
        form: Vec<(&'static str, String)>,
        grant: GrantKind,
    ) -> Result<TokenResponse, OAuthError> {
        let sent_at = Instant::now();
        let sent_wall = SystemTime::now();
        let host = url.host_str().unwrap_or("").to_owned();
        let result = self.send(url, &form, grant, sent_at, sent_wall).await;
        // Wipe our copies of the secrets (reqwest's encoded body is its own, already sent).
        for (_, mut value) in form {
            value.zeroize();
        }
        let elapsed_ms = sent_at.elapsed().as_millis() as u64;
        match &result {
            Ok(t) => tracing::debug!(
                provider,
                host,
                grant = grant.as_str(),
                elapsed_ms,
                expires_in = t.expires_in.as_secs(),
                "oauth token obtained"
            ),
            Err(e) => {
                tracing::warn!(provider, host, grant = grant.as_str(), elapsed_ms, class = e.class.as_str(), error = %e, "oauth token request failed")
            }
        }
        result
    }

    async fn send(
        &self,
        url: Url,
        form: &[(&'static str, String)],
        grant: GrantKind,
        sent_at: Instant,
        sent_wall: SystemTime,
    ) -> Result<TokenResponse, OAuthError> {
        let response = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let body = read_limited(response).await?;
        if (200..300).contains(&status) {
            parse_success(status, &body, sent_at, sent_wall)
        } else {
            Err(classify_error(status, &body, grant))
        }
    }
}

fn delegated_scope(app: &OAuthApp) -> String {
    if let Some(s) = &app.scope {
        return s.clone();
    }
    match &app.provider {
        Provider::Microsoft { .. } => MICROSOFT_DELEGATED_SCOPE.to_owned(),
        Provider::Google => GOOGLE_MAIL_SCOPE.to_owned(),
        Provider::Generic { scope, .. } => scope.clone(),
    }
}

fn required_secret(app: &OAuthApp) -> Result<&SecretString, OAuthError> {
    app.client_secret
        .as_ref()
        .filter(|s| !s.expose_secret().is_empty())
        .ok_or_else(|| OAuthError::new(OAuthErrorClass::InvalidClientSecret, "no client secret is configured"))
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, OAuthError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(OAuthError::new(OAuthErrorClass::InvalidResponse, "the answer is too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Maps reqwest's error (without its URL) to unreachable or timeout. The source chain is
/// kept in the description: it says "connection refused", "dns error", "invalid peer
/// certificate" — what an admin needs, and never a secret.
fn transport_error(e: reqwest::Error) -> OAuthError {
    let class = if e.is_timeout() { OAuthErrorClass::Timeout } else { OAuthErrorClass::EndpointUnreachable };
    let e = e.without_url();
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        source = s.source();
    }
    OAuthError::new(class, detail)
}
