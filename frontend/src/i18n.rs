//! German (default) and English texts. The language is taken from the browser on the first
//! visit, can be switched in the header, and the choice is kept in localStorage.
//!
//! Field errors and warnings are translated by their stable `code`; unknown codes fall back to
//! the server's English message, so a newer server never shows an empty error.

use leptos::prelude::*;

#[cfg(feature = "alerts")]
mod alerts;
mod error_log;
mod fallback;
mod limits;
mod oauth;
mod test_mail;

#[cfg(feature = "alerts")]
pub use alerts::AlertTexts;
pub use error_log::LogTexts;
pub use fallback::FallbackTexts;
pub use limits::LimitTexts;
pub use oauth::OAuthTexts;
pub use test_mail::TestTexts;

const STORAGE_KEY: &str = "postamt.lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    De,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    fn parse(s: &str) -> Option<Lang> {
        let primary = s.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The stored choice, else the browser's first German or English preference, else German.
    fn initial() -> Lang {
        let Some(window) = web_sys::window() else { return Lang::De };
        let stored = window.local_storage().ok().flatten().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        if let Some(lang) = stored.as_deref().and_then(Lang::parse) {
            return lang;
        }
        let navigator = window.navigator();
        let languages = navigator.languages();
        let preferred = languages.iter().filter_map(|v| v.as_string()).chain(navigator.language());
        for tag in preferred {
            if let Some(lang) = Lang::parse(&tag) {
                return lang;
            }
        }
        Lang::De
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::De => &DE,
            Lang::En => &EN,
        }
    }
}

/// Picks one text out of the texts of a language (`|t| t.save`).
pub type Text = fn(&'static Texts) -> &'static str;

/// The current language, shared through the context.
#[derive(Clone, Copy)]
pub struct I18n {
    lang: RwSignal<Lang>,
}

impl I18n {
    /// Creates the language state and keeps `<html lang>` and the document title in step.
    pub fn provide() -> I18n {
        let i18n = I18n { lang: RwSignal::new(Lang::initial()) };
        provide_context(i18n);
        Effect::new(move |_| {
            let lang = i18n.lang.get();
            if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
                if let Some(root) = doc.document_element() {
                    let _ = root.set_attribute("lang", lang.code());
                }
                doc.set_title(lang.texts().document_title);
            }
        });
        i18n
    }

    pub fn get() -> I18n {
        expect_context::<I18n>()
    }

    /// The current language (tracked).
    pub fn lang(self) -> Lang {
        self.lang.get()
    }

    /// The current texts (tracked).
    pub fn t(self) -> &'static Texts {
        self.lang.get().texts()
    }

    /// One text of the current language, for a view: `{i18n.text(|t| t.save)}`.
    ///
    /// Every call returns the same closure type (`pick` is a plain function pointer), so the
    /// code that renders a reactive text and updates it when the language changes exists
    /// once in the page's wasm. With a `move || i18n.t().save` closure per label it existed
    /// once per label: over a hundred copies, a tenth of the module.
    pub fn text(self, pick: Text) -> impl Fn() -> &'static str + Copy + Send + Sync {
        move || pick(self.t())
    }

    pub fn set(self, lang: Lang) {
        self.lang.set(lang);
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.set_item(STORAGE_KEY, lang.code());
        }
    }
}

/// Every fixed text of the page, once per language.
pub struct Texts {
    pub document_title: &'static str,
    pub app_name: &'static str,
    pub skip_to_content: &'static str,
    pub loading: &'static str,
    pub nav_label: &'static str,
    pub tab_email: &'static str,
    pub tab_errors: &'static str,
    pub language: &'static str,
    pub logout: &'static str,
    pub logout_failed: &'static str,
    pub server_unreachable: &'static str,
    pub retry: &'static str,
    pub session_expired: &'static str,

    pub login_title: &'static str,
    pub login_password: &'static str,
    pub login_submit: &'static str,
    pub login_busy: &'static str,
    pub login_empty: &'static str,
    pub login_wrong: &'static str,

    pub settings_title: &'static str,
    pub settings_loading: &'static str,
    pub settings_load_failed: &'static str,
    pub unsaved_changes: &'static str,

    pub section_connection: &'static str,
    pub host_label: &'static str,
    pub encryption_label: &'static str,
    pub encryption_none: &'static str,
    pub encryption_starttls: &'static str,
    pub encryption_tls: &'static str,
    pub port_label: &'static str,
    pub timeout_label: &'static str,

