//! Texts of the test panel and the sender preview, and the names of the test's stages and
//! failure classes. The hints themselves come from the server in both languages.

use postamt_wire::{FailureClass, StageName, StageStatus};

use super::Lang;

/// Fixed texts of the test panel and the sender preview.
pub struct TestTexts {
    pub title: &'static str,
    pub recipient_label: &'static str,
    pub recipient_help: &'static str,
    pub mode_label: &'static str,
    pub mode_send: &'static str,
    pub mode_probe: &'static str,
    pub acting_legend: &'static str,
    pub acting_name_label: &'static str,
    pub acting_address_label: &'static str,
    pub acting_address_missing: &'static str,
    pub run_send: &'static str,
    pub run_probe: &'static str,
    pub cancel: &'static str,
    pub cancelled: &'static str,
    pub fix_fields: &'static str,
    pub server_rejected: &'static str,
    pub check_mailbox: &'static str,
    pub go_to_field: &'static str,
    pub technical_cause: &'static str,
    pub stages_title: &'static str,
    pub total: &'static str,
    pub server: &'static str,
    pub message_id: &'static str,
    pub transcript_title: &'static str,
    pub transcript_legend: &'static str,
    pub transcript_empty: &'static str,
    pub tls_title: &'static str,
    pub tls_verified: &'static str,
    pub tls_not_verified: &'static str,
    pub tls_protocol: &'static str,
    pub tls_cipher: &'static str,
    pub tls_subject: &'static str,
    pub tls_issuer: &'static str,
    pub tls_sans: &'static str,
    pub tls_not_before: &'static str,
    pub tls_not_after: &'static str,
    pub tls_fingerprint: &'static str,
    pub tls_chain: &'static str,
    pub tls_verification: &'static str,
    pub unknown: &'static str,

    pub preview_title: &'static str,
    pub preview_from: &'static str,
    pub preview_reply_to: &'static str,
    pub preview_envelope: &'static str,
    pub preview_none: &'static str,
}

pub static DE: TestTexts = TestTexts {
    title: "Testmail senden",
    recipient_label: "Empfänger",
    recipient_help: "Vorbelegt mit der Adresse des Standardabsenders.",
    mode_label: "Art des Tests",
    mode_send: "Testmail senden",
    mode_probe: "Nur prüfen (nichts wird zugestellt)",
    acting_legend: "Im Namen eines Benutzers (optional)",
    acting_name_label: "Name",
    acting_address_label: "E-Mail-Adresse",
    acting_address_missing: "Bitte auch die E-Mail-Adresse des Benutzers angeben.",
    run_send: "Testmail senden",
    run_probe: "Verbindung prüfen",
    cancel: "Abbrechen",
    cancelled: "Test abgebrochen. Eine bereits übergebene Testmail kann trotzdem noch ankommen.",
    fix_fields: "Test nicht gestartet: Bitte zuerst die markierten Felder korrigieren.",
    server_rejected: "Test nicht gestartet: Der Server hat Eingaben abgelehnt. Bitte die markierten Felder prüfen.",
    check_mailbox: "Bitte prüfen Sie das Postfach des Empfängers, auch den Spam-Ordner.",
    go_to_field: "Zum Feld",
    technical_cause: "Technische Ursache",
    stages_title: "Ablauf",
    total: "Dauer insgesamt",
    server: "Server",
    message_id: "Message-ID",
    transcript_title: "SMTP-Protokoll (Passwörter maskiert)",
    transcript_legend: "C: von Postamt gesendet · S: Antwort des Servers · *: Hinweis von Postamt · \
        Zeit seit Beginn des Tests",
    transcript_empty: "Es wurde nichts mit dem Server ausgetauscht.",
    tls_title: "Zertifikat des Servers",
    tls_verified: "geprüft und vertrauenswürdig",
    tls_not_verified: "nicht vertrauenswürdig",
    tls_protocol: "Protokoll",
    tls_cipher: "Verschlüsselungsverfahren",
    tls_subject: "Inhaber",
    tls_issuer: "Aussteller",
    tls_sans: "Servernamen (SAN)",
    tls_not_before: "Gültig ab",
    tls_not_after: "Gültig bis",
    tls_fingerprint: "SHA-256-Fingerabdruck",
    tls_chain: "Zertifikate in der Kette",
    tls_verification: "Prüfung",
    unknown: "unbekannt",

    preview_title: "Vorschau",
    preview_from: "Absender (From)",
    preview_reply_to: "Antwortadresse (Reply-To)",
    preview_envelope: "Umschlag-Absender (MAIL FROM)",
    preview_none: "(keine)",
};

