//! Texts of the OAuth 2.0 sign-in: the fields, the connection's state and the set-up steps.
//! The set-up steps are static HTML in index.html (see `components::oauth::setup_steps`).

use postamt_wire::{OAuthConnectionStatus, OAuthFlow};

use super::Lang;

pub struct OAuthTexts {
    pub method_label: &'static str,
    pub method_password: &'static str,
    pub mailbox_label: &'static str,
    pub mailbox_help: &'static str,
    pub provider_label: &'static str,
    pub provider_generic: &'static str,
    pub flow_label: &'static str,
    pub tenant_label: &'static str,
    pub client_id_label: &'static str,
    pub client_secret_label: &'static str,
    pub stored_placeholder: &'static str,
    pub secret_help_stored: &'static str,
    pub secret_help_optional: &'static str,
    pub key_label: &'static str,
    pub key_stored: &'static str,
    pub token_url_label: &'static str,
    pub authorization_url_label: &'static str,
    pub scope_label: &'static str,

    pub connection_title: &'static str,
    pub status: &'static str,
    pub account: &'static str,
    pub connected_at: &'static str,
    pub token_issued_at: &'static str,
    pub token_expires_at: &'static str,
    pub refresh_used_at: &'static str,
    pub last_error: &'static str,
    pub connect: &'static str,
    pub reconnect: &'static str,
    pub disconnect: &'static str,
    pub connected: &'static str,
    pub disconnected: &'static str,
    pub connect_failed: &'static str,
    pub return_state: &'static str,
    pub return_session: &'static str,
    pub return_internal: &'static str,

    pub setup_title: &'static str,
    pub redirect_uri: &'static str,
}

pub static DE: OAuthTexts = OAuthTexts {
    method_label: "Anmeldeverfahren",
    method_password: "Benutzername und Passwort",
    mailbox_label: "Postfach",
    mailbox_help: "E-Mail-Adresse des Postfachs, mit dem gesendet wird (beim Google-Dienstkonto das Postfach, in \
        dessen Namen das Dienstkonto sendet).",
    provider_label: "Anbieter",
    provider_generic: "Anderer (generisch)",
    flow_label: "Verfahren",
    tenant_label: "Mandant (Tenant)",
    client_id_label: "Client-ID (Anwendungs-ID)",
    client_secret_label: "Geheimer Clientschlüssel (Client Secret)",
    stored_placeholder: "gespeichert – leer lassen zum Behalten",
    secret_help_stored: "Gespeichert und nie angezeigt. Leer lassen, um ihn zu behalten. Nach einer Änderung von \
        Server, Postfach, Anbieter, Verfahren oder App muss er neu eingegeben werden.",
    secret_help_optional: "Nur für eine vertrauliche App nötig; eine öffentliche Client-App hat keinen.",
    key_label: "Schlüssel des Dienstkontos (JSON)",
    key_stored: "Gespeicherter Schlüssel des Dienstkontos:",
    token_url_label: "Token-URL",
    authorization_url_label: "Autorisierungs-URL",
    scope_label: "Scope",

    connection_title: "Verbindung",
    status: "Status",
    account: "Verbundenes Konto",
    connected_at: "Verbunden am",
    token_issued_at: "Letztes Token ausgestellt",
    token_expires_at: "Token gültig bis",
    refresh_used_at: "Refresh-Token zuletzt verwendet",
    last_error: "Letzter Fehler",
    connect: "Konto verbinden",
    reconnect: "Erneut verbinden",
    disconnect: "Trennen",
    connected: "Konto verbunden.",
    disconnected: "Verbindung getrennt.",
    connect_failed: "Verbinden fehlgeschlagen:",
    return_state: "Die Anmeldung beim Anbieter war abgelaufen oder ungültig. Bitte erneut verbinden.",
    return_session: "Ihre Sitzung bei Postamt war abgelaufen. Bitte anmelden und erneut verbinden.",
    return_internal: "Interner Fehler beim Abschluss der Anmeldung.",

    setup_title: "Einrichtung beim Anbieter",
    redirect_uri: "Weiterleitungs-URI (Redirect URI):",
};

pub static EN: OAuthTexts = OAuthTexts {
    method_label: "Sign-in method",
    method_password: "Username and password",
    mailbox_label: "Mailbox",
    mailbox_help: "The e-mail address of the mailbox that sends (with a Google service account: the mailbox the \
        service account sends for).",
    provider_label: "Provider",
    provider_generic: "Other (generic)",
    flow_label: "Flow",
    tenant_label: "Tenant",
    client_id_label: "Client ID (application ID)",
    client_secret_label: "Client secret",
    stored_placeholder: "stored — leave empty to keep",
    secret_help_stored: "Stored and never shown. Leave empty to keep it. After changing server, mailbox, \
        provider, flow or app it must be entered again.",
    secret_help_optional: "Only needed for a confidential app; a public client app has none.",
    key_label: "Service account key (JSON)",
    key_stored: "Stored key of service account:",
    token_url_label: "Token URL",
    authorization_url_label: "Authorization URL",
    scope_label: "Scope",

    connection_title: "Connection",
    status: "Status",
    account: "Connected account",
    connected_at: "Connected on",
    token_issued_at: "Last token issued",
    token_expires_at: "Token valid until",
    refresh_used_at: "Refresh token last used",
    last_error: "Last error",
    connect: "Connect account",
    reconnect: "Reconnect",
    disconnect: "Disconnect",
    connected: "Account connected.",
    disconnected: "Disconnected.",
    connect_failed: "Connecting failed:",
    return_state: "The sign-in at the provider had expired or was invalid. Please connect again.",
    return_session: "Your Postamt session had expired. Please sign in and connect again.",
    return_internal: "Internal error while completing the sign-in.",

    setup_title: "Setting up at the provider",
    redirect_uri: "Redirect URI:",
};

impl Lang {
    pub fn oauth_flow(self, f: OAuthFlow) -> &'static str {
        let de = self == Lang::De;
        match f {
            OAuthFlow::ClientCredentials if de => "App-Anmeldung (Client Credentials)",
            OAuthFlow::ClientCredentials => "App-only (client credentials)",
            OAuthFlow::AuthorizationCode if de => "Konto verbinden (delegiert)",
            OAuthFlow::AuthorizationCode => "Connect an account (delegated)",
            OAuthFlow::ServiceAccount if de => "Dienstkonto mit domänenweiter Delegierung",
            OAuthFlow::ServiceAccount => "Service account (domain-wide delegation)",
        }
    }

    pub fn oauth_status(self, s: OAuthConnectionStatus) -> &'static str {
        use OAuthConnectionStatus as S;
        let de = self == Lang::De;
        match s {
            S::Unknown if de => "Noch kein Token angefordert",
            S::Unknown => "No token requested yet",
            S::Ok if de => "In Ordnung: Tokens werden ausgestellt",
            S::Ok => "Working: tokens are issued",
            S::Failing if de => "Fehler: Token-Anfragen schlagen fehl",
            S::Failing => "Failing: token requests fail",
            S::NeedsConnect if de => "Konto muss (erneut) verbunden werden",
            S::NeedsConnect => "The account needs to be connected (again)",
        }
    }
}