    pub section_sender: &'static str,
    pub sender_name_label: &'static str,
    pub sender_address_label: &'static str,

    pub section_auth: &'static str,
    pub auth_enabled_label: &'static str,
    pub auth_username_label: &'static str,
    pub auth_username_help: &'static str,
    pub auth_password_label: &'static str,
    pub password_stored_placeholder: &'static str,
    pub password_help_stored: &'static str,
    pub password_help_new: &'static str,

    pub section_tls: &'static str,
    pub tls_ca_label: &'static str,
    pub tls_accept_invalid_label: &'static str,

    pub section_more: &'static str,
    pub force_label: &'static str,
    pub reply_to_label: &'static str,

    pub save: &'static str,
    pub saving: &'static str,
    pub discard: &'static str,
    pub status_discarded: &'static str,
    pub status_fix_fields: &'static str,
    pub status_server_rejected: &'static str,
    pub reload: &'static str,
    pub status_reloaded: &'static str,
    pub status_network: &'static str,
    pub warning_prefix: &'static str,

    pub remove: &'static str,
    pub remove_confirm: &'static str,
    pub cancel: &'static str,
    pub removing: &'static str,
    pub status_removed: &'static str,

    pub history_title: &'static str,
    pub history_loading: &'static str,
    pub history_empty: &'static str,
    pub history_failed: &'static str,
    pub history_created: &'static str,
    pub history_updated: &'static str,
    pub history_deleted: &'static str,
    pub history_secret_changed: &'static str,
    pub history_empty_value: &'static str,
    pub yes: &'static str,
    pub no: &'static str,

    /// The test panel and the sender preview.
    pub test: &'static TestTexts,
    /// The error log tab.
    pub log: &'static LogTexts,
    /// OAuth 2.0 sign-in.
    pub oauth: &'static OAuthTexts,
    /// Sending limits.
    pub limits: &'static LimitTexts,
    /// The fallback server.
    pub fallback: &'static FallbackTexts,
    /// The alerts tab.
    #[cfg(feature = "alerts")]
    pub alerts: &'static AlertTexts,
}

pub static DE: Texts = Texts {
    document_title: "Postamt – E-Mail-Einstellungen",
    app_name: "Postamt",
    skip_to_content: "Zum Inhalt springen",
    loading: "Lädt …",
    nav_label: "Bereiche",
    tab_email: "E-Mail",
    tab_errors: "Fehlerprotokoll",
    language: "Sprache",
    logout: "Abmelden",
    logout_failed: "Abmelden ist fehlgeschlagen. Bitte erneut versuchen.",
    server_unreachable: "Der Server ist nicht erreichbar.",
    retry: "Erneut versuchen",
    session_expired: "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.",

    login_title: "Anmelden",
    login_password: "Passwort",
    login_submit: "Anmelden",
    login_busy: "Anmelden …",
    login_empty: "Bitte geben Sie das Passwort ein.",
    login_wrong: "Das Passwort ist falsch.",

    settings_title: "Konfiguration E-Mail-Versand",
    settings_loading: "Einstellungen werden geladen …",
    settings_load_failed: "Die Einstellungen konnten nicht geladen werden.",
    unsaved_changes: "Ungespeicherte Änderungen",

    section_connection: "Server",
    host_label: "SMTP-Server",
    encryption_label: "Verschlüsselung",
    encryption_none: "Keine",
    encryption_starttls: "STARTTLS",
    encryption_tls: "TLS",
    port_label: "Port",
    timeout_label: "Timeout (Sekunden)",

    section_sender: "Absender",
    sender_name_label: "Name des Standardabsenders",
    sender_address_label: "E-Mail-Adresse des Standardabsenders",

    section_auth: "Authentifizierung",
    auth_enabled_label: "Server erfordert Authentifizierung",
    auth_username_label: "Benutzername",
    auth_username_help: "Üblicherweise die E-Mail-Adresse des Standardabsenders.",
    auth_password_label: "Passwort",
    password_stored_placeholder: "gespeichert",
    password_help_stored: "Ein Passwort ist gespeichert und wird nie angezeigt. Leer lassen, um es zu behalten. \
        Nach einer Änderung von Server, Port, Verschlüsselung oder Benutzername muss es neu eingegeben werden.",
    password_help_new: "Wird verschlüsselt gespeichert und danach nie mehr angezeigt.",

    section_tls: "TLS-Zertifikate",
    tls_ca_label: "Vertrauenswürdige Zertifizierungsstelle (PEM)",
    tls_accept_invalid_label: "Ungültige Zertifikate akzeptieren",

    section_more: "Weitere Einstellungen zum Absender",
    force_label: "Standardabsender erzwingen",
    reply_to_label: "Reply-To Header für individuelle Absender",

    save: "Speichern",
    saving: "Speichern …",
    discard: "Änderungen verwerfen",
    status_discarded: "Änderungen verworfen.",
    status_fix_fields: "Bitte korrigieren Sie die markierten Felder.",
    status_server_rejected: "Nicht gespeichert: Der Server hat Eingaben abgelehnt. Bitte die markierten Felder prüfen.",
    reload: "Aktuellen Stand laden",
    status_reloaded: "Aktueller Stand geladen.",
    status_network: "Keine Verbindung zum Server. Ihre Eingaben sind noch da – bitte erneut versuchen.",
    warning_prefix: "Hinweis:",

    remove: "Einstellungen entfernen",
    remove_confirm: "Ja, entfernen",
    cancel: "Abbrechen",
    removing: "Wird entfernt …",
    status_removed: "Einstellungen entfernt. Der E-Mail-Versand ist nicht mehr eingerichtet.",

    history_title: "Verlauf",
    history_loading: "Verlauf wird geladen …",
    history_empty: "Noch keine Änderungen.",
    history_failed: "Der Verlauf konnte nicht geladen werden.",
    history_created: "angelegt",
    history_updated: "geändert",
    history_deleted: "entfernt",
    history_secret_changed: "geändert",
    history_empty_value: "(leer)",
    yes: "ja",
    no: "nein",

    test: &test_mail::DE,
    log: &error_log::DE,
    oauth: &oauth::DE,
    limits: &limits::DE,
    fallback: &fallback::DE,
    #[cfg(feature = "alerts")]
    alerts: &alerts::DE,
};

