//! Alerts end to end: a real HTTP receiver on loopback for the webhook (it checks nothing,
//! it records; the tests verify the signature), the real SMTP test server for the e-mail
//! channel, the outbox and the OAuth provider double to make the conditions hold.

mod conditions;
mod settings;
mod stuck_outbox;
mod test_alert;

use crate::helpers::{json, spawn_app_with, Backend, TestApp};
use diesel::prelude::*;
use postamt::db::AnyConnection;
use postamt_wire::CSRF_HEADER;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const WEBHOOK_SECRET: &str = "whsec-0123456789abcdef";
/// Instances of one test share it (each decrypts the webhook secret the other saved).
pub const SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

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

    /// Waits (bounded) until `n` requests of `event` were answered with 2xx.
    pub async fn wait_delivered(&self, event: &str, n: usize, within: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got: Vec<_> = self.events(event).into_iter().filter(|r| r.status < 300).collect();
            if got.len() >= n {
                return got;
            }
            assert!(started.elapsed() < within, "no {event} webhook within {within:?}: {:?}", self.received());
            tokio::time::sleep(Duration::from_millis(100)).await;
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

/// An app that checks the alert conditions every second, with the shared secret key.
pub async fn alert_app(backend: Backend, change: impl FnOnce(&mut postamt::config::Config)) -> TestApp {
    let mut app = spawn_app_with(backend, |c| {
        c.alert_check_seconds = 1;
        c.secret_key = Some(SecretString::from(SECRET_KEY.to_owned()));
        change(c);
    })
    .await;
    app.sign_in().await;
    app
}

/// Alert settings with only `enabled` among the conditions switched on.
pub fn alert_settings(webhook: Option<&str>, email: Option<&[&str]>, enabled: &str) -> Value {
    let mut body = json!({
        "conditions": {
            "failures": {"enabled": enabled == "failures", "count": 3, "ratio": 1.0, "window_minutes": 1},
            "queue_stuck": {"enabled": enabled == "queue_stuck", "minutes": 1},
            "oauth": {"enabled": enabled == "oauth"},
            "daily_quota": {"enabled": enabled == "daily_quota", "window_minutes": 1}
        }
    });
    if let Some(url) = webhook {
        body["webhook"] = json!({"url": url, "secret": WEBHOOK_SECRET});
    }
    if let Some(recipients) = email {
        body["email"] = json!({"recipients": recipients});
    }
    body
}

pub async fn put_alert_settings(app: &TestApp, body: &Value, if_match: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .put(app.url("/api/v1/alert-settings"))
        .header(CSRF_HEADER, app.csrf.clone().unwrap_or_default())
        .json(body);
    if let Some(etag) = if_match {
        request = request.header("If-Match", etag);
    }
    request.send().await.unwrap()
}

pub async fn incidents(app: &TestApp) -> Vec<Value> {
    let response = app.client.get(app.url("/api/v1/alerts")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    json(response).await["incidents"].as_array().unwrap().clone()
}

/// A connection to the app's database, for what a test sets up behind the API's back.
pub fn database(app: &TestApp) -> AnyConnection {
    let url = match &app.database {
        Some(db) => db.url.clone(),
        None => app.data_dir.path().join("postamt.sqlite3").to_string_lossy().into_owned(),
    };
    let mut conn = AnyConnection::establish(&url).expect("test database");
    if let AnyConnection::Sqlite(c) = &mut conn {
        diesel::sql_query("PRAGMA busy_timeout = 5000").execute(c).unwrap();
    }
    conn
}

/// Makes every message look accepted `minutes` earlier.
pub fn backdate_messages(app: &TestApp, minutes: i64) {
    use postamt::db::schema::messages::dsl as m;
    let mut conn = database(app);
    let rows: Vec<(String, chrono::NaiveDateTime)> =
        m::messages.select((m::id, m::created_at)).load(&mut conn).unwrap();
    for (id, created_at) in rows {
        diesel::update(m::messages.filter(m::id.eq(id)))
            .set(m::created_at.eq(created_at - chrono::Duration::minutes(minutes)))
            .execute(&mut conn)
            .unwrap();
    }
}

/// The e-mails the SMTP server got with `X-Postamt-Alert: <event>`.
pub fn alert_mails(server: &crate::smtp_server::SmtpServer, event: &str) -> Vec<Value> {
    let header = format!("X-Postamt-Alert: {event}");
    server
        .deliveries()
        .into_iter()
        .filter(|d| d["content"].as_str().is_some_and(|c| c.lines().any(|l| l.trim() == header)))
        .collect()
}
