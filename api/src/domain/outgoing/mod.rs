//! A module's message, checked at the edge and stored in the outbox as it was accepted.

mod attachments;
mod expiry;
mod html_text;
mod mailbox;
pub mod stored;

pub use attachments::StoredAttachment;
pub use html_text::html_to_text;
pub use mailbox::parse_mailbox;

use super::{parse_acting_user, SingleLine, Violations};
use crate::error::ApiError;
use chrono::{DateTime, Utc};
use postamt_wire::{ActingUser, MailAddress, SendMessageRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Configurable limits of the send API.
#[derive(Debug, Clone, Copy)]
pub struct MessageLimits {
    /// Subject, bodies and decoded attachments together.
    pub max_message_bytes: usize,
    /// To, Cc and Bcc together.
    pub max_recipients: usize,
}

/// A valid message, as stored in the outbox (`messages.content`, see [`stored`]). The
/// sender policy is applied at delivery, with the settings in force then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub category: String,
    pub acting_user: Option<ActingUser>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    pub bcc: Vec<MailAddress>,
    pub reply_to: Option<MailAddress>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<StoredAttachment>,
    pub headers: BTreeMap<String, String>,
    /// Generated once at acceptance, so every attempt sends the same message.
    pub message_id: String,
    pub date: DateTime<Utc>,
    /// Not sent after this (stored in the content, so the outbox's columns stay as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl OutgoingMessage {
    /// Every recipient address (envelope), in order, without duplicates.
    pub fn envelope_recipients(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .map(|m| m.address.to_ascii_lowercase())
            .filter(|a| seen.insert(a.clone()))
            .collect()
    }

    /// Checks every field and all limits; violations are reported together (422), an
    /// oversized message is a 413.
    pub fn parse(
        request: SendMessageRequest,
        limits: MessageLimits,
        message_id_domain: &str,
    ) -> Result<OutgoingMessage, ApiError> {
        let mut v = Violations::default();
        let category = request.category.trim().to_owned();
        if !is_category(&category) {
            v.add(
                "category",
                "invalid_category",
                "must be a lowercase word of up to 32 letters, digits, - or _, e.g. `finance`",
            );
        }
        let acting_user = request.acting_user.as_ref().and_then(|u| parse_acting_user(&mut v, u));
        let mut mailboxes = |field: &str, list: &[postamt_wire::MailboxInput]| -> Vec<MailAddress> {
            list.iter().enumerate().filter_map(|(i, m)| v.check(&format!("{field}[{i}]"), parse_mailbox(m))).collect()
        };
        let to = mailboxes("to", &request.to);
        let cc = mailboxes("cc", &request.cc);
        let bcc = mailboxes("bcc", &request.bcc);
        let reply_to = request.reply_to.as_ref().and_then(|m| v.check("reply_to", parse_mailbox(m)));
        let recipients = request.to.len() + request.cc.len() + request.bcc.len();
        if recipients == 0 {
            v.add("to", "required", "at least one recipient (to, cc or bcc) is required");
        } else if recipients > limits.max_recipients {
            v.add(
                "to",
                "too_many_recipients",
                format!("at most {} recipients (to, cc and bcc together)", limits.max_recipients),
            );
        }
        let subject = if request.subject.trim().is_empty() {
            Some(String::new())
        } else {
            v.check("subject", SingleLine::parse(&request.subject, 998)).map(|s| s.as_str().to_owned())
        };
        let text = request.text.filter(|t| !t.is_empty());
        let html = request.html.filter(|h| !h.is_empty());
        if text.is_none() && html.is_none() {
            v.add("text", "required", "text or html is required");
        }
        for (name, value) in &request.headers {
            let field = format!("headers.{name}");
            if !is_custom_header_name(name) {
                v.add(&field, "not_allowed", "only custom X- headers are allowed (letters, digits and -)");
            } else if value.contains(['\r', '\n']) {
                v.add(&field, "contains_line_break", "must not contain line breaks");
            } else if value.len() > 998 {
                v.add(&field, "too_long", "must be at most 998 characters");
            }
        }
        let attachments: Vec<StoredAttachment> =
            request.attachments.iter().enumerate().filter_map(|(i, a)| attachments::parse(&mut v, i, a)).collect();
        let now = Utc::now();
        let expires_at = expiry::expiry(&mut v, request.expires_at, request.expires_in_seconds, now);
        v.into_result()?;

        let size = subject.as_ref().map_or(0, String::len)
            + text.as_ref().map_or(0, String::len)
            + html.as_ref().map_or(0, String::len)
            + attachments.iter().map(StoredAttachment::size).sum::<usize>();
        if size > limits.max_message_bytes {
            return Err(ApiError::PayloadTooLarge);
        }
        Ok(OutgoingMessage {
            category,
            acting_user,
            to,
            cc,
            bcc,
            reply_to,
            subject: subject.unwrap_or_default(),
            text,
            html,
            attachments,
            headers: request.headers,
            message_id: format!("<{}@{}>", crate::ids::random().simple(), message_id_domain),
            date: now,
            expires_at,
        })
    }

    /// Whether the message may no longer be sent.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Bytes of content, for the size column and the metrics.
    pub fn size(&self) -> usize {
        self.subject.len()
            + self.text.as_ref().map_or(0, String::len)
            + self.html.as_ref().map_or(0, String::len)
            + self.attachments.iter().map(StoredAttachment::size).sum::<usize>()
    }
}

