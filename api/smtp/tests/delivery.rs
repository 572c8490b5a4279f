//! Delivery sessions against real servers on loopback (aiosmtpd via
//! `tests/servers/smtp_server.py`, raw sockets for the refused and the silent port): reuse
//! of one connection, rejections and recovery, TLS, deadlines, closed connections, and no
//! secret in any failure or log line.

mod common;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::delivery::*;
use common::*;
use postamt_smtp::{Credentials, DeliveryConfig, Encryption};
use postamt_wire::{FailureClass, SettingsField, StageName};

/// Sends `n` messages over one session and checks the server got each intact, over one
/// connection with one login. Returns messages per second.
async fn many_messages(server: &SmtpServer, cfg: &DeliveryConfig, n: usize, expect_pipelining: bool) -> f64 {
    let mut session = open(cfg).await.expect("open");
    assert_eq!(session.pipelining(), expect_pipelining);
    let messages: Vec<Vec<u8>> = (0..n).map(|i| message(i, 20)).collect();
    let recipients = to(&["someone@example.org", "other@example.org"]);
    let started = Instant::now();
    for m in &messages {
        assert!(session.is_usable().await);
        let receipt = send(&mut session, &recipients, m).await.expect("send");
        assert_eq!(receipt.reply, "250 2.0.0 Message accepted for delivery");
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    assert_eq!(session.messages_sent(), n as u64);
    session.close().await;

    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), n);
    for (i, (delivered, sent)) in deliveries.iter().zip(&messages).enumerate() {
        assert_eq!(delivered["content"], String::from_utf8_lossy(sent).as_ref(), "message {i} changed in transit");
        assert_eq!(delivered["mail_from"], FROM);
        assert_eq!(delivered["rcpt_tos"], serde_json::json!(recipients));
        assert_eq!(delivered["login"], USER);
        assert_eq!(delivered["conn"], 1, "every message over the first connection");
    }
    assert_eq!(count(server, "connect"), 1, "{:?}", server.events());
    assert_eq!(count(server, "auth"), 1, "one login for all messages");
    assert_eq!(count(server, "rset"), 0);
    rate
}

#[tokio::test]
async fn many_messages_over_one_session() {
    let server = start("none", None, &[]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let rate = many_messages(&server, &cfg, 300, false).await;
    eprintln!("aiosmtpd, plaintext, no PIPELINING: {rate:.0} messages/s over one session");
}

#[tokio::test]
async fn many_messages_pipelined() {
    let server = start("none", None, &["--pipelining"]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let rate = many_messages(&server, &cfg, 300, true).await;
    eprintln!("aiosmtpd, plaintext, PIPELINING: {rate:.0} messages/s over one session");
}

#[tokio::test]
async fn large_message_with_dots_arrives_intact_over_starttls() {
    let pki = Pki::new();
    let server = start("starttls", Some(&pki.localhost()), &["--pipelining"]).await;
    let mut cfg = delivery_config("localhost", server.port, Encryption::Starttls, 20);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let mut session = open(&cfg).await.expect("open");
    assert_eq!(session.tls_protocol(), Some("TLSv1.3"));
    // About 1.5 MB: many 64 KiB chunks, with dot lines spread through it.
    let mut big = message(0, 10_000);
    for _ in 0..3 {
        big.extend_from_slice(&message(1, 5_000));
    }
    let small = message(2, 3);
    for m in [&big, &small, &big] {
        // Over TLS too (1.3 session tickets arrive unasked, but are no SMTP data).
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(session.is_usable().await);
        send(&mut session, &to(&["someone@example.org"]), m).await.expect("send");
    }
    session.close().await;
    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), 3);
    assert_eq!(deliveries[0]["content"], String::from_utf8(big.clone()).unwrap());
    assert_eq!(deliveries[1]["content"], String::from_utf8(small).unwrap());
    assert_eq!(deliveries[2]["content"], String::from_utf8(big).unwrap());
    assert!(deliveries.iter().all(|d| d["tls"] == true && d["conn"] == 1));
    assert_eq!(count(&server, "connect"), 1);
}