pub static EN: Texts = Texts {
    document_title: "Postamt – mail settings",
    app_name: "Postamt",
    skip_to_content: "Skip to content",
    loading: "Loading …",
    nav_label: "Sections",
    tab_email: "E-mail",
    tab_errors: "Error log",
    language: "Language",
    logout: "Sign out",
    logout_failed: "Signing out failed. Please try again.",
    server_unreachable: "The server cannot be reached.",
    retry: "Try again",
    session_expired: "Your session has expired. Please sign in again.",

    login_title: "Sign in",
    login_password: "Password",
    login_submit: "Sign in",
    login_busy: "Signing in …",
    login_empty: "Please enter the password.",
    login_wrong: "The password is incorrect.",

    settings_title: "Outgoing mail configuration",
    settings_loading: "Loading settings …",
    settings_load_failed: "The settings could not be loaded.",
    unsaved_changes: "Unsaved changes",

    section_connection: "Server",
    host_label: "SMTP server",
    encryption_label: "Encryption",
    encryption_none: "None",
    encryption_starttls: "STARTTLS",
    encryption_tls: "TLS",
    port_label: "Port",
    timeout_label: "Timeout (seconds)",

    section_sender: "Sender",
    sender_name_label: "Default sender name",
    sender_address_label: "Default sender e-mail address",

    section_auth: "Authentication",
    auth_enabled_label: "Server requires authentication",
    auth_username_label: "Username",
    auth_username_help: "Usually the default sender's e-mail address.",
    auth_password_label: "Password",
    password_stored_placeholder: "stored",
    password_help_stored: "A password is stored and is never shown. Leave empty to keep it. After changing \
        server, port, encryption or username it must be entered again.",
    password_help_new: "Stored encrypted and never shown again.",

    section_tls: "TLS certificates",
    tls_ca_label: "Trusted certificate authority (PEM)",
    tls_accept_invalid_label: "Accept invalid certificates",

    section_more: "More sender settings",
    force_label: "Always use the default sender",
    reply_to_label: "Reply-To header for individual senders",

    save: "Save",
    saving: "Saving …",
    discard: "Discard changes",
    status_discarded: "Changes discarded.",
    status_fix_fields: "Please correct the marked fields.",
    status_server_rejected: "Not saved: the server rejected some values. Please check the marked fields.",
    reload: "Load current settings",
    status_reloaded: "Current settings loaded.",
    status_network: "No connection to the server. Your input is still here – please try again.",
    warning_prefix: "Note:",

    remove: "Remove settings",
    remove_confirm: "Yes, remove",
    cancel: "Cancel",
    removing: "Removing …",
    status_removed: "Settings removed. Outgoing mail is no longer configured.",

    history_title: "History",
    history_loading: "Loading history …",
    history_empty: "No changes yet.",
    history_failed: "The history could not be loaded.",
    history_created: "created",
    history_updated: "changed",
    history_deleted: "removed",
    history_secret_changed: "changed",
    history_empty_value: "(empty)",
    yes: "yes",
    no: "no",

    test: &test_mail::EN,
    log: &error_log::EN,
    oauth: &oauth::EN,
    limits: &limits::EN,
    fallback: &fallback::EN,
    #[cfg(feature = "alerts")]
    alerts: &alerts::EN,
};

