//! The test mail (`POST /api/v1/mail-settings/test`) and the effective sender
//! (`POST /api/v1/mail-settings/preview`).
//!
//! A test goes through the SMTP exchange stage by stage and reports, for the stage that
//! failed, a stable failure `class`, the settings field most likely at fault and a hint in
//! German and English saying what to change. The transcript is masked at the source: AUTH
//! payloads and the password (plain or base64) never appear in a result.

use crate::time::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::MailSettingsInput;

/// What a test does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MailTestMode {
    /// Deliver a real test mail (subject and body in German and English).
    #[default]
    Send,
    /// Go through every stage up to the server's 354 answer to DATA, then close the
    /// connection without ending the message: nothing is delivered. Rejections after the
    /// message content (content filters, DMARC) cannot be seen this way.
    Probe,
}

impl MailTestMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MailTestMode::Send => "send",
            MailTestMode::Probe => "probe",
        }
    }
}

/// The user on whose behalf a module sends mail; the sender policy decides whether they
/// appear in From or Reply-To.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActingUser {
    /// Display name, e.g. "Erika Mustermann".
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "Erika Mustermann"))]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "erika@example.org"))]
    pub address: String,
}

/// Body of `POST /api/v1/mail-settings/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MailTestRequest {
    /// Unsaved settings to test, same shape as `PUT /api/v1/mail-settings`; omit to test the
    /// saved settings. Without `auth.password` the stored password is used only if host,
    /// port, encryption and username equal the saved ones.
    #[serde(default)]
    pub settings: Option<MailSettingsInput>,
    /// Where the test mail goes (in `probe` mode: the address given to RCPT TO).
    #[cfg_attr(feature = "openapi", schema(example = "someone@example.org"))]
    pub recipient: String,
    #[serde(default)]
    pub mode: MailTestMode,
    /// Optional: shows the sender policy in action (From / Reply-To of the test mail).
    #[serde(default)]
    pub acting_user: Option<ActingUser>,
    /// Which server to test: `primary` (default) or `fallback` (`settings.fallback`, or the
    /// saved one). Without `fallback.auth.password` the stored fallback password is used
    /// only if the fallback's host, port, encryption and username equal the saved ones.
    #[serde(default)]
    pub connection: crate::MailConnection,
}

/// A mailbox: optional display name and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailAddress {
    pub name: Option<String>,
    pub address: String,
}

/// From, Reply-To and envelope sender a module's mail gets under the sender policy
/// (response of `POST /api/v1/mail-settings/preview`; also part of every test result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectiveSender {
    /// The `From` header.
    pub from: MailAddress,
    /// The `Reply-To` header, if any.
    pub reply_to: Option<MailAddress>,
    /// The envelope sender (`MAIL FROM`): always the default sender address.
    pub envelope_from: String,
}

impl EffectiveSender {
    /// The sender policy, the one function every outgoing mail goes through:
    /// - `force_default_sender` off: From = the acting user when given, else the default
    ///   sender; no Reply-To;
    /// - `force_default_sender` on: From = the default sender;
    /// - on, with `reply_to_individual_sender`: Reply-To = the acting user, when given.
    ///
    /// The envelope sender is always the default sender address.
    pub fn apply(
        default_name: &str,
        default_address: &str,
        force_default_sender: bool,
        reply_to_individual_sender: bool,
        acting_user: Option<&ActingUser>,
    ) -> EffectiveSender {
        let default = MailAddress {
            name: Some(default_name.to_owned()).filter(|n| !n.trim().is_empty()),
            address: default_address.to_owned(),
        };
        let user = acting_user
            .map(|u| MailAddress { name: u.name.clone().filter(|n| !n.trim().is_empty()), address: u.address.clone() });
        let (from, reply_to) = if force_default_sender {
            (default, if reply_to_individual_sender { user } else { None })
        } else {
            (user.unwrap_or(default), None)
        };
        EffectiveSender { from, reply_to, envelope_from: default_address.to_owned() }
    }
}

/// Body of `POST /api/v1/mail-settings/preview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SenderPreviewRequest {
    /// Unsaved settings; omit to use the saved ones.
    #[serde(default)]
    pub settings: Option<MailSettingsInput>,
    #[serde(default)]
    pub acting_user: Option<ActingUser>,
}

