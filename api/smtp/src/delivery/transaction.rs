//! One message's exchange on an open session: the envelope (pipelined when the server
//! offers it), DATA and the content; the answer to the content is read by the caller
//! ([`super::pipeline`]), so that the next message's envelope can go out before it.

use postamt_wire::{FailureClass, SettingsField, StageName};

use super::session::SmtpSession;
use crate::classify::{self, Fail, ReplyContext};
use crate::message::parse_address;
use crate::reply::Reply;

/// How many further rejected recipients a failure's detail names after the first.
const MORE_REJECTED_NAMED: usize = 5;

/// A send that did not end with the server accepting the message.
pub(super) struct Refused {
    pub stage: StageName,
    pub fail: Fail,
    /// Index of the recipient at fault.
    pub recipient: Option<usize>,
    /// The connection cannot be used any more (no RSET possible).
    pub broken: bool,
}

impl Refused {
    pub fn broken(stage: StageName, fail: Fail) -> Self {
        Refused { stage, fail, recipient: None, broken: true }
    }
}

impl SmtpSession {
    /// The exchange of one message up to its content: `Ok` once the content and its final
    /// `.` are written. `self.stage` follows it for a deadline.
    ///
    /// With PIPELINING and a message in flight ([`SmtpSession::in_flight`]), its answer is
    /// read right after this envelope went out (RFC 2920: the content of one message may be
    /// followed by the next MAIL FROM, RCPT TO and DATA without waiting), and kept in
    /// [`SmtpSession::answered`]. If that answer cannot be read or is a 421, this message
    /// is left untried (`Err` with `broken`).
    pub(super) async fn transaction(
        &mut self,
        envelope_from: &str,
        recipients: &[String],
        content: &[u8],
    ) -> Result<(), Refused> {
        let ctx = self.ctx;
        let conn = &mut self.conn;
        let size = self.caps.size.map(|_| content.len().to_string());
        let eight_bit = self.caps.eightbitmime && !content.is_ascii();
        let utf8 = self.caps.smtputf8 && (!envelope_from.is_ascii() || recipients.iter().any(|r| !r.is_ascii()));
        conn.queue(&[
            b"MAIL FROM:<",
            envelope_from.as_bytes(),
            b">",
            if size.is_some() { b" SIZE=" } else { b"" },
            size.as_deref().unwrap_or("").as_bytes(),
            if eight_bit { b" BODY=8BITMIME" } else { b"" },
            if utf8 { b" SMTPUTF8" } else { b"" },
        ]);

        let write = |stage| move |e: std::io::Error| Refused::broken(stage, classify::write_failure(&e));
        let read = |stage| move |e| Refused::broken(stage, classify::read_failure(stage, &e));
        let refuse = |stage, reply: &Reply, recipient| Refused {
            stage,
            fail: classify::reply_failure(stage, reply, ctx),
            recipient,
            broken: false,
        };

        // With PIPELINING, MAIL FROM and every RCPT TO go in one write. With one recipient,
        // DATA joins them (RFC 2920 allows it last in a group): the message then costs two
        // round trips instead of three. With several, DATA waits for their answers, since
        // a server answers 354 when any one recipient was accepted, and a transaction past
        // 354 cannot be called off: all or nothing needs every answer first.
        let data_in_group = self.caps.pipelining && recipients.len() == 1;
        if self.caps.pipelining {
            for recipient in recipients {
                conn.queue(&[b"RCPT TO:<", recipient.as_bytes(), b">"]);
            }
            if data_in_group {
                conn.queue(&[b"DATA"]);
            }
            conn.flush_queued().await.map_err(write(StageName::MailFrom))?;
            if self.in_flight.is_some() {
                conn.ack_promptly();
                let answer = conn.read_reply_quiet().await;
                let lost = !matches!(&answer, Ok(reply) if reply.code != 421);
                self.answered = Some(answer);
                if lost {
                    let fail = Fail::new(FailureClass::ProtocolError, None)
                        .detail("the connection ended before the server answered the message sent before this one");
                    return Err(Refused::broken(StageName::MailFrom, fail));
                }
            }
            let mail = conn.read_reply_quiet().await.map_err(read(StageName::MailFrom))?;
            if mail.code == 421 {
                return Err(refuse(StageName::MailFrom, &mail, None));
            }
            self.stage = StageName::RcptTo;
            let mut rejected: Vec<(usize, Reply)> = Vec::new();
            let mut closing = false;
            for i in 0..recipients.len() {
                let reply = match conn.read_reply_quiet().await {
                    Ok(reply) => reply,
                    // The server may close after a rejection; report the rejection.
                    Err(_) if !mail.is_positive() => {
                        let mut refused = refuse(StageName::MailFrom, &mail, None);
                        refused.broken = true;
                        return Err(refused);
                    }
                    Err(e) => return Err(read(StageName::RcptTo)(e)),
                };
                closing = reply.code == 421;
                if !reply.is_positive() {
                    rejected.push((i, reply));
                }
                if closing {
                    break;
                }
            }
            let refused = if !mail.is_positive() {
                Some(refuse(StageName::MailFrom, &mail, None))
            } else if !rejected.is_empty() {
                Some(rejected_recipients(recipients, rejected, ctx))
            } else {
                None
            };
            if data_in_group && !closing {
                // The answer to the pipelined DATA, to keep the exchange in step.
                self.stage = StageName::Data;
                let data = conn.read_reply_quiet().await.map_err(read(StageName::Data))?;
                match refused {
                    // Without an accepted recipient the server must refuse DATA; one that
                    // answered 354 anyway waits for content that must not go out: only
                    // closing the connection calls the transaction off.
                    Some(mut refused) => {
                        refused.broken |= data.code == 354;
                        return Err(refused);
                    }
                    None if data.code != 354 => return Err(refuse(StageName::Data, &data, None)),
                    None => {}
                }
            } else if let Some(refused) = refused {
                return Err(refused);
            }
        } else {
            conn.flush_queued().await.map_err(write(StageName::MailFrom))?;
            let mail = conn.read_reply_quiet().await.map_err(read(StageName::MailFrom))?;
            if !mail.is_positive() {
                return Err(refuse(StageName::MailFrom, &mail, None));
            }
            self.stage = StageName::RcptTo;
            for (i, recipient) in recipients.iter().enumerate() {
                conn.queue(&[b"RCPT TO:<", recipient.as_bytes(), b">"]);
                conn.flush_queued().await.map_err(write(StageName::RcptTo))?;
                let reply = conn.read_reply_quiet().await.map_err(read(StageName::RcptTo))?;
                if !reply.is_positive() {
                    return Err(rejected_recipients(recipients, vec![(i, reply)], ctx));
                }
            }
        }

        if !data_in_group {
            self.stage = StageName::Data;
            conn.queue(&[b"DATA"]);
            conn.flush_queued().await.map_err(write(StageName::Data))?;
            let reply = conn.read_reply_quiet().await.map_err(read(StageName::Data))?;
            if reply.code != 354 {
                return Err(refuse(StageName::Data, &reply, None));
            }
        }
        self.stage = StageName::Data;
        conn.write_data(content).await.map_err(write(StageName::Data))?;
        Ok(())
    }

