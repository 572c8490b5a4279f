//! A stuck outbox raises exactly one signed firing alert and, once the mail flows again,
//! exactly one resolution, on each channel; with two instances on PostgreSQL as well.

use super::*;
use crate::both_backends;
use crate::helpers::spawn_sibling;
use crate::messages::{invoice, send, settings_for, wait_for};
use crate::smtp_server::SmtpServer;
use postamt_wire::{MessageAccepted, MessageStatus, Scope};

both_backends!(a_stuck_outbox_raises_one_signed_alert_and_one_resolution);

async fn a_stuck_outbox_raises_one_signed_alert_and_one_resolution(backend: Backend) {
    run(backend, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_send_one_alert_and_one_resolution() {
    run(Backend::Postgres, true).await;
}

/// Messages keep retrying against a port that never answers.
fn retrying(c: &mut postamt::config::Config) {
    c.max_attempts = 100;
    c.retry_base_seconds = 0.5;
    c.retry_max_seconds = 1.0;
}

async fn run(backend: Backend, two_instances: bool) {
    // The receiver fails the first POST: the firing alert arrives by its retry.
    let receiver = Receiver::start(&[500]);
    // The mail server does not answer at first (a socket never served, held so that no
    // other test takes the port).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let a = alert_app(backend, retrying).await;
    let b = match two_instances {
        true => {
            let mut b = spawn_sibling(&a, |c| {
                retrying(c);
                c.alert_check_seconds = 1;
                c.secret_key = Some(SecretString::from(SECRET_KEY.to_owned()));
            })
            .await;
            b.sign_in().await;
            Some(b)
        }
        false => None,
    };
    assert_eq!(a.put_settings(&settings_for(port), None).await.status(), 200);
    let alerts = alert_settings(Some(&receiver.url), Some(&["ops@example.org"]), "queue_stuck");
    assert_eq!(put_alert_settings(&a, &alerts, None).await.status(), 200);
    let key = a.create_api_key("finance", &Scope::ALL).await.secret;
    let sent: MessageAccepted = send(&a, &key, &invoice(), None).await.json().await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(receiver.received().is_empty(), "no alert before the threshold: {:?}", receiver.received());

    // The message has waited longer than the threshold (1 minute).
    backdate_messages(&a, 10);
    let firing = receiver.wait_delivered("firing", 1, Duration::from_secs(30)).await;
    let first = firing[0].json();
    assert_eq!(
        (first["event"].as_str(), first["condition"].as_str()),
        (Some("firing"), Some("queue_stuck")),
        "{first}"
    );
    assert!(first["detail"].as_str().unwrap().contains("oldest unsent message"), "{first}");
    assert!(first["text"].as_str().unwrap().starts_with("Postamt incident #"), "{first}");
    assert!(first["resolved_at"].is_null() && first["opened_at"].is_string(), "{first}");
    let attempts = receiver.events("firing");
    assert_eq!(attempts.iter().map(|r| r.status).collect::<Vec<_>>(), vec![500, 200], "retried after the 500");
    for r in &attempts {
        r.assert_signed_with(WEBHOOK_SECRET);
    }
    let open = incidents(&a).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!((open[0]["state"].as_str(), open[0]["condition"].as_str()), (Some("firing"), Some("queue_stuck")));

    // The server answers again: the message goes out, the incident resolves a check later.
    drop(silent);
    let server = SmtpServer::start_on(port, &[]);
    wait_for(&a, &key, &sent.id, MessageStatus::Sent).await;
    let resolved = receiver.wait_delivered("resolved", 1, Duration::from_secs(30)).await;
    let last = resolved[0].json();
    assert_eq!((last["incident_id"].clone(), last["resolved_at"].is_string()), (first["incident_id"].clone(), true));
    resolved[0].assert_signed_with(WEBHOOK_SECRET);
    // The alert e-mails (queued behind the stuck message) arrive: one of each.
    let started = Instant::now();
    while alert_mails(&server, "resolved").is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "no alert mails: {:?}", server.deliveries());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Several more checks on every instance add nothing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(receiver.events("firing").len(), 2, "{:?}", receiver.received());
    assert_eq!(receiver.events("resolved").len(), 1, "{:?}", receiver.received());
    assert_eq!((alert_mails(&server, "firing").len(), alert_mails(&server, "resolved").len()), (1, 1));
    let mail = &alert_mails(&server, "firing")[0];
    assert_eq!(mail["rcpt_tos"], json!(["ops@example.org"]));
    let listed = incidents(b.as_ref().unwrap_or(&a)).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["state"], "resolved");
    let channels: Vec<(String, u64, u64)> = listed[0]["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["channel"].as_str().unwrap().to_owned(),
                n["delivered"].as_u64().unwrap(),
                n["pending"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(channels, vec![("webhook".to_owned(), 2, 0), ("email".to_owned(), 2, 0)], "{listed:?}");
}
