//! [`SmtpSession`]: open once (the test mail's stages), then send many messages.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use postamt_wire::{FailureClass, SettingsField, StageName, TlsInfo};

use super::failure::{self, Scene};
use super::{DeliveryConfig, DeliveryFailure, DeliveryReceipt};
use crate::classify::{self, Fail, ReplyContext};
use crate::config::is_valid_ehlo_name;
use crate::conn::Conn;
use crate::mask::Redactor;
use crate::message::parse_address;
use crate::reply::{Capabilities, Reply};
use crate::session::{self as exchange, Established, Run, CLOSE_GRACE, QUIT_GRACE};
use crate::stages::StageBook;
use crate::transcript::Transcript;

/// After this long without use, [`SmtpSession::is_usable`] asks the server with NOOP
/// whether the connection still works (servers drop idle connections after a while,
/// often silently). Change it per session with [`SmtpSession::set_noop_after_idle`].
pub const IDLE_NOOP_AFTER: Duration = Duration::from_secs(30);

/// How long NOOP may take at most (never longer than the configured timeout).
const NOOP_TIMEOUT: Duration = Duration::from_secs(5);

/// How many further rejected recipients a failure's detail names after the first.
const MORE_REJECTED_NAMED: usize = 5;

/// One open, authenticated SMTP connection for delivering messages, one after another.
///
/// Not for concurrent use: a worker owns its session (`&mut self`). After a failed
/// [`send`](SmtpSession::send) check [`is_usable`](SmtpSession::is_usable); a session
/// that is not usable is closed with [`close`](SmtpSession::close) or dropped, and a new
/// one opened.
pub struct SmtpSession {
    cfg: DeliveryConfig,
    conn: Conn,
    caps: Capabilities,
    ctx: ReplyContext,
    redactor: Redactor,
    tls: Option<TlsInfo>,
    mechanisms: Option<String>,
    peer: Option<SocketAddr>,
    opened_at: Instant,
    last_used: Instant,
    noop_after_idle: Duration,
    messages: u64,
    /// A transaction was begun and not finished cleanly (a send future dropped midway,
    /// a failed RSET): what the server expects next is unknown.
    in_transaction: bool,
    /// The connection failed, timed out, got a 421, or the server closed it.
    broken: bool,
    /// The stage the running send is in, for a deadline that cuts it short.
    stage: StageName,
    /// The final `.` was written: a timeout now leaves it open whether the server took
    /// the message.
    content_sent: bool,
}

/// A send that did not end with the server accepting the message.
struct Refused {
    stage: StageName,
    fail: Fail,
    /// Index of the recipient at fault.
    recipient: Option<usize>,
    /// The connection cannot be used any more (no RSET possible).
    broken: bool,
}

impl Refused {
    fn broken(stage: StageName, fail: Fail) -> Self {
        Refused { stage, fail, recipient: None, broken: true }
    }
}