/// One step of the SMTP exchange, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    /// OAuth 2.0 sign-in only: an access token from the provider, before connecting.
    Token,
    /// DNS lookup of the host.
    Resolve,
    /// TCP connection.
    Connect,
    /// TLS: the handshake right after connecting (`tls`), or STARTTLS, the handshake and
    /// the EHLO after it (`starttls`). Skipped with encryption `none`.
    Tls,
    /// The server's 220 greeting.
    Greeting,
    /// EHLO (HELO if the server does not know EHLO).
    Ehlo,
    /// AUTH PLAIN or LOGIN with a password, XOAUTH2 with an OAuth 2.0 access token. Skipped
    /// without authentication.
    Auth,
    MailFrom,
    RcptTo,
    /// DATA and the message; in `probe` mode only up to the 354 answer.
    Data,
}

impl StageName {
    pub fn as_str(self) -> &'static str {
        match self {
            StageName::Token => "token",
            StageName::Resolve => "resolve",
            StageName::Connect => "connect",
            StageName::Tls => "tls",
            StageName::Greeting => "greeting",
            StageName::Ehlo => "ehlo",
            StageName::Auth => "auth",
            StageName::MailFrom => "mail_from",
            StageName::RcptTo => "rcpt_to",
            StageName::Data => "data",
        }
    }
}

/// Outcome of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    Ok,
    Failed,
    /// Not run: not needed with these settings, or an earlier stage failed.
    Skipped,
}

/// One stage of a test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stage {
    pub name: StageName,
    pub status: StageStatus,
    /// Time spent in this stage.
    pub duration_ms: u64,
    /// The SMTP reply code that decided the stage, e.g. 250 or 535.
    pub reply_code: Option<u16>,
    /// The enhanced status code (RFC 3463) of that reply, e.g. `5.7.8`.
    pub enhanced_code: Option<String>,
    /// The server's text of that reply (lines joined with `\n`), masked.
    pub server_text: Option<String>,
    /// What happened outside SMTP replies: addresses resolved, the peer connected to,
    /// the TLS version, or the error. English.
    pub detail: Option<String>,
    /// `detail` in German, where Postamt wrote it (an error text of the system or of the
    /// TLS library has no German version: then none, and `detail` is shown).
    #[serde(default)]
    pub detail_de: Option<String>,
}