impl Lang {
    /// A field error, translated by code (index.html's `e-<code>` texts, see [`Lang::prose`]);
    /// `message` is the server's English text (if any), shown for a code the page does not know.
    pub fn field_error(self, field: &str, code: &str, message: Option<&str>) -> String {
        use crate::form::fields;
        // The fallback's fields read as the primary's (`fallback.port` as `port`).
        let field = crate::form::fallback::fields::primary_of(field).unwrap_or(field);
        #[cfg(feature = "alerts")]
        if let Some(text) = self.alerts_error(field, code) {
            return text.to_owned();
        }
        let de = self == Lang::De;
        if let (Some(i), "out_of_range") = (fields::limit_index(field), code) {
            let max = crate::validate::limit_max(i);
            return if de {
                format!("Bitte eine Zahl von 1 bis {max} eingeben oder leer lassen (kein Limit).")
            } else {
                format!("Please enter a number from 1 to {max}, or leave empty (no limit).")
            };
        }
        // A text of its own for some fields: `e-<code>-<field>`.
        let special = matches!((code, field), ("required", fields::AUTH_PASSWORD))
            || matches!((code, field), ("out_of_range", fields::PORT | fields::TIMEOUT_SECONDS));
        let key = if special { ["e-", code, "-", field].concat() } else { ["e-", code].concat() };
        let text = self.prose_text(&key);
        if !text.is_empty() {
            return text;
        }
        match message {
            Some(m) if !m.is_empty() => m.to_owned(),
            _ if de => "Ungültiger Wert.".to_owned(),
            _ => "Invalid value.".to_owned(),
        }
    }

    /// A settings warning, translated by code (index.html's `w-<code>` texts).
    pub fn warning(self, code: &str, message: &str) -> String {
        let text = self.prose_text(&["w-", code].concat());
        if text.is_empty() {
            message.to_owned()
        } else {
            text
        }
    }

    /// A short title for an error answer, by HTTP status.
    pub fn problem_title(self, status: u16) -> String {
        let de = self == Lang::De;
        let text = match status {
            400 if de => "Ungültige Anfrage",
            400 => "Bad request",
            401 if de => "Nicht angemeldet",
            401 => "Not signed in",
            403 if de => "Keine Berechtigung",
            403 => "Not allowed",
            404 if de => "Nicht gefunden",
            404 => "Not found",
            409 if de => "Konflikt",
            409 => "Conflict",
            412 if de => "Inzwischen geändert",
            412 => "Changed in the meantime",
            413 if de => "Anfrage zu groß",
            413 => "Request too large",
            415 if de => "Falsches Datenformat",
            415 => "Wrong data format",
            422 if de => "Ungültige Eingaben",
            422 => "Invalid input",
            428 if de => "Version fehlt",
            428 => "Version missing",
            429 if de => "Zu viele Anfragen",
            429 => "Too many requests",
            500 if de => "Interner Serverfehler",
            500 => "Internal server error",
            502..=504 if de => "Server vorübergehend nicht verfügbar",
            502..=504 => "Server temporarily unavailable",
            _ if de => return format!("Fehler {status}"),
            _ => return format!("Error {status}"),
        };
        text.to_owned()
    }

