//! Sending on an open session: [`SmtpSession::send`] for one message and its answer, or
//! [`SmtpSession::submit`] and [`SmtpSession::finish`] to pipeline messages (RFC 2920).
//!
//! Pipelined, each message costs one round trip instead of two: the next message's MAIL
//! FROM, RCPT TO and DATA go out right after the previous content's final `.`, and that
//! content's answer is read together with their answers. A server without PIPELINING gets
//! the plain exchange through the same calls: the pending answer is read first.
//!
//! Whose fault is what: the previous message's answer decides only the previous message.
//! If the connection ends before that answer (a 421, a reset, the deadline), the previous
//! message fails as a send that may have been accepted, and the current one is
//! [`Submitted::Untried`]: nothing of it was answered, so it is not an attempt of its own
//! and goes again over a new session.

use std::time::Instant;

use postamt_wire::{FailureClass, StageName};

use super::session::SmtpSession;
use super::transaction::{check_envelope, Refused};
use super::{DeliveryFailure, DeliveryReceipt};
use crate::classify::{self, Fail};
use crate::conn::ReadError;
use crate::reply::Reply;

/// A message whose content is written and whose answer is still to be read.
pub(super) struct InFlight {
    started: Instant,
    sender: String,
    /// The first recipient, for a failure's hint.
    recipient: String,
    recipients: usize,
    bytes: usize,
}

/// What [`SmtpSession::submit`] did with the previous message and with this one.
#[derive(Debug)]
#[must_use = "the previous message's outcome must be recorded"]
pub struct Submission {
    /// The outcome of the message submitted before, if its answer was pending. `None` when
    /// none was pending, or when this message was refused before anything was written.
    pub previous: Option<Result<DeliveryReceipt, DeliveryFailure>>,
    /// This message.
    pub this: Submitted,
}

/// What became of a submitted message.
#[derive(Debug)]
pub enum Submitted {
    /// Its content is written; the next [`SmtpSession::submit`] or [`SmtpSession::finish`]
    /// reads its answer.
    Pending,
    /// It was not sent: the same failures as [`SmtpSession::send`], before the content.
    Failed(DeliveryFailure),
    /// The connection ended while the previous message's answer was awaited; nothing of
    /// this message was answered. Send it again over a new session; it is not a failed
    /// attempt.
    Untried,
}

impl SmtpSession {
    /// Sends one message and reads its answer: MAIL FROM, RCPT TO for each recipient, DATA
    /// and `content` (an RFC 5322 message with CRLF line ends; dot-stuffing and the final
    /// `.` are done here), under one deadline of the configured timeout for the envelope
    /// and content, and another for the answer.
    ///
    /// All or nothing: if any recipient is rejected, no DATA is sent and the failure names
    /// that recipient. After a rejection RSET keeps the connection usable (not after a 421:
    /// the server closes). An address with spaces, line breaks or angle brackets is
    /// refused before anything is sent (`invalid_settings`, permanent); an empty
    /// `envelope_from` sends the null sender `<>`.
    ///
    /// Refused without sending while a [`submit`](Self::submit)ted message's answer is
    /// pending: [`finish`](Self::finish) it first.
    pub async fn send(
        &mut self,
        envelope_from: &str,
        recipients: &[String],
        content: &[u8],
    ) -> Result<DeliveryReceipt, DeliveryFailure> {
        if self.in_flight.is_some() {
            let fail = Fail::new(FailureClass::ProtocolError, None)
                .detail("a submitted message's answer is still pending; finish it first");
            let first = recipients.first().map(String::as_str).unwrap_or("");
            return Err(self.fail(StageName::MailFrom, fail, envelope_from, first, Instant::now()));
        }
        let Submission { previous, this } = self.submit(envelope_from, recipients, content).await;
        debug_assert!(previous.is_none(), "nothing was pending");
        match this {
            Submitted::Pending => match self.finish().await {
                Some(outcome) => outcome,
                None => unreachable!("a pending message has an answer to read"),
            },
            Submitted::Failed(failure) => Err(failure),
            Submitted::Untried => unreachable!("untried only behind a pending message"),
        }
    }