#[tokio::test]
async fn greylisted_recipient_is_temporary_and_the_same_session_then_delivers() {
    for pipelining in [false, true] {
        let mut args = vec!["--reject-rcpt-times", "1"];
        if pipelining {
            args.push("--pipelining");
        }
        let server = start("none", None, &args).await;
        let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
        let mut session = open(&cfg).await.expect("open");
        let recipients = to(&["someone@example.org"]);

        let failure = send(&mut session, &recipients, &message(0, 3)).await.unwrap_err();
        assert_eq!(failure.stage, StageName::RcptTo, "{failure:#?}");
        assert_eq!(failure.class, FailureClass::TemporaryFailure);
        assert_eq!(failure.reply_code, Some(451));
        assert_eq!(failure.reply.as_deref(), Some("451 4.7.1 Greylisted, try again later"));
        assert!(!failure.permanent);
        assert!(failure.detail.as_deref().unwrap().contains("<someone@example.org>"), "{failure:#?}");
        assert!(failure.hint_en.contains("tries again later by itself"), "{}", failure.hint_en);
        assert!(session.is_usable().await, "RSET keeps the session usable");
        assert_eq!(count(&server, "rset"), 1, "RSET after the rejection");
        assert!(server.deliveries().is_empty());

        send(&mut session, &recipients, &message(1, 3)).await.expect("second send");
        session.close().await;
        let deliveries = server.deliveries();
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0]["conn"], 1, "over the same connection");
        assert_eq!(count(&server, "connect"), 1);
    }
}

#[tokio::test]
async fn rejected_recipient_is_permanent_nothing_is_sent_and_the_session_stays_usable() {
    for pipelining in [false, true] {
        let mut args = vec!["--reject-rcpt-address", "gone@example.org"];
        if pipelining {
            args.push("--pipelining");
        }
        let server = start("none", None, &args).await;
        let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
        let mut session = open(&cfg).await.expect("open");

        let recipients = to(&["someone@example.org", "gone@example.org", "third@example.org"]);
        let failure = send(&mut session, &recipients, &message(0, 3)).await.unwrap_err();
        assert_eq!(failure.stage, StageName::RcptTo);
        assert_eq!(failure.class, FailureClass::RecipientRejected);
        assert_eq!(failure.field, Some(SettingsField::Recipient));
        assert_eq!(failure.reply_code, Some(550));
        assert!(failure.permanent);
        assert_eq!(
            failure.reply.as_deref(),
            Some("550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown")
        );
        let detail = failure.detail.as_deref().unwrap();
        assert!(
            detail.contains("the recipient <gone@example.org> was rejected")
                && detail.contains("the message content was not sent"),
            "{detail}"
        );
        assert!(failure.hint_de.contains("„gone@example.org“"), "{}", failure.hint_de);
        assert!(failure.hint_en.contains("“gone@example.org”"), "{}", failure.hint_en);
        assert!(!failure.hint_en.contains("test"), "{}", failure.hint_en);

        assert!(session.is_usable().await);
        send(&mut session, &to(&["someone@example.org"]), &message(1, 3)).await.expect("next message");
        session.close().await;
        let deliveries = server.deliveries();
        assert_eq!(deliveries.len(), 1, "all or nothing: the first message went nowhere");
        assert_eq!(deliveries[0]["rcpt_tos"], serde_json::json!(["someone@example.org"]));
        assert_eq!(count(&server, "connect"), 1);
        assert_eq!(count(&server, "rset"), 1);
    }
}