    /// "Too many attempts" with the wait from `Retry-After` (in minutes when it is long).
    pub fn login_throttled(self, retry_after: Option<u64>) -> String {
        let wait = retry_after.map(|s| match (self, s) {
            (Lang::De, 0..=119) => format!("{s} Sekunden"),
            (Lang::De, _) => format!("{} Minuten", s.div_ceil(60)),
            (Lang::En, 0..=119) => format!("{s} seconds"),
            (Lang::En, _) => format!("{} minutes", s.div_ceil(60)),
        });
        match (self, wait) {
            (Lang::De, Some(w)) => format!("Zu viele Fehlversuche. Bitte in {w} erneut versuchen."),
            (Lang::De, None) => "Zu viele Fehlversuche. Bitte später erneut versuchen.".to_owned(),
            (Lang::En, Some(w)) => format!("Too many failed attempts. Please try again in {w}."),
            (Lang::En, None) => "Too many failed attempts. Please try again later.".to_owned(),
        }
    }

    pub fn status_saved(self, version: i64) -> String {
        match self {
            Lang::De => format!("Gespeichert (Version {version})."),
            Lang::En => format!("Saved (version {version})."),
        }
    }

    /// "Version 3, saved on … by admin."
    pub fn last_saved(self, version: i64, when: &str, by: &str) -> String {
        match self {
            Lang::De => format!("Version {version}, gespeichert am {when} von {by}."),
            Lang::En => format!("Version {version}, saved on {when} by {by}."),
        }
    }

    /// A field's label for lists that are not next to the field (history, other errors).
    pub fn field_label(self, field: &str) -> String {
        use crate::form::fields;
        let t = self.texts();
        let label = match field {
            fields::HOST => t.host_label,
            fields::PORT => t.port_label,
            fields::ENCRYPTION => t.encryption_label,
            fields::SENDER_NAME => t.sender_name_label,
            fields::SENDER_ADDRESS => t.sender_address_label,
            fields::AUTH_ENABLED => t.auth_enabled_label,
            fields::AUTH_USERNAME => t.auth_username_label,
            fields::AUTH_PASSWORD => t.auth_password_label,
            fields::AUTH_METHOD => t.oauth.method_label,
            fields::OAUTH_PROVIDER => t.oauth.provider_label,
            fields::OAUTH_FLOW => t.oauth.flow_label,
            fields::OAUTH_TENANT => t.oauth.tenant_label,
            fields::OAUTH_CLIENT_ID => t.oauth.client_id_label,
            fields::OAUTH_CLIENT_SECRET => t.oauth.client_secret_label,
            fields::OAUTH_SERVICE_ACCOUNT_KEY => t.oauth.key_label,
            fields::OAUTH_TOKEN_URL => t.oauth.token_url_label,
            fields::OAUTH_AUTHORIZATION_URL => t.oauth.authorization_url_label,
            fields::OAUTH_SCOPE => t.oauth.scope_label,
            fields::OAUTH_CONNECTION => t.oauth.connection_title,
            fields::TLS_TRUSTED_CA_PEM => t.tls_ca_label,
            fields::TLS_ACCEPT_INVALID_CERTIFICATES => t.tls_accept_invalid_label,
            fields::FORCE_DEFAULT_SENDER => t.force_label,
            fields::REPLY_TO_INDIVIDUAL_SENDER => t.reply_to_label,
            fields::TIMEOUT_SECONDS => t.timeout_label,
            other => match fields::limit_index(other) {
                Some(i) => t.limits.labels[i],
                None => return self.fallback_label(other).unwrap_or_else(|| other.to_owned()),
            },
        };
        label.to_owned()
    }

    /// A date and time from the API (RFC 3339, UTC) in the browser's time zone.
    pub fn date_time(self, rfc3339: &str) -> String {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
        if date.get_time().is_nan() {
            return rfc3339.to_owned();
        }
        // The month as a word, so no reader takes 05/12 for May 12: "5 Dec 2026, 14:03:07",
        // "5. Dez. 2026, 14:03:07"; a 24-hour clock in both.
        let options = js_sys::Object::new();
        for (key, value) in [
            ("day", "numeric"),
            ("month", "short"),
            ("year", "numeric"),
            ("hour", "2-digit"),
            ("minute", "2-digit"),
            ("second", "2-digit"),
            ("hourCycle", "h23"),
        ] {
            let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
        }
        date.to_locale_string(self.locale(), &options).into()
    }

    /// A long text of the page (a help text, an introduction) as HTML: the element with
    /// `data-k="<key>"` in index.html's `<template id="prose-de|en">`. Empty when there is none.
    /// They are static HTML rather than texts in the wasm, whose size has a budget.
    pub fn prose(self, key: &str) -> String {
        self.prose_element(key).map(|e| e.inner_html()).unwrap_or_default()
    }