pub static EN: TestTexts = TestTexts {
    title: "Send test mail",
    recipient_label: "Recipient",
    recipient_help: "Prefilled with the default sender's address.",
    mode_label: "Kind of test",
    mode_send: "Send a test mail",
    mode_probe: "Check only (nothing is delivered)",
    acting_legend: "On behalf of a user (optional)",
    acting_name_label: "Name",
    acting_address_label: "E-mail address",
    acting_address_missing: "Please also enter the user's e-mail address.",
    run_send: "Send test mail",
    run_probe: "Check connection",
    cancel: "Cancel",
    cancelled: "Test cancelled. A test mail that was already handed over may still arrive.",
    fix_fields: "Test not started: please correct the marked fields first.",
    server_rejected: "Test not started: the server rejected some values. Please check the marked fields.",
    check_mailbox: "Please check the recipient's mailbox, including the spam folder.",
    go_to_field: "Go to field",
    technical_cause: "Technical cause",
    stages_title: "Steps",
    total: "Total time",
    server: "Server",
    message_id: "Message-ID",
    transcript_title: "SMTP transcript (passwords masked)",
    transcript_legend: "C: sent by Postamt · S: the server's reply · *: note from Postamt · time since the \
        test started",
    transcript_empty: "Nothing was exchanged with the server.",
    tls_title: "Server certificate",
    tls_verified: "verified and trusted",
    tls_not_verified: "not trusted",
    tls_protocol: "Protocol",
    tls_cipher: "Cipher suite",
    tls_subject: "Subject",
    tls_issuer: "Issuer",
    tls_sans: "Server names (SAN)",
    tls_not_before: "Valid from",
    tls_not_after: "Valid until",
    tls_fingerprint: "SHA-256 fingerprint",
    tls_chain: "Certificates in the chain",
    tls_verification: "Verification",
    unknown: "unknown",

    preview_title: "Preview",
    preview_from: "Sender (From)",
    preview_reply_to: "Reply address (Reply-To)",
    preview_envelope: "Envelope sender (MAIL FROM)",
    preview_none: "(none)",
};