    /// RSET after a rejection, within what is left of the send's deadline; if it does not
    /// come back 250, the session is broken.
    pub(super) async fn reset(&mut self, deadline: tokio::time::Instant) {
        let conn = &mut self.conn;
        let rset = async {
            conn.queue(&[b"RSET"]);
            conn.flush_queued().await.ok()?;
            conn.read_reply_quiet().await.ok()
        };
        match tokio::time::timeout_at(deadline, rset).await {
            Ok(Some(reply)) if reply.code == 250 => self.in_transaction = false,
            _ => self.broken = true,
        }
    }
}

/// The envelope's addresses, checked before anything is sent: nothing that could end the
/// command or add another. Returns the stage, the failure and the recipient at fault.
pub(super) fn check_envelope(
    envelope_from: &str,
    recipients: &[String],
) -> Result<(), Box<(StageName, Fail, Option<usize>)>> {
    let invalid =
        |e: crate::message::InvalidAddress| Fail::new(FailureClass::InvalidSettings, Some(e.field)).detail(e.detail);
    if !envelope_from.is_empty() {
        parse_address(envelope_from, SettingsField::SenderAddress)
            .map_err(|e| Box::new((StageName::MailFrom, invalid(e), None)))?;
    }
    if recipients.is_empty() {
        let fail = Fail::new(FailureClass::InvalidSettings, Some(SettingsField::Recipient))
            .detail("the message has no recipient");
        return Err(Box::new((StageName::RcptTo, fail, None)));
    }
    for (i, recipient) in recipients.iter().enumerate() {
        parse_address(recipient, SettingsField::Recipient)
            .map_err(|e| Box::new((StageName::RcptTo, invalid(e), Some(i))))?;
    }
    Ok(())
}

