//! The connection: a TCP stream, plain or under TLS, that reads whole replies and writes
//! CRLF-terminated lines, recording both in the transcript (the test mail) or quietly
//! (delivery, which also queues commands for pipelining and streams the message content in
//! large chunks).

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use secrecy::zeroize::Zeroize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::mask::{Outgoing, Redactor};
use crate::message::DotStuffed;
use crate::reply::{parse_line, Reply};
use crate::transcript::Transcript;

/// Longest reply line accepted (RFC 5321 allows 512 octets; servers are generous).
const MAX_LINE: usize = 4_096;
/// Most lines in one reply.
const MAX_REPLY_LINES: usize = 200;
/// Bytes kept of what the server sent first, to tell what it speaks.
const FIRST_BYTES: usize = 512;
/// Message content is written in chunks of about this size; longer runs that need no
/// dot-stuffing are written straight from the caller's buffer.
const WRITE_CHUNK: usize = 64 * 1024;

/// A stream that keeps a copy of the first bytes read from it: when a TLS handshake fails,
/// they tell whether the server spoke plaintext SMTP (`220 …`) instead.
pub(crate) struct Recorder<S> {
    inner: S,
    first: Vec<u8>,
}

impl<S> Recorder<S> {
    pub(crate) fn new(inner: S) -> Self {
        Recorder { inner, first: Vec::new() }
    }

    pub(crate) fn first_bytes(&self) -> &[u8] {
        &self.first
    }

    pub(crate) fn clear(&mut self) {
        self.first.clear();
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorder<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let room = FIRST_BYTES.saturating_sub(this.first.len());
            let new = &buf.filled()[before..];
            this.first.extend_from_slice(&new[..new.len().min(room)]);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

pub(crate) type PlainStream = Recorder<TcpStream>;
pub(crate) type SecureStream = TlsStream<Recorder<TcpStream>>;

pub(crate) enum Stream {
    Plain(PlainStream),
    Tls(Box<SecureStream>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Why no reply could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The server closed the connection.
    Closed,
    Io(io::Error),
    /// A line that is not an SMTP reply line (masked).
    Malformed(String),
    /// A line or reply longer than any server should send.
    TooLong,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => f.write_str("the server closed the connection"),
            ReadError::Io(e) => write!(f, "read error: {e}"),
            ReadError::Malformed(line) => write!(f, "not an SMTP reply: \"{line}\""),
            ReadError::TooLong => f.write_str("reply too long"),
        }
    }
}

/// An SMTP connection. It is `sane` once the server has replied at least once and as long
/// as no read or write failed and the message content has not begun; only then may QUIT
/// be sent on it.
pub(crate) struct Conn {
    stream: Option<Stream>,
    /// Read, not yet consumed.
    buf: Vec<u8>,
    /// Queued to write ([`Conn::queue`]); reused, so its capacity stays.
    wbuf: Vec<u8>,
    redactor: Redactor,
    sane: bool,
    replied: bool,
}

impl Conn {
    pub(crate) fn new(stream: Stream, redactor: Redactor) -> Self {
        Conn { stream: Some(stream), buf: Vec::new(), wbuf: Vec::new(), redactor, sane: true, replied: false }
    }

    pub(crate) fn is_sane(&self) -> bool {
        self.sane && self.replied && self.stream.is_some()
    }

    /// After a 354 in probe mode: whatever is sent now would be message content.
    pub(crate) fn mark_in_message(&mut self) {
        self.sane = false;
    }

    /// The plain stream, for STARTTLS. Bytes the server sent after its 220 are dropped
    /// (they would be plaintext injected into the TLS session); `Err` tells how many.
    pub(crate) fn take_plain(&mut self) -> Result<PlainStream, usize> {
        let leftover = std::mem::take(&mut self.buf).len();
        self.sane = false;
        match self.stream.take() {
            Some(Stream::Plain(mut s)) if leftover == 0 => {
                s.clear();
                Ok(s)
            }
            _ => Err(leftover),
        }
    }

