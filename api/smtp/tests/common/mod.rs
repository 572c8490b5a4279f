//! Real servers on loopback for the diagnostics tests: aiosmtpd (Python) driven by
//! `tests/servers/smtp_server.py`, certificates made with rcgen at test time, and raw
//! sockets for the silent and the refused port.

#![allow(dead_code)]

pub mod delivery;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use postamt_smtp::{run_test, AuthSecret, Credentials, EffectiveSender, Encryption, TestConfig};
use postamt_wire::MailTestResult;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

pub const USER: &str = "teambox@example.org";
pub const PASSWORD: &str = "Correct-Horse-7!Battery";
pub const RECIPIENT: &str = "someone@example.org";

/// The Python interpreter: `POSTAMT_PYTHON`, else the venv in
/// `${POSTAMT_CACHE:-$HOME/.cache/postamt}/venv`. Fails (never skips) without aiosmtpd.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let cache = std::env::var_os("POSTAMT_CACHE").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache/postamt")
        });
        let python =
            std::env::var_os("POSTAMT_PYTHON").map(PathBuf::from).unwrap_or_else(|| cache.join("venv/bin/python"));
        let check = std::process::Command::new(&python).args(["-c", "import aiosmtpd"]).output();
        match check {
            Ok(out) if out.status.success() => python,
            other => panic!(
                "the SMTP tests need Python with aiosmtpd, and {} does not have it ({:?}).\n\
                 Set POSTAMT_PYTHON to such an interpreter, or create the venv:\n  \
                 python3 -m venv {venv} && {venv}/bin/pip install 'aiosmtpd==1.4.6'",
                python.display(),
                other.map(|o| String::from_utf8_lossy(&o.stderr).into_owned()),
                venv = cache.join("venv").display(),
            ),
        }
    })
}

/// A private CA and certificates it issued, as PEM files in a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    ca_cert: rcgen::Certificate,
    ca_key: KeyPair,
}

/// A server certificate and key written to files.
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "Postamt Test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = params.self_signed(&ca_key).unwrap();
        Pki { dir: tempfile::tempdir().unwrap(), ca_pem: ca_cert.pem(), ca_cert, ca_key }
    }

    /// A certificate for `dns_names` (and 127.0.0.1 when `with_ip`), optionally expired.
    pub fn issue(&self, file: &str, dns_names: &[&str], with_ip: bool, expired: bool) -> CertFiles {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(dns_names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        if with_ip {
            params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        params.distinguished_name.push(DnType::CommonName, dns_names.first().copied().unwrap_or("server"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let cert = params.signed_by(&key, &self.ca_cert, &self.ca_key).unwrap();
        let files = CertFiles {
            cert: self.dir.path().join(format!("{file}.crt")),
            key: self.dir.path().join(format!("{file}.key")),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }

    /// The usual good certificate: DNS:localhost, IP:127.0.0.1.
    pub fn localhost(&self) -> CertFiles {
        self.issue("localhost", &["localhost"], true, false)
    }
}

/// A running aiosmtpd; killed when dropped.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    events: PathBuf,
    _dir: tempfile::TempDir,
}

/// How the test server runs: `tls` is `none`, `starttls` or `implicit`; `args` are further
/// flags of smtp_server.py.
pub async fn start_server(tls: &str, cert: Option<&CertFiles>, args: &[&str]) -> SmtpServer {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/smtp_server.py");
    let mut cmd = Command::new(python());
    cmd.arg(&script)
        .args(["--tls", tls, "--events"])
        .arg(&events)
        .args(["--user", USER, "--password", PASSWORD])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(cert) = cert {
        cmd.arg("--cert").arg(&cert.cert).arg("--key").arg(&cert.key);
    }
    let mut child = cmd.spawn().expect("start smtp_server.py");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("smtp_server.py did not get ready within 20 s")
        .unwrap()
        .unwrap_or_default();
    let port = line
        .strip_prefix("READY ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("smtp_server.py did not start: {line:?}"));
    SmtpServer { child, port, events, _dir: dir }
}

impl SmtpServer {
    /// The JSON events the server wrote (auth attempts, deliveries).
    pub fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.events)
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
        let _ = self.child.start_kill();
    }
}

/// A listener that accepts connections and never says anything.
pub async fn silent_listener() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (port, task)
}

/// A port nothing listens on.
pub async fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

pub fn sender() -> EffectiveSender {
    EffectiveSender::apply("TEAMBOX", USER, true, false, None)
}

/// A config for `host:port` with login and the given timeout.
pub fn config(host: &str, port: u16, encryption: Encryption, timeout_secs: u64) -> TestConfig {
    let mut cfg = TestConfig::new(host, port, encryption, sender(), RECIPIENT);
    cfg.credentials = Some(Credentials::password(USER, PASSWORD));
    cfg.timeout = Duration::from_secs(timeout_secs);
    cfg.ehlo_name = Some("postamt.test".to_owned());
    cfg
}

/// The HMAC secret the test server checks XOAUTH2 tokens with (`--oauth-secret`).
pub const OAUTH_SECRET: &str = "postamt-test-oauth-secret-1";

/// A test access token as smtp_server.py (and the loopback OAuth test provider) accept it:
/// `"pa-at." + B + "." + base64url_nopad(HMAC-SHA256(secret, "pa-at." + B))`, where B is
/// base64url_nopad of JSON with `sub`, `exp`, `scp`, `jti` and, when `pad` is not 0, a
/// `pad` of that many filler characters (to make tokens as long as Microsoft's).
pub fn mint_token(secret: &str, sub: &str, expires_in_secs: i64, pad: usize) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use ring::rand::SecureRandom as _;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut jti = [0u8; 12];
    ring::rand::SystemRandom::new().fill(&mut jti).unwrap();
    let mut claims = serde_json::json!({
        "sub": sub,
        "exp": now + expires_in_secs,
        "scp": "https://outlook.office.com/SMTP.Send",
        "jti": B64URL.encode(jti),
    });
    if pad > 0 {
        claims["pad"] = "x".repeat(pad).into();
    }
    let signed = format!("pa-at.{}", B64URL.encode(serde_json::to_vec(&claims).unwrap()));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let signature = ring::hmac::sign(&key, signed.as_bytes());
    format!("{signed}.{}", B64URL.encode(signature.as_ref()))
}