/// Stable, machine-readable kind of failure; each has its own hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The host name does not resolve.
    DnsNotFound,
    /// Nothing listens on the port (TCP reset).
    ConnectionRefused,
    /// No route to the host or network.
    HostUnreachable,
    /// The deadline passed: host unreachable/filtered, or the server went silent.
    Timeout,
    /// Plaintext/STARTTLS spoken to a port that expects TLS from the first byte (465).
    StarttlsOnImplicitTlsPort,
    /// TLS spoken to a port that answers plaintext SMTP (587, 25).
    TlsOnPlaintextPort,
    /// Encryption `starttls`, but the server offers no STARTTLS.
    StarttlsNotOffered,
    /// The TLS handshake failed for a reason other than the certificate.
    TlsHandshakeFailed,
    /// The certificate does not chain to a trusted CA.
    CertificateUntrusted,
    /// The certificate has expired or is not yet valid.
    CertificateExpired,
    /// The certificate is for another host name.
    CertificateHostnameMismatch,
    /// The server rejected the connection at its greeting (554), e.g. a blocked IP.
    ConnectionRejected,
    /// The server demands encryption (e.g. "530 Must issue a STARTTLS command first").
    EncryptionRequired,
    /// Authentication is on, but the server offers no AUTH at all.
    AuthNotOffered,
    /// The server offers AUTH only after TLS (or answers 538).
    AuthRequiresTls,
    /// The server offers none of the mechanisms Postamt speaks (PLAIN, LOGIN), or, with an
    /// OAuth 2.0 sign-in, does not offer XOAUTH2.
    AuthMechanismUnsupported,
    /// Authentication is off, but the server requires it (530, relaying denied).
    AuthRequired,
    /// 535: user name or password wrong.
    CredentialsRejected,
    /// The account needs an app password or modern authentication (OAuth).
    AppPasswordRequired,
    /// XOAUTH2: the server rejected the OAuth 2.0 access token (Microsoft `535 5.7.3`,
    /// Google's 334 error challenge then `535 5.7.8`). The token may just have expired: a
    /// caller with a token cache drops the token and tries once more with a fresh one
    /// ([`FailureClass::is_token_rejected`]).
    OauthTokenRejected,
    /// SMTP AUTH is switched off for the tenant or the mailbox, or security defaults block
    /// it (Microsoft `5.7.139`); neither a password nor a token helps until it is enabled.
    SmtpAuthDisabled,
    /// The server no longer accepts passwords for SMTP (Microsoft `550 5.7.30 Basic
    /// authentication is not supported`): sign in with OAuth 2.0 instead.
    BasicAuthDisabled,
    /// MAIL FROM rejected.
    SenderRejected,
    /// RCPT TO rejected.
    RecipientRejected,
    /// A 4xx answer: try again later.
    TemporaryFailure,
    /// The message was rejected at DATA (content filter, policy).
    MessageRejected,
    /// The settings or the recipient cannot be used at all (e.g. the CA PEM does not
    /// parse, an address is invalid).
    InvalidSettings,
    /// Anything else the server did not do by the protocol.
    ProtocolError,
    /// The server slows this sender down: too many messages or connections in a short time
    /// (`421 4.7.0`, `451 4.7.500 Server busy`, `4.3.2` concurrent connections). Retried later.
    Throttled,
    /// The mailbox's sending quota is used up (`554 5.2.0 …SubmissionQuotaExceeded`, Gmail
    /// `550 5.4.5 Daily sending quota exceeded`). Never fails a message for good, whatever
    /// the reply's code: it is sent when the quota allows again.
    QuotaExceeded,
    /// The message's `expires_at` passed before it could be delivered: it was not sent.
    Expired,
    /// Token: the tenant does not exist (AADSTS90002).
    OauthTenantNotFound,
    /// Token: the client secret is wrong (AADSTS7000215, `invalid_client`).
    OauthInvalidClientSecret,
    /// Token: the client secret has expired (AADSTS7000222).
    OauthClientSecretExpired,
    /// Token: no such application in the tenant (AADSTS700016).
    OauthApplicationNotFound,
    /// Token: admin consent for the permission is missing (AADSTS65001).
    OauthConsentMissing,
    /// Token: the refresh token expired or was revoked (`invalid_grant`, AADSTS700082): connect the account again.
    OauthRefreshTokenInvalid,
    /// Token: the authorization code was refused (wrong, used, expired, or PKCE failed).
    OauthAuthorizationCodeInvalid,
    /// Token: the sign-in was declined at the provider.
    OauthAccessDenied,
    /// Token: the client may not use this flow (Google: domain-wide delegation not granted).
    OauthUnauthorizedClient,
    /// Token: the provider does not accept the scope.
    OauthInvalidScope,
    /// Token: Google refused the service account or the mailbox to impersonate.
    OauthServiceAccountRejected,
    /// Token: the service account key does not parse or is unusable.
    OauthServiceAccountKeyInvalid,
    /// Token: an endpoint is not https (allowed only on loopback).
    OauthInsecureEndpoint,
    /// Token: the token endpoint could not be reached (connection, DNS, TLS).
    OauthEndpointUnreachable,
    /// Token: the token endpoint did not answer in time.
    OauthTimeout,
    /// Token: the token endpoint's answer was unusable.
    OauthInvalidResponse,
    /// Token: any other error the provider reported.
    OauthProviderError,
    /// Token: `authorization_code` without a connected account: use "Connect account" first.
    OauthNotConnected,
}