    /// Sends one message up to its content and leaves its answer pending, so that the next
    /// message's envelope can follow without waiting (RFC 2920); returns the answer to the
    /// message submitted before, if one was pending. Checks and failures as
    /// [`send`](Self::send); the deadline of the configured timeout covers the previous
    /// answer, this envelope and this content.
    ///
    /// Every pending answer must be read: by the next `submit`, or by
    /// [`finish`](Self::finish) before the caller waits, sends elsewhere or closes.
    pub async fn submit(&mut self, envelope_from: &str, recipients: &[String], content: &[u8]) -> Submission {
        let started = Instant::now();
        let first = recipients.first().map(String::as_str).unwrap_or("");
        if let Err(invalid) = check_envelope(envelope_from, recipients) {
            let (stage, fail, at) = *invalid;
            let recipient = at.map_or(first, |i| recipients[i].as_str());
            let failure = self.fail(stage, fail, envelope_from, recipient, started);
            return Submission { previous: None, this: Submitted::Failed(failure) };
        }
        // Without PIPELINING the next command waits for the pending answer.
        let mut previous = None;
        if !self.caps.pipelining {
            previous = self.finish().await;
        }
        if self.broken || self.in_transaction || !self.conn.is_sane() {
            if previous.is_some() {
                return Submission { previous, this: Submitted::Untried };
            }
            let fail = Fail::new(FailureClass::ProtocolError, None)
                .detail("this SMTP connection is no longer usable; open a new session");
            let failure = self.fail(StageName::MailFrom, fail, envelope_from, first, started);
            return Submission { previous, this: Submitted::Failed(failure) };
        }

        let deadline = tokio::time::Instant::from_std(started + self.cfg.timeout);
        self.in_transaction = true;
        self.stage = StageName::MailFrom;
        let outcome = tokio::time::timeout_at(deadline, self.transaction(envelope_from, recipients, content)).await;
        self.last_used = Instant::now();
        let timed_out = outcome.is_err();
        // The previous message's answer never came, or closed the connection: then nothing
        // of this one was answered.
        let previous_lost = self.in_flight.is_some() && !matches!(&self.answered, Some(Ok(reply)) if reply.code != 421);
        if let Some(flight) = self.in_flight.take() {
            let answer = match self.answered.take() {
                Some(Ok(reply)) => Answer::Reply(reply),
                Some(Err(e)) => Answer::Lost(classify::read_failure(StageName::Data, &e)),
                // The deadline passed, or this envelope could not be written.
                None if timed_out => Answer::TimedOut,
                None => Answer::Lost(
                    Fail::new(FailureClass::ProtocolError, None)
                        .detail("the connection broke before the server answered the message"),
                ),
            };
            previous = Some(self.conclude(flight, answer));
        }
        let refused = match outcome {
            Ok(Ok(())) => {
                self.in_transaction = false;
                self.in_flight = Some(InFlight {
                    started,
                    sender: envelope_from.to_owned(),
                    recipient: first.to_owned(),
                    recipients: recipients.len(),
                    bytes: content.len(),
                });
                return Submission { previous, this: Submitted::Pending };
            }
            Ok(Err(refused)) => refused,
            Err(_) => {
                let secs = self.cfg.timeout.as_secs_f64().ceil() as u64;
                Refused::broken(self.stage, classify::timeout_failure(self.stage, secs))
            }
        };
        if previous_lost {
            self.broken = true;
            return Submission { previous, this: Submitted::Untried };
        }
        let Refused { stage, fail, recipient, broken } = refused;
        if broken || fail.code == Some(421) {
            self.broken = true;
        } else {
            self.reset(deadline).await;
        }
        let recipient = recipient.map_or(first, |i| recipients[i].as_str());
        let failure = self.fail(stage, fail, envelope_from, recipient, started);
        Submission { previous, this: Submitted::Failed(failure) }
    }

    /// Reads the answer to the submitted message, if one is pending, within the configured
    /// timeout.
    pub async fn finish(&mut self) -> Option<Result<DeliveryReceipt, DeliveryFailure>> {
        self.in_flight.as_ref()?;
        self.stage = StageName::Data;
        let read = tokio::time::timeout(self.cfg.timeout, self.conn.read_reply_quiet()).await;
        self.last_used = Instant::now();
        let answer = match read {
            Ok(Ok(reply)) => Answer::Reply(reply),
            Ok(Err(e)) => Answer::Lost(classify::read_failure(StageName::Data, &e)),
            Err(_) => Answer::TimedOut,
        };
        let flight = self.in_flight.take()?;
        Some(self.conclude(flight, answer))
    }

    /// Whether a submitted message's answer is pending.
    pub fn is_pending(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The outcome of a message from the answer to its content.
    fn conclude(&mut self, flight: InFlight, answer: Answer) -> Result<DeliveryReceipt, DeliveryFailure> {
        let ctx = self.ctx;
        let fail = match answer {
            Answer::Reply(reply) if reply.is_positive() => {
                self.messages += 1;
                let receipt = DeliveryReceipt {
                    reply: self.redactor.redact(&reply.one_line()),
                    duration_ms: flight.started.elapsed().as_millis() as u64,
                };
                tracing::debug!(
                    target: "postamt_smtp::delivery",
                    recipients = flight.recipients,
                    bytes = flight.bytes,
                    duration_ms = receipt.duration_ms,
                    "message sent"
                );
                return Ok(receipt);
            }
            // The transaction is over either way: no RSET needed.
            Answer::Reply(reply) => {
                self.broken |= reply.code == 421;
                classify::reply_failure(StageName::Data, &reply, ctx)
            }
            Answer::Lost(fail) => {
                self.broken = true;
                fail
            }
            Answer::TimedOut => {
                self.broken = true;
                let secs = self.cfg.timeout.as_secs_f64().ceil() as u64;
                classify::timeout_failure(StageName::Data, secs).detail(format!(
                    "no answer to the message within the deadline of {secs} s; the server may have accepted it"
                ))
            }
        };
        Err(self.fail(StageName::Data, fail, &flight.sender, &flight.recipient, flight.started))
    }
}

/// How the answer to a message's content turned out.
enum Answer {
    Reply(Reply),
    Lost(Fail),
    TimedOut,
}

/// Kept while the answer is read inside the next message's exchange.
pub(super) type Answered = Option<Result<Reply, ReadError>>;