    /// The same as plain text (for a text shown as such, not as HTML).
    pub fn prose_text(self, key: &str) -> String {
        self.prose_element(key).and_then(|e| e.text_content()).unwrap_or_default()
    }

    /// Whether index.html has a text for `key`.
    pub fn has_prose(key: &str) -> bool {
        Lang::De.prose_element(key).is_some()
    }

    fn prose_element(self, key: &str) -> Option<web_sys::Element> {
        use wasm_bindgen::JsCast;
        let id = if self == Lang::De { "prose-de" } else { "prose-en" };
        let template = web_sys::window()?.document()?.get_element_by_id(id)?;
        let template: web_sys::HtmlTemplateElement = template.dyn_into().ok()?;
        template.content().query_selector(&["[data-k=\"", key, "\"]"].concat()).ok()?
    }

    /// The BCP 47 locale of dates and times.
    fn locale(self) -> &'static str {
        match self {
            Lang::De => "de-DE",
            Lang::En => "en-GB",
        }
    }

    pub fn time_of_day(self, epoch_ms: f64) -> String {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(epoch_ms));
        date.to_locale_time_string(self.locale()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts of `lang` in index.html's `<template id="prose-<lang>">`: (key, text).
    pub(crate) fn prose_of(lang: &str) -> Vec<(String, String)> {
        let html = include_str!("../static/index.html");
        let start = html.find(&format!("<template id=\"prose-{lang}\">")).expect("the template");
        let end = start + html[start..].find("</template>").expect("its end");
        html[start..end]
            .split("<p data-k=\"")
            .skip(1)
            .map(|p| {
                let (key, rest) = p.split_once("\">").expect("a key");
                (key.to_owned(), rest.split("</p>").next().unwrap_or("").to_owned())
            })
            .collect()
    }

    #[test]
    fn every_code_is_translated_in_both_languages() {
        let (de, en) = (prose_of("de"), prose_of("en"));
        let keys = |texts: &[(String, String)]| texts.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&de), keys(&en), "both languages have the same texts");
        let codes = [
            "required",
            "out_of_range",
            "not_a_number",
            "invalid_email",
            "invalid_host",
            "contains_line_break",
            "password_required_again",
            "requires_force_default_sender",
            "too_long",
            "invalid_pem",
            "secret_required_again",
            "invalid_tenant",
            "insecure_endpoint",
            "required-auth.password",
            "out_of_range-port",
            "out_of_range-timeout_seconds",
        ]
        .map(|c| format!("e-{c}"));
        let warnings =
            ["sender_differs_from_username", "insecure_encryption", "certificate_checks_disabled", "unusual_port"]
                .map(|c| format!("w-{c}"));
        for key in codes.iter().chain(&warnings) {
            let text = |texts: &[(String, String)]| texts.iter().find(|(k, _)| k == key).map(|(_, t)| t.clone());
            let (d, e) = (text(&de), text(&en));
            assert!(d.as_deref().is_some_and(|t| !t.is_empty()), "{key} in German");
            assert_ne!(d, e, "{key}");
        }
    }

    #[test]
    fn limits_have_their_bounds_and_labels() {
        let de = Lang::De.field_error("limits.concurrent_sessions", "out_of_range", Some("SERVER"));
        assert_eq!(de, "Bitte eine Zahl von 1 bis 100 eingeben oder leer lassen (kein Limit).");
        let en = Lang::En.field_error("limits.messages_per_day", "out_of_range", None);
        assert_eq!(en, "Please enter a number from 1 to 10000000, or leave empty (no limit).");
        assert_eq!(Lang::De.field_label("limits.recipients_per_day"), "Empfänger pro Tag");
        assert_eq!(Lang::De.limit_reason(postamt_wire::LimitReason::MessagesPerMinute), "„Nachrichten pro Minute“");
        assert_eq!(Lang::En.limit_reason(postamt_wire::LimitReason::ServerThrottled), "the server's throttling");
    }

    #[test]
    fn throttle_wait() {
        assert_eq!(Lang::De.login_throttled(Some(30)), "Zu viele Fehlversuche. Bitte in 30 Sekunden erneut versuchen.");
        assert_eq!(Lang::En.login_throttled(Some(898)), "Too many failed attempts. Please try again in 15 minutes.");
    }

    #[test]
    fn language_tags() {
        assert_eq!(Lang::parse("de-AT"), Some(Lang::De));
        assert_eq!(Lang::parse("en_US"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
