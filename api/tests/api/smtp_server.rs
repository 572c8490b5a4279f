//! A real SMTP server (aiosmtpd, from `api/smtp/tests/servers/smtp_server.py`) on loopback.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct SmtpServer {
    pub port: u16,
    child: Child,
    events: tempfile::NamedTempFile,
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("POSTAMT_PYTHON") {
        return p.into();
    }
    let cache = std::env::var_os("POSTAMT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/postamt"));
    cache.join("venv/bin/python")
}

impl SmtpServer {
    /// Starts a plaintext server; `args` are the script's options (`--user`, `--reject-rcpt`, ...).
    pub fn start(args: &[&str]) -> SmtpServer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("smtp/tests/servers/smtp_server.py");
        let events = tempfile::NamedTempFile::new().unwrap();
        let python = python();
        let mut child = Command::new(&python)
            .arg(&script)
            .arg("--events")
            .arg(events.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (run scripts/test, which sets up the venv with aiosmtpd): {e}", python.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("SMTP test server did not start: {line:?}"));
        SmtpServer { port, child, events }
    }

    /// Every AUTH attempt and delivered message so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.events.path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn deliveries(&self) -> Vec<serde_json::Value> {
        self.events().into_iter().filter(|e| e["event"] == "delivered").collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
