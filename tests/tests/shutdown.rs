//! SIGTERM while messages are being delivered to a slow mail server: the process finishes
//! the messages in flight, ends its SMTP sessions with QUIT (and, with TLS, close_notify),
//! exits 0 within the grace time, and the next start delivers the rest: nothing is lost.

use postamt_e2e::{wait_for, Api, Auth, Launch, SmtpServer};
use postamt_wire::{MessageAccepted, Scope};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const PASSWORD: &str = "shutdown-admin-password";
const MESSAGES: usize = 12;

fn settings(port: u16, tls: bool) -> Value {
    json!({
        "host": "127.0.0.1", "port": port, "encryption": if tls { "starttls" } else { "none" },
        "sender_name": "TEAMBOX", "sender_address": "teambox@example.org",
        "auth": { "enabled": false }, "force_default_sender": true, "timeout_seconds": 10,
        // The test server's certificate is self-signed; what is tested is how TLS ends.
        "tls": { "accept_invalid_certificates": tls }
    })
}

/// Saves the settings and returns an API key that may send and read messages.
fn prepare(api: &Api, port: u16, tls: bool) -> String {
    let session = api.sign_in(PASSWORD);
    api.put_json("/api/v1/mail-settings", Auth::Session(&session), None, &settings(port, tls)).expect(200);
    api.create_api_key(&session, "shutdown-test", &[Scope::MailSend, Scope::LogRead]).secret
}

fn send(api: &Api, key: &str, n: usize) -> String {
    let body = json!({ "category": "finance", "to": [format!("kunde{n}@example.com")], "subject": format!("Rechnung {n}"), "text": "Anbei." });
    let reply = api.post_json("/api/v1/messages", Auth::Bearer(key), &body);
    reply.expect(202);
    reply.json::<MessageAccepted>().id
}

fn counts(ids: &[String]) -> HashMap<&String, usize> {
    let mut seen = HashMap::new();
    for id in ids {
        *seen.entry(id).or_default() += 1;
    }
    seen
}

/// A self-signed certificate for the test server, as PEM files in `dir`.
fn certificate(dir: &std::path::Path) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let (cert_file, key_file) = (dir.join("smtp.crt"), dir.join("smtp.key"));
    std::fs::write(&cert_file, cert.pem()).expect("write cert");
    std::fs::write(&key_file, key.serialize_pem()).expect("write key");
    (cert_file.to_string_lossy().into_owned(), key_file.to_string_lossy().into_owned())
}

fn of_kind(server: &SmtpServer, kind: &str) -> Vec<Value> {
    server.events().into_iter().filter(|e| e["event"] == kind).collect()
}

/// After the restart: every message arrives exactly once and shows one attempt, "sent".
fn delivered_exactly_once_after_restart(launch: &Launch, server: &SmtpServer, key: &str, ids: &[String]) {
    let second = launch.start();
    wait_for(Duration::from_secs(60), "every message delivered after the restart", || {
        (counts(&server.delivered_message_ids()).len() == ids.len()).then_some(())
    });
    // A little longer: a second delivery of anything would show now.
    std::thread::sleep(Duration::from_millis(500));
    let delivered = server.delivered_message_ids();
    assert_eq!(delivered.len(), ids.len(), "no message arrived twice");
    let api = second.api();
    for id in ids {
        let view: Value = api.get(&format!("/api/v1/messages/{id}"), Auth::Bearer(key)).expect(200).json();
        assert_eq!(view["status"], "sent", "{view}");
        // The shutdown cost no attempt: a message it interrupted is not counted as failed.
        assert_eq!(view["attempts"].as_array().map(Vec::len), Some(1), "{view}");
    }
}