impl Lang {
    /// A stage of the SMTP exchange by name.
    pub fn stage_name(self, stage: StageName) -> &'static str {
        let de = self == Lang::De;
        match stage {
            StageName::Token if de => "Zugriffstoken (OAuth 2.0)",
            StageName::Token => "Access token (OAuth 2.0)",
            StageName::Resolve if de => "Servername auflösen (DNS)",
            StageName::Resolve => "Resolve server name (DNS)",
            StageName::Connect if de => "Verbindung aufbauen",
            StageName::Connect => "Connect",
            StageName::Tls if de => "Verschlüsselung (TLS)",
            StageName::Tls => "Encryption (TLS)",
            StageName::Greeting if de => "Begrüßung des Servers",
            StageName::Greeting => "Server greeting",
            StageName::Ehlo if de => "Anmeldung beim Server (EHLO)",
            StageName::Ehlo => "Introduction (EHLO)",
            StageName::Auth if de => "Authentifizierung",
            StageName::Auth => "Authentication",
            StageName::MailFrom if de => "Absender (MAIL FROM)",
            StageName::MailFrom => "Sender (MAIL FROM)",
            StageName::RcptTo if de => "Empfänger (RCPT TO)",
            StageName::RcptTo => "Recipient (RCPT TO)",
            StageName::Data if de => "Nachricht (DATA)",
            StageName::Data => "Message (DATA)",
        }
    }

    pub fn stage_status(self, status: StageStatus) -> &'static str {
        let de = self == Lang::De;
        match status {
            StageStatus::Ok => "OK",
            StageStatus::Failed if de => "fehlgeschlagen",
            StageStatus::Failed => "failed",
            StageStatus::Skipped if de => "übersprungen",
            StageStatus::Skipped => "skipped",
        }
    }

    /// A failure class as a short title.
    /// A failure class's name (index.html's `c-<class>` texts, see [`Lang::prose`]).
    pub fn failure_class(self, class: FailureClass) -> String {
        self.prose_text(&["c-", class.as_str()].concat())
    }

    /// The label of a settings field or a test request field, where it is not beside the field.
    pub fn fault_field_label(self, field: &str) -> String {
        let t = self.texts().test;
        match field {
            "recipient" => t.recipient_label.to_owned(),
            "acting_user.name" => format!("{} ({})", t.acting_name_label, t.acting_legend),
            "acting_user.address" => format!("{} ({})", t.acting_address_label, t.acting_legend),
            other => self.field_label(other),
        }
    }

    /// Points from the result to the hint beside the field at fault.
    pub fn hint_at_field(self, label: &str) -> String {
        match self {
            Lang::De => format!("Was zu ändern ist, steht beim Feld „{label}“."),
            Lang::En => format!("What to change is shown at the field \"{label}\"."),
        }
    }

    /// The server's hint in this language.
    pub fn pick<'a>(self, de: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::De => de,
            Lang::En => en,
        }
    }

    /// "Test läuft … 3 s (höchstens 21 s)".
    pub fn test_running(self, elapsed_s: u64, max_s: u64) -> String {
        match self {
            Lang::De => format!("Test läuft … {elapsed_s} s (höchstens {max_s} s)"),
            Lang::En => format!("Test running … {elapsed_s} s (at most {max_s} s)"),
        }
    }

    /// 429 on a test, with the wait from `Retry-After`.
    pub fn test_throttled(self, retry_after: Option<u64>) -> String {
        match (self, retry_after) {
            (Lang::De, Some(s)) => {
                format!("Zu viele Tests (höchstens 10 pro Minute). Bitte in {s} Sekunden erneut versuchen.")
            }
            (Lang::De, None) => "Zu viele Tests (höchstens 10 pro Minute). Bitte gleich erneut versuchen.".to_owned(),
            (Lang::En, Some(s)) => format!("Too many tests (at most 10 a minute). Please try again in {s} seconds."),
            (Lang::En, None) => "Too many tests (at most 10 a minute). Please try again shortly.".to_owned(),
        }
    }

    pub fn test_ok(self, probe: bool, recipient: &str) -> String {
        match (self, probe) {
            (Lang::De, false) => format!("Erfolgreich: Der Server hat die Testmail an {recipient} angenommen."),
            (Lang::De, true) => format!(
                "Erfolgreich: Der Server würde eine E-Mail an {recipient} annehmen. Es wurde nichts zugestellt."
            ),
            (Lang::En, false) => format!("Success: the server accepted the test mail to {recipient}."),
            (Lang::En, true) => {
                format!("Success: the server would accept an e-mail to {recipient}. Nothing was delivered.")
            }
        }
    }

    pub fn test_failed_at(self, stage: StageName) -> String {
        match self {
            Lang::De => format!("Fehlgeschlagen bei: {}", self.stage_name(stage)),
            Lang::En => format!("Failed at: {}", self.stage_name(stage)),
        }
    }

    /// A duration: "850 ms", "1,2 s" / "1.2 s".
    pub fn duration(self, ms: u64) -> String {
        if ms < 1000 {
            return format!("{ms} ms");
        }
        let tenths = (ms + 50) / 100;
        let (whole, tenth) = (tenths / 10, tenths % 10);
        match self {
            Lang::De => format!("{whole},{tenth} s"),
            Lang::En => format!("{whole}.{tenth} s"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_class_and_stage_is_named_in_both_languages() {
        let (de, en) = (super::super::tests::prose_of("de"), super::super::tests::prose_of("en"));
        let name = |texts: &[(String, String)], class: FailureClass| {
            let key = format!("c-{}", class.as_str());
            texts.iter().find(|(k, _)| *k == key).map(|(_, t)| t.clone()).unwrap_or_default()
        };
        for class in FailureClass::ALL {
            let (d, e) = (name(&de, class), name(&en, class));
            assert!(!d.is_empty() && !e.is_empty(), "{class}");
            assert_ne!(d, e, "{class}");
        }
        let mut german: Vec<_> = FailureClass::ALL.iter().map(|c| name(&de, *c)).collect();
        german.sort_unstable();
        german.dedup();
        assert_eq!(german.len(), FailureClass::ALL.len(), "two classes share a German name");
        let stages = [
            StageName::Token,
            StageName::Resolve,
            StageName::Connect,
            StageName::Tls,
            StageName::Greeting,
            StageName::Ehlo,
            StageName::Auth,
            StageName::MailFrom,
            StageName::RcptTo,
            StageName::Data,
        ];
        for stage in stages {
            assert_ne!(Lang::De.stage_name(stage), Lang::En.stage_name(stage), "{}", stage.as_str());
        }
    }

    #[test]
    fn durations() {
        assert_eq!(Lang::De.duration(0), "0 ms");
        assert_eq!(Lang::De.duration(999), "999 ms");
        assert_eq!(Lang::De.duration(1234), "1,2 s");
        assert_eq!(Lang::En.duration(20_960), "21.0 s");
    }
}