impl FailureClass {
    pub const ALL: [FailureClass; 49] = [
        FailureClass::DnsNotFound,
        FailureClass::ConnectionRefused,
        FailureClass::HostUnreachable,
        FailureClass::Timeout,
        FailureClass::StarttlsOnImplicitTlsPort,
        FailureClass::TlsOnPlaintextPort,
        FailureClass::StarttlsNotOffered,
        FailureClass::TlsHandshakeFailed,
        FailureClass::CertificateUntrusted,
        FailureClass::CertificateExpired,
        FailureClass::CertificateHostnameMismatch,
        FailureClass::ConnectionRejected,
        FailureClass::EncryptionRequired,
        FailureClass::AuthNotOffered,
        FailureClass::AuthRequiresTls,
        FailureClass::AuthMechanismUnsupported,
        FailureClass::AuthRequired,
        FailureClass::CredentialsRejected,
        FailureClass::AppPasswordRequired,
        FailureClass::OauthTokenRejected,
        FailureClass::SmtpAuthDisabled,
        FailureClass::BasicAuthDisabled,
        FailureClass::SenderRejected,
        FailureClass::RecipientRejected,
        FailureClass::TemporaryFailure,
        FailureClass::MessageRejected,
        FailureClass::InvalidSettings,
        FailureClass::ProtocolError,
        FailureClass::Throttled,
        FailureClass::QuotaExceeded,
        FailureClass::Expired,
        FailureClass::OauthTenantNotFound,
        FailureClass::OauthInvalidClientSecret,
        FailureClass::OauthClientSecretExpired,
        FailureClass::OauthApplicationNotFound,
        FailureClass::OauthConsentMissing,
        FailureClass::OauthRefreshTokenInvalid,
        FailureClass::OauthAuthorizationCodeInvalid,
        FailureClass::OauthAccessDenied,
        FailureClass::OauthUnauthorizedClient,
        FailureClass::OauthInvalidScope,
        FailureClass::OauthServiceAccountRejected,
        FailureClass::OauthServiceAccountKeyInvalid,
        FailureClass::OauthInsecureEndpoint,
        FailureClass::OauthEndpointUnreachable,
        FailureClass::OauthTimeout,
        FailureClass::OauthInvalidResponse,
        FailureClass::OauthProviderError,
        FailureClass::OauthNotConnected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::DnsNotFound => "dns_not_found",
            FailureClass::ConnectionRefused => "connection_refused",
            FailureClass::HostUnreachable => "host_unreachable",
            FailureClass::Timeout => "timeout",
            FailureClass::StarttlsOnImplicitTlsPort => "starttls_on_implicit_tls_port",
            FailureClass::TlsOnPlaintextPort => "tls_on_plaintext_port",
            FailureClass::StarttlsNotOffered => "starttls_not_offered",
            FailureClass::TlsHandshakeFailed => "tls_handshake_failed",
            FailureClass::CertificateUntrusted => "certificate_untrusted",
            FailureClass::CertificateExpired => "certificate_expired",
            FailureClass::CertificateHostnameMismatch => "certificate_hostname_mismatch",
            FailureClass::ConnectionRejected => "connection_rejected",
            FailureClass::EncryptionRequired => "encryption_required",
            FailureClass::AuthNotOffered => "auth_not_offered",
            FailureClass::AuthRequiresTls => "auth_requires_tls",
            FailureClass::AuthMechanismUnsupported => "auth_mechanism_unsupported",
            FailureClass::AuthRequired => "auth_required",
            FailureClass::CredentialsRejected => "credentials_rejected",
            FailureClass::AppPasswordRequired => "app_password_required",
            FailureClass::OauthTokenRejected => "oauth_token_rejected",
            FailureClass::SmtpAuthDisabled => "smtp_auth_disabled",
            FailureClass::BasicAuthDisabled => "basic_auth_disabled",
            FailureClass::SenderRejected => "sender_rejected",
            FailureClass::RecipientRejected => "recipient_rejected",
            FailureClass::TemporaryFailure => "temporary_failure",
            FailureClass::MessageRejected => "message_rejected",
            FailureClass::InvalidSettings => "invalid_settings",
            FailureClass::ProtocolError => "protocol_error",
            FailureClass::Throttled => "throttled",
            FailureClass::QuotaExceeded => "quota_exceeded",
            FailureClass::Expired => "expired",
            FailureClass::OauthTenantNotFound => "oauth_tenant_not_found",
            FailureClass::OauthInvalidClientSecret => "oauth_invalid_client_secret",
            FailureClass::OauthClientSecretExpired => "oauth_client_secret_expired",
            FailureClass::OauthApplicationNotFound => "oauth_application_not_found",
            FailureClass::OauthConsentMissing => "oauth_consent_missing",
            FailureClass::OauthRefreshTokenInvalid => "oauth_refresh_token_invalid",
            FailureClass::OauthAuthorizationCodeInvalid => "oauth_authorization_code_invalid",
            FailureClass::OauthAccessDenied => "oauth_access_denied",
            FailureClass::OauthUnauthorizedClient => "oauth_unauthorized_client",
            FailureClass::OauthInvalidScope => "oauth_invalid_scope",
            FailureClass::OauthServiceAccountRejected => "oauth_service_account_rejected",
            FailureClass::OauthServiceAccountKeyInvalid => "oauth_service_account_key_invalid",
            FailureClass::OauthInsecureEndpoint => "oauth_insecure_endpoint",
            FailureClass::OauthEndpointUnreachable => "oauth_endpoint_unreachable",
            FailureClass::OauthTimeout => "oauth_timeout",
            FailureClass::OauthInvalidResponse => "oauth_invalid_response",
            FailureClass::OauthProviderError => "oauth_provider_error",
            FailureClass::OauthNotConnected => "oauth_not_connected",
        }
    }
}

