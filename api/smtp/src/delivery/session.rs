//! [`SmtpSession`]: open once (the test mail's stages), then send many messages.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use postamt_wire::{FailureClass, StageName, TlsInfo};

use super::failure::{self, Scene};
use super::pipeline::{Answered, InFlight};
use super::{DeliveryConfig, DeliveryFailure};
use crate::classify::{self, Fail, ReplyContext};
use crate::conn::Conn;
use crate::mask::Redactor;
use crate::reply::Capabilities;
use crate::session::{self as exchange, Established, Run, CLOSE_GRACE, QUIT_GRACE};
use crate::stages::StageBook;
use crate::transcript::Transcript;

/// After this long without use, [`SmtpSession::is_usable`] asks the server with NOOP
/// whether the connection still works (servers drop idle connections after a while,
/// often silently). Change it per session with [`SmtpSession::set_noop_after_idle`].
pub const IDLE_NOOP_AFTER: Duration = Duration::from_secs(30);

/// How long NOOP may take at most (never longer than the configured timeout).
const NOOP_TIMEOUT: Duration = Duration::from_secs(5);

/// One open, authenticated SMTP connection for delivering messages, one after another
/// ([`send`](SmtpSession::send)), or pipelined ([`submit`](SmtpSession::submit) and
/// [`finish`](SmtpSession::finish), see [`super::pipeline`]).
///
/// Not for concurrent use: a worker owns its session (`&mut self`). After a failed
/// send check [`is_usable`](SmtpSession::is_usable); a session that is not usable is
/// closed with [`close`](SmtpSession::close) or dropped, and a new one opened.
pub struct SmtpSession {
    pub(super) cfg: DeliveryConfig,
    pub(super) conn: Conn,
    pub(super) caps: Capabilities,
    pub(super) ctx: ReplyContext,
    pub(super) redactor: Redactor,
    tls: Option<TlsInfo>,
    mechanisms: Option<String>,
    peer: Option<SocketAddr>,
    opened_at: Instant,
    pub(super) last_used: Instant,
    noop_after_idle: Duration,
    pub(super) messages: u64,
    /// A transaction was begun and not finished cleanly (a send future dropped midway,
    /// a failed RSET): what the server expects next is unknown.
    pub(super) in_transaction: bool,
    /// The connection failed, timed out, got a 421, or the server closed it.
    pub(super) broken: bool,
    /// The stage the running send is in, for a deadline that cuts it short.
    pub(super) stage: StageName,
    /// The message whose answer is pending ([`SmtpSession::submit`]).
    pub(super) in_flight: Option<InFlight>,
    /// Its answer, while it is read inside the next message's exchange.
    pub(super) answered: Answered,
}

impl SmtpSession {
    /// Resolve, connect, TLS (implicit) or STARTTLS (never silently plaintext when STARTTLS
    /// is configured), greeting, EHLO and AUTH (a password with PLAIN, else LOGIN; an access
    /// token with XOAUTH2), all under one deadline of `cfg.timeout`. Fails with the stage,
    /// class, field and hint the test mail would show for the same server.
    pub async fn open(cfg: &DeliveryConfig) -> Result<SmtpSession, DeliveryFailure> {
        let started = Instant::now();
        let deadline = started + cfg.timeout;
        let credentials = cfg.credentials.as_ref();
        let redactor = Redactor::new(credentials);
        let transcript = Transcript::new(started, redactor.clone());
        let mut run = Run {
            ep: cfg.endpoint(),
            mail: None,
            deadline,
            // Chosen once connected: the default depends on the connection's local address.
            ehlo_name: String::new(),
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
                    in_flight: None,
                    answered: None,
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

    pub(super) fn fail(
        &self,
        stage: StageName,
        fail: Fail,
        sender: &str,
        recipient: &str,
        started: Instant,
    ) -> DeliveryFailure {
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
        if self.in_flight.is_some() {
            // Just used, and its answer may already be waiting to be read.
            return true;
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
    /// take it. A pending answer should be [`finish`](Self::finish)ed first; one that is
    /// not is read here and only logged.
    pub async fn close(mut self) {
        if let Some(outcome) = self.finish().await {
            tracing::warn!(
                target: "postamt_smtp::delivery",
                sent = outcome.is_ok(),
                "a submitted message's answer was read only at close; its outcome was not recorded"
            );
        }
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