impl SmtpSession {
    /// Resolve, connect, TLS (implicit) or STARTTLS (never silently plaintext when STARTTLS
    /// is configured), greeting, EHLO and AUTH (PLAIN, else LOGIN), all under one deadline
    /// of `cfg.timeout`. Fails with the stage, class, field and hint the test mail would
    /// show for the same server.
    pub async fn open(cfg: &DeliveryConfig) -> Result<SmtpSession, DeliveryFailure> {
        let started = Instant::now();
        let deadline = started + cfg.timeout;
        let credentials = cfg.credentials.as_ref();
        let redactor = Redactor::new(credentials.map(|c| c.username.as_str()), credentials.map(|c| &c.password));
        let transcript = Transcript::new(started, redactor.clone());
        let ehlo_name = if is_valid_ehlo_name(&cfg.ehlo_name) {
            cfg.ehlo_name.clone()
        } else {
            transcript
                .info(format!("EHLO name “{}” is not a domain or address literal; using localhost.", cfg.ehlo_name));
            "localhost".to_owned()
        };
        let mut run = Run {
            ep: cfg.endpoint(),
            mail: None,
            deadline,
            ehlo_name,
            book: StageBook::new(cfg.encryption),
            transcript,
            tls: None,
            peer: None,
            mechanisms: None,
            failure: None,
        };
        tracing::debug!(
            target: "postamt_smtp::delivery",
            host = %cfg.host,
            port = cfg.port,
            encryption = cfg.encryption.as_str(),
            timeout_ms = cfg.timeout.as_millis() as u64,
            "opening SMTP session"
        );
        let deadline = tokio::time::Instant::from_std(deadline);
        let mut slot: Option<Conn> = None;
        let outcome = tokio::time::timeout_at(deadline, exchange::establish(&mut run, &mut slot)).await;
        let (stage, fail) = match (outcome, slot.take()) {
            (Ok(Ok(Established { caps, ctx })), Some(conn)) => {
                let now = Instant::now();
                let session = SmtpSession {
                    cfg: cfg.clone(),
                    conn,
                    caps,
                    ctx,
                    redactor,
                    tls: run.tls,
                    mechanisms: run.mechanisms,
                    peer: run.peer,
                    opened_at: now,
                    last_used: now,
                    noop_after_idle: IDLE_NOOP_AFTER,
                    messages: 0,
                    in_transaction: false,
                    broken: false,
                    stage: StageName::MailFrom,
                    content_sent: false,
                };
                tracing::info!(
                    target: "postamt_smtp::delivery",
                    host = %cfg.host,
                    port = cfg.port,
                    encryption = cfg.encryption.as_str(),
                    peer = session.peer.map(|p| p.to_string()),
                    tls = session.tls_protocol(),
                    authenticated = session.ctx.authenticated,
                    pipelining = session.caps.pipelining,
                    duration_ms = started.elapsed().as_millis() as u64,
                    "SMTP session opened"
                );
                return Ok(session);
            }
            (Ok(Ok(_)), None) => (
                StageName::Connect,
                Fail::new(FailureClass::ProtocolError, None).detail("the connection was lost while opening"),
            ),
            (Ok(Err(fail)), conn) => {
                let stage = run.book.running().unwrap_or(StageName::Resolve);
                if let Some(mut conn) = conn {
                    let _ = tokio::time::timeout_at(deadline, exchange::quit(&run.transcript, &mut conn)).await;
                }
                (stage, fail)
            }
            (Err(_), _) => {
                // Whatever was in flight is abandoned; dropping the connection closes it.
                let stage = run.book.running().unwrap_or(StageName::Resolve);
                let secs = cfg.timeout.as_secs_f64().ceil() as u64;
                (stage, classify::timeout_failure(stage, secs))
            }
        };
        let scene = Scene {
            cfg,
            redactor: &redactor,
            sender: "",
            recipient: "",
            tls: run.tls.as_ref(),
            mechanisms: run.mechanisms.as_deref(),
        };
        let failure = failure::build(&scene, stage, fail);
        tracing::info!(
            target: "postamt_smtp::delivery",
            host = %cfg.host,
            port = cfg.port,
            stage = stage.as_str(),
            class = failure.class.as_str(),
            reply_code = failure.reply_code,
            permanent = failure.permanent,
            duration_ms = started.elapsed().as_millis() as u64,
            "SMTP session could not be opened"
        );
        Err(failure)
    }

    /// Sends one message: MAIL FROM, RCPT TO for each recipient, DATA and `content` (an RFC
    /// 5322 message with CRLF line ends; dot-stuffing and the final `.` are done here), all
    /// under one deadline of the configured timeout.
    ///
    /// All or nothing: if any recipient is rejected, no DATA is sent and the failure names
    /// that recipient. After a rejection RSET keeps the connection usable (not after a 421:
    /// the server closes). An address with spaces, line breaks or angle brackets is
    /// refused before anything is sent (`invalid_settings`, permanent); an empty
    /// `envelope_from` sends the null sender `<>`.
    pub async fn send(
        &mut self,
        envelope_from: &str,
        recipients: &[String],
        content: &[u8],
    ) -> Result<DeliveryReceipt, DeliveryFailure> {
        let started = Instant::now();
        let first = recipients.first().map(String::as_str).unwrap_or("");
        if let Err((stage, fail, at)) = check_envelope(envelope_from, recipients) {
            let recipient = at.map_or(first, |i| recipients[i].as_str());
            return Err(self.fail(stage, fail, envelope_from, recipient, started));
        }
        if self.broken || self.in_transaction || !self.conn.is_sane() {
            let fail = Fail::new(FailureClass::ProtocolError, None)
                .detail("this SMTP connection is no longer usable; open a new session");
            return Err(self.fail(StageName::MailFrom, fail, envelope_from, first, started));
        }

        let deadline = tokio::time::Instant::from_std(started + self.cfg.timeout);
        self.in_transaction = true;
        self.content_sent = false;
        self.stage = StageName::MailFrom;
        let outcome = tokio::time::timeout_at(deadline, self.transaction(envelope_from, recipients, content)).await;
        self.last_used = Instant::now();
        let refused = match outcome {
            Ok(Ok(reply)) => {
                self.in_transaction = false;
                self.messages += 1;
                let receipt = DeliveryReceipt {
                    reply: self.redactor.redact(&reply.one_line()),
                    duration_ms: started.elapsed().as_millis() as u64,
                };
                tracing::debug!(
                    target: "postamt_smtp::delivery",
                    recipients = recipients.len(),
                    bytes = content.len(),
                    duration_ms = receipt.duration_ms,
                    "message sent"
                );
                return Ok(receipt);
            }
            Ok(Err(refused)) => refused,
            Err(_) => {
                let secs = self.cfg.timeout.as_secs_f64().ceil() as u64;
                let mut fail = classify::timeout_failure(self.stage, secs);
                if self.content_sent {
                    fail = fail.detail(format!(
                        "no answer to the message within the deadline of {secs} s; the server may have accepted it"
                    ));
                }
                Refused::broken(self.stage, fail)
            }
        };
        let Refused { stage, fail, recipient, broken } = refused;
        if broken || fail.code == Some(421) {
            self.broken = true;
        } else {
            self.reset(deadline).await;
        }
        let recipient = recipient.map_or(first, |i| recipients[i].as_str());
        Err(self.fail(stage, fail, envelope_from, recipient, started))
    }

