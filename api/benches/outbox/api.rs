// ---------------------------------------------------------------------------------------------
// HTTP

use crate::PASSWORD;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Arc<str>,
    pub(crate) key: Arc<str>,
    /// `POST /api/v1/messages`, parsed once: the client shares the two cores with the
    /// server, and parsing the URL per request (IDNA included) was a visible part of its time.
    messages_url: reqwest::Url,
}

impl Api {
    /// Signs in, creates an API key and points the mail settings at the sink.
    pub(crate) async fn configure(base: &str, sink_port: u16) -> Result<Api> {
        let session = reqwest::Client::builder().cookie_store(true).timeout(Duration::from_secs(30)).build()?;
        let resp = session.post(format!("{base}/api/v1/session")).json(&json!({ "password": PASSWORD })).send().await?;
        let info: Value = checked(resp, "sign-in").await?.json().await?;
        let csrf = info["csrf_token"].as_str().context("no csrf_token in the session")?;
        let resp = session
            .post(format!("{base}/api/v1/api-keys"))
            .header("X-CSRF-Token", csrf)
            .json(&json!({"name": "bench", "scopes": ["settings:read", "settings:write", "mail:send", "log:read"]}))
            .send()
            .await?;
        let created: Value = checked(resp, "creating an API key").await?.json().await?;
        let key = created["secret"].as_str().context("no secret in the created key")?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()?;
        let messages_url = reqwest::Url::parse(&format!("{base}/api/v1/messages"))?;
        let api = Api { http, base: base.into(), key: key.into(), messages_url };
        api.save_mail_settings(sink_port, None).await?;
        Ok(api)
    }

    /// Points the mail settings at the sink on `sink_port`, with sending `limits` if given
    /// (none: the body has no `limits` field, so that a binary from before limits takes it).
    pub(crate) async fn save_mail_settings(&self, sink_port: u16, limits: Option<Value>) -> Result<()> {
        let mut body = json!({
            "host": "127.0.0.1", "port": sink_port, "encryption": "none",
            "sender_name": "Bench", "sender_address": "bench@example.org",
            "auth": {"enabled": false}, "force_default_sender": true
        });
        if let Some(limits) = limits {
            body["limits"] = limits;
        }
        let resp = self
            .http
            .put(format!("{}/api/v1/mail-settings", self.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await?;
        checked(resp, "saving the mail settings").await?;
        Ok(())
    }

    /// The same client and key against another server (a restarted one).
    pub(crate) fn at(&self, base: &str) -> Result<Api> {
        let messages_url = reqwest::Url::parse(&format!("{base}/api/v1/messages"))?;
        Ok(Api { base: base.into(), messages_url, ..self.clone() })
    }

    pub(crate) async fn send(&self, i: usize, tag: &str) -> Result<()> {
        let resp = self
            .http
            .post(self.messages_url.clone())
            .bearer_auth(&self.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(message_json(i, tag))
            .send()
            .await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        if status != reqwest::StatusCode::ACCEPTED {
            bail!("HTTP {status}: {}", String::from_utf8_lossy(&body).chars().take(300).collect::<String>());
        }
        Ok(())
    }

    /// Posts message `i` with `priority`; its id.
    pub(crate) async fn send_with_priority(&self, i: usize, tag: &str, priority: &str) -> Result<String> {
        let resp = self
            .http
            .post(self.messages_url.clone())
            .bearer_auth(&self.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(message_json_with(i, tag, Some(priority)))
            .send()
            .await?;
        let accepted: Value = checked(resp, "posting a message").await?.json().await?;
        Ok(accepted["id"].as_str().context("no id in the answer to POST /api/v1/messages")?.to_owned())
    }

    /// A GET that may take long (the export): 600 s instead of the client's 30 s.
    pub(crate) async fn get(&self, path: &str) -> Result<reqwest::Response> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .timeout(Duration::from_secs(600))
            .send()
            .await?;
        checked(resp, path).await
    }

    pub(crate) async fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        Ok(self.get(path).await?.bytes().await?.to_vec())
    }

    pub(crate) async fn metrics(&self) -> Result<Metrics> {
        let body = self.get_bytes("/metrics").await?;
        Ok(Metrics::parse(&String::from_utf8_lossy(&body)))
    }
}

async fn checked(resp: reqwest::Response, what: &str) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    bail!("{what}: HTTP {status}: {}", body.chars().take(400).collect::<String>())
}

fn body_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let mut text = String::with_capacity(2100);
        let mut n = 1;
        while text.len() < 2000 {
            let _ =
                writeln!(text, "Line {n:02}: your invoice is attached; this paragraph pads the body to about 2 KB.");
            n += 1;
        }
        text
    })
}

/// A message of ~2 KB. The text, the same in every message, is escaped as JSON once; a
/// request's body is that with its subject spliced in (the client's time per request is
/// CPU the server does not get on this machine).
pub(crate) fn message_json(i: usize, tag: &str) -> Vec<u8> {
    message_json_with(i, tag, None)
}

/// As [`message_json`], with `"priority"` when given (only then: a binary from before
/// priorities refuses the field, and the end-to-end figure is compared with one).
pub(crate) fn message_json_with(i: usize, tag: &str, priority: Option<&str>) -> Vec<u8> {
    static TEXT_JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = TEXT_JSON.get_or_init(|| serde_json::to_string(body_text()).unwrap_or_default());
    let subject = serde_json::to_string(&format!("Postamt bench {tag} {i}")).unwrap_or_default();
    match priority {
        None => format!(r#"{{"category":"bench","to":["rcpt@example.org"],"subject":{subject},"text":{text}}}"#),
        Some(p) => format!(
            r#"{{"category":"bench","priority":"{p}","to":["rcpt@example.org"],"subject":{subject},"text":{text}}}"#
        ),
    }
    .into_bytes()
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) sent: f64,
    pub(crate) failed: f64,
    pub(crate) retries: f64,
    pub(crate) depth: f64,
    pub(crate) latency_sum: f64,
    pub(crate) latency_count: f64,
}

impl Metrics {
    fn parse(text: &str) -> Metrics {
        let mut m = Metrics::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = line.rsplit_once(' ') else { continue };
            let Ok(value) = value.trim().parse::<f64>() else { continue };
            match name.split('{').next().unwrap_or("") {
                "postamt_messages_sent_total" => m.sent += value,
                "postamt_messages_failed_total" => m.failed += value,
                "postamt_delivery_retries_total" => m.retries += value,
                "postamt_outbox_depth" => m.depth = value,
                "postamt_delivery_latency_seconds_sum" => m.latency_sum = value,
                "postamt_delivery_latency_seconds_count" => m.latency_count = value,
                _ => {}
            }
        }
        m
    }
}
