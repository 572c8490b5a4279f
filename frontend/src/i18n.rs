//! German (default) and English texts. The language is taken from the browser on the first
//! visit, can be switched in the header, and the choice is kept in localStorage.
//!
//! Field errors and warnings are translated by their stable `code`; unknown codes fall back to
//! the server's English message, so a newer server never shows an empty error.

use leptos::prelude::*;

mod error_log;
mod oauth;
mod test_mail;

pub use error_log::LogTexts;
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
    pub login_intro: &'static str,
    pub login_password: &'static str,
    pub login_submit: &'static str,
    pub login_busy: &'static str,
    pub login_empty: &'static str,
    pub login_wrong: &'static str,

    pub settings_title: &'static str,
    pub settings_intro: &'static str,
    pub settings_shared: &'static str,
    pub settings_source: &'static str,
    pub not_configured: &'static str,
    pub settings_loading: &'static str,
    pub settings_load_failed: &'static str,
    pub unsaved_changes: &'static str,

    pub section_connection: &'static str,
    pub host_label: &'static str,
    pub host_help: &'static str,
    pub encryption_label: &'static str,
    pub encryption_none: &'static str,
    pub encryption_starttls: &'static str,
    pub encryption_tls: &'static str,
    pub encryption_help: &'static str,
    pub port_label: &'static str,
    pub port_help: &'static str,
    pub timeout_label: &'static str,
    pub timeout_help: &'static str,

    pub section_sender: &'static str,
    pub sender_name_label: &'static str,
    pub sender_name_help: &'static str,
    pub sender_address_label: &'static str,
    pub sender_address_help: &'static str,

    pub section_auth: &'static str,
    pub auth_enabled_label: &'static str,
    pub auth_enabled_help: &'static str,
    pub auth_username_label: &'static str,
    pub auth_username_help: &'static str,
    pub auth_password_label: &'static str,
    pub password_stored_placeholder: &'static str,
    pub password_help_stored: &'static str,
    pub password_help_new: &'static str,

    pub section_tls: &'static str,
    pub tls_ca_label: &'static str,
    pub tls_ca_help: &'static str,
    pub tls_accept_invalid_label: &'static str,
    pub tls_accept_invalid_help: &'static str,
    pub tls_accept_invalid_warning: &'static str,

    pub section_more: &'static str,
    pub force_label: &'static str,
    pub force_help: &'static str,
    pub reply_to_label: &'static str,
    pub reply_to_help: &'static str,

    pub save: &'static str,
    pub saving: &'static str,
    pub discard: &'static str,
    pub status_discarded: &'static str,
    pub status_fix_fields: &'static str,
    pub status_server_rejected: &'static str,
    pub status_conflict: &'static str,
    pub reload: &'static str,
    pub status_reloaded: &'static str,
    pub status_network: &'static str,
    pub warning_prefix: &'static str,

    pub remove: &'static str,
    pub remove_question: &'static str,
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
    login_intro: "Melden Sie sich mit dem Administrator-Passwort von Postamt an.",
    login_password: "Passwort",
    login_submit: "Anmelden",
    login_busy: "Anmelden …",
    login_empty: "Bitte geben Sie das Passwort ein.",
    login_wrong: "Das Passwort ist falsch.",

    settings_title: "Konfiguration E-Mail-Versand",
    settings_intro: "Mit diesen Einstellungen versenden alle Funktionen der Anwendung ihre E-Mails, \
        z. B. Rechnungen, Kalendereinladungen und Einmalpasswörter.",
    settings_shared: "Wichtig: Das sind keine persönlichen Einstellungen – alle Benutzer teilen sie sich. \
        Verlangt der Mail-Server eine Anmeldung, richten Sie dafür ein eigenes Mail-Konto ein.",
    settings_source: "Die folgenden Angaben erhalten Sie von Ihrem Mailprovider bzw. IT-Ansprechpartner.",
    not_configured: "Der E-Mail-Versand ist noch nicht eingerichtet. Die Felder enthalten übliche Vorgaben.",
    settings_loading: "Einstellungen werden geladen …",
    settings_load_failed: "Die Einstellungen konnten nicht geladen werden.",
    unsaved_changes: "Ungespeicherte Änderungen",

    section_connection: "Server",
    host_label: "SMTP-Server",
    host_help: "Name oder IP-Adresse des Servers, ohne „smtp://“ und ohne Port, z. B. smtp.example.org.",
    encryption_label: "Verschlüsselung",
    encryption_none: "Keine",
    encryption_starttls: "STARTTLS",
    encryption_tls: "TLS",
    encryption_help: "STARTTLS (meist Port 587) oder TLS von Beginn an (meist Port 465). \
        „Keine“ nur in vertrauenswürdigen Netzen.",
    port_label: "Port",
    port_help: "Üblich: 587 mit STARTTLS, 465 mit TLS, 25 ohne Verschlüsselung.",
    timeout_label: "Timeout (Sekunden)",
    timeout_help: "Höchstdauer für einen gesamten Versand, 1 bis 120 Sekunden.",

    section_sender: "Absender",
    sender_name_label: "Name des Standardabsenders",
    sender_name_help: "Kann frei gewählt werden.",
    sender_address_label: "E-Mail-Adresse des Standardabsenders",
    sender_address_help: "Bei einem Mail-Server mit Authentifizierung auf jeden Fall die E-Mail-Adresse \
        des verwendeten Kontos.",

    section_auth: "Authentifizierung",
    auth_enabled_label: "Server erfordert Authentifizierung",
    auth_enabled_help: "Aktivieren, wenn sich die Anwendung beim Mail-Server anmelden muss.",
    auth_username_label: "Benutzername",
    auth_username_help: "Üblicherweise die E-Mail-Adresse des Standardabsenders.",
    auth_password_label: "Passwort",
    password_stored_placeholder: "gespeichert",
    password_help_stored: "Ein Passwort ist gespeichert und wird nie angezeigt. Leer lassen, um es zu behalten. \
        Nach einer Änderung von Server, Port, Verschlüsselung oder Benutzername muss es neu eingegeben werden.",
    password_help_new: "Wird verschlüsselt gespeichert und danach nie mehr angezeigt.",

    section_tls: "TLS-Zertifikate",
    tls_ca_label: "Vertrauenswürdige Zertifizierungsstelle (PEM)",
    tls_ca_help: "Nur nötig, wenn das Server-Zertifikat von einer eigenen (privaten) Zertifizierungsstelle \
        stammt: deren Zertifikat im PEM-Format einfügen. Es gilt zusätzlich zu den Zertifikaten des Systems.",
    tls_accept_invalid_label: "Ungültige Zertifikate akzeptieren",
    tls_accept_invalid_help: "Nur als letzter Ausweg, etwa bei einem abgelaufenen Zertifikat im eigenen Netz.",
    tls_accept_invalid_warning: "Das Zertifikat des Servers wird nicht geprüft. Ein Angreifer könnte sich als \
        Mail-Server ausgeben und Passwort und E-Mails mitlesen. Tragen Sie besser oben die Zertifizierungsstelle ein.",

    section_more: "Weitere Einstellungen zum Absender",
    force_label: "Standardabsender erzwingen",
    force_help: "E-Mails werden immer mit Name und Adresse des Standardabsenders versendet. Empfohlen, da die \
        meisten Anbieter den Versand mit Adressen verbieten, die vom Benutzerkonto abweichen.",
    reply_to_label: "Reply-To Header für individuelle Absender",
    reply_to_help: "Versendet wird weiterhin über den Standardabsender, die Adresse des Benutzers wird aber als \
        Reply-To mitgesendet. Antworten gehen so z. B. bei einer Rechnung direkt an den Benutzer, der sie \
        verschickt hat. Nur zusammen mit „Standardabsender erzwingen“ möglich.",

    save: "Speichern",
    saving: "Speichern …",
    discard: "Änderungen verwerfen",
    status_discarded: "Änderungen verworfen.",
    status_fix_fields: "Bitte korrigieren Sie die markierten Felder.",
    status_server_rejected: "Nicht gespeichert: Der Server hat Eingaben abgelehnt. Bitte die markierten Felder prüfen.",
    status_conflict: "Die Einstellungen wurden inzwischen von jemand anderem geändert. Ihre Änderungen wurden \
        nicht gespeichert, damit nichts überschrieben wird. Laden Sie den aktuellen Stand und tragen Sie Ihre \
        Änderungen danach erneut ein.",
    reload: "Aktuellen Stand laden",
    status_reloaded: "Aktueller Stand geladen.",
    status_network: "Keine Verbindung zum Server. Ihre Eingaben sind noch da – bitte erneut versuchen.",
    warning_prefix: "Hinweis:",

    remove: "Einstellungen entfernen",
    remove_question: "Wirklich entfernen? Bis neue Einstellungen gespeichert sind, versendet die Anwendung \
        keine E-Mails.",
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
    login_intro: "Sign in with Postamt's administrator password.",
    login_password: "Password",
    login_submit: "Sign in",
    login_busy: "Signing in …",
    login_empty: "Please enter the password.",
    login_wrong: "The password is incorrect.",

    settings_title: "Outgoing mail configuration",
    settings_intro: "Every part of the application sends its e-mail with these settings, \
        e.g. invoices, calendar invitations and one-time passwords.",
    settings_shared: "Important: these are not personal settings – all users share them. If the mail server \
        requires authentication, set up a dedicated mail account for it.",
    settings_source: "Your mail provider or IT contact can tell you the following details.",
    not_configured: "Outgoing mail is not configured yet. The fields hold common defaults.",
    settings_loading: "Loading settings …",
    settings_load_failed: "The settings could not be loaded.",
    unsaved_changes: "Unsaved changes",

    section_connection: "Server",
    host_label: "SMTP server",
    host_help: "Name or IP address of the server, without \"smtp://\" and without port, e.g. smtp.example.org.",
    encryption_label: "Encryption",
    encryption_none: "None",
    encryption_starttls: "STARTTLS",
    encryption_tls: "TLS",
    encryption_help: "STARTTLS (usually port 587) or TLS from the start (usually port 465). \
        \"None\" only on trusted networks.",
    port_label: "Port",
    port_help: "Usually 587 with STARTTLS, 465 with TLS, 25 without encryption.",
    timeout_label: "Timeout (seconds)",
    timeout_help: "Longest time for sending one message, 1 to 120 seconds.",

    section_sender: "Sender",
    sender_name_label: "Default sender name",
    sender_name_help: "Can be chosen freely.",
    sender_address_label: "Default sender e-mail address",
    sender_address_help: "With a mail server that requires authentication, always use the address of the \
        account in use.",

    section_auth: "Authentication",
    auth_enabled_label: "Server requires authentication",
    auth_enabled_help: "Turn on when the application must sign in to the mail server.",
    auth_username_label: "Username",
    auth_username_help: "Usually the default sender's e-mail address.",
    auth_password_label: "Password",
    password_stored_placeholder: "stored",
    password_help_stored: "A password is stored and is never shown. Leave empty to keep it. After changing \
        server, port, encryption or username it must be entered again.",
    password_help_new: "Stored encrypted and never shown again.",

    section_tls: "TLS certificates",
    tls_ca_label: "Trusted certificate authority (PEM)",
    tls_ca_help: "Only needed when the server's certificate comes from your own (private) certificate \
        authority: paste its certificate in PEM format. It is trusted in addition to the system's certificates.",
    tls_accept_invalid_label: "Accept invalid certificates",
    tls_accept_invalid_help: "Only as a last resort, e.g. for an expired certificate on your own network.",
    tls_accept_invalid_warning: "The server's certificate is not checked. An attacker could pose as the mail \
        server and read the password and the e-mails. Prefer entering the certificate authority above.",

    section_more: "More sender settings",
    force_label: "Always use the default sender",
    force_help: "E-mails are always sent with the default sender's name and address. Recommended, since most \
        providers refuse to send from addresses other than the account's own.",
    reply_to_label: "Reply-To header for individual senders",
    reply_to_help: "Mail is still sent from the default sender, but the user's own address goes into Reply-To, \
        so replies, e.g. to an invoice, reach the user who sent it. Only together with \"Always use the default \
        sender\".",

    save: "Save",
    saving: "Saving …",
    discard: "Discard changes",
    status_discarded: "Changes discarded.",
    status_fix_fields: "Please correct the marked fields.",
    status_server_rejected: "Not saved: the server rejected some values. Please check the marked fields.",
    status_conflict: "Someone else changed the settings in the meantime. Your changes were not saved, so that \
        nothing is overwritten. Load the current settings, then enter your changes again.",
    reload: "Load current settings",
    status_reloaded: "Current settings loaded.",
    status_network: "No connection to the server. Your input is still here – please try again.",
    warning_prefix: "Note:",

    remove: "Remove settings",
    remove_question: "Really remove them? Until new settings are saved, the application sends no e-mail.",
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
};

