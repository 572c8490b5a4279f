//! CSV rendering of mail-log rows for the export, straight from the stored columns.
//!
//! The export is the one place that touches every row of a log that may hold millions, so
//! it writes the stored strings as they are instead of building a `MailLogEntry` per row
//! (that conversion, with its enum parsing and per-field allocations, took most of the
//! export's time). The stored values of kind, status, stage, class and field are the wire
//! names already.

use crate::db::mail_log::Row;
use serde::Deserialize;
use std::borrow::Cow;

pub const HEADER: [&str; 18] = [
    "id",
    "at",
    "kind",
    "message_id",
    "category",
    "status",
    "recipients",
    "sender",
    "attempt",
    "stage",
    "class",
    "field",
    "smtp_reply",
    "server",
    "duration_ms",
    "hint_en",
    "hint_de",
    "connection",
];

/// The `details` JSON column.
#[derive(Default, Deserialize)]
struct Details {
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    hint_de: Option<String>,
    #[serde(default)]
    hint_en: Option<String>,
    #[serde(default)]
    server: Option<String>,
    /// `primary` or `fallback`.
    #[serde(default)]
    connection: Option<String>,
}

/// Renders rows one after another. Neighbouring rows mostly carry the same `details` (the
/// same server, the same hint), so the last one parsed is kept and reused.
#[derive(Default)]
pub struct Rows {
    last_details: String,
    details: Details,
}

impl Rows {
    /// Appends one row, CRLF-terminated, in [`HEADER`]'s order.
    pub fn row(&mut self, out: &mut Vec<u8>, r: &Row) {
        if r.details != self.last_details {
            self.details = serde_json::from_str(&r.details).unwrap_or_default();
            self.last_details.clone_from(&r.details);
        }
        row(out, r, &self.details);
    }
}

fn row(out: &mut Vec<u8>, r: &Row, details: &Details) {
    number(out, r.id);
    out.push(b',');
    timestamp(out, r.at);
    out.push(b',');
    cell(out, &r.kind);
    out.push(b',');
    cell(out, r.message_id.as_deref().unwrap_or(""));
    out.push(b',');
    cell(out, &r.category);
    out.push(b',');
    cell(out, &r.status);
    out.push(b',');
    // Stored comma-separated (for filtering); the export separates with spaces.
    recipients(out, &r.recipients);
    out.push(b',');
    cell(out, &r.sender);
    out.push(b',');
    if let Some(attempt) = r.attempt {
        number(out, i64::from(attempt));
    }
    out.push(b',');
    cell(out, r.stage.as_deref().unwrap_or(""));
    out.push(b',');
    cell(out, r.failure_class.as_deref().unwrap_or(""));
    out.push(b',');
    cell(out, text(details.field.as_ref()));
    out.push(b',');
    cell(out, r.smtp_reply.as_deref().unwrap_or(""));
    out.push(b',');
    cell(out, text(details.server.as_ref()));
    out.push(b',');
    number(out, r.duration_ms.max(0));
    out.push(b',');
    cell(out, text(details.hint_en.as_ref()));
    out.push(b',');
    cell(out, text(details.hint_de.as_ref()));
    out.push(b',');
    cell(out, text(details.connection.as_ref()));
    out.extend_from_slice(b"\r\n");
}

