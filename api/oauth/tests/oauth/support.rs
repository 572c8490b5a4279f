//! Spawns the provider double (`servers/oauth_provider.py`) with a fresh config in a temp
//! dir, and reads its events.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use postamt_oauth::Endpoints;
use serde_json::{json, Value};

pub const TOKEN_SECRET: &str = "shared-token-secret-for-smtp";
pub const TENANT: &str = "contoso.onmicrosoft.com";
pub const USER: &str = "erika@contoso.example";

pub struct ProviderDouble {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl ProviderDouble {
    /// Starts the double; `config` is merged over the defaults (event file, token secret).
    pub fn start(config: Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut full = json!({
            "token_secret": TOKEN_SECRET,
            "events_file": dir.path().join("events.jsonl"),
            "token_lifetime": 3600,
        });
        for (k, v) in config.as_object().unwrap() {
            full[k] = v.clone();
        }
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&full).unwrap()).unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/servers/oauth_provider.py");
        let python = std::env::var("POSTAMT_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(script)
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the provider double (python3)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // Key generation with openssl can take a few seconds on a busy 2-core machine.
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("provider double did not print READY");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        ProviderDouble { child, port, dir }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            microsoft_authority: self.base(),
            google_token_url: format!("{}/token", self.base()),
            google_authorization_url: format!("{}/o/oauth2/v2/auth", self.base()),
        }
    }

    /// Token-endpoint events so far.
    pub fn token_events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("events.jsonl")).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["endpoint"] == "token")
            .collect()
    }

    pub fn events_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("events.jsonl")).unwrap_or_default()
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = reqwest::Client::new()
            .post(format!("{}/_control/{path}", self.base()))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "control {path}: {}", r.status());
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }
}

impl Drop for ProviderDouble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks the double's access-token format (the one the test SMTP server verifies) and
/// returns its claims.
pub fn verify_access_token(token: &str) -> Value {
    let (signed, mac) = token.rsplit_once('.').expect("three parts");
    let body = signed.strip_prefix("pa-at.").expect("pa-at. prefix");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, TOKEN_SECRET.as_bytes());
    ring::hmac::verify(&key, signed.as_bytes(), &URL_SAFE_NO_PAD.decode(mac).unwrap()).expect("HMAC verifies");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap()
}

/// A Microsoft tenant with one confidential client allowed every flow.
pub fn microsoft_config() -> Value {
    json!({
        "tenants": [TENANT],
        "users": [USER],
        "authorize": {"user": USER},
        "clients": [
            {"id": "ms-app", "secret": "ms-secret-value", "provider": "microsoft", "tenant": TENANT,
             "flows": ["client_credentials", "authorization_code", "refresh_token"],
             "mailbox": "noreply@contoso.example"},
            {"id": "ms-no-consent", "secret": "other-secret", "provider": "microsoft", "tenant": TENANT,
             "consented": false, "flows": ["client_credentials"]}
        ]
    })
}
