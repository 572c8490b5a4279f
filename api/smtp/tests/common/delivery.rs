//! Helpers for the delivery-session tests (`delivery.rs`, `pipeline.rs`).

use std::time::{Duration, Instant};

use postamt_smtp::{Credentials, DeliveryConfig, DeliveryFailure, Encryption, SmtpSession};
use postamt_wire::FailureClass;

use super::*;

pub const FROM: &str = "teambox@example.org";

/// Settings for `host:port` with the test account's login.
pub fn delivery_config(host: &str, port: u16, encryption: Encryption, timeout_secs: u64) -> DeliveryConfig {
    let mut cfg = DeliveryConfig::new(host, port, encryption);
    cfg.credentials = Some(Credentials::password(USER, PASSWORD));
    cfg.timeout = Duration::from_secs(timeout_secs);
    cfg.ehlo_name = Some("postamt.test".to_owned());
    cfg
}

/// The test server, logging every connection and RSET too.
pub async fn start(tls: &str, cert: Option<&CertFiles>, args: &[&str]) -> SmtpServer {
    let mut args = args.to_vec();
    args.push("--log-sessions");
    start_server(tls, cert, &args).await
}

pub fn to(addresses: &[&str]) -> Vec<String> {
    addresses.iter().map(|a| a.to_string()).collect()
}

/// A message whose body has lines a careless client would break: a lone `.`, lines that
/// start with one or two dots, an empty line, and a long run of plain lines.
pub fn message(i: usize, body_lines: usize) -> Vec<u8> {
    let mut m = format!(
        "From: TEAMBOX <{FROM}>\r\nTo: someone@example.org\r\nSubject: Rechnung {i}\r\n\
         Message-ID: <{i}.delivery-test@example.org>\r\n\r\n\
         Hallo,\r\n.\r\n.hidden line {i}\r\n..two dots\r\n\r\n. space after a dot\r\n"
    )
    .into_bytes();
    for line in 0..body_lines {
        m.extend_from_slice(
            format!("line {line} of message {i}: the quick brown fox jumps over the lazy dog\r\n").as_bytes(),
        );
    }
    m.extend_from_slice(b".\r\nend\r\n");
    m
}

/// What every failure must satisfy: hints in both languages, no secret anywhere, and
/// `permanent` exactly for 5xx replies (and addresses that are none).
pub fn check(failure: &DeliveryFailure) {
    assert!(failure.hint_de.len() > 20 && failure.hint_en.len() > 20, "{failure:#?}");
    assert_ne!(failure.hint_de, failure.hint_en);
    assert_no_secret(&format!("{failure:?} {failure}"), USER, PASSWORD);
    let five = failure.reply_code.is_some_and(|c| (500..600).contains(&c));
    if failure.class != FailureClass::InvalidSettings {
        assert_eq!(failure.permanent, five, "{failure:#?}");
    }
    if let Some(reply) = &failure.reply {
        assert!(reply.starts_with(&failure.reply_code.unwrap().to_string()), "{failure:#?}");
    }
}

pub async fn open(cfg: &DeliveryConfig) -> Result<SmtpSession, DeliveryFailure> {
    let started = Instant::now();
    let result = SmtpSession::open(cfg).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed <= cfg.timeout + Duration::from_secs(1),
        "open took {elapsed:?}, more than its timeout {:?} plus 1 s",
        cfg.timeout
    );
    if let Err(failure) = &result {
        check(failure);
    }
    result
}

pub async fn send(
    session: &mut SmtpSession,
    recipients: &[String],
    content: &[u8],
) -> Result<postamt_smtp::DeliveryReceipt, DeliveryFailure> {
    let started = Instant::now();
    let result = session.send(FROM, recipients, content).await;
    let elapsed = started.elapsed();
    let timeout = session.config().timeout;
    assert!(elapsed <= timeout + Duration::from_secs(1), "send took {elapsed:?}, timeout {timeout:?}");
    if let Err(failure) = &result {
        check(failure);
    }
    result
}

pub fn count(server: &SmtpServer, event: &str) -> usize {
    server.events().iter().filter(|e| e["event"] == event).count()
}
