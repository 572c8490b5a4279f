//! Sign-in sessions for the admin page and API keys for integrations.

use crate::time::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Header that must echo the session's CSRF token on state-changing requests made with the
/// session cookie (API keys do not need it).
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "postamt_session";

/// Admin sign-in.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionCreate {
    /// The admin password.
    #[cfg_attr(feature = "openapi", schema(format = Password, write_only))]
    pub password: String,
}

impl std::fmt::Debug for SessionCreate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCreate").field("password", &"[redacted]").finish()
    }
}

/// The signed-in admin session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// Who is signed in (always `admin` for now).
    pub subject: String,
    /// Send this back in the `X-CSRF-Token` header on every POST, PUT and DELETE.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    #[serde(rename = "settings:read")]
    SettingsRead,
    #[serde(rename = "settings:write")]
    SettingsWrite,
    #[serde(rename = "mail:send")]
    MailSend,
    #[serde(rename = "log:read")]
    LogRead,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::SettingsRead, Scope::SettingsWrite, Scope::MailSend, Scope::LogRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::SettingsRead => "settings:read",
            Scope::SettingsWrite => "settings:write",
            Scope::MailSend => "mail:send",
            Scope::LogRead => "log:read",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Create an API key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    /// What the key is for, e.g. "finance module" (1 to 100 characters).
    pub name: String,
    /// At least one scope.
    pub scopes: Vec<Scope>,
}

/// An API key as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The first characters of the key, to recognise it (`pa_1a2b3c4d`).
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A new API key: `secret` is shown this once and stored only as a hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Use as `Authorization: Bearer <secret>`. Not retrievable later.
    pub secret: String,
}

impl std::fmt::Debug for ApiKeyCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyCreated").field("key", &self.key).field("secret", &"[redacted]").finish()
    }
}