fn is_category(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_custom_header_name(name: &str) -> bool {
    name.len() > 2
        && name.len() <= 76
        && name[..2].eq_ignore_ascii_case("x-")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use postamt_wire::{AttachmentInput, MailboxInput};

    const LIMITS: MessageLimits = MessageLimits { max_message_bytes: 1000, max_recipients: 3 };

    fn request() -> SendMessageRequest {
        SendMessageRequest {
            category: "finance".into(),
            to: vec![MailboxInput::Text("Erika <erika@example.org>".into())],
            subject: "Rechnung 42".into(),
            text: Some("Hallo".into()),
            ..Default::default()
        }
    }

    fn codes(err: ApiError) -> Vec<(String, String)> {
        match err {
            ApiError::Validation(e) => e.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_valid_message_gets_an_id_and_a_date() {
        let m = OutgoingMessage::parse(request(), LIMITS, "example.org").unwrap();
        assert!(m.message_id.starts_with('<') && m.message_id.ends_with("@example.org>"));
        assert_eq!(m.envelope_recipients(), vec!["erika@example.org"]);
    }

    #[test]
    fn reports_all_problems_with_their_paths() {
        let mut r = request();
        r.category = "Finance!".into();
        r.to.push(MailboxInput::Text("broken".into()));
        r.subject = "a\r\nBcc: x@y.org".into();
        r.text = None;
        r.headers.insert("Subject".into(), "x".into());
        r.headers.insert("X-Ok".into(), "a\nb".into());
        r.attachments.push(AttachmentInput {
            filename: "a.pdf".into(),
            content_type: None,
            content_base64: "***".into(),
        });
        let got = codes(OutgoingMessage::parse(r, LIMITS, "example.org").unwrap_err());
        let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "category",
                "to[1]",
                "subject",
                "text",
                "headers.Subject",
                "headers.X-Ok",
                "attachments[0].content_base64"
            ]
        );
    }

    #[test]
    fn limits_recipients_and_size() {
        let mut many = request();
        many.bcc = (0..3).map(|i| MailboxInput::Text(format!("r{i}@example.org"))).collect();
        assert_eq!(
            codes(OutgoingMessage::parse(many, LIMITS, "x").unwrap_err()),
            vec![("to".into(), "too_many_recipients".into())]
        );
        let mut big = request();
        big.text = Some("x".repeat(2000));
        assert!(matches!(OutgoingMessage::parse(big, LIMITS, "x"), Err(ApiError::PayloadTooLarge)));
    }
}