    /// Reads one whole reply and records its lines.
    pub(crate) async fn read_reply(&mut self, transcript: &Transcript) -> Result<Reply, ReadError> {
        self.read_reply_with(Some(transcript)).await
    }

    /// Reads one whole reply without a transcript (delivery); its lines are masked all the
    /// same.
    pub(crate) async fn read_reply_quiet(&mut self) -> Result<Reply, ReadError> {
        self.read_reply_with(None).await
    }

    async fn read_reply_with(&mut self, transcript: Option<&Transcript>) -> Result<Reply, ReadError> {
        let result = match self.flush_before_read().await {
            Ok(()) => self.read_reply_inner(transcript).await,
            Err(e) => Err(ReadError::Io(e)),
        };
        match result {
            Ok(_) => self.replied = true,
            Err(_) => self.sane = false,
        }
        result
    }

    async fn read_reply_inner(&mut self, transcript: Option<&Transcript>) -> Result<Reply, ReadError> {
        let mut lines = Vec::new();
        let mut code = None;
        loop {
            let raw = self.read_line().await?;
            let line = self.redactor.redact(&String::from_utf8_lossy(&raw));
            if let Some(transcript) = transcript {
                transcript.server(&line);
            }
            let Some(parsed) = parse_line(&line) else {
                return Err(ReadError::Malformed(line));
            };
            if *code.get_or_insert(parsed.code) != parsed.code {
                return Err(ReadError::Malformed(line));
            }
            lines.push(parsed.text.to_owned());
            if parsed.last {
                return Ok(Reply { code: parsed.code, lines });
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(ReadError::TooLong);
            }
        }
    }

