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
use std::time::{Duration, Instant};

pub const WEBHOOK_SECRET: &str = "whsec-0123456789abcdef";
/// Instances of one test share it (each decrypts the webhook secret the other saved).
pub const SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub use postamt_e2e::webhook::{Received, Receiver};

/// Waiting for webhooks without blocking the test's runtime (the app runs on it too).
pub trait WaitDelivered {
    async fn wait_delivered(&self, event: &str, n: usize, within: Duration) -> Vec<Received>;
}

impl WaitDelivered for Receiver {
    async fn wait_delivered(&self, event: &str, n: usize, within: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.delivered(event);
            if got.len() >= n {
                return got;
            }
            assert!(started.elapsed() < within, "no {event} webhook within {within:?}: {:?}", self.received());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
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
            "daily_quota": {"enabled": enabled == "daily_quota", "window_minutes": 1},
            "fallback_in_use": {"enabled": enabled == "fallback_in_use"}
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
