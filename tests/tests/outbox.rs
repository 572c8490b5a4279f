//! The outbox as a module sees it: accepted mail survives `kill -9`, and two instances on
//! one PostgreSQL database share the work without losing or doubling a message.

use postamt_e2e::smtp::free_port;
use postamt_e2e::{random_secret_key, wait_for, Api, Auth, Launch, Postamt, SmtpServer, TestDatabase};
use postamt_wire::{MessageAccepted, Scope};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const PASSWORD: &str = "outbox-admin-password";

fn settings(port: u16) -> Value {
    json!({
        "host": "127.0.0.1", "port": port, "encryption": "none",
        "sender_name": "TEAMBOX", "sender_address": "teambox@example.org",
        "auth": { "enabled": false }, "force_default_sender": true, "timeout_seconds": 5
    })
}

fn message(n: usize) -> Value {
    json!({ "category": "finance", "to": [format!("kunde{n}@example.com")], "subject": format!("Rechnung {n}"), "text": "Anbei." })
}

/// Saves settings for `port` and returns an API key that may send and read the log.
fn prepare(api: &Api, port: u16) -> String {
    let session = api.sign_in(PASSWORD);
    api.put_json("/api/v1/mail-settings", Auth::Session(&session), None, &settings(port)).expect(200);
    api.create_api_key(&session, "outbox-test", &[Scope::MailSend, Scope::LogRead]).secret
}

fn send(api: &Api, key: &str, n: usize) -> String {
    let reply = api.post_json("/api/v1/messages", Auth::Bearer(key), &message(n));
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

/// A metric's value from `GET /metrics`.
/// The value of a counter, summed over its labels (`postamt_messages_sent_total` has one per
/// connection).
fn metric(api: &Api, key: &str, name: &str) -> u64 {
    let text = api.get("/metrics", Auth::Bearer(key)).expect(200).body.clone();
    text.lines()
        .filter_map(|l| l.strip_prefix(name))
        .filter_map(|rest| rest.rsplit_once(' ').filter(|(labels, _)| labels.is_empty() || labels.starts_with('{')))
        .filter_map(|(_, v)| v.trim().parse::<u64>().ok())
        .sum()
}

#[test]
fn accepted_mail_survives_kill_9_and_is_delivered_after_restart() {
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let launch = Launch::new(dir.path())
        .admin_password(PASSWORD)
        .arg("--retry-base-seconds")
        .arg("0.2")
        .arg("--retry-max-seconds")
        .arg("0.5")
        .arg("--max-attempts")
        .arg("100");
    // Phase 1: the mail server is down; every message is accepted and stays queued.
    let port = free_port();
    let first = launch.start();
    let api = first.api();
    let key = prepare(&api, port);
    let queued: Vec<String> = (0..25).map(|n| send(&api, &key, n)).collect();
    // Phase 2: the mail server is slow; some messages are in flight when the process dies.
    let server = SmtpServer::start_on(port, &["--stall", "data:0.2"]);
    let more: Vec<String> = (25..50).map(|n| send(&api, &key, n)).collect();
    wait_for(Duration::from_secs(30), "the first deliveries", || (server.deliveries().len() >= 3).then_some(()));
    drop(first); // SIGKILL, no shutdown of any kind.
    let before_restart = server.delivered_message_ids().len();
    assert!(before_restart < 50, "everything was delivered before the kill; the test proves nothing");

    let second: Postamt = launch.start();
    wait_for(Duration::from_secs(60), "all 50 messages delivered after the restart", || {
        (counts(&server.delivered_message_ids()).len() == 50).then_some(())
    });
    let ids = server.delivered_message_ids();
    let duplicates = ids.len() - counts(&ids).len();
    // At-least-once: only a message in flight at the kill may arrive twice (one per worker).
    assert!(duplicates <= 4, "{duplicates} duplicates");
    let api = second.api();
    for id in queued.iter().chain(&more) {
        let view: Value = api.get(&format!("/api/v1/messages/{id}"), Auth::Bearer(&key)).expect(200).json();
        assert_eq!(view["status"], "sent", "{view}");
    }
}

#[test]
fn two_instances_on_one_postgresql_deliver_1000_messages_none_lost_none_twice() {
    let db = TestDatabase::create();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let secret_key = random_secret_key();
    let server = SmtpServer::start(&["--pipelining"]);
    let launch = |name: &str| {
        Launch::new(&dir.path().join(name))
            .database_url(&db.url)
            .admin_password(PASSWORD)
            .secret_key(&secret_key)
            .env("RUST_LOG", "warn")
            .start()
    };
    let (a, b) = (launch("a"), launch("b"));
    let key = prepare(&a.api(), server.port);
    let total = 1000;
    // Four clients, half of them through each instance.
    std::thread::scope(|scope| {
        for client in 0..4 {
            let api = if client % 2 == 0 { a.api() } else { b.api() };
            let key = key.clone();
            scope.spawn(move || {
                for n in (client..total).step_by(4) {
                    send(&api, &key, n);
                }
            });
        }
    });
    wait_for(Duration::from_secs(120), "1000 deliveries", || {
        (server.delivered_message_ids().len() >= total).then_some(())
    });
    // A little longer: a second delivery of anything would show now.
    std::thread::sleep(Duration::from_millis(500));
    let ids = server.delivered_message_ids();
    assert_eq!(counts(&ids).len(), total, "every message arrived");
    assert_eq!(ids.len(), total, "no message arrived twice");
    let (sent_a, sent_b) =
        (metric(&a.api(), &key, "postamt_messages_sent_total"), metric(&b.api(), &key, "postamt_messages_sent_total"));
    assert_eq!(sent_a + sent_b, total as u64);
    assert!(sent_a > 0 && sent_b > 0, "both instances delivered: {sent_a} + {sent_b}");
    assert_eq!(metric(&a.api(), &key, "postamt_outbox_depth"), 0);
}