impl Lang {
    /// A field error, translated by code; `message` is the server's English text (if any).
    pub fn field_error(self, field: &str, code: &str, message: Option<&str>) -> String {
        use crate::form::fields;
        let de = self == Lang::De;
        let text = match code {
            "required" => match field {
                fields::AUTH_PASSWORD if de => "Bitte das Passwort eingeben.",
                fields::AUTH_PASSWORD => "Please enter the password.",
                _ if de => "Pflichtfeld: bitte ausfüllen.",
                _ => "Required: please fill in.",
            },
            "out_of_range" => match field {
                fields::PORT if de => "Bitte eine Zahl von 1 bis 65535 eingeben.",
                fields::PORT => "Please enter a number from 1 to 65535.",
                fields::TIMEOUT_SECONDS if de => "Bitte eine Zahl von 1 bis 120 eingeben.",
                fields::TIMEOUT_SECONDS => "Please enter a number from 1 to 120.",
                _ if de => "Wert außerhalb des erlaubten Bereichs.",
                _ => "Value out of range.",
            },
            "not_a_number" if de => "Bitte eine ganze Zahl eingeben.",
            "not_a_number" => "Please enter a whole number.",
            "invalid_email" if de => "Keine gültige E-Mail-Adresse (Beispiel: name@example.org).",
            "invalid_email" => "Not a valid e-mail address (example: name@example.org).",
            "invalid_host" if de => {
                "Kein gültiger Servername und keine IP-Adresse. Bitte ohne „smtp://“, Leerzeichen und Port angeben."
            }
            "invalid_host" => {
                "Not a valid server name or IP address. Please enter it without \"smtp://\", spaces or port."
            }
            "contains_line_break" if de => "Darf keinen Zeilenumbruch enthalten.",
            "contains_line_break" => "Must not contain a line break.",
            "password_required_again" if de => {
                "Server, Port, Verschlüsselung oder Benutzername wurden geändert: Bitte das Passwort erneut eingeben."
            }
            "password_required_again" => {
                "Server, port, encryption or username changed: please enter the password again."
            }
            "requires_force_default_sender" if de => "Nur zusammen mit „Standardabsender erzwingen“ möglich.",
            "requires_force_default_sender" => "Only together with \"Always use the default sender\".",
            "too_long" if de => "Zu lang.",
            "too_long" => "Too long.",
            "invalid_pem" if de => {
                "Kein gültiges Zertifikat im PEM-Format (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)."
            }
            "invalid_pem" => {
                "Not a valid certificate in PEM format (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)."
            }
            "secret_required_again" if de => {
                "Server, Postfach, Anbieter, Verfahren oder App wurden geändert: Bitte erneut eingeben."
            }
            "secret_required_again" => "Server, mailbox, provider, flow or app changed: please enter it again.",
            "invalid_tenant" if de => "Bitte die Tenant-ID oder eine Domäne wie contoso.onmicrosoft.com angeben.",
            "invalid_tenant" => "Please enter the tenant ID or a domain such as contoso.onmicrosoft.com.",
            "insecure_endpoint" if de => "Bitte eine https-Adresse angeben (http nur für localhost).",
            "insecure_endpoint" => "Please enter an https address (http only for localhost).",
            "unknown_field" if de => "Unbekanntes Feld.",
            "unknown_field" => "Unknown field.",
            _ => {
                return match message {
                    Some(m) if !m.is_empty() => m.to_owned(),
                    _ if de => "Ungültiger Wert.".to_owned(),
                    _ => "Invalid value.".to_owned(),
                }
            }
        };
        text.to_owned()
    }

