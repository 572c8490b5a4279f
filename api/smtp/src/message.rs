//! The test mail (German and English, built with lettre) and the transfer encoding of any
//! message for DATA: CRLF line ends, dot-stuffing, the final `.`.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::{Address, Message};
use postamt_wire::{Encryption, MailAddress, SettingsField};

use crate::config::TestConfig;

/// A built test mail.
#[derive(Debug, Clone)]
pub struct TestMail {
    /// With angle brackets, e.g. `<3f2a…@example.org>`.
    pub message_id: String,
    /// The message as it goes into DATA (before dot-stuffing), CRLF line ends.
    pub content: Vec<u8>,
}

/// An address that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidAddress {
    pub field: SettingsField,
    pub detail: String,
}

/// Parses an address for the envelope or a header. Rejects anything that could break out
/// of `MAIL FROM:<…>` (CR, LF, `<`, `>`, spaces) before lettre checks the syntax.
pub fn parse_address(address: &str, field: SettingsField) -> Result<Address, InvalidAddress> {
    let invalid =
        |why: &str| InvalidAddress { field, detail: format!("“{address}” is not a valid e-mail address{why}") };
    if address.chars().any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>') {
        return Err(invalid(" (it contains spaces, line breaks or angle brackets)"));
    }
    address.parse::<Address>().map_err(|_| invalid(""))
}

fn mailbox(addr: &MailAddress, field: SettingsField) -> Result<Mailbox, InvalidAddress> {
    let name = addr.name.as_ref().map(|n| n.replace(['\r', '\n'], " ")).filter(|n| !n.trim().is_empty());
    Ok(Mailbox::new(name, parse_address(&addr.address, field)?))
}

fn show(addr: &MailAddress) -> String {
    match &addr.name {
        Some(name) => format!("{name} <{}>", addr.address),
        None => addr.address.clone(),
    }
}

fn encryption_label(e: Encryption) -> &'static str {
    match e {
        Encryption::None => "none / keine",
        Encryption::Starttls => "STARTTLS",
        Encryption::Tls => "TLS (SMTPS)",
    }
}

/// Builds the test mail: From and Reply-To as the sender policy decided, To the
/// recipient; the body says when, through which server and with which sender it was
/// sent. It never contains the password.
pub fn build_test_mail(cfg: &TestConfig, now: DateTime<Utc>) -> Result<TestMail, InvalidAddress> {
    let sender = &cfg.sender;
    // From is the default sender unless the policy chose the acting user.
    let from_field = if sender.from.address == sender.envelope_from {
        SettingsField::SenderAddress
    } else {
        SettingsField::ActingUserAddress
    };
    let from = mailbox(&sender.from, from_field)?;
    let reply_to = sender.reply_to.as_ref().map(|r| mailbox(r, SettingsField::ActingUserAddress)).transpose()?;
    let to = Mailbox::new(None, parse_address(&cfg.recipient, SettingsField::Recipient)?);
    let envelope_from = parse_address(&sender.envelope_from, SettingsField::SenderAddress)?;

    let message_id = format!("<{}.postamt-test@{}>", random_hex(12), envelope_from.domain());
    let when = now.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let login = cfg.credentials.as_ref().map(|c| c.username.as_str());
    let reply_to_text = sender.reply_to.as_ref().map(show);
    let body = format!(
        "Deutsch\n\
         -------\n\
         Diese Testmail hat Postamt mit den unten genannten Einstellungen versandt.\n\
         Wenn Sie sie lesen, funktioniert der E-Mail-Versand.\n\
         \n\
         Zeitpunkt:           {when}\n\
         SMTP-Server:         {host}\n\
         Port:                {port}\n\
         Verschlüsselung:     {enc}\n\
         Anmeldung:           {login_de}\n\
         From:                {from}\n\
         Reply-To:            {reply_de}\n\
         Umschlag-Absender:   {envelope}\n\
         \n\
         From und Reply-To hat die Absender-Regel der Einstellungen gesetzt.\n\
         Das Passwort steht nie in dieser Nachricht.\n\
         \n\
         English\n\
         -------\n\
         Postamt sent this test mail with the settings below.\n\
         If you can read it, sending mail works.\n\
         \n\
         Time:                {when}\n\
         SMTP server:         {host}\n\
         Port:                {port}\n\
         Encryption:          {enc}\n\
         Login:               {login_en}\n\
         From:                {from}\n\
         Reply-To:            {reply_en}\n\
         Envelope sender:     {envelope}\n\
         \n\
         From and Reply-To were set by the sender policy of the settings.\n\
         The password is never part of this message.\n",
        host = cfg.host,
        port = cfg.port,
        enc = encryption_label(cfg.encryption),
        login_de = login.map(|u| format!("als {u}")).unwrap_or_else(|| "ohne".to_owned()),
        login_en = login.map(|u| format!("as {u}")).unwrap_or_else(|| "none".to_owned()),
        from = show(&sender.from),
        reply_de = reply_to_text.clone().unwrap_or_else(|| "(keiner)".to_owned()),
        reply_en = reply_to_text.unwrap_or_else(|| "(none)".to_owned()),
        envelope = sender.envelope_from,
    );

    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject("Testmail von Postamt / Test mail from Postamt")
        .date(SystemTime::from(now))
        .message_id(Some(message_id.clone()))
        .user_agent("Postamt".to_owned())
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".to_owned()))
        .header(ContentType::TEXT_PLAIN);
    if let Some(reply_to) = reply_to {
        builder = builder.reply_to(reply_to);
    }
    let message = builder
        .body(body)
        .map_err(|e| InvalidAddress { field: SettingsField::SenderAddress, detail: e.to_string() })?;
    Ok(TestMail { message_id, content: message.formatted() })
}

