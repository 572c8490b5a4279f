//! Texts of the "Benachrichtigungen / Alerts" tab: channels, conditions, the test alert and
//! the incidents, and the error texts of the alerts' own codes and ranges.

use postamt_wire::{AlertChannel, AlertCondition, IncidentState};

use super::Lang;
use crate::form::alerts::{self as form, TEXT_FIELDS};

pub struct AlertTexts {
    pub tab: &'static str,
    pub intro: &'static str,
    pub loading: &'static str,
    pub load_failed: &'static str,
    pub channels: &'static str,
    pub webhook_label: &'static str,
    pub webhook_help: &'static str,
    pub url_label: &'static str,
    pub secret_label: &'static str,
    pub secret_help_stored: &'static str,
    pub secret_help_new: &'static str,
    pub email_label: &'static str,
    pub email_help: &'static str,
    pub recipients_label: &'static str,
    pub recipients_help: &'static str,
    pub conditions: &'static str,
    pub failures: &'static str,
    pub failures_help: &'static str,
    pub count_label: &'static str,
    pub percent_label: &'static str,
    pub window_label: &'static str,
    pub queue_stuck: &'static str,
    pub queue_stuck_help: &'static str,
    pub minutes_label: &'static str,
    pub oauth: &'static str,
    pub oauth_help: &'static str,
    pub daily_quota: &'static str,
    pub daily_quota_help: &'static str,
    pub fallback_in_use: &'static str,
    pub fallback_in_use_help: &'static str,
    pub test_title: &'static str,
    pub test_help: &'static str,
    pub test_run: &'static str,
    pub test_busy: &'static str,
    pub test_no_channel: &'static str,
    pub incidents: &'static str,
    pub incidents_empty: &'static str,
    pub incidents_failed: &'static str,
    pub refresh: &'static str,
    pub firing: &'static str,
    pub resolved: &'static str,
    pub opened_at: &'static str,
    pub last_seen_at: &'static str,
    pub resolved_at: &'static str,
    pub notifications: &'static str,
}

pub static DE: AlertTexts = AlertTexts {
    tab: "Benachrichtigungen",
    intro: "Postamt meldet Störungen beim E-Mail-Versand: einmal, wenn eine Störung beginnt, und einmal, wenn \
        sie vorbei ist – auch mit mehreren Instanzen nur einmal.",
    loading: "Benachrichtigungen werden geladen …",
    load_failed: "Die Einstellungen der Benachrichtigungen konnten nicht geladen werden.",
    channels: "Kanäle",
    webhook_label: "Webhook",
    webhook_help: "Ein HTTP-POST mit JSON, z. B. an einen eingehenden Webhook von Slack oder Teams, signiert mit \
        HMAC-SHA256 im Header X-Postamt-Signature.",
    url_label: "Adresse (URL)",
    secret_label: "Geheimnis für die Signatur",
    secret_help_stored: "Gespeichert und nie angezeigt. Leer lassen, um es zu behalten; nach einer Änderung der \
        Adresse neu eingeben.",
    secret_help_new: "16 bis 256 Zeichen. Wird verschlüsselt gespeichert und nie mehr angezeigt.",
    email_label: "E-Mail",
    email_help: "Über den Postausgang, vor allen anderen Nachrichten.",
    recipients_label: "Empfänger",
    recipients_help: "Bis zu 10 Adressen, getrennt durch Komma oder Zeilenumbruch.",
    conditions: "Wann benachrichtigen",
    failures: "Fehlgeschlagene Zustellversuche",
    failures_help: "So viele Fehlversuche im Zeitfenster, oder dieser Anteil aller Versuche (ab der halben Anzahl).",
    count_label: "Anzahl",
    percent_label: "Anteil (%)",
    window_label: "Zeitfenster (Minuten)",
    queue_stuck: "Postausgang hängt",
    queue_stuck_help: "Die älteste noch nicht gesendete Nachricht wartet länger als so viele Minuten.",
    minutes_label: "Minuten",
    oauth: "OAuth-Verbindung gestört",
    oauth_help: "Das Konto muss neu verbunden werden, oder Tokens können nicht abgerufen werden.",
    daily_quota: "Tageskontingent erreicht",
    daily_quota_help: "Ein Tageslimit ist ausgeschöpft, oder der Server meldete im Zeitfenster ein überschrittenes \
        Kontingent.",
    fallback_in_use: "Ersatzserver im Einsatz",
    fallback_in_use_help: "Der Server fällt aus, und der Ersatzserver stellt zu.",
    test_title: "Testbenachrichtigung",
    test_help: "Sendet an die gespeicherten Kanäle.",
    test_run: "Testbenachrichtigung senden",
    test_busy: "Wird gesendet …",
    test_no_channel: "Kein Kanal gespeichert: bitte zuerst einen Webhook oder E-Mail-Empfänger speichern.",
    incidents: "Störungen",
    incidents_empty: "Bisher keine Störungen.",
    incidents_failed: "Die Störungen konnten nicht geladen werden.",
    refresh: "Aktualisieren",
    firing: "aktiv",
    resolved: "behoben",
    opened_at: "Begonnen",
    last_seen_at: "Zuletzt festgestellt",
    resolved_at: "Behoben",
    notifications: "Benachrichtigungen",
};

