//! Turns a stored message and the sender policy into the RFC 5322 bytes (lettre builds it).

use crate::domain::outgoing::{html_to_text, OutgoingMessage};
use anyhow::Context;
use lettre::message::header::ContentTransferEncoding;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::Address;
use postamt_wire::{EffectiveSender, MailAddress};

fn mailbox(m: &MailAddress) -> anyhow::Result<Mailbox> {
    let address: Address = m.address.parse().with_context(|| format!("address {}", m.address))?;
    Ok(Mailbox::new(m.name.clone(), address))
}

/// The message as it goes over the wire. Bcc recipients are in the envelope only, never in
/// a header. An explicit `reply_to` of the module is used unless the policy sets one.
pub fn compose(msg: &OutgoingMessage, sender: &EffectiveSender) -> anyhow::Result<Vec<u8>> {
    let mut builder = lettre::Message::builder()
        .from(mailbox(&sender.from)?)
        .subject(msg.subject.clone())
        .message_id(Some(msg.message_id.clone()))
        .date(msg.date.into());
    if let Some(reply_to) = sender.reply_to.as_ref().or(msg.reply_to.as_ref()) {
        builder = builder.reply_to(mailbox(reply_to)?);
    }
    for to in &msg.to {
        builder = builder.to(mailbox(to)?);
    }
    for cc in &msg.cc {
        builder = builder.cc(mailbox(cc)?);
    }
    for (name, value) in &msg.headers {
        let name = HeaderName::new_from_ascii(name.clone()).with_context(|| format!("header name {name}"))?;
        builder = builder.raw_header(HeaderValue::new(name, value.clone()));
    }
    let envelope_from: Address = sender.envelope_from.parse().context("envelope sender")?;
    let recipients = msg
        .envelope_recipients()
        .iter()
        .map(|r| r.parse::<Address>().with_context(|| format!("recipient {r}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    builder = builder.envelope(lettre::address::Envelope::new(Some(envelope_from), recipients)?);

    // A plain text message is one text part. Otherwise the text (derived from the HTML when
    // there is none) and the HTML are alternatives, and attachments follow in a mixed part.
    // Each part is encoded once: encoding the body is the costliest step of composing.
    let message = match (&msg.html, msg.attachments.is_empty()) {
        (None, true) => builder.singlepart(SinglePart::plain(text_body(msg.text.clone().unwrap_or_default())))?,
        (Some(html), true) => builder.multipart(alternative(msg, html))?,
        (html, false) => {
            let body = match html {
                Some(html) => alternative(msg, html),
                None => {
                    MultiPart::mixed().singlepart(SinglePart::plain(text_body(msg.text.clone().unwrap_or_default())))
                }
            };
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in &msg.attachments {
                let content_type = ContentType::parse(&a.content_type).unwrap_or(ContentType::TEXT_PLAIN);
                mixed = mixed.singlepart(Attachment::new(a.filename.clone()).body(a.decode(), content_type));
            }
            builder.multipart(mixed)?
        }
    };
    Ok(message.formatted())
}

/// The text and the HTML as alternatives; the text is derived from the HTML when missing.
fn alternative(msg: &OutgoingMessage, html: &str) -> MultiPart {
    let text = msg.text.clone().unwrap_or_else(|| html_to_text(html));
    MultiPart::alternative()
        .singlepart(SinglePart::plain(text_body(text)))
        .singlepart(SinglePart::html(text_body(html.to_owned())))
}

/// SMTP's line limit without the CRLF (RFC 5321 4.5.3.1.6, RFC 5322 2.1.1).
const MAX_LINE: usize = 998;

/// A text or HTML part's body. ASCII text whose lines fit SMTP's limit goes as it is (7bit):
/// lettre would quoted-printable-encode every text with a line over 76 characters, the
/// costliest step of composing, and a message harder to read in its source. Anything else
/// (non-ASCII, long lines, a CR outside CRLF, NUL) gets lettre's choice of encoding.
fn text_body(text: String) -> Body {
    match seven_bit_crlf(text.as_bytes()) {
        Some(crlf) => Body::dangerous_pre_encoded(crlf, ContentTransferEncoding::SevenBit),
        None => Body::new(text),
    }
}

/// `text` with its line ends made CRLF, if it may go as 7bit: ASCII, no NUL, no CR outside
/// a CRLF, no line over [`MAX_LINE`]. One pass that checks and copies each line.
fn seven_bit_crlf(text: &[u8]) -> Option<Vec<u8>> {
    let mut crlf = Vec::with_capacity(text.len() + text.len() / 32);
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_LINE || line.iter().any(|&b| !b.is_ascii() || b == b'\r' || b == 0) {
            return None;
        }
        if i > 0 {
            crlf.extend_from_slice(b"\r\n");
        }
        crlf.extend_from_slice(line);
    }
    Some(crlf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outgoing::{MessageLimits, OutgoingMessage};
    use postamt_wire::{MailboxInput, SendMessageRequest};

    #[test]
    fn bcc_stays_out_of_the_headers_and_html_gets_a_text_part() {
        let request = SendMessageRequest {
            category: "calendar".into(),
            to: vec![MailboxInput::Text("Erika <erika@example.org>".into())],
            bcc: vec![MailboxInput::Text("secret@example.org".into())],
            subject: "Einladung: Sprint-Review".into(),
            html: Some("<p>Hallo <b>Erika</b></p>".into()),
            headers: [("X-Module".to_owned(), "calendar".to_owned())].into(),
            ..Default::default()
        };
        let msg = OutgoingMessage::parse(
            request,
            MessageLimits { max_message_bytes: 1 << 20, max_recipients: 10 },
            "example.org",
        )
        .unwrap();
        let sender = EffectiveSender::apply("TEAMBOX", "teambox@example.org", true, true, None);
        let bytes = String::from_utf8(compose(&msg, &sender).unwrap()).unwrap();
        assert!(bytes.contains("From: TEAMBOX <teambox@example.org>"), "{bytes}");
        assert!(bytes.contains("X-Module: calendar"));
        assert!(bytes.contains(&format!("Message-ID: {}", msg.message_id)));
        // No Bcc header (not "bcc" anywhere: the random MIME boundary and Message-ID may
        // contain it, which made this test fail now and then) and the address nowhere.
        assert!(!bytes.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")), "{bytes}");
        assert!(!bytes.contains("secret@example.org"), "{bytes}");
        assert!(bytes.contains("text/plain") && bytes.contains("Hallo Erika"));
    }

    #[test]
    fn plain_ascii_text_goes_as_it_is_and_anything_else_is_encoded() {
        let long_line = format!("{}\nzweite Zeile\n", "x".repeat(120));
        let body = text_body(long_line);
        assert_eq!(body.encoding(), ContentTransferEncoding::SevenBit);
        assert_eq!(String::from_utf8(body.into_vec()).unwrap(), format!("{}\r\nzweite Zeile\r\n", "x".repeat(120)));
        assert_eq!(text_body("a\r\nb".into()).into_vec(), b"a\r\nb", "CRLF stays CRLF");
        // Everything else is lettre's business, exactly as without this shortcut.
        for (text, why) in [
            ("Grüße".to_owned(), "not ASCII"),
            ("x".repeat(MAX_LINE + 1), "line too long"),
            ("a\rb".into(), "bare CR"),
            ("a\0b".into(), "NUL"),
        ] {
            let (ours, lettres) = (text_body(text.clone()), Body::new(text));
            assert_eq!((ours.encoding(), ours.into_vec()), (lettres.encoding(), lettres.into_vec()), "{why}");
        }
        assert_ne!(text_body("x".repeat(MAX_LINE + 1)).encoding(), ContentTransferEncoding::SevenBit);
    }
}
