// ---------------------------------------------------------------------------------------------
// The hot request: POST /api/v1/messages over one kept-alive connection per sender.
//
// The bench client shares the two cores with the server, the database and smtp-sink; with
// reqwest (hyper, its pool, header maps, a URL per request) it took about a sixth of the
// machine during the end-to-end run, CPU that smtp-source's side of the ceiling does not
// spend. This speaks just enough HTTP/1.1 for that one request: the request head is built
// once, and a response is read up to its Content-Length. Everything else (sign-in, the
// latency run, metrics, export) stays on reqwest.

use crate::api::{message_json_with, Api};
use anyhow::{bail, Context, Result};
use std::io::Write as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) struct Poster {
    addr: String,
    /// Request line and headers up to the value of Content-Length.
    head: Vec<u8>,
    stream: Option<TcpStream>,
    /// `"priority"` of every message posted (none: the field is left out).
    priority: Option<&'static str>,
    request: Vec<u8>,
    response: Vec<u8>,
}

impl Poster {
    pub(crate) fn new(api: &Api, priority: Option<&'static str>) -> Result<Poster> {
        let addr = api.base.strip_prefix("http://").context("the bench talks plain HTTP")?.to_owned();
        let head = format!(
            "POST /api/v1/messages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: ",
            api.key
        )
        .into_bytes();
        Ok(Poster { addr, head, stream: None, priority, request: Vec::new(), response: Vec::new() })
    }

    /// Posts message `i`; `Err` unless the answer is 202.
    pub(crate) async fn send(&mut self, i: usize, tag: &str) -> Result<()> {
        let body = message_json_with(i, tag, self.priority);
        self.request.clear();
        self.request.extend_from_slice(&self.head);
        write!(self.request, "{}\r\n\r\n", body.len())?;
        self.request.extend_from_slice(&body);
        let result = self.exchange().await;
        if result.is_err() {
            // Whatever state the connection is in, the next request starts on a new one.
            self.stream = None;
        }
        let (status, keep_alive) = result?;
        if !keep_alive {
            self.stream = None;
        }
        if status != 202 {
            let text = String::from_utf8_lossy(&self.response);
            bail!("HTTP {status}: {}", text.chars().take(300).collect::<String>());
        }
        Ok(())
    }

    /// Writes the request and reads the whole response: its status, and whether the server
    /// keeps the connection open.
    async fn exchange(&mut self) -> Result<(u16, bool)> {
        if self.stream.is_none() {
            let stream =
                TcpStream::connect(&self.addr).await.with_context(|| format!("connecting to {}", self.addr))?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().context("no connection")?;
        stream.write_all(&self.request).await?;
        self.response.clear();
        let mut chunk = [0u8; 4096];
        let header_end = loop {
            if let Some(at) = find(&self.response, b"\r\n\r\n") {
                break at + 4;
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("the server closed the connection before answering");
            }
            self.response.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.response[..header_end]).context("response head is not UTF-8")?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("no status in {head:?}"))?;
        let mut length = 0usize;
        let mut keep_alive = true;
        for line in head.split("\r\n").skip(1) {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().with_context(|| format!("Content-Length {value:?}"))?;
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
                keep_alive = false;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                bail!("unexpected Transfer-Encoding {value:?} on the send answer");
            }
        }
        while self.response.len() < header_end + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("the server closed the connection in the middle of an answer");
            }
            self.response.extend_from_slice(&chunk[..n]);
        }
        if self.response.len() > header_end + length {
            bail!("the server sent more than one answer");
        }
        self.response.drain(..header_end);
        Ok((status, keep_alive))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