/// A valid token for [`USER`], good for an hour.
pub fn valid_token() -> String {
    mint_token(OAUTH_SECRET, USER, 3600, 0)
}

/// [`config`] with an OAuth 2.0 sign-in as [`USER`] with `token`.
pub fn oauth_config(host: &str, port: u16, encryption: Encryption, timeout_secs: u64, token: &str) -> TestConfig {
    let mut cfg = config(host, port, encryption, timeout_secs);
    cfg.credentials = Some(Credentials::access_token(USER, token));
    cfg
}

/// The test server with XOAUTH2 (besides PLAIN and LOGIN) checking tokens signed with
/// [`OAUTH_SECRET`]; `style` is `microsoft` or `google` (how it rejects a token).
pub async fn start_oauth_server(tls: &str, cert: Option<&CertFiles>, style: &str, args: &[&str]) -> SmtpServer {
    let mut all = vec!["--mechanisms", "PLAIN,LOGIN,XOAUTH2", "--oauth-secret", OAUTH_SECRET, "--oauth-style", style];
    all.extend_from_slice(args);
    start_server(tls, cert, &all).await
}

/// The server's AUTH events.
pub fn auth_events(server: &SmtpServer) -> Vec<serde_json::Value> {
    server.events().into_iter().filter(|e| e["event"] == "auth").collect()
}

/// Runs the test and checks what every result must satisfy: the deadline held, the
/// password never appears, exactly the first failed stage is failed.
pub async fn run(cfg: &TestConfig) -> (MailTestResult, serde_json::Value) {
    let started = Instant::now();
    let result = run_test(cfg).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed <= cfg.timeout + Duration::from_secs(1),
        "the test took {elapsed:?}, more than its timeout {:?} plus 1 s",
        cfg.timeout
    );
    assert!(result.duration_ms <= elapsed.as_millis() as u64 + 1);
    let json = serde_json::to_value(&result).unwrap();
    let text = serde_json::to_string(&result).unwrap();
    if let Some(credentials) = &cfg.credentials {
        assert_no_credentials(&text, credentials);
    }
    assert_no_secret(&text, USER, PASSWORD);
    let failed: Vec<_> = result.stages.iter().filter(|s| s.status == postamt_wire::StageStatus::Failed).collect();
    assert_eq!(failed.len(), usize::from(!result.ok), "{}", pretty(&json));
    assert_eq!(result.failure.is_none(), result.ok);
    (result, json)
}

/// Fails if `text` holds the password, its base64, or the base64 of an AUTH PLAIN blob
/// (padded or not).
pub fn assert_no_secret(text: &str, username: &str, password: &str) {
    let forms = [
        password.to_owned(),
        B64.encode(password),
        B64.encode(format!("\0{username}\0{password}")),
        B64.encode(format!("{username}\0{username}\0{password}")),
    ];
    for form in forms {
        let form = form.trim_end_matches('=');
        assert!(!text.contains(form), "a secret ({form}) appears in:\n{text}");
    }
}

/// [`assert_no_secret`] for a password, [`assert_no_token`] for an access token.
pub fn assert_no_credentials(text: &str, credentials: &Credentials) {
    use secrecy::ExposeSecret;
    match &credentials.secret {
        AuthSecret::Password(password) => assert_no_secret(text, &credentials.username, password.expose_secret()),
        AuthSecret::AccessToken(token) => assert_no_token(text, &credentials.username, token.expose_secret()),
    }
}

