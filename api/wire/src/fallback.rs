//! The fallback server: an optional second SMTP connection that delivery uses while the
//! primary one fails for a reason of the connection (see `api/src/delivery/failover.rs`).

use crate::{AuthMethod, Encryption, OAuth2Input, OAuth2View, TlsSettings};
use serde::{Deserialize, Serialize};

/// Which of the two connections a message went over (or a test mail tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MailConnection {
    /// The settings' own server (`host`, `port`, …).
    #[default]
    Primary,
    /// The fallback server (`fallback.*`).
    Fallback,
}

impl MailConnection {
    pub fn as_str(self) -> &'static str {
        match self {
            MailConnection::Primary => "primary",
            MailConnection::Fallback => "fallback",
        }
    }

    pub fn parse(s: &str) -> Option<MailConnection> {
        [MailConnection::Primary, MailConnection::Fallback].into_iter().find(|c| c.as_str() == s)
    }
}

/// `fallback` in `PUT /api/v1/mail-settings`: the second server. Checked like the primary
/// one; every error names its field as `fallback.<field>`. `host`, `port` and `encryption`
/// are required.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FallbackInput {
    /// A DNS name or an IP address, without scheme or port.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "smtp.backup.example.org"))]
    pub host: Option<String>,
    /// 1 to 65535.
    #[cfg_attr(feature = "openapi", schema(required = true, example = 587, minimum = 1, maximum = 65535))]
    pub port: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub encryption: Option<Encryption>,
    #[serde(default)]
    pub auth: FallbackAuthInput,
    #[serde(default)]
    pub tls: TlsSettings,
    /// `MAIL FROM` on the fallback, for a relay that accepts only its own senders; the
    /// `From` header stays as the sender policy makes it. Omit to use the default sender.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "bounces@backup.example.org"))]
    pub envelope_sender: Option<String>,
}

impl std::fmt::Debug for FallbackInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackInput")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("encryption", &self.encryption)
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("envelope_sender", &self.envelope_sender)
            .finish()
    }
}

/// The fallback's sign-in: a password, or OAuth 2.0 with an app-only flow
/// (`client_credentials`, Google `service_account`; "Connect account" is for the primary
/// connection only).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FallbackAuthInput {
    #[serde(default)]
    pub enabled: bool,
    /// `password` (default) or `oauth2`.
    #[serde(default)]
    pub method: AuthMethod,
    /// Required when enabled (with `oauth2`: the mailbox the token is for).
    pub username: Option<String>,
    /// Method `password`. Omit to keep the stored one; must be sent again when the
    /// fallback's host, port, encryption or username change.
    #[cfg_attr(feature = "openapi", schema(format = Password, write_only))]
    pub password: Option<String>,
    /// Method `oauth2`: as the primary's `auth.oauth2`, app-only flows. Its secrets are
    /// write-only and kept under the same rule.
    #[serde(default)]
    pub oauth2: Option<OAuth2Input>,
}

impl std::fmt::Debug for FallbackAuthInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackAuthInput")
            .field("enabled", &self.enabled)
            .field("method", &self.method)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("oauth2", &self.oauth2)
            .finish()
    }
}

/// The fallback's sign-in as returned: never the password, only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FallbackAuthView {
    pub enabled: bool,
    pub method: AuthMethod,
    pub username: Option<String>,
    pub password_set: bool,
    /// Method `oauth2`: provider, flow and app (secrets only as `…_set`; the connection
    /// state is the primary's only, `unknown` here).
    pub oauth2: Option<OAuth2View>,
}

/// The saved fallback server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FallbackView {
    pub host: String,
    pub port: u16,
    pub encryption: Encryption,
    pub auth: FallbackAuthView,
    pub tls: TlsSettings,
    /// `MAIL FROM` on the fallback; none: the default sender address.
    pub envelope_sender: Option<String>,
}