fn random_hex(bytes: usize) -> String {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; bytes];
    if ring::rand::SystemRandom::new().fill(&mut buf).is_err() {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        return format!("{nanos:x}");
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The message as sent after `354`, as a sequence of byte slices: bare LF made CRLF, every
/// line starting with `.` gets another `.` (RFC 5321 §4.5.2), then `CRLF . CRLF`. Runs that
/// need no change are yielded as one slice of the content, so a large message goes out in
/// large pieces without being copied into a second buffer.
pub(crate) struct DotStuffed<'a> {
    content: &'a [u8],
    /// Start of what has not been yielded yet.
    pos: usize,
    /// `pos` is at the start of a line.
    line_start: bool,
    /// A piece to yield before going on (the CRLF after a bare LF).
    pending: Option<&'static [u8]>,
    done: bool,
}

impl<'a> DotStuffed<'a> {
    pub(crate) fn new(content: &'a [u8]) -> Self {
        DotStuffed { content, pos: 0, line_start: true, pending: None, done: false }
    }
}

impl<'a> Iterator for DotStuffed<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if let Some(piece) = self.pending.take() {
            return Some(piece);
        }
        if self.done {
            return None;
        }
        let content = self.content;
        let start = self.pos;
        let mut i = start;
        loop {
            if self.line_start && content.get(i) == Some(&b'.') {
                if i > start {
                    self.pos = i;
                    return Some(&content[start..i]);
                }
                // The extra dot; the line itself follows with the next piece.
                self.line_start = false;
                return Some(b".");
            }
            self.line_start = false;
            match memchr::memchr(b'\n', &content[i..]) {
                Some(offset) => {
                    let lf = i + offset;
                    self.line_start = true;
                    if lf == 0 || content[lf - 1] != b'\r' {
                        // Bare LF: the text before it, then CRLF in its place.
                        self.pos = lf + 1;
                        if lf > start {
                            self.pending = Some(b"\r\n");
                            return Some(&content[start..lf]);
                        }
                        return Some(b"\r\n");
                    }
                    i = lf + 1;
                }
                None => {
                    self.pos = content.len();
                    if start < content.len() {
                        return Some(&content[start..]);
                    }
                    self.done = true;
                    return Some(if content.is_empty() || content.ends_with(b"\n") { b".\r\n" } else { b"\r\n.\r\n" });
                }
            }
        }
    }
}