pub static EN: AlertTexts = AlertTexts {
    tab: "Alerts",
    intro: "Postamt reports trouble with sending mail: once when an incident begins and once when it is over – \
        only once, however many instances run.",
    loading: "Loading alerts …",
    load_failed: "The alert settings could not be loaded.",
    channels: "Channels",
    webhook_label: "Webhook",
    webhook_help: "An HTTP POST with JSON, e.g. to a Slack or Teams incoming webhook, signed with HMAC-SHA256 in \
        the header X-Postamt-Signature.",
    url_label: "Address (URL)",
    secret_label: "Signing secret",
    secret_help_stored: "Stored and never shown. Leave empty to keep it; enter it again after changing the address.",
    secret_help_new: "16 to 256 characters. Stored encrypted and never shown again.",
    email_label: "E-mail",
    email_help: "Through the outbox, ahead of all other messages.",
    recipients_label: "Recipients",
    recipients_help: "Up to 10 addresses, separated by commas or line breaks.",
    conditions: "When to alert",
    failures: "Failed delivery attempts",
    failures_help: "This many failed attempts within the window, or this share of all attempts (from half the count).",
    count_label: "Count",
    percent_label: "Share (%)",
    window_label: "Window (minutes)",
    queue_stuck: "Outbox stuck",
    queue_stuck_help: "The oldest message not yet sent has waited longer than this many minutes.",
    minutes_label: "Minutes",
    oauth: "OAuth connection failing",
    oauth_help: "The account must be connected again, or tokens cannot be obtained.",
    daily_quota: "Daily quota reached",
    daily_quota_help: "A daily limit is used up, or the server reported an exceeded quota within the window.",
    fallback_in_use: "Fallback server in use",
    fallback_in_use_help: "The server fails and the fallback server delivers.",
    test_title: "Test alert",
    test_help: "Sends to the saved channels.",
    test_run: "Send test alert",
    test_busy: "Sending …",
    test_no_channel: "No channel saved: please save a webhook or e-mail recipients first.",
    incidents: "Incidents",
    incidents_empty: "No incidents so far.",
    incidents_failed: "The incidents could not be loaded.",
    refresh: "Refresh",
    firing: "firing",
    resolved: "resolved",
    opened_at: "Opened",
    last_seen_at: "Last seen",
    resolved_at: "Resolved",
    notifications: "Notifications",
};

