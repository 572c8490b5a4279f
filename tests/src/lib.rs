//! Helpers for Postamt's black-box tests.
//!
//! The tests in `tests/tests/` start the real `postamt` binary (path from `POSTAMT_BIN`,
//! default `<workspace>/target/debug/postamt`), talk to it over HTTP, give it real PostgreSQL
//! databases (base URL from `POSTAMT_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432`)
//! and drive Debian's Chromium through chromedriver. Every test gets its own data directory and
//! its own database, so tests run in parallel; processes are killed and databases dropped when
//! their handles are dropped, also when a test fails.

pub mod http;
pub mod oauth_provider;
pub mod pg;
pub mod server;
pub mod smtp;
pub mod webdriver;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use http::{Api, Auth, Reply, Session};
pub use pg::TestDatabase;
pub use server::{Launch, Postamt, Terminated};
pub use smtp::SmtpServer;
pub use webdriver::Browser;

/// The workspace root (the folder holding the workspace `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lies inside the workspace").to_path_buf()
}

/// The `postamt` binary under test; panics with a hint when it has not been built.
pub fn postamt_bin() -> PathBuf {
    let path = match std::env::var_os("POSTAMT_BIN") {
        Some(p) => PathBuf::from(p),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("target"));
            target.join("debug").join("postamt")
        }
    };
    assert!(
        path.is_file(),
        "the postamt binary is missing at {} (set POSTAMT_BIN, or build it with `cargo build -p postamt`; \
         scripts/test does both)",
        path.display()
    );
    path
}

/// The built page (`frontend/dist`, written by `scripts/build-frontend`); panics with a hint
/// when it has not been built.
pub fn frontend_dist() -> PathBuf {
    let dir = std::env::var_os("POSTAMT_TEST_STATIC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("frontend").join("dist"));
    assert!(
        dir.join("index.html").is_file(),
        "the built page is missing: {} has no index.html (run scripts/build-frontend; scripts/test does)",
        dir.display()
    );
    dir
}

/// Polls `check` every 50–250 ms until it returns `Some`, and panics naming `what` when
/// `timeout` passes first.
pub fn wait_for<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        if let Some(value) = check() {
            return value;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// A fresh random suffix for names (databases, passwords, hosts) that tests must not share.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A fresh random secret key as the binary expects it (base64 of 32 bytes).
pub fn random_secret_key() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Whether `haystack` contains `needle` as bytes.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The encodings under which a leaked secret would still be readable: as is, hex (how
/// PostgreSQL dumps `bytea`) and base64.
pub fn readable_forms(secret: &str) -> Vec<(String, String)> {
    use base64::Engine as _;
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    vec![
        ("clear text".to_string(), secret.to_string()),
        ("hex".to_string(), hex),
        ("base64".to_string(), base64::engine::general_purpose::STANDARD.encode(secret)),
        ("base64url".to_string(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)),
    ]
}

/// Panics when `text` (named `place`) holds `secret` in any of its [`readable_forms`].
pub fn assert_no_secret(place: &str, text: &[u8], secret: &str) {
    for (form, needle) in readable_forms(secret) {
        assert!(!contains_bytes(text, needle.as_bytes()), "the SMTP password appears in {place} ({form})");
    }
}

/// Valid settings for `PUT /api/v1/mail-settings`: STARTTLS on 587 with authentication when
/// `password` is given (username = sender address, as recommended).
pub fn settings_input(host: &str, password: Option<&str>) -> postamt_wire::MailSettingsInput {
    use postamt_wire::{AuthInput, Encryption, MailSettingsInput};
    MailSettingsInput {
        host: Some(host.to_string()),
        port: Some(587),
        encryption: Some(Encryption::Starttls),
        sender_name: Some("TEAMBOX".to_string()),
        sender_address: Some("teambox@example.org".to_string()),
        auth: AuthInput {
            enabled: password.is_some(),
            username: password.map(|_| "teambox@example.org".to_string()),
            password: password.map(str::to_string),
            ..AuthInput::default()
        },
        force_default_sender: true,
        reply_to_individual_sender: true,
        timeout_seconds: Some(20),
        ..MailSettingsInput::default()
    }
}