    /// One line without its line end (CRLF, or a bare LF from sloppy servers).
    async fn read_line(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > MAX_LINE {
                return Err(ReadError::TooLong);
            }
            let stream = self.stream.as_mut().ok_or(ReadError::Closed)?;
            let mut chunk = [0u8; 2048];
            let n = stream.read(&mut chunk).await.map_err(ReadError::Io)?;
            if n == 0 {
                return Err(ReadError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends one command line (CRLF is added) and records what may be shown of it.
    pub(crate) async fn send(&mut self, transcript: &Transcript, line: Outgoing) -> io::Result<()> {
        transcript.client(line.shown());
        let mut bytes = Vec::with_capacity(line.wire().len() + 2);
        bytes.extend_from_slice(line.wire().as_bytes());
        bytes.extend_from_slice(b"\r\n");
        let result = self.write_raw(&bytes).await;
        // The copy of a secret line is overwritten before it is freed.
        bytes.zeroize();
        result
    }

    /// Writes what is queued, then `bytes`, and flushes.
    async fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = self.stream.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let wbuf = &mut self.wbuf;
        let result = async {
            if !wbuf.is_empty() {
                stream.write_all(wbuf).await?;
                wbuf.clear();
            }
            stream.write_all(bytes).await?;
            stream.flush().await
        }
        .await;
        if result.is_err() {
            self.sane = false;
        }
        result
    }

    /// Acknowledges what arrives next at once instead of delaying the ACK (Linux
    /// `TCP_QUICKACK`; elsewhere nothing). Set before waiting for the answers to a
    /// pipelined group that follows a message: a server that writes the message's answer
    /// by itself and then, with Nagle's algorithm on (Postfix does not set `TCP_NODELAY`),
    /// the group's answers holds the latter until the former is acknowledged, and a
    /// delayed ACK costs up to 40 ms each time. The kernel leaves quick-ACK mode on its
    /// own, so this is set again for every message.
    pub(crate) fn ack_promptly(&self) {
        #[cfg(target_os = "linux")]
        if let Some(stream) = &self.stream {
            let tcp = match stream {
                Stream::Plain(s) => &s.inner,
                Stream::Tls(s) => &s.get_ref().0.inner,
            };
            // Only speed is at stake: a failure changes nothing else.
            let _ = socket2::SockRef::from(tcp).set_tcp_quickack(true);
        }
    }

    /// Queues one public command line made of `parts` (CRLF is added); nothing is written
    /// until [`Conn::flush_queued`]. Commands queued together are pipelined (RFC 2920).
    pub(crate) fn queue(&mut self, parts: &[&[u8]]) {
        for part in parts {
            self.wbuf.extend_from_slice(part);
        }
        self.wbuf.extend_from_slice(b"\r\n");
    }

    /// Writes the queued commands in one go.
    pub(crate) async fn flush_queued(&mut self) -> io::Result<()> {
        self.write_raw(&[]).await
    }

    /// Writes the message content after 354: dot-stuffed, bare LF made CRLF, ended by
    /// `CRLF . CRLF` ([`DotStuffed`]), in chunks of about [`WRITE_CHUNK`] bytes.
    ///
    /// The last chunk (all of a typical message) stays queued: it goes out with the next
    /// commands (a pipelined next envelope) in one write, or before the next read. One write
    /// and one segment fewer per message, on both ends of the connection.
    pub(crate) async fn write_data(&mut self, content: &[u8]) -> io::Result<()> {
        let stream = self.stream.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let wbuf = &mut self.wbuf;
        let result = async {
            for piece in DotStuffed::new(content) {
                if piece.len() >= WRITE_CHUNK {
                    if !wbuf.is_empty() {
                        stream.write_all(wbuf).await?;
                        wbuf.clear();
                    }
                    stream.write_all(piece).await?;
                } else {
                    wbuf.extend_from_slice(piece);
                    if wbuf.len() >= WRITE_CHUNK {
                        stream.write_all(wbuf).await?;
                        wbuf.clear();
                    }
                }
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            self.wbuf.clear();
            self.sane = false;
        }
        result
    }

    /// Writes what is queued, if anything: before a read, whose answer may depend on it.
    async fn flush_before_read(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let result = self.write_raw(&[]).await;
        if self.wbuf.capacity() > 2 * WRITE_CHUNK {
            self.wbuf.shrink_to(2 * WRITE_CHUNK);
        }
        result
    }

    /// Without waiting: whether the server has closed the connection, or sent something
    /// nobody asked for (a `421` before closing an idle connection). Either way the
    /// connection is no longer usable; what was sent stays readable by
    /// [`Conn::read_reply_quiet`].
    pub(crate) async fn peer_gone(&mut self) -> bool {
        if !self.buf.is_empty() {
            return true;
        }
        let Some(stream) = self.stream.as_mut() else {
            return true;
        };
        let mut chunk = [0u8; 512];
        let mut filled = 0;
        let polled = poll_fn(|cx| {
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut *stream).poll_read(cx, &mut read) {
                Poll::Pending => Poll::Ready(None),
                Poll::Ready(result) => {
                    filled = read.filled().len();
                    Poll::Ready(Some(result))
                }
            }
        })
        .await;
        match polled {
            None => false,
            Some(Ok(())) => {
                self.buf.extend_from_slice(&chunk[..filled]);
                if filled == 0 {
                    self.stream = None;
                }
                self.sane = false;
                true
            }
            Some(Err(_)) => {
                self.sane = false;
                true
            }
        }
    }

    /// Closes the connection (TLS close_notify, then FIN), ignoring errors.
    pub(crate) async fn close(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            let _ = stream.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::{auth_login_password, auth_plain_command};
    use secrecy::SecretString;
    use tokio::io::AsyncBufReadExt;

    async fn pair() -> (Conn, tokio::io::BufReader<TcpStream>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        // No redactor patterns: what the transcript shows is masked at the source alone.
        (Conn::new(Stream::Plain(Recorder::new(client)), Redactor::default()), tokio::io::BufReader::new(server))
    }

    #[tokio::test]
    async fn secrets_are_sent_in_full_and_shown_masked() {
        let (mut conn, mut server) = pair().await;
        let transcript = Transcript::new(std::time::Instant::now(), Redactor::default());
        let pw = SecretString::from("p4ss-word");
        conn.send(&transcript, auth_plain_command("u", &pw)).await.unwrap();
        conn.send(&transcript, auth_login_password(&pw)).await.unwrap();
        let mut line = String::new();
        server.read_line(&mut line).await.unwrap();
        assert_eq!(line, "AUTH PLAIN AHUAcDRzcy13b3Jk\r\n");
        line.clear();
        server.read_line(&mut line).await.unwrap();
        assert_eq!(line, "cDRzcy13b3Jk\r\n");
        let shown: Vec<_> = transcript.into_lines().into_iter().map(|l| l.text).collect();
        assert_eq!(shown, ["AUTH PLAIN ********", "********"]);
    }

    #[tokio::test]
    async fn multi_line_replies_and_bare_lf() {
        let (mut conn, server) = pair().await;
        let mut server = server.into_inner();
        server.write_all(b"250-first\r\n250-second\n250 last\r\n5").await.unwrap();
        let transcript = Transcript::new(std::time::Instant::now(), Redactor::default());
        let reply = conn.read_reply(&transcript).await.unwrap();
        assert_eq!(reply, Reply { code: 250, lines: vec!["first".into(), "second".into(), "last".into()] });
        server.write_all(b"54 no\r\nSSH-2.0-OpenSSH\r\n").await.unwrap();
        assert_eq!(conn.read_reply(&transcript).await.unwrap().code, 554);
        assert!(matches!(conn.read_reply(&transcript).await, Err(ReadError::Malformed(_))));
        assert!(!conn.is_sane());
        drop(server);
    }

    #[tokio::test]
    async fn mixed_codes_and_eof_are_errors() {
        let (mut conn, server) = pair().await;
        let mut server = server.into_inner();
        let transcript = Transcript::new(std::time::Instant::now(), Redactor::default());
        server.write_all(b"250-a\r\n550 b\r\n").await.unwrap();
        assert!(matches!(conn.read_reply(&transcript).await, Err(ReadError::Malformed(_))));
        drop(server);
        assert!(matches!(conn.read_reply(&transcript).await, Err(ReadError::Closed)));
    }

    /// A message's end waits for the next commands and leaves with them; a read sends it
    /// first, so an answer that depends on it can come.
    #[tokio::test]
    async fn content_goes_out_with_the_next_commands_or_before_a_read() {
        let (mut conn, server) = pair().await;
        let mut server = server.into_inner();
        conn.write_data(b"Subject: a\r\n\r\n.dot\r\n").await.unwrap();
        let mut chunk = [0u8; 256];
        let early = tokio::time::timeout(std::time::Duration::from_millis(200), server.read(&mut chunk)).await;
        assert!(early.is_err(), "the content's end was written before the next commands");
        conn.queue(&[b"MAIL FROM:<a@example.org>"]);
        conn.flush_queued().await.unwrap();
        let expected: &[u8] = b"Subject: a\r\n\r\n..dot\r\n.\r\nMAIL FROM:<a@example.org>\r\n";
        let mut got = Vec::new();
        while got.len() < expected.len() {
            let n = server.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed early");
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, expected);

        conn.write_data(b"second\r\n").await.unwrap();
        let answer = tokio::spawn(async move {
            let mut got = Vec::new();
            while !got.ends_with(b"\r\n.\r\n") {
                let n = server.read(&mut chunk).await.unwrap();
                assert!(n > 0, "closed early");
                got.extend_from_slice(&chunk[..n]);
            }
            server.write_all(b"250 queued\r\n").await.unwrap();
            (got, server)
        });
        let reply = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read_reply_quiet()).await;
        assert_eq!(reply.expect("the read did not send the content first").unwrap().code, 250);
        assert_eq!(answer.await.unwrap().0, b"second\r\n.\r\n");
    }
}