impl Lang {
    pub fn alert_condition(self, c: AlertCondition) -> &'static str {
        let t = self.texts().alerts;
        match c {
            AlertCondition::Failures => t.failures,
            AlertCondition::QueueStuck => t.queue_stuck,
            AlertCondition::Oauth => t.oauth,
            AlertCondition::DailyQuota => t.daily_quota,
            AlertCondition::FallbackInUse => t.fallback_in_use,
        }
    }

    pub fn incident_state(self, s: IncidentState) -> &'static str {
        let t = self.texts().alerts;
        match s {
            IncidentState::Firing => t.firing,
            IncidentState::Resolved => t.resolved,
        }
    }

    pub fn alert_channel(self, c: AlertChannel) -> &'static str {
        match c {
            AlertChannel::Webhook => self.texts().alerts.webhook_label,
            AlertChannel::Email => self.texts().alerts.email_label,
        }
    }

    /// "Webhook: 2 zugestellt, 0 ausstehend, 0 fehlgeschlagen".
    pub fn alert_deliveries(self, channel: AlertChannel, delivered: u32, pending: u32, failed: u32) -> String {
        let name = self.alert_channel(channel);
        match self {
            Lang::De => format!("{name}: {delivered} zugestellt, {pending} ausstehend, {failed} fehlgeschlagen"),
            Lang::En => format!("{name}: {delivered} delivered, {pending} pending, {failed} failed"),
        }
    }

    /// One channel's answer to the test alert.
    pub fn alert_test_outcome(
        self,
        channel: AlertChannel,
        ok: bool,
        status: Option<u16>,
        error: Option<&str>,
        message_id: Option<&str>,
    ) -> String {
        let name = self.alert_channel(channel);
        let de = self == Lang::De;
        let status = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
        match (ok, message_id) {
            (true, Some(id)) if de => format!("{name}: in den Postausgang gestellt (Nachricht {id})."),
            (true, Some(id)) => format!("{name}: queued in the outbox (message {id})."),
            (true, None) if de => format!("{name}: angenommen{status}."),
            (true, None) => format!("{name}: accepted{status}."),
            (false, _) if de => format!("{name}: fehlgeschlagen{status}. {}", error.unwrap_or("")),
            (false, _) => format!("{name}: failed{status}. {}", error.unwrap_or("")),
        }
    }

    /// Error texts of the alerts' own codes, and of ranges that are the alerts' own.
    pub(super) fn alerts_error(self, field: &str, code: &str) -> Option<&'static str> {
        let de = self == Lang::De;
        let field = form::error_field(field);
        let range = |i: usize| field == TEXT_FIELDS[i];
        Some(match code {
            "invalid_url" if de => {
                "Keine gültige Adresse: bitte eine vollständige https-Adresse angeben (http nur für \
                localhost)."
            }
            "invalid_url" => "Not a valid address: please enter a full https address (http only for localhost).",
            "invalid_length" if de => "Bitte 16 bis 256 Zeichen eingeben.",
            "invalid_length" => "Please enter 16 to 256 characters.",
            "required" if range(form::SECRET) && de => {
                "Bitte ein Geheimnis eingeben (keins gespeichert, oder die Adresse wurde geändert)."
            }
            "required" if range(form::SECRET) => "Please enter a secret (none is stored, or the address changed).",
            "out_of_range" if range(form::RECIPIENTS) && de => "Bitte 1 bis 10 Adressen angeben.",
            "out_of_range" if range(form::RECIPIENTS) => "Please enter 1 to 10 addresses.",
            "out_of_range" if range(form::FAILURES_COUNT) && de => "Bitte eine Zahl von 1 bis 100000 eingeben.",
            "out_of_range" if range(form::FAILURES_COUNT) => "Please enter a number from 1 to 100000.",
            "out_of_range" if range(form::FAILURES_PERCENT) && de => "Bitte eine Zahl über 0 bis 100 eingeben.",
            "out_of_range" if range(form::FAILURES_PERCENT) => "Please enter a number above 0, up to 100.",
            "out_of_range" if field.starts_with("conditions.") && de => "Bitte eine Zahl von 1 bis 1440 eingeben.",
            "out_of_range" if field.starts_with("conditions.") => "Please enter a number from 1 to 1440.",
            "not_a_number" if range(form::FAILURES_PERCENT) && de => "Bitte eine Zahl eingeben, z. B. 50 oder 12,5.",
            "not_a_number" if range(form::FAILURES_PERCENT) => "Please enter a number, e.g. 50 or 12.5.",
            _ => return None,
        })
    }
}