fn sigterm_during_delivery(tls: bool) {
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let mut args = vec!["--stall".to_owned(), "data:1".to_owned(), "--log-sessions".into(), "--record-close".into()];
    if tls {
        let (cert, key) = certificate(dir.path());
        args.extend(["--tls".into(), "starttls".into(), "--cert".into(), cert, "--key".into(), key]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = SmtpServer::start(&args);
    let grace = 10;
    let launch = Launch::new(&dir.path().join("data"))
        .admin_password(PASSWORD)
        .arg("--shutdown-grace-seconds")
        .arg(grace.to_string())
        .arg("--delivery-workers")
        .arg("2");
    let first = launch.start();
    let api = first.api();
    let key = prepare(&api, server.port, tls);
    let ids: Vec<String> = (0..MESSAGES).map(|n| send(&api, &key, n)).collect();
    // Each answer to DATA takes a second: both workers are mid-message from now on.
    wait_for(Duration::from_secs(30), "the first delivery", || (!server.deliveries().is_empty()).then_some(()));

    let ended = first.terminate(Duration::from_secs(grace + 10));
    assert_eq!(ended.status.and_then(|s| s.code()), Some(0), "exit status; stderr:\n{}", ended.stderr);
    assert!(ended.took < Duration::from_secs(grace), "took {:?}; stderr:\n{}", ended.took, ended.stderr);
    let at_stop = server.delivered_message_ids().len();
    assert!(at_stop < MESSAGES, "everything was delivered before SIGTERM; the test proves nothing");

    // Every session the instance opened ended with QUIT, then a proper close by the client.
    let connections = of_kind(&server, "connect").len();
    assert!(connections >= 1);
    let quits = of_kind(&server, "quit");
    assert_eq!(quits.len(), connections, "a QUIT per session: {:?}", server.events());
    assert!(quits.iter().all(|q| q["tls"] == tls), "QUIT over TLS: {quits:?}");
    let closed = wait_for(Duration::from_secs(5), "every connection closed", || {
        let closed = of_kind(&server, "closed");
        (closed.len() == connections).then_some(closed)
    });
    for close in &closed {
        assert_eq!(close["after_quit"], true, "{close}");
        assert_eq!(close["error"], Value::Null, "{close}");
        if tls {
            assert_eq!(close["close_notify"], true, "TLS ended without close_notify: {close}");
        }
    }
    delivered_exactly_once_after_restart(&launch, &server, &key, &ids);
}

#[test]
fn shutdown_on_sigterm_finishes_messages_in_flight_says_quit_and_loses_nothing() {
    sigterm_during_delivery(false);
}

#[test]
fn shutdown_on_sigterm_ends_tls_sessions_with_quit_and_close_notify() {
    sigterm_during_delivery(true);
}

/// A server that never answers: the grace time bounds the shutdown. The messages cut off
/// are not marked failed and go out after the restart. Here each arrives once, because the
/// test server drops a message whose connection ends before its answer; a real server may
/// have kept it, so in general such a message is delivered at least once.
#[test]
fn shutdown_after_the_grace_time_exits_0_and_the_cut_off_messages_are_sent_after_restart() {
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let stalled = SmtpServer::start(&["--stall", "data:60", "--log-sessions"]);
    let port = stalled.port;
    let grace = 2;
    let launch = Launch::new(&dir.path().join("data"))
        .admin_password(PASSWORD)
        .arg("--shutdown-grace-seconds")
        .arg(grace.to_string())
        .arg("--delivery-workers")
        .arg("2");
    let first = launch.start();
    let api = first.api();
    let key = prepare(&api, port, false);
    let ids: Vec<String> = (0..4).map(|n| send(&api, &key, n)).collect();
    wait_for(Duration::from_secs(30), "both workers waiting for an answer", || {
        (of_kind(&stalled, "connect").len() >= 2).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));

    let ended = first.terminate(Duration::from_secs(grace + 10));
    assert_eq!(ended.status.and_then(|s| s.code()), Some(0), "exit status; stderr:\n{}", ended.stderr);
    assert!(ended.took < Duration::from_secs(grace + 3), "took {:?}", ended.took);
    assert!(ended.stderr.contains("did not finish within the grace time"), "{}", ended.stderr);
    assert!(stalled.deliveries().is_empty());
    drop(stalled);

    let server = SmtpServer::start_on(port, &[]);
    delivered_exactly_once_after_restart(&launch, &server, &key, &ids);
}