/// With PIPELINING and one recipient, DATA travels in the same write as MAIL FROM and RCPT
/// TO. A refused sender then makes the server refuse the pipelined DATA too: the failure
/// names the sender, no content goes out, and the session stays in step for the next one.
#[tokio::test]
async fn rejected_sender_with_pipelined_data_sends_nothing_and_the_session_stays_usable() {
    let server = start("none", None, &["--pipelining", "--reject-mail", "550 5.7.1 Sender rejected"]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let mut session = open(&cfg).await.expect("open");
    assert!(session.pipelining());
    for n in 0..2 {
        let failure = send(&mut session, &to(&["someone@example.org"]), &message(n, 3)).await.unwrap_err();
        assert_eq!((failure.stage, failure.class), (StageName::MailFrom, FailureClass::SenderRejected), "{failure:#?}");
        assert_eq!(failure.reply.as_deref(), Some("550 5.7.1 Sender rejected"));
        assert!(session.is_usable().await, "the answer to DATA was read; RSET keeps the session usable");
    }
    session.close().await;
    assert!(server.deliveries().is_empty());
    assert_eq!(count(&server, "connect"), 1);
}

#[tokio::test]
async fn message_rejected_at_data_is_permanent() {
    let server = start("none", None, &["--reject-data", "554 5.7.1 Message rejected as spam"]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let mut session = open(&cfg).await.expect("open");
    let failure = send(&mut session, &to(&["someone@example.org"]), &message(0, 3)).await.unwrap_err();
    assert_eq!((failure.stage, failure.class, failure.field), (StageName::Data, FailureClass::MessageRejected, None));
    assert_eq!(failure.reply.as_deref(), Some("554 5.7.1 Message rejected as spam"));
    assert!(failure.permanent);
    assert!(session.is_usable().await);
    session.close().await;
}

#[tokio::test]
async fn a_421_makes_the_session_unusable() {
    let server = start("none", None, &["--reject-rcpt", "421 4.7.0 Too many errors, closing"]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let mut session = open(&cfg).await.expect("open");
    let failure = send(&mut session, &to(&["someone@example.org"]), &message(0, 3)).await.unwrap_err();
    assert_eq!((failure.class, failure.reply_code), (FailureClass::TemporaryFailure, Some(421)));
    assert!(!failure.permanent);
    assert!(!session.is_usable().await, "after a 421 the server closes");
    let again = send(&mut session, &to(&["someone@example.org"]), &message(1, 3)).await.unwrap_err();
    assert!(again.detail.as_deref().unwrap().contains("no longer usable"), "{again:#?}");
    assert_eq!(count(&server, "rset"), 0, "no RSET on a closing connection");
}

#[tokio::test]
async fn wrong_password_fails_at_open_and_is_permanent() {
    let server = start("none", None, &[]).await;
    let mut cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    cfg.credentials = Some(Credentials::password(USER, "Wrong-Password-42"));
    let failure = open(&cfg).await.unwrap_err();
    assert_eq!(failure.stage, StageName::Auth);
    assert_eq!(failure.class, FailureClass::CredentialsRejected);
    assert_eq!(failure.field, Some(SettingsField::AuthPassword));
    assert_eq!(failure.reply_code, Some(535));
    assert!(failure.permanent);
    assert_no_secret(&format!("{failure:?}"), USER, "Wrong-Password-42");
    assert!(failure.hint_en.contains(USER), "the hint names the login: {}", failure.hint_en);
}

#[tokio::test]
async fn starttls_with_a_private_ca() {
    let pki = Pki::new();
    let server = start("starttls", Some(&pki.localhost()), &["--auth-require-tls"]).await;
    let mut cfg = delivery_config("localhost", server.port, Encryption::Starttls, 10);

    // Without the CA the certificate is not trusted: a TLS failure, retried later.
    let failure = open(&cfg).await.unwrap_err();
    assert_eq!(
        (failure.stage, failure.class, failure.field),
        (StageName::Tls, FailureClass::CertificateUntrusted, Some(SettingsField::TlsTrustedCaPem))
    );
    assert!(!failure.permanent);

    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let mut session = open(&cfg).await.expect("open with the private CA");
    assert_eq!(session.tls_protocol(), Some("TLSv1.3"));
    send(&mut session, &to(&["someone@example.org"]), &message(0, 3)).await.expect("send");
    session.close().await;
    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!((&deliveries[0]["tls"], &deliveries[0]["login"]), (&serde_json::json!(true), &serde_json::json!(USER)));
}

#[tokio::test]
async fn starttls_configured_never_falls_back_to_plaintext() {
    let server = start("none", None, &[]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::Starttls, 10);
    let failure = open(&cfg).await.unwrap_err();
    assert_eq!(
        (failure.stage, failure.class, failure.field),
        (StageName::Tls, FailureClass::StarttlsNotOffered, Some(SettingsField::Encryption))
    );
    assert!(!failure.permanent);
    assert_eq!(count(&server, "auth"), 0, "no login over plaintext");
}

#[tokio::test]
async fn implicit_tls() {
    let pki = Pki::new();
    let server = start("implicit", Some(&pki.localhost()), &["--pipelining"]).await;
    let mut cfg = delivery_config("localhost", server.port, Encryption::Tls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let mut session = open(&cfg).await.expect("open");
    assert!(session.tls_protocol().is_some());
    for i in 0..3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(session.is_usable().await);
        send(&mut session, &to(&["someone@example.org"]), &message(i, 3)).await.expect("send");
    }
    session.close().await;
    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries.iter().all(|d| d["tls"] == true && d["login"] == USER && d["conn"] == 1));

    // The same port spoken to with STARTTLS: detected, "choose TLS", within the deadline.
    cfg.encryption = Encryption::Starttls;
    cfg.timeout = Duration::from_secs(4);
    let failure = open(&cfg).await.unwrap_err();
    assert_eq!(
        (failure.stage, failure.class, failure.field),
        (StageName::Greeting, FailureClass::StarttlsOnImplicitTlsPort, Some(SettingsField::Encryption))
    );
}

#[tokio::test]
async fn refused_port_fails_fast_and_is_temporary() {
    let port = refused_port().await;
    let cfg = delivery_config("127.0.0.1", port, Encryption::None, 5);
    let started = Instant::now();
    let failure = open(&cfg).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        (failure.stage, failure.class, failure.field),
        (StageName::Connect, FailureClass::ConnectionRefused, Some(SettingsField::Port))
    );
    assert!(!failure.permanent);
}

#[tokio::test]
async fn silent_server_ends_at_the_deadline() {
    let (port, _task) = silent_listener().await;
    for encryption in [Encryption::None, Encryption::Tls] {
        let cfg = delivery_config("127.0.0.1", port, encryption, 2);
        let started = Instant::now();
        let failure = open(&cfg).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(1_900), "{elapsed:?}");
        assert!(elapsed <= Duration::from_secs(3), "{elapsed:?}");
        assert_eq!(failure.class, FailureClass::Timeout, "{failure:#?}");
        let stage = if encryption == Encryption::Tls { StageName::Tls } else { StageName::Greeting };
        assert_eq!(failure.stage, stage);
        assert!(!failure.permanent);
    }
}

