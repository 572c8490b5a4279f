//! Turns a stored message and the sender policy into the RFC 5322 bytes (lettre builds it).

use crate::domain::outgoing::{html_to_text, OutgoingMessage};
use anyhow::Context;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
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

    let text = msg.text.clone().or_else(|| msg.html.as_deref().map(html_to_text)).unwrap_or_default();
    let body = match &msg.html {
        Some(html) => {
            MultiPart::alternative().singlepart(SinglePart::plain(text)).singlepart(SinglePart::html(html.clone()))
        }
        None => MultiPart::mixed().singlepart(SinglePart::plain(text)),
    };
    let message = if msg.attachments.is_empty() {
        match &msg.html {
            Some(_) => builder.multipart(body)?,
            None => builder.singlepart(SinglePart::plain(msg.text.clone().unwrap_or_default()))?,
        }
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in &msg.attachments {
            let content_type = ContentType::parse(&a.content_type).unwrap_or(ContentType::TEXT_PLAIN);
            mixed = mixed.singlepart(Attachment::new(a.filename.clone()).body(a.decode(), content_type));
        }
        builder.multipart(mixed)?
    };
    Ok(message.formatted())
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
        assert!(!bytes.to_ascii_lowercase().contains("bcc") && !bytes.contains("secret@example.org"));
        assert!(bytes.contains("text/plain") && bytes.contains("Hallo Erika"));
    }
}
