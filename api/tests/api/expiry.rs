//! `expires_at` / `expires_in_seconds`: a message not delivered in time is never sent and
//! is logged with the class `expired` (one-time passwords).

use crate::helpers::{fields, problem, spawn_app_with, Backend};
use crate::messages::{invoice, send, settings_for, wait_for};
use crate::smtp_server::SmtpServer;
use postamt_wire::{FailureClass, MessageAccepted, MessageStatus, Scope};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_message_is_never_sent() {
    // The server does not answer at first (a socket that is never served, held so that no
    // other test takes the port): the messages wait for their retries.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // Attempts enough that only the expiry can end the short one.
    let mut app = spawn_app_with(Backend::Sqlite, |c| c.max_attempts = 50).await;
    app.sign_in().await;
    assert_eq!(app.put_settings(&settings_for(port), None).await.status(), 200);
    let key = app.create_api_key("login", &Scope::ALL).await.secret;
    let mut otp = invoice();
    otp["category"] = json!("otp");
    otp["expires_in_seconds"] = json!(1);
    let short: MessageAccepted = send(&app, &key, &otp, None).await.json().await.unwrap();
    otp["expires_in_seconds"] = json!(600);
    let long: MessageAccepted = send(&app, &key, &otp, None).await.json().await.unwrap();

    // Each attempt waits out the 5 s deadline; the short one's next one finds it expired.
    let failed = wait_for(&app, &key, &short.id, MessageStatus::Failed).await;
    drop(silent);
    let server = SmtpServer::start_on(port, &[]);
    assert_eq!(failed.attempts.last().unwrap().class, Some(FailureClass::Expired), "{failed:?}");
    wait_for(&app, &key, &long.id, MessageStatus::Sent).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.deliveries().len(), 1, "the expired message went out");
    let errors: postamt_wire::MailErrors =
        app.client.get(app.url("/api/v1/mail-log/errors")).send().await.unwrap().json().await.unwrap();
    assert!(errors.entries.iter().any(|e| e.class == Some(FailureClass::Expired)), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_must_be_one_and_in_the_future() {
    let server = SmtpServer::start(&[]);
    let (app, key) = crate::messages::app_sending_to(Backend::Sqlite, &server).await;
    for (change, field, code) in [
        (json!({"expires_in_seconds": 60, "expires_at": "2099-01-01T00:00:00Z"}), "expires_in_seconds", "conflicts"),
        (json!({"expires_in_seconds": 0}), "expires_in_seconds", "out_of_range"),
        (json!({"expires_at": "2020-01-01T00:00:00Z"}), "expires_at", "in_the_past"),
        (json!({"expires_at": "2099-01-01T00:00:00Z"}), "expires_at", "out_of_range"),
    ] {
        let mut body = invoice();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let refused = send(&app, &key, &body, None).await;
        assert_eq!(fields(&problem(refused).await), vec![(field, code)]);
    }
}
