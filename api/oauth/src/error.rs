//! Failures of an OAuth step, classified so the settings page can say which field to change.
//!
//! Every failure is an [`OAuthError`]: a stable [`OAuthErrorClass`], the settings field most
//! likely at fault, a hint in German and English, and for the log the provider's error code
//! (`invalid_client`, the AADSTS numbers) with a sanitised description. Nothing in here ever
//! holds a secret: descriptions are cut to their first sentence-ish part and stripped of
//! control characters, and transport errors are kept without their URL.

use std::fmt;

use postamt_wire::LocalizedText;

/// What went wrong, in classes the API maps to its own failure classes. The names
/// ([`OAuthErrorClass::as_str`]) are stable: they end up in logs and API responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OAuthErrorClass {
    /// Microsoft AADSTS90002 / 900023: the tenant (directory) does not exist or is malformed.
    TenantNotFound,
    /// AADSTS7000215 or a plain `invalid_client`: the client secret is wrong.
    InvalidClientSecret,
    /// AADSTS7000222: the client secret has expired.
    ClientSecretExpired,
    /// AADSTS700016 (or Google `invalid_client` "not found"): no such application.
    ApplicationNotFound,
    /// AADSTS65001: an admin has not consented to the permission.
    ConsentMissing,
    /// `invalid_grant` on a refresh: the refresh token expired, was revoked or reused.
    RefreshTokenInvalid,
    /// `invalid_grant` on a code exchange: the code is wrong, used or expired, or PKCE failed.
    AuthorizationCodeInvalid,
    /// The user (or the provider) declined the sign-in on the authorize page.
    AccessDenied,
    /// Google `unauthorized_client`: domain-wide delegation is not granted for this client id
    /// and scope, or the flow is not allowed for the client.
    UnauthorizedClient,
    /// `invalid_scope` / AADSTS70011.
    InvalidScope,
    /// Google `invalid_grant` on the JWT bearer grant: the key was refused or the mailbox to
    /// impersonate is unknown.
    ServiceAccountRejected,
    /// The service account JSON key does not parse, or its private key is unusable.
    ServiceAccountKeyInvalid,
    /// An endpoint is not `https` (and not on loopback), or not a URL at all.
    InsecureEndpoint,
    /// Connection refused, DNS failure, TLS failure: the token endpoint was not reached.
    EndpointUnreachable,
    /// The endpoint did not answer in time.
    Timeout,
    /// The answer was not JSON, or had no access token.
    InvalidResponse,
    /// Any other error the provider reported.
    ProviderError,
}