#[tokio::test]
async fn server_stalling_after_the_message_hits_the_send_deadline() {
    let server = start("none", None, &["--stall", "data:20"]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 2);
    let mut session = open(&cfg).await.expect("open");
    let started = Instant::now();
    let failure = send(&mut session, &to(&["someone@example.org"]), &message(0, 3)).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1_900) && elapsed <= Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(
        (failure.stage, failure.class, failure.field),
        (StageName::Data, FailureClass::Timeout, Some(SettingsField::TimeoutSeconds))
    );
    assert!(!failure.permanent);
    assert!(failure.detail.as_deref().unwrap().contains("may have accepted it"), "{failure:#?}");
    assert!(!session.is_usable().await, "state unknown after a timeout");
    let closing = Instant::now();
    session.close().await;
    assert!(closing.elapsed() <= Duration::from_millis(2_100));
}

#[tokio::test]
async fn connection_closed_by_the_server_between_messages() {
    let server = start("none", None, &["--close-after-messages", "1"]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let mut session = open(&cfg).await.expect("open");
    assert!(session.is_usable().await);
    send(&mut session, &to(&["someone@example.org"]), &message(0, 3)).await.expect("send");
    // The server closes right after its 250.
    let mut usable = true;
    for _ in 0..50 {
        usable = session.is_usable().await;
        if !usable {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!usable, "a closed connection is noticed without sending");
    session.close().await;

    let mut session = open(&cfg).await.expect("reopen");
    send(&mut session, &to(&["someone@example.org"]), &message(1, 3)).await.expect("send after reopening");
    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), 2);
    assert_eq!((&deliveries[0]["conn"], &deliveries[1]["conn"]), (&serde_json::json!(1), &serde_json::json!(2)));
}