/// The failure for rejected recipients: decided by the first permanent rejection (it makes
/// retrying pointless), else the first one; the detail names the recipient, and the others
/// rejected too.
fn rejected_recipients(recipients: &[String], rejected: Vec<(usize, Reply)>, ctx: ReplyContext) -> Refused {
    let decisive = rejected.iter().position(|(_, reply)| reply.is_permanent()).unwrap_or(0);
    let (index, reply) = &rejected[decisive];
    let mut detail = format!(
        "the recipient <{}> was rejected: {}; the message content was not sent",
        recipients[*index],
        reply.one_line()
    );
    let others: Vec<String> = rejected
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != decisive)
        .map(|(_, (j, reply))| format!("<{}> ({})", recipients[*j], reply.summary()))
        .collect();
    if !others.is_empty() {
        let named = others.len().min(MORE_REJECTED_NAMED);
        detail.push_str(&format!("; also rejected: {}", others[..named].join(", ")));
        if others.len() > named {
            detail.push_str(&format!(" and {} more", others.len() - named));
        }
    }
    Refused {
        stage: StageName::RcptTo,
        fail: classify::reply_failure(StageName::RcptTo, reply, ctx).detail(detail),
        recipient: Some(*index),
        broken: reply.code == 421,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::failure;

    #[test]
    fn envelopes_that_could_inject_commands_are_refused() {
        let to = |r: &str| vec![r.to_owned()];
        assert!(check_envelope("a@example.org", &to("b@example.org")).is_ok());
        assert!(check_envelope("", &to("b@example.org")).is_ok(), "null sender");
        let (stage, fail, at) = *check_envelope(
            "a@example.org",
            &["b@example.org".to_owned(), "c@example.org>\r\nRCPT TO:<d@example.org".to_owned()],
        )
        .unwrap_err();
        assert_eq!(
            (stage, fail.class, fail.field, at),
            (StageName::RcptTo, FailureClass::InvalidSettings, Some(SettingsField::Recipient), Some(1))
        );
        assert!(failure::is_permanent(&fail));
        let (stage, fail, _) = *check_envelope("a@example.org>\r\nRSET", &to("b@example.org")).unwrap_err();
        assert_eq!((stage, fail.field), (StageName::MailFrom, Some(SettingsField::SenderAddress)));
        let (_, fail, _) = *check_envelope("a@example.org", &[]).unwrap_err();
        assert_eq!(fail.field, Some(SettingsField::Recipient));
    }

    #[test]
    fn the_decisive_rejection_is_the_first_permanent_one() {
        let reply = |code, text: &str| Reply { code, lines: vec![text.to_owned()] };
        let recipients: Vec<String> = ["a@x.org", "b@x.org", "c@x.org"].map(String::from).into();
        let refused = rejected_recipients(
            &recipients,
            vec![(0, reply(451, "4.7.1 Greylisted")), (2, reply(550, "5.1.1 User unknown"))],
            ReplyContext { authenticated: true, encrypted: true },
        );
        assert_eq!(refused.recipient, Some(2));
        assert_eq!(refused.fail.class, FailureClass::RecipientRejected);
        assert_eq!(refused.fail.code, Some(550));
        let detail = refused.fail.detail.unwrap();
        assert!(detail.starts_with("the recipient <c@x.org> was rejected: 550 5.1.1 User unknown"), "{detail}");
        assert!(detail.contains("also rejected: <a@x.org> (451 4.7.1 Greylisted)"), "{detail}");
    }
}