impl FailureClass {
    /// The server rejected the OAuth 2.0 access token itself: a cached token should be
    /// dropped and the sign-in tried once more with a fresh one. Every other class is not
    /// helped by a new token.
    pub fn is_token_rejected(self) -> bool {
        self == FailureClass::OauthTokenRejected
    }

    /// The server limits the sender (throttling or quota), not this message: retried until
    /// the limit allows, never failed for good, whatever the attempts so far.
    pub fn is_rate_limit(self) -> bool {
        matches!(self, FailureClass::Throttled | FailureClass::QuotaExceeded)
    }
}

impl std::fmt::Display for FailureClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field of the settings form (or of the test request) that a failure points at; the
/// page highlights it. Spelled as the dotted path in `MailSettingsInput`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SettingsField {
    #[serde(rename = "host")]
    Host,
    #[serde(rename = "port")]
    Port,
    #[serde(rename = "encryption")]
    Encryption,
    #[serde(rename = "sender_name")]
    SenderName,
    #[serde(rename = "sender_address")]
    SenderAddress,
    #[serde(rename = "auth.enabled")]
    AuthEnabled,
    #[serde(rename = "auth.username")]
    AuthUsername,
    #[serde(rename = "auth.password")]
    AuthPassword,
    #[serde(rename = "auth.method")]
    AuthMethod,
    #[serde(rename = "auth.oauth2.provider")]
    Oauth2Provider,
    #[serde(rename = "auth.oauth2.flow")]
    Oauth2Flow,
    #[serde(rename = "auth.oauth2.tenant")]
    Oauth2Tenant,
    #[serde(rename = "auth.oauth2.client_id")]
    Oauth2ClientId,
    #[serde(rename = "auth.oauth2.client_secret")]
    Oauth2ClientSecret,
    #[serde(rename = "auth.oauth2.service_account_key")]
    Oauth2ServiceAccountKey,
    #[serde(rename = "auth.oauth2.token_url")]
    Oauth2TokenUrl,
    #[serde(rename = "auth.oauth2.authorization_url")]
    Oauth2AuthorizationUrl,
    #[serde(rename = "auth.oauth2.scope")]
    Oauth2Scope,
    /// The delegated sign-in ("Connect account").
    #[serde(rename = "auth.oauth2.connection")]
    Oauth2Connection,
    #[serde(rename = "tls.trusted_ca_pem")]
    TlsTrustedCaPem,
    #[serde(rename = "tls.accept_invalid_certificates")]
    TlsAcceptInvalidCertificates,
    #[serde(rename = "timeout_seconds")]
    TimeoutSeconds,
    /// The test request's `recipient`.
    #[serde(rename = "recipient")]
    Recipient,
    /// The test request's `acting_user.address`.
    #[serde(rename = "acting_user.address")]
    ActingUserAddress,
}

