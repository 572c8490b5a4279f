//! What the notifications say: a one-line sentence for the webhook's `text` (Slack, Teams),
//! and the e-mail's subject and body, German first, English second.

use postamt_wire::{AlertCondition, AlertEvent};

/// The condition's name (German, English).
fn title(condition: AlertCondition) -> (&'static str, &'static str) {
    match condition {
        AlertCondition::Failures => ("Zustellfehler", "delivery failures"),
        AlertCondition::QueueStuck => ("Postausgang hängt", "outbox stuck"),
        AlertCondition::Oauth => ("OAuth-Verbindung gestört", "OAuth connection failing"),
        AlertCondition::DailyQuota => ("Tageskontingent erreicht", "daily quota reached"),
        AlertCondition::FallbackInUse => ("Ersatzserver im Einsatz", "fallback server in use"),
    }
}

/// What a notification is about: the incident, or nothing for a test.
pub struct About<'a> {
    pub event: AlertEvent,
    pub incident: Option<(i64, AlertCondition)>,
    pub detail: &'a str,
    pub instance: &'a str,
}

impl About<'_> {
    /// One line: `Postamt incident #3 (outbox stuck): the oldest unsent message ...`.
    pub fn line(&self) -> String {
        match (self.event, self.incident) {
            (AlertEvent::Firing, Some((id, c))) => format!("Postamt incident #{id} ({}): {}", title(c).1, self.detail),
            (AlertEvent::Resolved, Some((id, c))) => {
                format!("Postamt incident #{id} ({}) is resolved; last seen: {}", title(c).1, self.detail)
            }
            _ => format!("Postamt test alert from instance {}: this channel works", self.instance),
        }
    }

    /// `[Postamt] Störung: Postausgang hängt / Incident: outbox stuck`.
    pub fn subject(&self) -> String {
        match (self.event, self.incident) {
            (AlertEvent::Firing, Some((_, c))) => {
                format!("[Postamt] Störung: {} / Incident: {}", title(c).0, title(c).1)
            }
            (AlertEvent::Resolved, Some((_, c))) => {
                format!("[Postamt] Behoben: {} / Resolved: {}", title(c).0, title(c).1)
            }
            _ => "[Postamt] Testbenachrichtigung / Test alert".to_owned(),
        }
    }

    /// Headers for mail filters: `X-Postamt-Alert: firing` and the incident's number.
    pub fn headers(&self) -> std::collections::BTreeMap<String, String> {
        let mut headers = std::collections::BTreeMap::new();
        headers.insert("X-Postamt-Alert".to_owned(), self.event.as_str().to_owned());
        if let Some((id, condition)) = self.incident {
            headers.insert("X-Postamt-Incident".to_owned(), format!("{id} {}", condition.as_str()));
        }
        headers
    }

    pub fn body(&self) -> String {
        let (de, en) = match (self.event, self.incident) {
            (AlertEvent::Firing, Some((id, c))) => (
                format!("Postamt meldet eine Störung (#{id}): {}.\nBeobachtet: {}", title(c).0, self.detail),
                format!("Postamt reports an incident (#{id}): {}.\nSeen: {}", title(c).1, self.detail),
            ),
            (AlertEvent::Resolved, Some((id, c))) => (
                format!("Die Störung #{id} ist behoben: {}.\nZuletzt beobachtet: {}", title(c).0, self.detail),
                format!("Incident #{id} is resolved: {}.\nLast seen: {}", title(c).1, self.detail),
            ),
            _ => (
                "Dies ist eine Testbenachrichtigung von Postamt: der Kanal funktioniert.".to_owned(),
                "This is a test alert from Postamt: the channel works.".to_owned(),
            ),
        };
        format!("{de}\n\n---\n\n{en}\n\nInstanz / instance: {}\n", self.instance)
    }
}
