//! The exchange, stage by stage: resolve, connect, TLS, greeting, EHLO, STARTTLS, AUTH,
//! MAIL FROM, RCPT TO, DATA, QUIT. Each stage either ends ok or returns the [`Fail`] that
//! explains it; the caller enforces the one deadline around all of it. The steps with
//! more to them live in `dial`, `handshake`, `greeting` and `auth`.
//!
//! [`establish`] (up to AUTH) is shared with delivery, which opens its sessions with it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use postamt_wire::{Encryption, FailureClass, SettingsField, StageName, TlsInfo};

use crate::auth::auth;
use crate::classify::{self, Fail, ReplyContext};
use crate::config::{Endpoint, TestConfig};
use crate::conn::{Conn, Recorder, Stream};
use crate::dial::{connect, resolve};
use crate::greeting::{choose_ehlo_name, ehlo, greeting};
use crate::handshake::handshake;
use crate::mask::Outgoing;
use crate::message::{header_lines, TestMail};
use crate::reply::{Capabilities, Reply};
use crate::stages::StageBook;
use crate::transcript::Transcript;

/// How long QUIT may take after the result is known (still inside the deadline).
pub(crate) const QUIT_GRACE: Duration = Duration::from_secs(2);
/// How long closing may take (TLS close_notify to a stalled peer).
pub(crate) const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// The state of one test; it outlives the exchange future, so a deadline that cuts the
/// exchange short still leaves everything recorded so far.
pub(crate) struct Run<'a> {
    /// Where and how to connect.
    pub ep: Endpoint<'a>,
    /// The test mail in `send` mode; `None` in `probe` mode and for delivery.
    pub mail: Option<TestMail>,
    pub deadline: Instant,
    pub ehlo_name: String,
    pub book: StageBook,
    pub transcript: Transcript,
    pub tls: Option<TlsInfo>,
    pub peer: Option<SocketAddr>,
    /// AUTH mechanisms the server offered, for the hint.
    pub mechanisms: Option<String>,
    pub failure: Option<(StageName, Fail)>,
}

impl Run<'_> {
    /// Fails the running stage (or `fallback`, when none runs) with `fail`.
    pub(crate) fn record_failure(&mut self, fail: Fail, fallback: StageName) {
        let detail = fail.detail.as_deref().map(|d| self.transcript.redact(d));
        let detail_de = fail.detail_de.as_deref().map(|d| self.transcript.redact(d));
        let stage = self.book.fail(detail.as_deref(), detail_de.as_deref()).unwrap_or(fallback);
        if let Some(detail) = &detail {
            self.transcript.info(format!("Failed at {}: {detail}", stage.as_str()));
        }
        tracing::info!(target: "postamt_smtp", stage = stage.as_str(), class = fail.class.as_str(), "mail test stage failed");
        if self.failure.is_none() {
            self.failure = Some((stage, fail));
        }
    }
}

/// Runs the test's exchange; failures are recorded in `st`.
pub(crate) async fn run(st: &mut Run<'_>, cfg: &TestConfig) {
    let mut slot: Option<Conn> = None;
    if let Err(fail) = drive(st, cfg, &mut slot).await {
        st.record_failure(fail, StageName::Resolve);
    }
    if let Some(conn) = slot.as_mut() {
        quit(&st.transcript, conn).await;
    }
}

/// QUIT if the connection allows it (within [`QUIT_GRACE`]), then close it (within
/// [`CLOSE_GRACE`]).
pub(crate) async fn quit(transcript: &Transcript, conn: &mut Conn) {
    if conn.is_sane() {
        let quit = async {
            if conn.send(transcript, Outgoing::public("QUIT")).await.is_ok() {
                let _ = conn.read_reply(transcript).await;
            }
        };
        if tokio::time::timeout(QUIT_GRACE, quit).await.is_err() {
            transcript.info("No answer to QUIT; closing the connection.");
        }
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, conn.close()).await;
}

/// What an established connection offers.
#[derive(Debug, Clone)]
pub(crate) struct Established {
    /// The EHLO capabilities (after STARTTLS, the second EHLO's).
    pub caps: Capabilities,
    /// Encrypted, and authenticated when credentials were given.
    pub ctx: ReplyContext,
}