    /// A settings warning, translated by code.
    pub fn warning(self, code: &str, message: &str) -> String {
        let de = self == Lang::De;
        let text = match code {
            "sender_differs_from_username" if de => {
                "Die Absenderadresse weicht vom Benutzernamen ab. Die meisten Anbieter lehnen E-Mails mit einer \
                 fremden Absenderadresse ab."
            }
            "sender_differs_from_username" => {
                "The sender address differs from the username. Most providers refuse mail from an address that \
                 is not the account's own."
            }
            "insecure_encryption" if de => {
                "Ohne Verschlüsselung gehen Passwort und E-Mails im Klartext über das Netz."
            }
            "insecure_encryption" => "Without encryption, the password and the e-mails cross the network in clear text.",
            "certificate_checks_disabled" if de => {
                "Die Zertifikatsprüfung ist abgeschaltet: Die Verbindung ist nicht vor Angreifern geschützt."
            }
            "certificate_checks_disabled" => "Certificate checks are off: the connection is not protected against attackers.",
            "unusual_port" if de => {
                "Ungewöhnlicher Port für diese Verschlüsselung (üblich: 25 oder 587 ohne TLS von Beginn an, 465 mit TLS)."
            }
            "unusual_port" => "Unusual port for this encryption (usual: 25 or 587 without TLS from the start, 465 with TLS).",
            _ => return message.to_owned(),
        };
        text.to_owned()
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
            other => return other.to_owned(),
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

    #[test]
    fn every_code_is_translated_in_both_languages() {
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
        ];
        for code in codes {
            let de = Lang::De.field_error("host", code, Some("SERVER"));
            let en = Lang::En.field_error("host", code, Some("SERVER"));
            assert_ne!(de, "SERVER", "{code}");
            assert_ne!(en, "SERVER", "{code}");
            assert_ne!(de, en, "{code}");
        }
        assert_eq!(Lang::De.field_error("x", "brand_new", Some("from server")), "from server");
        for code in
            ["sender_differs_from_username", "insecure_encryption", "certificate_checks_disabled", "unusual_port"]
        {
            assert_ne!(Lang::De.warning(code, "SERVER"), "SERVER");
            assert_ne!(Lang::En.warning(code, "SERVER"), "SERVER");
        }
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