    /// The exchange of one message; `self.stage` follows it for a deadline.
    async fn transaction(
        &mut self,
        envelope_from: &str,
        recipients: &[String],
        content: &[u8],
    ) -> Result<Reply, Refused> {
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
        self.content_sent = true;
        let reply = conn.read_reply_quiet().await.map_err(read(StageName::Data))?;
        if reply.is_positive() {
            Ok(reply)
        } else {
            Err(refuse(StageName::Data, &reply, None))
        }
    }

    /// RSET after a rejection, within what is left of the send's deadline; if it does not
    /// come back 250, the session is broken.
    async fn reset(&mut self, deadline: tokio::time::Instant) {
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

    fn fail(&self, stage: StageName, fail: Fail, sender: &str, recipient: &str, started: Instant) -> DeliveryFailure {
        let scene = Scene {
            cfg: &self.cfg,
            redactor: &self.redactor,
            sender,
            recipient,
            tls: self.tls.as_ref(),
            mechanisms: self.mechanisms.as_deref(),
        };
        let failure = failure::build(&scene, stage, fail);
        tracing::info!(
            target: "postamt_smtp::delivery",
            stage = stage.as_str(),
            class = failure.class.as_str(),
            reply_code = failure.reply_code,
            permanent = failure.permanent,
            usable = !self.broken && !self.in_transaction,
            duration_ms = started.elapsed().as_millis() as u64,
            "message not sent"
        );
        failure
    }

    /// Whether the next [`send`](SmtpSession::send) can use this connection: false after a
    /// connection error, a 421, a timeout, an unfinished transaction, or when the server
    /// has closed the connection or sent something unasked. Costs no round trip, except
    /// after [`IDLE_NOOP_AFTER`] without use: then NOOP must come back 250 within a few
    /// seconds.
    pub async fn is_usable(&mut self) -> bool {
        if self.broken || self.in_transaction || !self.conn.is_sane() {
            return false;
        }
        if self.conn.peer_gone().await {
            tracing::debug!(target: "postamt_smtp::delivery", "the server closed the idle SMTP connection");
            self.broken = true;
            return false;
        }
        if self.last_used.elapsed() < self.noop_after_idle {
            return true;
        }
        let conn = &mut self.conn;
        let noop = async {
            conn.queue(&[b"NOOP"]);
            conn.flush_queued().await.ok()?;
            conn.read_reply_quiet().await.ok()
        };
        let usable = matches!(
            tokio::time::timeout(NOOP_TIMEOUT.min(self.cfg.timeout), noop).await,
            Ok(Some(reply)) if reply.code == 250
        );
        if usable {
            self.last_used = Instant::now();
        } else {
            tracing::debug!(target: "postamt_smtp::delivery", "no answer to NOOP on the idle SMTP connection");
            self.broken = true;
        }
        usable
    }

    /// QUIT and close, within 2 s. Without QUIT when the connection is not in a state to
    /// take it.
    pub async fn close(mut self) {
        let clean = !self.broken && !self.in_transaction && self.conn.is_sane();
        let conn = &mut self.conn;
        let close = async {
            if clean {
                conn.queue(&[b"QUIT"]);
                if conn.flush_queued().await.is_ok() {
                    let _ = conn.read_reply_quiet().await;
                }
            }
            let _ = tokio::time::timeout(CLOSE_GRACE, conn.close()).await;
        };
        let _ = tokio::time::timeout(QUIT_GRACE, close).await;
        tracing::debug!(
            target: "postamt_smtp::delivery",
            host = %self.cfg.host,
            messages = self.messages,
            age_ms = self.opened_at.elapsed().as_millis() as u64,
            quit = clean,
            "SMTP session closed"
        );
    }

    /// The settings this session was opened with; when the saved settings no longer equal
    /// them, close it and open a new one.
    pub fn config(&self) -> &DeliveryConfig {
        &self.cfg
    }

    /// Messages the server accepted over this session.
    pub fn messages_sent(&self) -> u64 {
        self.messages
    }

    /// When the session was opened.
    pub fn opened_at(&self) -> Instant {
        self.opened_at
    }

    /// The address connected to.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// `TLSv1.3` or `TLSv1.2`; `None` without encryption.
    pub fn tls_protocol(&self) -> Option<&str> {
        self.tls.as_ref().and_then(|t| t.protocol.as_deref())
    }

    /// Whether the server offered PIPELINING (then MAIL FROM and all RCPT TO go in one
    /// round trip).
    pub fn pipelining(&self) -> bool {
        self.caps.pipelining
    }

    /// How long the session may be idle before [`is_usable`](SmtpSession::is_usable)
    /// checks it with NOOP; [`IDLE_NOOP_AFTER`] by default.
    pub fn set_noop_after_idle(&mut self, idle: Duration) {
        self.noop_after_idle = idle;
    }
}

impl std::fmt::Debug for SmtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSession")
            .field("host", &self.cfg.host)
            .field("port", &self.cfg.port)
            .field("peer", &self.peer)
            .field("messages", &self.messages)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// The envelope's addresses, checked before anything is sent: nothing that could end the
/// command or add another. Returns the stage, the failure and the recipient at fault.
fn check_envelope(envelope_from: &str, recipients: &[String]) -> Result<(), (StageName, Fail, Option<usize>)> {
    let invalid =
        |e: crate::message::InvalidAddress| Fail::new(FailureClass::InvalidSettings, Some(e.field)).detail(e.detail);
    if !envelope_from.is_empty() {
        parse_address(envelope_from, SettingsField::SenderAddress)
            .map_err(|e| (StageName::MailFrom, invalid(e), None))?;
    }
    if recipients.is_empty() {
        let fail = Fail::new(FailureClass::InvalidSettings, Some(SettingsField::Recipient))
            .detail("the message has no recipient");
        return Err((StageName::RcptTo, fail, None));
    }
    for (i, recipient) in recipients.iter().enumerate() {
        parse_address(recipient, SettingsField::Recipient).map_err(|e| (StageName::RcptTo, invalid(e), Some(i)))?;
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

    #[test]
    fn sessions_and_their_futures_can_move_between_threads() {
        fn assert_send<T: Send>(_: &T) {}
        let cfg = DeliveryConfig::new("localhost", 25, postamt_wire::Encryption::None);
        assert_send(&SmtpSession::open(&cfg));
        fn session_is_send<T: Send + Sync>() {}
        session_is_send::<SmtpSession>();
    }

    #[test]
    fn envelopes_that_could_inject_commands_are_refused() {
        let to = |r: &str| vec![r.to_owned()];
        assert!(check_envelope("a@example.org", &to("b@example.org")).is_ok());
        assert!(check_envelope("", &to("b@example.org")).is_ok(), "null sender");
        let (stage, fail, at) = check_envelope(
            "a@example.org",
            &["b@example.org".to_owned(), "c@example.org>\r\nRCPT TO:<d@example.org".to_owned()],
        )
        .unwrap_err();
        assert_eq!(
            (stage, fail.class, fail.field, at),
            (StageName::RcptTo, FailureClass::InvalidSettings, Some(SettingsField::Recipient), Some(1))
        );
        assert!(failure::is_permanent(&fail));
        let (stage, fail, _) = check_envelope("a@example.org>\r\nRSET", &to("b@example.org")).unwrap_err();
        assert_eq!((stage, fail.field), (StageName::MailFrom, Some(SettingsField::SenderAddress)));
        let (_, fail, _) = check_envelope("a@example.org", &[]).unwrap_err();
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