/// RFC 4180 quoting, and a leading `'` before anything a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@`, tab, CR): server replies and names come from outside.
pub fn cell(out: &mut Vec<u8>, cell: &str) {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || cell.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if !quote {
        out.extend_from_slice(cell.as_bytes());
        return;
    }
    out.push(b'"');
    if formula {
        out.push(b'\'');
    }
    for b in cell.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn text(value: Option<&String>) -> &str {
    value.map_or("", String::as_str)
}

fn recipients(out: &mut Vec<u8>, stored: &str) {
    let joined: Cow<'_, str> =
        if stored.contains(',') { Cow::Owned(stored.replace(',', " ")) } else { Cow::Borrowed(stored) };
    cell(out, &joined);
}

fn number(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let negative = n < 0;
    let mut rest = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

/// `2026-11-27T08:00:00.123Z`: what `to_rfc3339_opts(Millis, true)` writes, without its
/// formatting machinery.
fn timestamp(out: &mut Vec<u8>, at: chrono::NaiveDateTime) {
    use chrono::{Datelike, Timelike};
    let pad = |out: &mut Vec<u8>, n: u32, width: usize| {
        let mut digits = [b'0'; 4];
        let mut rest = n;
        for d in digits[..width].iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out.extend_from_slice(&digits[..width]);
    };
    let year = at.year();
    if !(0..=9999).contains(&year) {
        // Outside what four digits hold: let chrono write it.
        let text = at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        out.extend_from_slice(text.as_bytes());
        return;
    }
    pad(out, year.unsigned_abs(), 4);
    out.push(b'-');
    pad(out, at.month(), 2);
    out.push(b'-');
    pad(out, at.day(), 2);
    out.push(b'T');
    pad(out, at.hour(), 2);
    out.push(b':');
    pad(out, at.minute(), 2);
    out.push(b':');
    pad(out, at.second(), 2);
    out.push(b'.');
    // A leap second is stored as nanosecond >= 1e9; chrono prints it as 60.xxx.
    pad(out, (at.nanosecond() % 1_000_000_000) / 1_000_000, 3);
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell_text(s: &str) -> String {
        let mut out = Vec::new();
        cell(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell_text("plain"), "plain");
        assert_eq!(cell_text("a,b"), "\"a,b\"");
        assert_eq!(cell_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell_text("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell_text("-1+2"), "\"'-1+2\"");
        assert_eq!(cell_text("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn numbers_and_timestamps_match_the_standard_formatting() {
        for n in [0i64, 7, 10, 12_345, -42, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            number(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
        let times = ["2026-11-27T08:00:00.123456", "0999-01-02T03:04:05", "2024-02-29T23:59:59.999999"];
        for t in times {
            let at: chrono::NaiveDateTime = t.parse().unwrap();
            let mut out = Vec::new();
            timestamp(&mut out, at);
            let expected = at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn a_row_renders_every_column_from_the_stored_values() {
        let r = Row {
            id: 42,
            at: "2026-11-27T08:00:00.5".parse().unwrap(),
            kind: "delivery".into(),
            message_id: Some("m-1".into()),
            category: "finance".into(),
            status: "failed".into(),
            recipients: "a@example.com,b@example.com".into(),
            sender: "noreply@example.com".into(),
            attempt: Some(2),
            stage: Some("rcpt_to".into()),
            failure_class: Some("recipient_rejected".into()),
            smtp_reply: Some("550 5.1.1 no such user, sorry".into()),
            duration_ms: 12,
            details: r#"{"field":"sender_address","hint_de":"Empf\u00e4nger","hint_en":"=bad","server":"mx:25","connection":"fallback"}"#
                .into(),
        };
        let mut out = Vec::new();
        Rows::default().row(&mut out, &r);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "42,2026-11-27T08:00:00.500Z,delivery,m-1,finance,failed,a@example.com b@example.com,\
             noreply@example.com,2,rcpt_to,recipient_rejected,sender_address,\"550 5.1.1 no such user, sorry\",\
             mx:25,12,\"'=bad\",Empfänger,fallback\r\n"
        );
    }

    #[test]
    fn details_of_one_row_never_leak_into_the_next() {
        let with = |details: &str| Row {
            id: 1,
            at: "2026-11-27T08:00:00".parse().unwrap(),
            kind: "delivery".into(),
            message_id: None,
            category: "otp".into(),
            status: "sent".into(),
            recipients: "a@example.com".into(),
            sender: "s@example.com".into(),
            attempt: None,
            stage: None,
            failure_class: None,
            smtp_reply: None,
            duration_ms: 0,
            details: details.into(),
        };
        let mut rows = Rows::default();
        let mut out = Vec::new();
        for details in [r#"{"server":"mx:25"}"#, r#"{"server":"mx:25"}"#, "{}", r#"{"hint_en":"x"}"#] {
            rows.row(&mut out, &with(details));
        }
        let text = String::from_utf8(out).unwrap();
        let servers: Vec<&str> = text.lines().map(|l| l.split(',').nth(13).unwrap()).collect();
        let hints: Vec<&str> = text.lines().map(|l| l.split(',').nth(15).unwrap()).collect();
        assert_eq!(servers, ["mx:25", "mx:25", "", ""]);
        assert_eq!(hints, ["", "", "", "x"]);
    }
}
