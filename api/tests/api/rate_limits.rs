//! Throttling and quota replies: their own classes, and a quota reply never fails a message,
//! however many attempts it takes (the test config allows 3 attempts for other failures).

use crate::both_backends;
use crate::helpers::Backend;
use crate::messages::{app_sending_to, invoice, message, send, wait_for};
use crate::smtp_server::SmtpServer;
use postamt_wire::{FailureClass, MessageAccepted, MessageStatus};
use std::time::{Duration, Instant};

both_backends!(a_quota_reply_never_fails_the_message_and_it_goes_out_when_the_quota_allows);

const QUOTA: &str =
    "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message";

async fn a_quota_reply_never_fails_the_message_and_it_goes_out_when_the_quota_allows(backend: Backend) {
    let refusing = SmtpServer::start(&["--reject-data", QUOTA]);
    let port = refusing.port;
    let (app, key) = app_sending_to(backend, &refusing).await;
    let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();

    // More attempts than a 5xx reply or the attempt limit (3) would ever get.
    let started = Instant::now();
    let view = loop {
        let view = message(&app, &key, &accepted.id).await;
        assert_ne!(view.status, MessageStatus::Failed, "a quota reply failed the message: {view:?}");
        if view.attempts.len() >= 5 {
            break view;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "too few attempts: {view:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let last = view.attempts.last().unwrap();
    assert_eq!(last.class, Some(FailureClass::QuotaExceeded), "{view:?}");

    // The quota allows again: the same server address now accepts, and the message goes out.
    drop(refusing);
    let accepting = SmtpServer::start_on(port, &[]);
    wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!(accepting.deliveries().len(), 1);
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