/// The whole transfer encoding in one buffer (for tests of [`DotStuffed`]).
#[cfg(test)]
pub(crate) fn dot_stuff(content: &[u8]) -> Vec<u8> {
    DotStuffed::new(content).flatten().copied().collect()
}

/// The header lines of a message (up to the empty line), for the transcript.
pub(crate) fn header_lines(content: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(content).split("\r\n").take_while(|line| !line.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Credentials;
    use postamt_wire::{ActingUser, EffectiveSender};

    fn config(force: bool) -> TestConfig {
        let user = ActingUser { name: Some("Erika Mustermann".into()), address: "erika@example.org".into() };
        let sender = EffectiveSender::apply("TEAMBOX", "teambox@example.org", force, true, Some(&user));
        let mut cfg = TestConfig::new("smtp.example.org", 587, Encryption::Starttls, sender, "someone@example.org");
        cfg.credentials = Some(Credentials::password("teambox@example.org", "pw-XYZ-123"));
        cfg
    }

    #[test]
    fn dot_stuffing_and_line_ends() {
        assert_eq!(dot_stuff(b"a\r\n.b\r\n..c\r\n"), b"a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(dot_stuff(b".\nx"), b"..\r\nx\r\n.\r\n");
        assert_eq!(dot_stuff(b"x.y\r\n"), b"x.y\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
        assert_eq!(dot_stuff(b"\n\n.x"), b"\r\n\r\n..x\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\r\n.\r\n"), b"a\r\n..\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\rb\r\n"), b"a\rb\r\n.\r\n");
        assert_eq!(dot_stuff(b"."), b"..\r\n.\r\n");
    }

    #[test]
    fn dot_stuffing_yields_unchanged_runs_whole() {
        let mut content = Vec::new();
        for i in 0..2_000 {
            content.extend_from_slice(format!("line {i} of a large message\r\n").as_bytes());
        }
        content.extend_from_slice(b".dot\r\nend\r\n");
        let pieces: Vec<&[u8]> = DotStuffed::new(&content).collect();
        assert_eq!(pieces.len(), 4, "run, extra dot, rest, final dot");
        assert!(pieces[0].len() > 50_000);
        assert_eq!(pieces[1], b".");
        assert_eq!(pieces[2], b".dot\r\nend\r\n");
        assert_eq!(pieces[3], b".\r\n");
    }

    #[test]
    fn test_mail_carries_the_policy_headers_and_never_the_password() {
        let mail = build_test_mail(&config(true), Utc::now()).unwrap();
        let text = String::from_utf8(mail.content.clone()).unwrap();
        assert!(text.contains("From: TEAMBOX <teambox@example.org>\r\n"), "{text}");
        assert!(text.contains("Reply-To: \"Erika Mustermann\" <erika@example.org>\r\n"), "{text}");
        assert!(text.contains("To: someone@example.org\r\n"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-generated\r\n"), "{text}");
        assert!(text.contains(&format!("Message-ID: {}\r\n", mail.message_id)), "{text}");
        assert!(!text.contains("pw-XYZ-123"));
        assert!(header_lines(&mail.content).iter().any(|l| l.starts_with("Subject: ")));
        // The body is encoded 7-bit safe (German umlauts), so no 8BITMIME is needed.
        assert!(mail.content.iter().all(|b| b.is_ascii()));

        let mail = build_test_mail(&config(false), Utc::now()).unwrap();
        let text = String::from_utf8(mail.content.clone()).unwrap();
        assert!(text.contains("From: \"Erika Mustermann\" <erika@example.org>\r\n"), "{text}");
        assert!(!header_lines(&mail.content).iter().any(|l| l.starts_with("Reply-To:")), "{text}");
    }

    #[test]
    fn addresses_that_could_inject_commands_are_rejected() {
        let mut cfg = config(true);
        cfg.recipient = "a@example.org>\r\nRCPT TO:<b@example.org".into();
        let err = build_test_mail(&cfg, Utc::now()).unwrap_err();
        assert_eq!(err.field, SettingsField::Recipient);
        assert!(parse_address("not an address", SettingsField::Recipient).is_err());
        assert!(parse_address("someone@example.org", SettingsField::Recipient).is_ok());
    }
}
