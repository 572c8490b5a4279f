//! Throttling and quota replies: their own classes, and a quota reply never fails a message,
//! however many attempts it takes (the test config allows 3 attempts for other failures).

use crate::both_backends;
use crate::helpers::Backend;
use crate::helpers::{spawn_app_with, TestApp};
use crate::messages::{invoice, message, send, settings_for, wait_for};
use crate::smtp_server::SmtpServer;
use postamt_wire::{FailureClass, MessageAccepted, MessageStatus};
use std::time::{Duration, Instant};

both_backends!(a_quota_reply_never_fails_the_message_and_it_goes_out_when_the_quota_allows);

/// An app sending to `server`, with attempts to spare: the refused connect while a test swaps
/// the server on its port must not use up the test config's 3 attempts.
async fn app_sending_to(backend: Backend, server: &SmtpServer) -> (TestApp, String) {
    let mut app = spawn_app_with(backend, |c| c.max_attempts = 100).await;
    app.sign_in().await;
    assert_eq!(app.put_settings(&settings_for(server.port), None).await.status(), 200);
    let key = app.create_api_key("finance", &postamt_wire::Scope::ALL).await.secret;
    (app, key)
}

const QUOTA: &str =
    "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message";

async fn a_quota_reply_never_fails_the_message_and_it_goes_out_when_the_quota_allows(backend: Backend) {
    // Quota replies to the first 15 RCPT TO (the invoice has three recipients: five
    // attempts), then the quota allows again. The test config allows 3 attempts.
    let server = SmtpServer::start(&["--reject-rcpt", QUOTA, "--reject-rcpt-times", "15"]);
    let mut app = spawn_app_with(backend, |c| assert_eq!(c.max_attempts, 3)).await;
    app.sign_in().await;
    assert_eq!(app.put_settings(&settings_for(server.port), None).await.status(), 200);
    let key = app.create_api_key("finance", &postamt_wire::Scope::ALL).await.secret;
    let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();

    let started = Instant::now();
    let view = loop {
        let view = message(&app, &key, &accepted.id).await;
        assert_ne!(view.status, MessageStatus::Failed, "a quota reply failed the message: {view:?}");
        if view.status == MessageStatus::Sent {
            break view;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not sent: {view:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // More attempts than a 5xx reply or the attempt limit would ever get.
    let (last, refused) = view.attempts.split_last().unwrap();
    assert!(refused.len() >= 5, "{view:?}");
    assert!(refused.iter().all(|a| a.class == Some(FailureClass::QuotaExceeded)), "{view:?}");
    assert_eq!(last.outcome, MessageStatus::Sent);
    assert_eq!(server.deliveries().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_reply_pauses_all_sending_not_just_its_message() {
    let busy =
        SmtpServer::start(&["--reject-mail", "451 4.7.500 Server busy. Please try again later from [192.0.2.1]."]);
    let port = busy.port;
    let (app, key) = app_sending_to(Backend::Sqlite, &busy).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
        ids.push(accepted.id);
    }
    // Retries 0.2 s doubling to 1 s (the test config): without a pause, six messages would
    // each be tried again and again (about 25 times in 2.5 s); with it, the instance sends one
    // MAIL FROM per pause, two at most when both workers wake together.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let tried = busy.events().iter().filter(|e| e["event"] == "mail_rejected").count();
    assert!((2..=10).contains(&tried), "{tried} MAIL FROM in 2.5 s while throttled");
    for id in &ids {
        let view = message(&app, &key, id).await;
        assert_ne!(view.status, MessageStatus::Failed, "{view:?}");
        assert!(view.attempts.iter().all(|a| a.class == Some(FailureClass::Throttled)), "{view:?}");
    }
    // The server takes mail again: everything goes out, none lost, none twice.
    drop(busy);
    let accepting = SmtpServer::start_on(port, &[]);
    for id in &ids {
        wait_for(&app, &key, id, MessageStatus::Sent).await;
    }
    assert_eq!(accepting.deliveries().len(), ids.len());
}

/// One instance hears the limit; the other, on the same database, holds back too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pause_holds_every_instance_on_one_postgresql() {
    let busy =
        SmtpServer::start(&["--reject-mail", "451 4.7.500 Server busy. Please try again later from [192.0.2.1]."]);
    let port = busy.port;
    let slow_retries = |c: &mut postamt::config::Config| {
        // A pause of 4 to 6 s (the first retry delay, with jitter).
        c.retry_base_seconds = 5.0;
        c.retry_max_seconds = 5.0;
        c.max_attempts = 100;
    };
    let mut a = spawn_app_with(Backend::Postgres, slow_retries).await;
    a.sign_in().await;
    assert_eq!(a.put_settings(&settings_for(port), None).await.status(), 200);
    let key = a.create_api_key("finance", &postamt_wire::Scope::ALL).await.secret;
    let b = crate::helpers::spawn_sibling(&a, slow_retries).await;

    let first: MessageAccepted = send(&a, &key, &invoice(), None).await.json().await.unwrap();
    let rejected = || busy.events().iter().filter(|e| e["event"] == "mail_rejected").count();
    let started = Instant::now();
    while rejected() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the first message was not tried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Longer than the other instance may take to read the shared pause (one second).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let second: MessageAccepted = send(&b, &key, &invoice(), None).await.json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rejected(), 1, "the other instance sent during the pause");
    assert_eq!(message(&b, &key, &second.id).await.attempts.len(), 0);

    drop(busy);
    let accepting = SmtpServer::start_on(port, &[]);
    wait_for(&a, &key, &first.id, MessageStatus::Sent).await;
    wait_for(&b, &key, &second.id, MessageStatus::Sent).await;
    assert_eq!(accepting.deliveries().len(), 2);
}
