//! A real OAuth 2.0 provider on loopback that answers like Microsoft's and Google's token
//! and authorize endpoints: `api/oauth/tests/servers/oauth_provider.py` (its docstring has
//! the config and the control endpoints). Its access tokens are the ones the test SMTP
//! server (`--oauth-secret`) accepts for XOAUTH2.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

/// Shared by the provider (signs access tokens) and the SMTP server (checks them).
pub const TOKEN_SECRET: &str = "shared-token-secret-for-smtp";
pub const TENANT: &str = "contoso.onmicrosoft.com";

pub struct ProviderDouble {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl ProviderDouble {
    /// Starts the double; `config` is merged over the defaults (event file, token secret).
    /// `{dir}` in string values of `config` is replaced by the double's temp dir (for
    /// service account key files).
    pub fn start(config: Value) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut full = json!({
            "token_secret": TOKEN_SECRET,
            "events_file": dir.path().join("events.jsonl"),
            "token_lifetime": 3600,
        });
        let dir_text = dir.path().to_string_lossy().into_owned();
        let with_dir = serde_json::to_string(&config).expect("json").replace("{dir}", &dir_text);
        let config: Value = serde_json::from_str(&with_dir).expect("json");
        for (k, v) in config.as_object().expect("config object") {
            full[k] = v.clone();
        }
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&full).expect("json")).expect("write config");
        let script = crate::workspace_root().join("api/oauth/tests/servers/oauth_provider.py");
        let mut child = Command::new(crate::smtp::python())
            .arg(script)
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the OAuth provider double");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // Key generation with openssl can take seconds on a busy 2-core machine.
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("provider double did not print READY");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        ProviderDouble { child, port, dir }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A file the double wrote into its dir (a service account key).
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).expect("file of the provider double")
    }

    /// Every event so far (token and authorize requests, reuse of refresh tokens).
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The events file as written (to look for leaked secrets).
    pub fn events_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("events.jsonl")).unwrap_or_default()
    }

    pub fn token_events(&self) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["endpoint"] == "token").collect()
    }

    /// `POST /_control/<path>` (revoke, expire-secret, set), over a plain socket so it works
    /// from sync and async tests alike.
    pub fn control(&self, path: &str, body: Value) -> Value {
        let body = body.to_string();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the double");
        write!(
            stream,
            "POST /_control/{path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send control request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read control answer");
        let (head, json) = answer.split_once("\r\n\r\n").expect("HTTP answer");
        assert!(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"), "control {path}: {head}");
        serde_json::from_str(json).expect("control answer is JSON")
    }
}

impl Drop for ProviderDouble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