#[tokio::test]
async fn idle_session_is_checked_with_noop() {
    let server = start("none", None, &[]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let mut session = open(&cfg).await.expect("open");
    session.set_noop_after_idle(Duration::ZERO);
    assert!(session.is_usable().await, "NOOP answered 250");
    send(&mut session, &to(&["someone@example.org"]), &message(0, 3)).await.expect("send");
    session.close().await;

    // A server that no longer answers: NOOP times out, bounded by the timeout.
    let stalled = start("none", None, &["--stall", "noop:20"]).await;
    let cfg = delivery_config("127.0.0.1", stalled.port, Encryption::None, 2);
    let mut session = open(&cfg).await.expect("open");
    session.set_noop_after_idle(Duration::ZERO);
    let started = Instant::now();
    assert!(!session.is_usable().await);
    assert!(started.elapsed() <= Duration::from_millis(2_500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn addresses_that_could_inject_commands_are_refused_before_sending() {
    let server = start("none", None, &[]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let mut session = open(&cfg).await.expect("open");
    let evil = to(&["someone@example.org>\r\nRCPT TO:<attacker@example.org"]);
    let failure = send(&mut session, &evil, &message(0, 3)).await.unwrap_err();
    assert_eq!(
        (failure.stage, failure.class, failure.field),
        (StageName::RcptTo, FailureClass::InvalidSettings, Some(SettingsField::Recipient))
    );
    assert!(failure.permanent);
    assert!(session.is_usable().await);
    send(&mut session, &to(&["someone@example.org"]), &message(1, 3)).await.expect("send");
    session.close().await;
    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["rcpt_tos"], serde_json::json!(["someone@example.org"]));
}

#[tokio::test]
async fn no_secret_in_failures_or_logs() {
    let (logs, _guard) = capture_logs();
    let encoded = B64.encode(PASSWORD);
    let plain_blob = B64.encode(format!("\0{USER}\0{PASSWORD}"));

    // A careless server whose account has another password, and which repeats the
    // password it got (and its base64 forms) when it rejects the login.
    let careless_auth = format!("535 5.7.8 Bad login {PASSWORD} / {encoded} / {plain_blob}");
    let careless = start("none", None, &["--auth-fail-reply", &careless_auth, "--password", "other"]).await;
    let mut cfg = delivery_config("127.0.0.1", careless.port, Encryption::None, 10);
    let failure = open(&cfg).await.unwrap_err();
    assert_eq!(failure.class, FailureClass::CredentialsRejected);
    let reply = failure.reply.as_deref().unwrap();
    assert!(reply.starts_with("535 5.7.8 Bad login ******** / ********"), "{reply}");

    // Sending: replies that echo the password are masked in receipts and failures.
    let careless_rcpt = format!("550 5.1.1 no such user, your password is {PASSWORD} ({encoded})");
    let rejecting = start("none", None, &["--reject-rcpt", &careless_rcpt]).await;
    cfg.port = rejecting.port;
    let mut session = open(&cfg).await.expect("open");
    let failure = send(&mut session, &to(&["someone@example.org"]), &message(0, 3)).await.unwrap_err();
    assert!(failure.reply.as_deref().unwrap().contains("your password is ******** (********"), "{failure:#?}");
    session.close().await;

    let server = start("none", None, &[]).await;
    cfg.port = server.port;
    let mut session = open(&cfg).await.expect("open");
    send(&mut session, &to(&["someone@example.org"]), b"Subject: secret content XYZZY\r\n\r\nbody\r\n")
        .await
        .expect("send");
    session.close().await;

    let logs = logs.text();
    assert!(logs.contains("SMTP session opened"), "{logs}");
    assert!(logs.contains("SMTP session could not be opened"), "{logs}");
    assert!(logs.contains("message not sent"), "{logs}");
    assert!(logs.contains("SMTP session closed"), "{logs}");
    assert!(logs.contains("AUTH PLAIN ********"), "the opening is logged, masked:\n{logs}");
    assert!(!logs.contains("XYZZY"), "no message content in the logs");
    assert_no_secret(&logs, USER, PASSWORD);
}
