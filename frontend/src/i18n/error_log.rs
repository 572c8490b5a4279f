//! Texts of the "Fehlerprotokoll / Error log" tab and the mail-log download.

use postamt_wire::MessageStatus;

use super::Lang;

/// Fixed texts of the error log tab.
pub struct LogTexts {
    pub title: &'static str,
    pub loading: &'static str,
    pub failed: &'static str,
    pub empty: &'static str,
    pub refresh: &'static str,
    pub groups_title: &'static str,
    pub list_title: &'static str,
    pub first_seen: &'static str,
    pub last_seen: &'static str,
    pub recipients: &'static str,
    pub stage: &'static str,
    pub smtp_reply: &'static str,
    pub hint: &'static str,
    pub field: &'static str,
    pub server: &'static str,
    pub no_class: &'static str,

    pub export_title: &'static str,
    pub export_format: &'static str,
    pub export_csv: &'static str,
    pub export_ndjson: &'static str,
    pub export_from: &'static str,
    pub export_to: &'static str,
    pub export_download: &'static str,
    pub export_range_invalid: &'static str,
}

pub static DE: LogTexts = LogTexts {
    title: "Fehlerprotokoll",
    loading: "Fehler werden geladen …",
    failed: "Das Fehlerprotokoll konnte nicht geladen werden.",
    empty: "Keine Fehler in den letzten 24 Stunden.",
    refresh: "Jetzt aktualisieren",
    groups_title: "Nach Fehlerart",
    list_title: "Einzelne Fehler, neueste zuerst",
    first_seen: "zuerst",
    last_seen: "zuletzt",
    recipients: "Empfänger",
    stage: "Schritt",
    smtp_reply: "Antwort des Servers",
    hint: "Was zu tun ist",
    field: "Betroffene Einstellung",
    server: "Server",
    no_class: "Unbekannter Fehler",

    export_title: "Mail-Log herunterladen",
    export_format: "Format",
    export_csv: "CSV (für Tabellenkalkulationen)",
    export_ndjson: "NDJSON (ein JSON-Objekt pro Zeile)",
    export_from: "Von",
    export_to: "Bis einschließlich",
    export_download: "Mail-Log herunterladen",
    export_range_invalid: "„Von“ liegt nach „Bis“. Bitte den Zeitraum korrigieren.",
};

pub static EN: LogTexts = LogTexts {
    title: "Error log",
    loading: "Loading errors …",
    failed: "The error log could not be loaded.",
    empty: "No errors in the last 24 hours.",
    refresh: "Refresh now",
    groups_title: "By kind of error",
    list_title: "Single errors, newest first",
    first_seen: "first",
    last_seen: "last",
    recipients: "Recipients",
    stage: "Step",
    smtp_reply: "Server reply",
    hint: "What to do",
    field: "Setting concerned",
    server: "Server",
    no_class: "Unknown error",

    export_title: "Download mail log",
    export_format: "Format",
    export_csv: "CSV (for spreadsheets)",
    export_ndjson: "NDJSON (one JSON object per line)",
    export_from: "From",
    export_to: "To (inclusive)",
    export_download: "Download mail log",
    export_range_invalid: "\"From\" is after \"To\". Please correct the date range.",
};

impl Lang {
    /// The sending module of a log entry; unknown ones as they are.
    pub fn category(self, category: &str) -> String {
        let de = self == Lang::De;
        let text = match category {
            "test" if de => "Testmail",
            "test" => "Test mail",
            "finance" if de => "Finanzen",
            "finance" => "Finance",
            "calendar" if de => "Kalender",
            "calendar" => "Calendar",
            "otp" if de => "Einmalpasswort",
            "otp" => "One-time password",
            other => return other.to_owned(),
        };
        text.to_owned()
    }

    pub fn message_status(self, status: MessageStatus) -> &'static str {
        let de = self == Lang::De;
        match status {
            MessageStatus::Queued if de => "wartet",
            MessageStatus::Queued => "queued",
            MessageStatus::Sending if de => "wird gesendet",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent if de => "gesendet",
            MessageStatus::Sent => "sent",
            MessageStatus::Retrying if de => "wird erneut versucht",
            MessageStatus::Retrying => "will be retried",
            MessageStatus::Failed if de => "fehlgeschlagen",
            MessageStatus::Failed => "failed",
        }
    }

    /// "3 Fehler" / "1 error".
    pub fn error_count(self, n: u64) -> String {
        match (self, n) {
            (Lang::De, _) => format!("{n} Fehler"),
            (Lang::En, 1) => "1 error".to_owned(),
            (Lang::En, _) => format!("{n} errors"),
        }
    }

    /// Above the list when it shows only the newest of more failures.
    pub fn errors_shown(self, shown: usize, total: u64) -> String {
        match self {
            Lang::De => format!(
                "Es werden die neuesten {shown} von {total} Fehlern gezeigt. Alle enthält das Mail-Log zum Herunterladen."
            ),
            Lang::En => {
                format!("Showing the newest {shown} of {total} errors. The downloadable mail log holds all of them.")
            }
        }
    }

    /// "Stand: 11:32:05" / "Updated 11:32:05".
    pub fn updated_at(self, time: &str) -> String {
        match self {
            Lang::De => format!("Stand: {time}"),
            Lang::En => format!("Updated {time}"),
        }
    }

    /// "Versuch 2" / "attempt 2".
    pub fn attempt(self, n: u32) -> String {
        match self {
            Lang::De => format!("Versuch {n}"),
            Lang::En => format!("attempt {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_categories() {
        assert_eq!(Lang::En.error_count(1), "1 error");
        assert_eq!(Lang::En.error_count(2), "2 errors");
        assert_eq!(Lang::De.error_count(1), "1 Fehler");
        assert_eq!(Lang::De.category("finance"), "Finanzen");
        assert_eq!(Lang::En.category("newsletter"), "newsletter");
    }
}
