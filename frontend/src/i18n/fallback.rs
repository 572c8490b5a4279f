//! Texts of the fallback server ("Ersatzserver"): its section, the test panel's choice of
//! connection, and its fields' names in lists (errors not beside a field, the history).
//! Inputs it shares with the primary connection use the primary's labels and error texts.

use super::Lang;
use crate::form::fallback::fields;

pub struct FallbackTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub enabled_label: &'static str,
    pub oauth_kept: &'static str,
    pub envelope_label: &'static str,
    pub envelope_help: &'static str,
    pub test_connection: &'static str,
    pub test_primary: &'static str,
    pub test_fallback: &'static str,
}

pub static DE: FallbackTexts = FallbackTexts {
    title: "Ersatzserver",
    intro: "Ein zweiter SMTP-Server für die Zeit, in der der Server oben ausfällt (nicht erreichbar, \
        Anmeldung abgelehnt, Drosselung, Tageskontingent). Antwortet der Server oben wieder, wird wieder \
        über ihn gesendet.",
    enabled_label: "Ersatzserver verwenden",
    oauth_kept: "Meldet sich mit OAuth 2.0 an, wie über die API eingerichtet; das bleibt beim Speichern so.",
    envelope_label: "Absender im Umschlag (MAIL FROM)",
    envelope_help: "Nur nötig, wenn der Ersatzserver nur eigene Absender annimmt. Leer: die Adresse des \
        Standardabsenders. Der sichtbare Absender (From) bleibt, wie oben eingestellt.",
    test_connection: "Server",
    test_primary: "Primärserver",
    test_fallback: "Ersatzserver",
};

pub static EN: FallbackTexts = FallbackTexts {
    title: "Fallback server",
    intro: "A second SMTP server for when the server above fails (unreachable, sign-in refused, \
        throttling, daily quota). Once the server above answers again, mail goes through it again.",
    enabled_label: "Use a fallback server",
    oauth_kept: "Signs in with OAuth 2.0 as set up over the API; saving keeps it.",
    envelope_label: "Envelope sender (MAIL FROM)",
    envelope_help: "Only needed when the fallback server accepts its own senders only. Empty: the default \
        sender's address. The visible sender (From) stays as set above.",
    test_connection: "Server",
    test_primary: "Primary server",
    test_fallback: "Fallback server",
};

impl Lang {
    /// The label of a fallback field in lists: "Ersatzserver: Port".
    pub(super) fn fallback_label(self, field: &str) -> Option<String> {
        let t = self.texts();
        let label = match fields::primary_of(field) {
            Some(primary) => self.field_label(primary),
            None if field == fields::ENVELOPE_SENDER => t.fallback.envelope_label.to_owned(),
            None if field == fields::ENABLED => return Some(t.fallback.title.to_owned()),
            None => return None,
        };
        Some(format!("{}: {label}", t.fallback.title))
    }

    /// Error texts of the fallback's own codes.
    pub(super) fn fallback_error(self, code: &str) -> Option<&'static str> {
        Some(match (code, self) {
            ("same_as_primary", Lang::De) => {
                "Das ist der Server oben (gleicher Name und Port). Der Ersatzserver muss ein anderer sein."
            }
            ("same_as_primary", Lang::En) => {
                "That is the server above (same name and port): the fallback must be another one."
            }
            _ => return None,
        })
    }
}
