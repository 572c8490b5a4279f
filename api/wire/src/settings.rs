//! The shared outgoing-mail settings.

use crate::time::{DateTime, Utc};
use crate::{AuthMethod, FallbackInput, FallbackView, OAuth2Input, OAuth2View, SendingLimits};
use serde::{Deserialize, Serialize};

/// Bounds and default of `timeout_seconds`, the deadline for a whole SMTP exchange.
pub const TIMEOUT_SECONDS_DEFAULT: u32 = 20;
pub const TIMEOUT_SECONDS_MIN: u32 = 1;
pub const TIMEOUT_SECONDS_MAX: u32 = 120;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    /// Plain SMTP (usually port 25 or 587). Only for trusted networks.
    None,
    /// Plain connect, then upgrade with STARTTLS (usually port 587). Fails if the server
    /// does not offer STARTTLS: never silently falls back to plain text.
    #[default]
    Starttls,
    /// TLS from the first byte, "SMTPS" (usually port 465).
    Tls,
}

impl Encryption {
    pub fn as_str(self) -> &'static str {
        match self {
            Encryption::None => "none",
            Encryption::Starttls => "starttls",
            Encryption::Tls => "tls",
        }
    }

    pub fn parse(s: &str) -> Option<Encryption> {
        [Encryption::None, Encryption::Starttls, Encryption::Tls].into_iter().find(|e| e.as_str() == s)
    }

    /// The port usually used with this encryption.
    pub fn default_port(self) -> u16 {
        match self {
            Encryption::None => 25,
            Encryption::Starttls => 587,
            Encryption::Tls => 465,
        }
    }
}

/// Body of `PUT /api/v1/mail-settings` (and the unsaved settings of a test mail).
///
/// Every field is checked and all violations are reported at once, so fields are optional
/// here only for that reason: `host`, `port`, `encryption`, `sender_name` and
/// `sender_address` are required.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MailSettingsInput {
    /// SMTP server: a DNS name or an IP address, without scheme or port.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "smtp.example.org"))]
    pub host: Option<String>,
    /// 1 to 65535.
    #[cfg_attr(feature = "openapi", schema(required = true, example = 587, minimum = 1, maximum = 65535))]
    pub port: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub encryption: Option<Encryption>,
    /// Display name of the default sender; freely chosen.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "TEAMBOX"))]
    pub sender_name: Option<String>,
    /// Address of the default sender. With authentication, use the account's own address.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "teambox@example.org"))]
    pub sender_address: Option<String>,
    #[serde(default)]
    pub auth: AuthInput,
    #[serde(default)]
    pub tls: TlsSettings,
    /// From is always the default sender's name and address.
    #[serde(default)]
    pub force_default_sender: bool,
    /// With `force_default_sender`: the acting user's address goes into Reply-To.
    #[serde(default)]
    pub reply_to_individual_sender: bool,
    /// Deadline for a whole SMTP exchange, 1 to 120 seconds (default 20).
    #[cfg_attr(feature = "openapi", schema(example = 20, minimum = 1, maximum = 120))]
    pub timeout_seconds: Option<i64>,
    /// What the server lets the mailbox send (presets: Microsoft 365, Google Workspace).
    #[serde(default)]
    pub limits: SendingLimits,
    /// An optional second server, used while this one fails for a reason of the
    /// connection; `null` or absent: none.
    #[serde(default)]
    pub fallback: Option<FallbackInput>,
}

impl std::fmt::Debug for MailSettingsInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettingsInput")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("encryption", &self.encryption)
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("force_default_sender", &self.force_default_sender)
            .field("reply_to_individual_sender", &self.reply_to_individual_sender)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("limits", &self.limits)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

/// SMTP authentication as sent by clients. `password` is write-only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AuthInput {
    #[serde(default)]
    pub enabled: bool,
    /// `password` (default) or `oauth2`.
    #[serde(default)]
    pub method: AuthMethod,
    /// The account that signs in; usually the default sender's address. Required when
    /// enabled. With `oauth2` the mailbox the token is for (Google `service_account`: the
    /// mailbox to impersonate).
    pub username: Option<String>,
    /// Method `password`. Omit to keep the stored password. Must be sent again when host,
    /// port, encryption or username change, so a stored credential never follows a
    /// connection to a new server.
    #[cfg_attr(feature = "openapi", schema(format = Password, write_only))]
    pub password: Option<String>,
    /// Method `oauth2`: provider, flow and the app's credentials.
    #[serde(default)]
    pub oauth2: Option<OAuth2Input>,
}

impl std::fmt::Debug for AuthInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthInput")
            .field("enabled", &self.enabled)
            .field("method", &self.method)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("oauth2", &self.oauth2)
            .finish()
    }
}

/// Certificate trust for the SMTP connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM of one private CA to trust in addition to the system's roots.
    #[serde(default)]
    pub trusted_ca_pem: Option<String>,
    /// Accept any certificate. Dangerous: prefer `trusted_ca_pem`.
    #[serde(default)]
    pub accept_invalid_certificates: bool,
}

/// SMTP authentication as returned: the password itself never leaves the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthView {
    pub enabled: bool,
    pub method: AuthMethod,
    pub username: Option<String>,
    /// Whether a password is stored (method `password`).
    pub password_set: bool,
    /// Method `oauth2`: the provider, flow, app and the connection's state.
    pub oauth2: Option<OAuth2View>,
}

/// The saved settings (`GET`/`PUT /api/v1/mail-settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub encryption: Encryption,
    pub sender_name: String,
    pub sender_address: String,
    pub auth: AuthView,
    pub tls: TlsSettings,
    pub force_default_sender: bool,
    pub reply_to_individual_sender: bool,
    pub timeout_seconds: u32,
    pub limits: SendingLimits,
    /// The fallback server, if one is configured.
    pub fallback: Option<FallbackView>,
    /// Increases with every change; also the `ETag`.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    /// Who saved this version (`admin` or `api-key:<name>`).
    pub updated_by: String,
    /// Valid but probably unintended choices.
    pub warnings: Vec<SettingsWarning>,
}

/// Advice about a valid setting that will probably not work as intended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsWarning {
    /// Field the warning is about.
    pub field: String,
    /// Stable code: `sender_differs_from_username`, `insecure_encryption`,
    /// `certificate_checks_disabled`, `unusual_port`.
    pub code: String,
    /// English explanation; clients translate by `code`.
    pub message: String,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SettingsAction {
    Created,
    Updated,
    Deleted,
}

/// One change of the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsHistoryEntry {
    /// The version this change produced.
    pub version: i64,
    pub action: SettingsAction,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    pub changes: Vec<FieldChange>,
}

/// One changed field. Secret fields carry no values, only `secret: true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
    #[serde(default)]
    pub secret: bool,
}

/// `GET /api/v1/mail-settings/history`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsHistory {
    pub entries: Vec<SettingsHistoryEntry>,
}

/// Liveness and readiness answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthStatus {
    /// `ok`, or `unavailable` (readiness only).
    pub status: String,
    pub version: String,
}
