//! What a test needs: the (possibly unsaved) settings, resolved by the caller.

use std::time::Duration;

use postamt_wire::{EffectiveSender, Encryption, MailTestMode, TIMEOUT_SECONDS_DEFAULT};
use secrecy::SecretString;

/// SMTP login: a user name and a password (AUTH PLAIN or LOGIN) or an OAuth 2.0 access
/// token (AUTH XOAUTH2). `Debug` shows `[REDACTED]` for the secret.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The login name; with XOAUTH2 the mailbox the token is for (`user=` of the payload).
    pub username: String,
    pub secret: AuthSecret,
}

/// What proves the login, and so which SASL mechanism is used.
#[derive(Debug, Clone)]
pub enum AuthSecret {
    /// AUTH PLAIN if offered, else AUTH LOGIN.
    Password(SecretString),
    /// An OAuth 2.0 bearer access token (Microsoft 365, Google), sent with AUTH XOAUTH2.
    /// The caller obtains and refreshes it; a rejected token is reported as
    /// [`postamt_wire::FailureClass::OauthTokenRejected`].
    AccessToken(SecretString),
}

impl Credentials {
    /// A user name and password.
    pub fn password(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Credentials { username: username.into(), secret: AuthSecret::Password(password.into()) }
    }

    /// A mailbox and an OAuth 2.0 access token for it.
    pub fn access_token(mailbox: impl Into<String>, token: impl Into<SecretString>) -> Self {
        Credentials { username: mailbox.into(), secret: AuthSecret::AccessToken(token.into()) }
    }

    /// True for an OAuth 2.0 sign-in (XOAUTH2).
    pub fn is_oauth(&self) -> bool {
        matches!(self.secret, AuthSecret::AccessToken(_))
    }

    /// The password or the token.
    pub(crate) fn secret(&self) -> &SecretString {
        match &self.secret {
            AuthSecret::Password(s) | AuthSecret::AccessToken(s) => s,
        }
    }
}

impl PartialEq for Credentials {
    /// Equal only with the same kind of secret and the same secret.
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret as _;
        self.username == other.username
            && self.is_oauth() == other.is_oauth()
            && self.secret().expose_secret() == other.secret().expose_secret()
    }
}

impl Eq for Credentials {}

/// Everything one test uses. Build it with [`TestConfig::new`] and set the rest.
#[derive(Debug, Clone)]
pub struct TestConfig {
    /// DNS name or IP address (IPv6 with or without brackets).
    pub host: String,
    pub port: u16,
    pub encryption: Encryption,
    /// From, Reply-To and envelope sender, as the sender policy decided
    /// ([`EffectiveSender::apply`]).
    pub sender: EffectiveSender,
    /// `None`: no AUTH.
    pub credentials: Option<Credentials>,
    /// PEM of a private CA trusted in addition to the system's roots.
    pub trusted_ca_pem: Option<String>,
    /// Accept any certificate (the result still shows why it would have failed).
    pub accept_invalid_certificates: bool,
    /// The one deadline for the whole exchange, from DNS lookup to QUIT.
    pub timeout: Duration,
    /// Name given in EHLO; `None`: [`crate::default_ehlo_name`] of the connection.
    pub ehlo_name: Option<String>,
    pub recipient: String,
    pub mode: MailTestMode,
}

impl TestConfig {
    /// The connection part of the test's settings.
    pub(crate) fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            host: &self.host,
            port: self.port,
            encryption: self.encryption,
            credentials: self.credentials.as_ref(),
            trusted_ca_pem: self.trusted_ca_pem.as_deref(),
            accept_invalid_certificates: self.accept_invalid_certificates,
            timeout: self.timeout,
            ehlo_name: self.ehlo_name.as_deref(),
        }
    }

    /// A test with the default timeout (20 s), the default EHLO name, `send`
    /// mode, no login, the system's trusted roots.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        encryption: Encryption,
        sender: EffectiveSender,
        recipient: impl Into<String>,
    ) -> Self {
        TestConfig {
            host: host.into(),
            port,
            encryption,
            sender,
            credentials: None,
            trusted_ca_pem: None,
            accept_invalid_certificates: false,
            timeout: Duration::from_secs(u64::from(TIMEOUT_SECONDS_DEFAULT)),
            ehlo_name: None,
            recipient: recipient.into(),
            mode: MailTestMode::Send,
        }
    }
}

/// What connecting, TLS, EHLO and AUTH need: shared by the test mail ([`TestConfig`]) and
/// delivery ([`crate::delivery::DeliveryConfig`]), so both open connections the same way.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint<'a> {
    pub host: &'a str,
    pub port: u16,
    pub encryption: Encryption,
    pub credentials: Option<&'a Credentials>,
    pub trusted_ca_pem: Option<&'a str>,
    pub accept_invalid_certificates: bool,
    /// The one deadline of the exchange.
    pub timeout: Duration,
    /// The configured EHLO name; `None`: [`crate::default_ehlo_name`] of the connection.
    pub ehlo_name: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password_and_the_token() {
        let c = Credentials::password("u", "hunter2-secret");
        assert!(!format!("{c:?}").contains("hunter2"));
        let t = Credentials::access_token("u", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.token-body");
        assert!(!format!("{t:?}").contains("eyJ0eX"), "{t:?}");
        assert!(t.is_oauth() && !c.is_oauth());
    }

    #[test]
    fn credentials_compare_the_kind_of_secret_too() {
        assert_eq!(Credentials::password("u", "same"), Credentials::password("u", "same"));
        assert_ne!(Credentials::password("u", "same"), Credentials::access_token("u", "same"));
        assert_ne!(Credentials::access_token("u", "a"), Credentials::access_token("u", "b"));
    }
}
