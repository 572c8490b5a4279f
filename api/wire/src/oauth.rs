//! Sign-in to the SMTP server with OAuth 2.0 (SASL XOAUTH2): the settings' `auth.oauth2`
//! object, the delegated connection's state, and the "Connect account" round trip.

use crate::time::{DateTime, Utc};
use crate::FailureClass;
use serde::{Deserialize, Serialize};

/// How Postamt signs in to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// User name and password (AUTH PLAIN or LOGIN).
    #[default]
    Password,
    /// An OAuth 2.0 access token (AUTH XOAUTH2), obtained as `auth.oauth2` says.
    Oauth2,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Oauth2 => "oauth2",
        }
    }

    pub fn parse(s: &str) -> Option<AuthMethod> {
        [AuthMethod::Password, AuthMethod::Oauth2].into_iter().find(|m| m.as_str() == s)
    }
}

/// Who issues the access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OAuthProvider {
    /// Microsoft 365 / Exchange Online (Microsoft Entra ID); needs `tenant`.
    Microsoft,
    /// Google Workspace / Gmail.
    Google,
    /// Any other OAuth 2.0 provider; needs `token_url` and `scope` (and
    /// `authorization_url` for `authorization_code`).
    Generic,
}

impl OAuthProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthProvider::Microsoft => "microsoft",
            OAuthProvider::Google => "google",
            OAuthProvider::Generic => "generic",
        }
    }

    pub fn parse(s: &str) -> Option<OAuthProvider> {
        [OAuthProvider::Microsoft, OAuthProvider::Google, OAuthProvider::Generic].into_iter().find(|p| p.as_str() == s)
    }
}

/// How the access token is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OAuthFlow {
    /// App-only, no user sign-in: client id and secret (Microsoft's path for unattended
    /// sending; `microsoft` or `generic`).
    ClientCredentials,
    /// Delegated: an admin signs the mailbox in once ("Connect account"); Postamt keeps the
    /// refresh token and renews it.
    AuthorizationCode,
    /// Google Workspace domain-wide delegation: a service account's JSON key; the mailbox
    /// (`auth.username`) is impersonated.
    ServiceAccount,
}

impl OAuthFlow {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthFlow::ClientCredentials => "client_credentials",
            OAuthFlow::AuthorizationCode => "authorization_code",
            OAuthFlow::ServiceAccount => "service_account",
        }
    }

    pub fn parse(s: &str) -> Option<OAuthFlow> {
        [OAuthFlow::ClientCredentials, OAuthFlow::AuthorizationCode, OAuthFlow::ServiceAccount]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// `auth.oauth2` as sent by clients (with `auth.method: oauth2`). The mailbox that signs
/// in is `auth.username`. `client_secret` and `service_account_key` are write-only: omit
/// them to keep the stored ones, which is allowed only while provider, flow, tenant,
/// client id and mailbox stay the same.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuth2Input {
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub provider: Option<OAuthProvider>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub flow: Option<OAuthFlow>,
    /// Microsoft: the directory (tenant) ID or a verified domain, e.g.
    /// `contoso.onmicrosoft.com`.
    pub tenant: Option<String>,
    /// The application (client) ID. Not used by `service_account` (the key names its client).
    pub client_id: Option<String>,
    /// The client secret's value. Required for `client_credentials`; optional for
    /// `authorization_code` (Google needs it, a Microsoft public client does not).
    #[cfg_attr(feature = "openapi", schema(format = Password, write_only))]
    pub client_secret: Option<String>,
    /// `service_account`: the service account's JSON key file, unchanged.
    #[cfg_attr(feature = "openapi", schema(format = Password, write_only))]
    pub service_account_key: Option<String>,
    /// `generic`: the token endpoint (https; http only on loopback).
    pub token_url: Option<String>,
    /// `generic` with `authorization_code`: the authorization endpoint.
    pub authorization_url: Option<String>,
    /// `generic`: the scope to ask for; the others use the provider's SMTP scope.
    pub scope: Option<String>,
}

impl std::fmt::Debug for OAuth2Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "[redacted]");
        f.debug_struct("OAuth2Input")
            .field("provider", &self.provider)
            .field("flow", &self.flow)
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("service_account_key", &redacted(&self.service_account_key))
            .field("token_url", &self.token_url)
            .field("authorization_url", &self.authorization_url)
            .field("scope", &self.scope)
            .finish()
    }
}

/// `auth.oauth2` as returned: secrets only as `…_set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuth2View {
    pub provider: OAuthProvider,
    pub flow: OAuthFlow,
    pub tenant: Option<String>,
    pub client_id: Option<String>,
    pub token_url: Option<String>,
    pub authorization_url: Option<String>,
    pub scope: Option<String>,
    /// Whether a client secret is stored.
    pub client_secret_set: bool,
    /// Whether a service account key is stored.
    pub service_account_key_set: bool,
    /// The stored key's service account (`client_email`), not secret.
    pub service_account: Option<String>,
    /// Tokens issued for this connection and the last failure.
    pub connection: OAuthConnection,
}

/// Whether the connection can get tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OAuthConnectionStatus {
    /// No token was requested since the settings were saved.
    Unknown,
    /// The last token request succeeded.
    Ok,
    /// The last token request failed; see `last_error`.
    Failing,
    /// `authorization_code`: no account is connected ("Connect account"), or the provider
    /// refused the refresh token (revoked, expired): connect the account again.
    NeedsConnect,
}

/// The state of an OAuth 2.0 connection, shared by every instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthConnection {
    pub status: OAuthConnectionStatus,
    /// `authorization_code`: the account that signed in.
    pub account: Option<String>,
    /// `authorization_code`: whether a refresh token is stored.
    pub refresh_token_set: bool,
    /// `authorization_code`: when the account was connected.
    pub connected_at: Option<DateTime<Utc>>,
    /// When the last access token was issued (by any instance).
    pub token_issued_at: Option<DateTime<Utc>>,
    /// When that token expires.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// `authorization_code`: when the refresh token was last used (kept alive by a
    /// background refresh well before the provider's inactivity limit).
    pub refresh_token_used_at: Option<DateTime<Utc>>,
    pub last_error: Option<OAuthConnectionError>,
}

impl OAuthConnection {
    /// Nothing known yet: no token requested, no account connected.
    pub fn unknown() -> Self {
        OAuthConnection {
            status: OAuthConnectionStatus::Unknown,
            account: None,
            refresh_token_set: false,
            connected_at: None,
            token_issued_at: None,
            token_expires_at: None,
            refresh_token_used_at: None,
            last_error: None,
        }
    }
}

/// The last failed token request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthConnectionError {
    pub at: DateTime<Utc>,
    /// One of the `oauth_*` failure classes.
    pub class: FailureClass,
    pub hint_de: String,
    pub hint_en: String,
}

/// Body of `POST /api/v1/mail-settings/oauth/authorize`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuthAuthorizeRequest {
    /// Where the page continues after the provider sent the admin back: a path of this
    /// site (default `/`).
    #[serde(default)]
    pub return_to: Option<String>,
}

/// Where to send the admin's browser to sign the mailbox in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthAuthorization {
    /// The provider's authorization page with client id, scope, PKCE challenge and state.
    pub authorization_url: String,
    /// The redirect URI registered at the provider must be exactly this.
    pub redirect_uri: String,
    /// The sign-in must be completed before this time.
    pub expires_at: DateTime<Utc>,
}