impl OAuthErrorClass {
    /// Every class, in declaration order (for the API's mapping and its tests).
    pub const ALL: [OAuthErrorClass; 17] = [
        Self::TenantNotFound,
        Self::InvalidClientSecret,
        Self::ClientSecretExpired,
        Self::ApplicationNotFound,
        Self::ConsentMissing,
        Self::RefreshTokenInvalid,
        Self::AuthorizationCodeInvalid,
        Self::AccessDenied,
        Self::UnauthorizedClient,
        Self::InvalidScope,
        Self::ServiceAccountRejected,
        Self::ServiceAccountKeyInvalid,
        Self::InsecureEndpoint,
        Self::EndpointUnreachable,
        Self::Timeout,
        Self::InvalidResponse,
        Self::ProviderError,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantNotFound => "tenant_not_found",
            Self::InvalidClientSecret => "invalid_client_secret",
            Self::ClientSecretExpired => "client_secret_expired",
            Self::ApplicationNotFound => "application_not_found",
            Self::ConsentMissing => "consent_missing",
            Self::RefreshTokenInvalid => "refresh_token_invalid",
            Self::AuthorizationCodeInvalid => "authorization_code_invalid",
            Self::AccessDenied => "access_denied",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::InvalidScope => "invalid_scope",
            Self::ServiceAccountRejected => "service_account_rejected",
            Self::ServiceAccountKeyInvalid => "service_account_key_invalid",
            Self::InsecureEndpoint => "insecure_endpoint",
            Self::EndpointUnreachable => "endpoint_unreachable",
            Self::Timeout => "timeout",
            Self::InvalidResponse => "invalid_response",
            Self::ProviderError => "provider_error",
        }
    }

    /// The settings field most likely at fault (names of the lead's `oauth.*` settings), or
    /// none when nothing in the settings would fix it.
    pub fn field(self) -> Option<&'static str> {
        match self {
            Self::TenantNotFound => Some("oauth.tenant"),
            Self::InvalidClientSecret | Self::ClientSecretExpired => Some("oauth.client_secret"),
            Self::ApplicationNotFound | Self::UnauthorizedClient => Some("oauth.client_id"),
            Self::ConsentMissing => Some("oauth.client_id"),
            Self::RefreshTokenInvalid | Self::AuthorizationCodeInvalid | Self::AccessDenied => Some("oauth.sign_in"),
            Self::InvalidScope => Some("oauth.scope"),
            Self::ServiceAccountRejected => Some("oauth.impersonate"),
            Self::ServiceAccountKeyInvalid => Some("oauth.service_account_key"),
            Self::InsecureEndpoint => Some("oauth.token_url"),
            Self::EndpointUnreachable | Self::Timeout | Self::InvalidResponse | Self::ProviderError => None,
        }
    }

    /// What to change, in German and English.
    pub fn hint(self) -> LocalizedText {
        let (de, en) = match self {
            Self::TenantNotFound => (
                "Der Mandant (Tenant) wurde nicht gefunden. Tragen Sie die Verzeichnis-ID (GUID) oder die Domäne Ihres Microsoft-365-Mandanten ein.",
                "The tenant was not found. Enter the directory (tenant) ID or the domain of your Microsoft 365 tenant.",
            ),
            Self::InvalidClientSecret => (
                "Der geheime Clientschlüssel ist falsch. Tragen Sie den Wert (nicht die ID) des geheimen Schlüssels aus der App-Registrierung ein.",
                "The client secret is wrong. Enter the secret's value (not its ID) from the app registration.",
            ),
            Self::ClientSecretExpired => (
                "Der geheime Clientschlüssel ist abgelaufen. Erstellen Sie in der App-Registrierung einen neuen und tragen Sie ihn ein.",
                "The client secret has expired. Create a new one in the app registration and enter it.",
            ),
            Self::ApplicationNotFound => (
                "Die Anwendung (Client-ID) ist in diesem Mandanten nicht bekannt. Prüfen Sie Client-ID und Mandant.",
                "The application (client ID) is not known in this tenant. Check the client ID and the tenant.",
            ),
            Self::ConsentMissing => (
                "Für die Berechtigung fehlt die Administratorzustimmung. Erteilen Sie sie in der App-Registrierung unter „API-Berechtigungen“.",
                "Admin consent for the permission is missing. Grant it in the app registration under \"API permissions\".",
            ),
            Self::RefreshTokenInvalid => (
                "Die Anmeldung ist abgelaufen oder wurde widerrufen. Melden Sie das Postfach erneut an.",
                "The sign-in has expired or was revoked. Sign the mailbox in again.",
            ),
            Self::AuthorizationCodeInvalid => (
                "Die Anmeldung konnte nicht abgeschlossen werden (Code ungültig oder abgelaufen). Versuchen Sie es erneut.",
                "The sign-in could not be completed (code invalid or expired). Please try again.",
            ),
            Self::AccessDenied => (
                "Die Anmeldung wurde abgelehnt oder abgebrochen. Melden Sie sich erneut an und stimmen Sie der Berechtigung zu.",
                "The sign-in was declined or cancelled. Sign in again and accept the permission.",
            ),
            Self::UnauthorizedClient => (
                "Der Client darf dieses Verfahren nicht nutzen. Bei Google: domänenweite Delegierung für diese Client-ID mit dem Bereich https://mail.google.com/ in der Admin-Konsole freigeben.",
                "The client may not use this flow. For Google: grant domain-wide delegation for this client ID with the scope https://mail.google.com/ in the Admin console.",
            ),
            Self::InvalidScope => (
                "Der Bereich (Scope) wird vom Anbieter nicht akzeptiert. Prüfen Sie den Scope.",
                "The provider does not accept the scope. Check the scope.",
            ),
            Self::ServiceAccountRejected => (
                "Google hat das Dienstkonto abgelehnt. Prüfen Sie das zu vertretende Postfach und ob der Schlüssel noch gültig ist.",
                "Google refused the service account. Check the mailbox to impersonate and whether the key is still valid.",
            ),
            Self::ServiceAccountKeyInvalid => (
                "Der Dienstkonto-Schlüssel ist unbrauchbar. Laden Sie die JSON-Schlüsseldatei des Dienstkontos unverändert hoch.",
                "The service account key is unusable. Upload the service account's JSON key file unchanged.",
            ),
            Self::InsecureEndpoint => (
                "Der Token-Endpunkt muss eine https-Adresse sein.",
                "The token endpoint must be an https address.",
            ),
            Self::EndpointUnreachable => (
                "Der Token-Endpunkt ist nicht erreichbar (Verbindung, DNS oder TLS). Prüfen Sie Netzwerk, Proxy und Firewall.",
                "The token endpoint could not be reached (connection, DNS or TLS). Check the network, proxy and firewall.",
            ),
            Self::Timeout => (
                "Der Token-Endpunkt hat nicht rechtzeitig geantwortet. Versuchen Sie es später erneut.",
                "The token endpoint did not answer in time. Try again later.",
            ),
            Self::InvalidResponse => (
                "Die Antwort des Token-Endpunkts war unbrauchbar. Prüfen Sie die Adresse des Endpunkts.",
                "The token endpoint's answer was unusable. Check the endpoint's address.",
            ),
            Self::ProviderError => (
                "Der Anbieter hat die Anfrage abgelehnt; Einzelheiten stehen im Protokoll.",
                "The provider refused the request; the log has the details.",
            ),
        };
        LocalizedText { de: de.to_owned(), en: en.to_owned() }
    }
}

