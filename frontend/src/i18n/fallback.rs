//! Texts of the fallback server ("Ersatzserver"): its section, the test panel's choice of
//! connection, and its fields' names in lists (errors not beside a field, the history).
//! Inputs it shares with the primary connection use the primary's labels and error texts;
//! its long texts are in index.html (`fallback-*`, `fallback_envelope_sender`, `e-same_as_primary`).

use super::Lang;
use crate::form::fallback::fields;

#[cfg_attr(not(feature = "fallback"), allow(dead_code))]
pub struct FallbackTexts {
    pub title: &'static str,
    #[cfg(feature = "fallback")]
    pub enabled_label: &'static str,
    pub envelope_label: &'static str,
    #[cfg(feature = "fallback")]
    pub test_connection: &'static str,
    #[cfg(feature = "fallback")]
    pub test_primary: &'static str,
    #[cfg(feature = "fallback")]
    pub test_fallback: &'static str,
}

pub static DE: FallbackTexts = FallbackTexts {
    title: "Ersatzserver",
    #[cfg(feature = "fallback")]
    enabled_label: "Ersatzserver verwenden",
    envelope_label: "Absender im Umschlag (MAIL FROM)",
    #[cfg(feature = "fallback")]
    test_connection: "Server",
    #[cfg(feature = "fallback")]
    test_primary: "Primärserver",
    #[cfg(feature = "fallback")]
    test_fallback: "Ersatzserver",
};

pub static EN: FallbackTexts = FallbackTexts {
    title: "Fallback server",
    #[cfg(feature = "fallback")]
    enabled_label: "Use a fallback server",
    envelope_label: "Envelope sender (MAIL FROM)",
    #[cfg(feature = "fallback")]
    test_connection: "Server",
    #[cfg(feature = "fallback")]
    test_primary: "Primary server",
    #[cfg(feature = "fallback")]
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
}
