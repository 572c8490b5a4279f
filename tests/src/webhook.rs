//! A webhook receiver for tests: an HTTP server on loopback that records every request (it
//! checks nothing; tests verify the signature with [`Received::assert_signed_with`]).

use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Lowercase names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    pub fn event(&self) -> &str {
        self.headers.get("x-postamt-event").map_or("", String::as_str)
    }

    /// The signature header is HMAC-SHA256 of the exact body with `secret`.
    pub fn assert_signed_with(&self, secret: &str) {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let hex: String = ring::hmac::sign(&key, &self.body).as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(self.headers.get("x-postamt-signature"), Some(&format!("sha256={hex}")), "{self:?}");
    }
}

/// An HTTP server on loopback that records every request; it answers the statuses it is
/// given in turn, then 200.
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(first_statuses: &[u16]) -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let received = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(first_statuses.iter().copied().collect::<VecDeque<u16>>()));
        let record = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let Some((headers, body)) = read_request(&mut stream) else { continue };
                let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
                record.lock().unwrap().push(Received { headers, body, status });
                let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Receiver { url, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Requests with this `X-Postamt-Event`.
    pub fn events(&self, event: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.event() == event).collect()
    }

    /// Requests of `event` that were answered with 2xx.
    pub fn delivered(&self, event: &str) -> Vec<Received> {
        self.events(event).into_iter().filter(|r| r.status < 300).collect()
    }

    /// Blocks (bounded) until `n` requests of `event` were answered with 2xx.
    pub fn wait_delivered_blocking(&self, event: &str, n: usize, within: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.delivered(event);
            if got.len() >= n {
                return got;
            }
            assert!(started.elapsed() < within, "no {event} webhook within {within:?}: {:?}", self.received());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<(HashMap<String, String>, Vec<u8>)> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Some((headers, data[head_end..head_end + length].to_vec()))
}