impl fmt::Display for OAuthErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed OAuth step. `Display` gives the class, the provider's code and the sanitised
/// description, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub class: OAuthErrorClass,
    /// HTTP status of the token endpoint's answer, when there was one.
    pub http_status: Option<u16>,
    /// The provider's `error` (e.g. `invalid_client`), when it sent one.
    pub provider_error: Option<String>,
    /// Microsoft's `error_codes` (the AADSTS numbers).
    pub provider_codes: Vec<u64>,
    /// The provider's description or our own detail, sanitised for the log.
    pub description: Option<String>,
}

impl OAuthError {
    /// An error of our own making (no provider answer).
    pub fn new(class: OAuthErrorClass, detail: impl Into<String>) -> Self {
        OAuthError {
            class,
            http_status: None,
            provider_error: None,
            provider_codes: Vec::new(),
            description: Some(sanitize(&detail.into())),
        }
    }

    /// Shorthand for `self.class.field()`.
    pub fn field(&self) -> Option<&'static str> {
        self.class.field()
    }

    /// Shorthand for `self.class.hint()`.
    pub fn hint(&self) -> LocalizedText {
        self.class.hint()
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.class)?;
        if let Some(status) = self.http_status {
            write!(f, " (HTTP {status}")?;
            if let Some(e) = &self.provider_error {
                write!(f, ", {e}")?;
            }
            if !self.provider_codes.is_empty() {
                let codes: Vec<String> = self.provider_codes.iter().map(|c| format!("AADSTS{c}")).collect();
                write!(f, ", {}", codes.join(" "))?;
            }
            f.write_str(")")?;
        }
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

/// Longest description kept for the log.
const MAX_DESCRIPTION: usize = 300;

/// Makes a provider's description fit for the log: the part before Microsoft's
/// "Trace ID: … Correlation ID: … Timestamp: …" tail, without control characters (no log
/// injection), cut to [`MAX_DESCRIPTION`] characters. Provider descriptions never echo the
/// secret itself, but they are attacker-influenced text when an endpoint is misconfigured.
pub(crate) fn sanitize(text: &str) -> String {
    let head = text.split("Trace ID:").next().unwrap_or(text);
    let cleaned: String = head
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if cleaned.chars().count() > MAX_DESCRIPTION {
        let mut cut: String = cleaned.chars().take(MAX_DESCRIPTION).collect();
        cut.push('…');
        cut
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_snake_case() {
        let mut names: Vec<&str> = OAuthErrorClass::ALL.iter().map(|c| c.as_str()).collect();
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OAuthErrorClass::ALL.len());
    }

    #[test]
    fn sanitize_drops_trace_tail_and_control_characters() {
        let d = "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: abc\r\nCorrelation ID: x";
        assert_eq!(sanitize(d), "AADSTS7000215: Invalid client secret provided.");
        assert_eq!(sanitize("a\u{1b}[31mb\nc"), "a [31mb c");
        assert_eq!(sanitize(&"x".repeat(400)).chars().count(), MAX_DESCRIPTION + 1);
    }
}
