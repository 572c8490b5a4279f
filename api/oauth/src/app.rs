//! What a connection signs in with: the provider, the app registration and (for Google
//! Workspace) the service account.

use secrecy::SecretString;

/// Microsoft's scope for app-only tokens (client credentials) to Exchange Online.
pub const MICROSOFT_APP_SCOPE: &str = "https://outlook.office365.com/.default";
/// Microsoft's delegated scope for SMTP AUTH, with a refresh token.
pub const MICROSOFT_DELEGATED_SCOPE: &str = "https://outlook.office.com/SMTP.Send offline_access";
/// Google's scope for SMTP (and IMAP/POP).
pub const GOOGLE_MAIL_SCOPE: &str = "https://mail.google.com/";

/// Which provider, with what only that provider needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// Microsoft Entra ID / Microsoft 365. `tenant`: directory ID, domain, or `organizations`.
    Microsoft { tenant: String },
    /// Google (Gmail / Workspace).
    Google,
    /// Any RFC 6749 provider: its token URL, its authorize URL (only for the authorization
    /// code flow) and the scope to ask for.
    Generic { token_url: String, authorization_url: Option<String>, scope: String },
}

impl Provider {
    /// Stable name: `microsoft`, `google`, `generic`.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Microsoft { .. } => "microsoft",
            Provider::Google => "google",
            Provider::Generic { .. } => "generic",
        }
    }
}

/// The sign-in flows. Names ([`Flow::as_str`]) are stable for the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// App-only token with the app's secret (Microsoft, generic).
    ClientCredentials,
    /// A user signs in once (PKCE); afterwards the refresh token gets access tokens.
    AuthorizationCode,
    /// Google Workspace domain-wide delegation with a service account key.
    ServiceAccount,
}

impl Flow {
    pub const ALL: [Flow; 3] = [Flow::ClientCredentials, Flow::AuthorizationCode, Flow::ServiceAccount];

    pub fn as_str(self) -> &'static str {
        match self {
            Flow::ClientCredentials => "client_credentials",
            Flow::AuthorizationCode => "authorization_code",
            Flow::ServiceAccount => "service_account",
        }
    }
}

/// An app registration (OAuth client). `Debug` shows the secret as redacted.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub provider: Provider,
    pub client_id: String,
    /// Required for client credentials; optional for the authorization code flow (public
    /// clients use PKCE alone, Google's web clients need it).
    pub client_secret: Option<SecretString>,
    /// Replaces the provider's default scope when set.
    pub scope: Option<String>,
}