/// Fails if `text` holds the token, its base64, or the base64 of the XOAUTH2 string
/// (padded or not), or a long piece of the token (its signature, its payload).
pub fn assert_no_token(text: &str, mailbox: &str, token: &str) {
    let forms =
        [token.to_owned(), B64.encode(token), B64.encode(format!("user={mailbox}\x01auth=Bearer {token}\x01\x01"))];
    for form in forms {
        let form = form.trim_end_matches('=');
        assert!(!text.contains(form), "a secret ({}…) appears in:\n{text}", &form[..form.len().min(24)]);
    }
    for part in token.split('.').filter(|p| p.len() >= 16) {
        assert!(!text.contains(part), "a piece of the token ({}…) appears in:\n{text}", &part[..16]);
    }
}

pub fn pretty(json: &serde_json::Value) -> String {
    serde_json::to_string_pretty(json).unwrap()
}

/// The failure's stage, class and field, and non-empty hints.
pub fn assert_failure(json: &serde_json::Value, stage: &str, class: &str, field: Option<&str>) {
    let f = &json["failure"];
    assert_eq!(json["ok"], false, "{}", pretty(json));
    assert_eq!(f["class"], class, "{}", pretty(json));
    assert_eq!(f["stage"], stage, "{}", pretty(json));
    assert_eq!(f["field"], field.map_or(serde_json::Value::Null, |f| f.into()), "{}", pretty(json));
    assert!(f["hint_de"].as_str().is_some_and(|h| h.len() > 20), "{}", pretty(json));
    assert!(f["hint_en"].as_str().is_some_and(|h| h.len() > 20), "{}", pretty(json));
    let stages = json["stages"].as_array().unwrap();
    let i = stages.iter().position(|s| s["name"] == stage).unwrap();
    assert_eq!(stages[i]["status"], "failed", "{}", pretty(json));
    assert!(stages[i + 1..].iter().all(|s| s["status"] == "skipped"), "{}", pretty(json));
}

/// Names and statuses of the stages, e.g. `["resolve:ok", "connect:ok", "tls:skipped"]`.
pub fn timeline(json: &serde_json::Value) -> Vec<String> {
    json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{}:{}", s["name"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect()
}

/// The transcript as `C: …`, `S: …`, `I: …` lines.
pub fn transcript(json: &serde_json::Value) -> String {
    json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let d = match l["direction"].as_str().unwrap() {
                "client" => "C",
                "server" => "S",
                _ => "I",
            };
            format!("{d}: {}", l["text"].as_str().unwrap())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A scripted SMTP server on a real socket, for server behaviour aiosmtpd cannot show:
/// it sends `greeting`, then answers each command with the reply of the first rule whose
/// prefix matches (case-insensitive), `250 OK` otherwise; DATA is read up to the final
/// `.`. Replies may be multi-line (`\r\n`-separated). Serves connections until dropped.
pub async fn scripted_server(greeting: &'static str, rules: &'static [(&'static str, &'static str)]) -> u16 {
    use tokio::io::AsyncWriteExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(format!("{greeting}\r\n").as_bytes()).await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply = rules
                        .iter()
                        .find(|(prefix, _)| upper.starts_with(&prefix.to_ascii_uppercase()))
                        .map(|(_, reply)| *reply)
                        .unwrap_or(if upper == "DATA" { "354 go ahead" } else { "250 OK" });
                    let _ = write.write_all(format!("{reply}\r\n").as_bytes()).await;
                    if upper == "DATA" && reply.starts_with("354") {
                        while let Ok(Some(body)) = lines.next_line().await {
                            if body == "." {
                                break;
                            }
                        }
                        let _ = write.write_all(b"250 2.0.0 queued\r\n").await;
                    }
                    if upper == "QUIT" || !greeting.starts_with("220") {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// A listener that reads what a client sends first and then closes the connection.
pub async fn closing_listener() -> u16 {
    use tokio::io::AsyncReadExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 512];
            let _ = socket.read(&mut buf).await;
        }
    });
    port
}

/// Collects everything `tracing` writes on one thread.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// Writes to the capture of the thread that emits the event, if it has one.
struct ToThreadCapture;

impl Write for ToThreadCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(captured) = capture.borrow().as_ref() {
                captured.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Ends the capture when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|capture| capture.borrow_mut().take());
    }
}

/// Captures every `tracing` event, down to TRACE, emitted on this thread while the guard
/// lives (a `#[tokio::test]` runs its tasks on its own thread).
///
/// One global subscriber at TRACE serves every thread of the test binary: with a
/// thread-local one (`set_default`) a test running in parallel that reaches a log line
/// first would cache it process-wide as disabled, and the capture would miss it.
pub fn capture_logs() -> (Captured, CaptureGuard) {
    static GLOBAL: OnceLock<()> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ToThreadCapture)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
    });
    let captured = Captured::default();
    CAPTURE.with(|capture| *capture.borrow_mut() = Some(captured.clone()));
    (captured, CaptureGuard(()))
}