impl SettingsField {
    pub fn as_str(self) -> &'static str {
        match self {
            SettingsField::Host => "host",
            SettingsField::Port => "port",
            SettingsField::Encryption => "encryption",
            SettingsField::SenderName => "sender_name",
            SettingsField::SenderAddress => "sender_address",
            SettingsField::AuthEnabled => "auth.enabled",
            SettingsField::AuthUsername => "auth.username",
            SettingsField::AuthPassword => "auth.password",
            SettingsField::AuthMethod => "auth.method",
            SettingsField::Oauth2Provider => "auth.oauth2.provider",
            SettingsField::Oauth2Flow => "auth.oauth2.flow",
            SettingsField::Oauth2Tenant => "auth.oauth2.tenant",
            SettingsField::Oauth2ClientId => "auth.oauth2.client_id",
            SettingsField::Oauth2ClientSecret => "auth.oauth2.client_secret",
            SettingsField::Oauth2ServiceAccountKey => "auth.oauth2.service_account_key",
            SettingsField::Oauth2TokenUrl => "auth.oauth2.token_url",
            SettingsField::Oauth2AuthorizationUrl => "auth.oauth2.authorization_url",
            SettingsField::Oauth2Scope => "auth.oauth2.scope",
            SettingsField::Oauth2Connection => "auth.oauth2.connection",
            SettingsField::TlsTrustedCaPem => "tls.trusted_ca_pem",
            SettingsField::TlsAcceptInvalidCertificates => "tls.accept_invalid_certificates",
            SettingsField::TimeoutSeconds => "timeout_seconds",
            SettingsField::Recipient => "recipient",
            SettingsField::ActingUserAddress => "acting_user.address",
        }
    }
}

impl std::fmt::Display for SettingsField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a test failed and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Failure {
    /// The stage that failed.
    pub stage: StageName,
    pub class: FailureClass,
    /// The settings field most likely at fault; none when nothing in the settings is
    /// (e.g. a temporary failure of the server).
    pub field: Option<SettingsField>,
    /// What to change, in German.
    pub hint_de: String,
    /// What to change, in English.
    pub hint_en: String,
    /// The technical cause (error message or server reply), masked. English.
    pub detail: Option<String>,
    /// `detail` in German where Postamt worded it (a server's reply or a system's error text
    /// has only its own words: then none).
    #[serde(default)]
    pub detail_de: Option<String>,
}

/// Who wrote a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TranscriptDirection {
    /// Sent by Postamt.
    Client,
    /// Received from the server.
    Server,
    /// A note from Postamt (connecting, TLS established, errors).
    Info,
}

/// One line of the masked SMTP conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TranscriptLine {
    pub direction: TranscriptDirection,
    /// Milliseconds since the test started.
    pub at_ms: u64,
    /// The line without its CRLF. AUTH payloads and the password are masked.
    pub text: String,
}

/// The TLS connection and the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2`; none when the handshake did not complete.
    pub protocol: Option<String>,
    /// The negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: Option<String>,
    /// Subject of the server's certificate, e.g. `CN=mail.example.org`.
    pub subject: Option<String>,
    pub issuer: Option<String>,
    /// Subject alternative names, e.g. `DNS:mail.example.org`, `IP:192.0.2.1`.
    pub sans: Vec<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    /// SHA-256 of the certificate (DER), uppercase hex pairs joined by `:`.
    pub sha256_fingerprint: Option<String>,
    /// Number of certificates the server sent (its own plus intermediates).
    pub chain_length: u32,
    /// Whether the certificate verified for the host name against the trusted roots.
    pub verified: bool,
    /// Why it did not verify.
    pub verify_error: Option<String>,
}

/// A text in both languages of the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocalizedText {
    pub de: String,
    pub en: String,
}