/// Resolve, connect, TLS (implicit or STARTTLS, never a silent fallback to plaintext),
/// greeting, EHLO and AUTH. The connection is put into `slot` as soon as it exists, so the
/// caller can close it whatever happens.
pub(crate) async fn establish(st: &mut Run<'_>, slot: &mut Option<Conn>) -> Result<Established, Fail> {
    let cfg = st.ep;

    st.book.begin(StageName::Resolve);
    let addrs = resolve(st).await?;
    st.book.ok();

    st.book.begin(StageName::Connect);
    let (tcp, addr) = connect(st, &addrs).await?;
    st.peer = Some(addr);
    st.ehlo_name = choose_ehlo_name(st.ep.ehlo_name, &st.transcript, tcp.local_addr().ok());
    st.book.said(format!("verbunden mit {addr}"), format!("connected to {addr}"));
    st.book.ok();

    let redactor = st.transcript.redactor().clone();
    let mut encrypted = false;
    let conn = if cfg.encryption == Encryption::Tls {
        st.book.begin(StageName::Tls);
        let stream = handshake(st, Recorder::new(tcp)).await?;
        encrypted = true;
        st.book.ok();
        slot.insert(Conn::new(Stream::Tls(Box::new(stream)), redactor.clone()))
    } else {
        slot.insert(Conn::new(Stream::Plain(Recorder::new(tcp)), redactor.clone()))
    };
    if cfg.encryption == Encryption::None {
        st.book.skip_note(StageName::Tls, "Verschlüsselung ist auf „Keine“ gestellt", "encryption is set to none");
    }

    st.book.begin(StageName::Greeting);
    let greeting = greeting(st, conn, addr).await?;
    st.book.reply(&greeting);
    if greeting.code != 220 {
        return Err(classify::reply_failure(StageName::Greeting, &greeting, ReplyContext::default()));
    }
    st.book.ok();

    st.book.begin(StageName::Ehlo);
    let mut caps = ehlo(st, conn, ReplyContext { authenticated: false, encrypted }).await?;
    st.book.ok();

    if cfg.encryption == Encryption::Starttls {
        st.book.begin(StageName::Tls);
        if !caps.starttls {
            return Err(Fail::new(FailureClass::StarttlsNotOffered, Some(SettingsField::Encryption)).said(
                "die EHLO-Antwort des Servers bietet kein STARTTLS an",
                "the server's EHLO answer does not offer STARTTLS",
            ));
        }
        let reply = command(st, conn, Outgoing::public("STARTTLS")).await?;
        st.book.reply(&reply);
        if reply.code != 220 {
            return Err(classify::reply_failure(StageName::Tls, &reply, ReplyContext::default()));
        }
        let plain = conn.take_plain().map_err(|n| {
            Fail::new(FailureClass::ProtocolError, None).detail(format!(
                "the server sent {n} bytes after its 220 to STARTTLS, before the TLS handshake; they were not \
                 trusted and the connection was closed"
            ))
        })?;
        let stream = handshake(st, plain).await?;
        *conn = Conn::new(Stream::Tls(Box::new(stream)), redactor.clone());
        encrypted = true;
        caps = ehlo(st, conn, ReplyContext { authenticated: false, encrypted }).await?;
        st.book.ok();
    }

    let mut ctx = ReplyContext { authenticated: false, encrypted };
    match cfg.credentials {
        Some(credentials) => {
            st.book.begin(StageName::Auth);
            auth(st, conn, credentials, &caps, ctx).await?;
            ctx.authenticated = true;
            st.book.ok();
        }
        None => st.book.skip_note(StageName::Auth, "Authentifizierung ist aus", "authentication is off"),
    }
    Ok(Established { caps, ctx })
}

async fn drive(st: &mut Run<'_>, cfg: &TestConfig, slot: &mut Option<Conn>) -> Result<(), Fail> {
    let Established { caps, ctx } = establish(st, slot).await?;
    let conn =
        slot.as_mut().ok_or_else(|| Fail::new(FailureClass::ProtocolError, None).detail("the connection is gone"))?;

    st.book.begin(StageName::MailFrom);
    let envelope_from = &cfg.sender.envelope_from;
    let mut mail_from = format!("MAIL FROM:<{envelope_from}>");
    if let (Some(_), Some(mail)) = (caps.size, &st.mail) {
        mail_from.push_str(&format!(" SIZE={}", mail.content.len()));
    }
    if caps.smtputf8 && (!envelope_from.is_ascii() || !cfg.recipient.is_ascii()) {
        mail_from.push_str(" SMTPUTF8");
    }
    let reply = command(st, conn, Outgoing::public(mail_from)).await?;
    expect(st, StageName::MailFrom, &reply, ctx, |r| r.is_positive())?;

    st.book.begin(StageName::RcptTo);
    let reply = command(st, conn, Outgoing::public(format!("RCPT TO:<{}>", cfg.recipient))).await?;
    expect(st, StageName::RcptTo, &reply, ctx, |r| r.is_positive())?;

    st.book.begin(StageName::Data);
    let reply = command(st, conn, Outgoing::public("DATA")).await?;
    st.book.reply(&reply);
    if reply.code != 354 {
        return Err(classify::reply_failure(StageName::Data, &reply, ctx));
    }
    let Some(mail) = &st.mail else {
        // Probe: whatever is sent now would be message content, even RSET or QUIT. Closing
        // the connection without the final "." makes the server discard the transaction.
        conn.mark_in_message();
        st.transcript.info(
            "Probe: the server is ready for the message (354). Closing the connection without sending it; the \
             server discards the unfinished message, nothing is delivered.",
        );
        st.book.ok();
        return Ok(());
    };
    let headers = header_lines(&mail.content);
    for line in &headers {
        st.transcript.client(line);
    }
    let header_bytes: usize = headers.iter().map(|l| l.len() + 2).sum::<usize>() + 2;
    st.transcript
        .info(format!("(message body: {} bytes, not shown here)", mail.content.len().saturating_sub(header_bytes)));
    st.transcript.client(".");
    conn.write_data(&mail.content).await.map_err(|e| classify::write_failure(&e))?;
    let reply = read(st, conn).await?;
    expect(st, StageName::Data, &reply, ctx, |r| r.is_positive())?;
    Ok(())
}

/// Records `reply` on the running stage; ok if `accept` holds, else the classified failure.
fn expect(
    st: &mut Run<'_>,
    stage: StageName,
    reply: &Reply,
    ctx: ReplyContext,
    accept: impl Fn(&Reply) -> bool,
) -> Result<(), Fail> {
    st.book.reply(reply);
    if accept(reply) {
        st.book.ok();
        Ok(())
    } else {
        Err(classify::reply_failure(stage, reply, ctx))
    }
}

pub(crate) async fn command(st: &Run<'_>, conn: &mut Conn, line: Outgoing) -> Result<Reply, Fail> {
    conn.send(&st.transcript, line).await.map_err(|e| classify::write_failure(&e))?;
    read(st, conn).await
}

pub(crate) async fn read(st: &Run<'_>, conn: &mut Conn) -> Result<Reply, Fail> {
    let stage = st.book.running().unwrap_or(StageName::Data);
    conn.read_reply(&st.transcript).await.map_err(|e| classify::read_failure(stage, &e))
}
