//! A real SMTP server on loopback: aiosmtpd, driven by `api/smtp/tests/servers/smtp_server.py`.
//! Every AUTH attempt and delivered message is recorded, so tests can check what arrived.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct SmtpServer {
    pub port: u16,
    child: Child,
    events: tempfile::NamedTempFile,
}

/// The Python with aiosmtpd: `POSTAMT_PYTHON`, else the venv scripts/test creates.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("POSTAMT_PYTHON") {
        return p.into();
    }
    let cache = std::env::var_os("POSTAMT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/postamt"));
    cache.join("venv/bin/python")
}

impl SmtpServer {
    /// A plaintext server on a free port; `args` are the script's options.
    pub fn start(args: &[&str]) -> SmtpServer {
        Self::start_on(0, args)
    }

    /// The same on a given port (0: any free one).
    pub fn start_on(port: u16, args: &[&str]) -> SmtpServer {
        let script = crate::workspace_root().join("api/smtp/tests/servers/smtp_server.py");
        let events = tempfile::NamedTempFile::new().expect("events file");
        let python = python();
        let mut child = Command::new(&python)
            .arg(&script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--events")
            .arg(events.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {} (scripts/test sets up the venv with aiosmtpd): {e}", python.display())
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).expect("READY line");
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("SMTP test server did not start: {line:?}"));
        SmtpServer { port, child, events }
    }

    /// Every event so far (AUTH attempts, deliveries).
    pub fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.events.path())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn deliveries(&self) -> Vec<serde_json::Value> {
        self.events().into_iter().filter(|e| e["event"] == "delivered").collect()
    }

    /// The Message-ID header of every delivered message, in order of arrival.
    pub fn delivered_message_ids(&self) -> Vec<String> {
        self.deliveries()
            .iter()
            .filter_map(|d| {
                d["content"].as_str()?.lines().find_map(|l| l.strip_prefix("Message-ID: ").map(|v| v.trim().to_owned()))
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago (for a server started later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}