/// Result of `POST /api/v1/mail-settings/test` (status 200 whether the mail went out or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailTestResult {
    /// Every stage succeeded (in `probe` mode: up to the 354 answer to DATA).
    pub ok: bool,
    pub mode: MailTestMode,
    /// Wall time of the whole test; never more than the timeout plus one second.
    pub duration_ms: u64,
    /// All stages in the order they run with these settings; the ones not reached are
    /// `skipped`.
    pub stages: Vec<Stage>,
    /// Present exactly when `ok` is false.
    pub failure: Option<Failure>,
    /// The SMTP conversation, masked.
    pub transcript: Vec<TranscriptLine>,
    /// Present when a TLS handshake was attempted and the server sent a certificate.
    pub tls: Option<TlsInfo>,
    /// The address connected to, e.g. `192.0.2.1:587`.
    pub peer: Option<String>,
    /// From, Reply-To and envelope sender used, as decided by the sender policy.
    pub sender: EffectiveSender,
    /// The recipient given to RCPT TO.
    pub recipient: String,
    /// `Message-ID` of the test mail (`send` mode), to find it in the recipient's mailbox.
    pub message_id: Option<String>,
    /// In `probe` mode: what a probe cannot see.
    pub probe_note: Option<LocalizedText>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> ActingUser {
        ActingUser { name: Some("Erika Mustermann".into()), address: "erika@example.org".into() }
    }

    #[test]
    fn sender_policy_force_off_uses_the_acting_user() {
        let s = EffectiveSender::apply("TEAMBOX", "teambox@example.org", false, true, Some(&user()));
        assert_eq!(s.from.address, "erika@example.org");
        assert_eq!(s.from.name.as_deref(), Some("Erika Mustermann"));
        assert_eq!(s.reply_to, None);
        assert_eq!(s.envelope_from, "teambox@example.org");
        let s = EffectiveSender::apply("TEAMBOX", "teambox@example.org", false, false, None);
        assert_eq!(s.from.address, "teambox@example.org");
        assert_eq!(s.from.name.as_deref(), Some("TEAMBOX"));
    }

    #[test]
    fn sender_policy_force_on_with_and_without_reply_to() {
        let s = EffectiveSender::apply("TEAMBOX", "teambox@example.org", true, false, Some(&user()));
        assert_eq!(s.from.address, "teambox@example.org");
        assert_eq!(s.reply_to, None);
        let s = EffectiveSender::apply("TEAMBOX", "teambox@example.org", true, true, Some(&user()));
        assert_eq!(s.from.address, "teambox@example.org");
        assert_eq!(s.reply_to.as_ref().map(|r| r.address.as_str()), Some("erika@example.org"));
        let s = EffectiveSender::apply("TEAMBOX", "teambox@example.org", true, true, None);
        assert_eq!(s.reply_to, None);
        assert_eq!(s.envelope_from, "teambox@example.org");
    }

    #[test]
    fn test_request_defaults_to_send_and_rejects_unknown_fields() {
        let r: MailTestRequest = serde_json::from_str(r#"{"recipient":"a@example.org"}"#).unwrap();
        assert_eq!(r.mode, MailTestMode::Send);
        assert!(r.settings.is_none());
        let r: MailTestRequest = serde_json::from_str(r#"{"recipient":"a@example.org","mode":"probe"}"#).unwrap();
        assert_eq!(r.mode, MailTestMode::Probe);
        assert!(serde_json::from_str::<MailTestRequest>(r#"{"recipient":"a@example.org","x":1}"#).is_err());
    }

    #[test]
    fn class_and_field_names_are_stable() {
        for class in FailureClass::ALL {
            assert_eq!(serde_json::to_value(class).unwrap(), serde_json::json!(class.as_str()));
        }
        assert_eq!(serde_json::to_value(SettingsField::AuthPassword).unwrap(), serde_json::json!("auth.password"));
        assert_eq!(
            serde_json::to_value(FailureClass::OauthTokenRejected).unwrap(),
            serde_json::json!("oauth_token_rejected")
        );
        assert!(FailureClass::OauthTokenRejected.is_token_rejected());
        assert!(!FailureClass::CredentialsRejected.is_token_rejected());
        assert_eq!(FailureClass::ALL.iter().collect::<std::collections::HashSet<_>>().len(), FailureClass::ALL.len());
        assert_eq!(
            serde_json::to_value(SettingsField::TlsTrustedCaPem).unwrap(),
            serde_json::json!("tls.trusted_ca_pem")
        );
    }
}
