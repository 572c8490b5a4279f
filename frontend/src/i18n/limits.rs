//! Texts of the sending limits: the inputs, the presets, and the use against each limit.

use postamt_wire::LimitReason;

use super::Lang;

pub struct LimitTexts {
    pub title: &'static str,
    /// The inputs' labels, in the order of `form::fields::LIMITS`.
    pub labels: [&'static str; 5],
    /// What each limit counts, after "used / max" (same order).
    pub windows: [&'static str; 5],
    pub presets: &'static str,
    pub none: &'static str,
    pub waiting: &'static str,
    /// High, normal, low.
    pub priorities: [&'static str; 3],
    pub held_by: &'static str,
    pub until: &'static str,
    pub server_throttled: &'static str,
}

pub static DE: LimitTexts = LimitTexts {
    title: "Versandlimits",
    labels: [
        "Nachrichten pro Minute",
        "Nachrichten pro Stunde",
        "Nachrichten pro Tag",
        "Empfänger pro Tag",
        "Gleichzeitige Verbindungen",
    ],
    windows: [
        "in der letzten Minute",
        "in der letzten Stunde",
        "in den letzten 24 Stunden",
        "Empfänger in den letzten 24 Stunden",
        "Verbindungen offen",
    ],
    presets: "Vorgaben:",
    none: "Keine Limits",
    waiting: "Wartend:",
    priorities: ["hoch", "normal", "niedrig"],
    held_by: "Wartet wegen",
    until: "bis",
    server_throttled: "Drosselung durch den Server",
};

pub static EN: LimitTexts = LimitTexts {
    title: "Sending limits",
    labels: [
        "Messages per minute",
        "Messages per hour",
        "Messages per day",
        "Recipients per day",
        "Concurrent sessions",
    ],
    windows: [
        "in the last minute",
        "in the last hour",
        "in the last 24 hours",
        "recipients in the last 24 hours",
        "sessions open",
    ],
    presets: "Presets:",
    none: "No limits",
    waiting: "Waiting:",
    priorities: ["high", "normal", "low"],
    held_by: "Waiting because of",
    until: "until",
    server_throttled: "the server's throttling",
};

impl Lang {
    /// What holds messages back: a limit's name, or the server's throttling.
    pub fn limit_reason(self, reason: LimitReason) -> String {
        let t = self.texts().limits;
        match reason {
            LimitReason::ServerThrottled => t.server_throttled.to_owned(),
            other => {
                let i = LimitReason::ALL.iter().position(|r| *r == other).unwrap_or(0);
                let (open, close) = if self == Lang::De { ("„", "“") } else { ("\"", "\"") };
                [open, t.labels[i], close].concat()
            }
        }
    }
}
