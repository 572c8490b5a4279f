//! Sending limits and priorities, against a real SMTP server that records when each message
//! arrived: limits hold at the server (also across two instances on PostgreSQL), a message
//! over a limit waits and says why, and one-time passwords never wait behind bulk mail.

use crate::both_backends;
use crate::helpers::{fields, problem, spawn_app_with, spawn_sibling, Backend, TestApp};
use crate::messages::{invoice, message, send, settings_for, wait_for};
use crate::smtp_server::SmtpServer;
use postamt_wire::{LimitReason, MessageAccepted, MessageStatus, Priority, SendingLimits, SendingUsage};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_backends!(
    limits_are_validated_saved_and_named_in_the_history,
    a_daily_limit_holds_messages_back_without_failing_them,
    recipients_per_day_count_every_recipient,
    otp_messages_go_before_a_queued_bulk_run,
);

fn with_limits(port: u16, limits: Value) -> Value {
    let mut settings = settings_for(port);
    settings["limits"] = limits;
    settings
}

async fn app_with_limits(backend: Backend, server: &SmtpServer, limits: Value) -> (TestApp, String) {
    let mut app = spawn_app_with(backend, |c| c.max_attempts = 3).await;
    app.sign_in().await;
    let response = app.put_settings(&with_limits(server.port, limits), None).await;
    assert_eq!(response.status(), 200);
    let key = app.create_api_key("finance", &postamt_wire::Scope::ALL).await.secret;
    (app, key)
}

fn otp(n: usize) -> Value {
    json!({
        "category": "otp",
        "to": [format!("user{n}@example.org")],
        "subject": format!("Ihr Code {n}"),
        "text": "123456"
    })
}

fn finance(n: usize) -> Value {
    json!({
        "category": "finance",
        "to": ["kunde@example.com"],
        "subject": format!("Rechnung {n}"),
        "text": "Anbei die Rechnung."
    })
}

/// Posts `bodies` through `apps` in turn, 16 requests at a time; the ids in order.
async fn post_all(apps: &[&TestApp], key: &str, bodies: Vec<Value>) -> Vec<String> {
    let mut ids = Vec::with_capacity(bodies.len());
    for chunk in bodies.chunks(16) {
        let mut tasks = Vec::new();
        for (n, body) in chunk.iter().enumerate() {
            let app = apps[(ids.len() + n) % apps.len()];
            let (client, url, key, body) = (app.anonymous(), app.url("/api/v1/messages"), key.to_owned(), body.clone());
            tasks.push(tokio::spawn(async move {
                let response = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 202);
                response.json::<MessageAccepted>().await.unwrap().id
            }));
        }
        for task in tasks {
            ids.push(task.await.unwrap());
        }
    }
    ids
}

/// The subjects the server received, with when (seconds since the epoch).
fn arrivals(server: &SmtpServer) -> Vec<(String, f64)> {
    server
        .deliveries()
        .iter()
        .map(|d| {
            let content = d["content"].as_str().unwrap_or_default();
            let subject = content.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap_or_default().to_owned();
            (subject, d["at"].as_f64().unwrap())
        })
        .collect()
}

/// The most messages that arrived within any `window` seconds.
fn busiest_window(times: &[f64], window: f64) -> usize {
    let mut times = times.to_vec();
    times.sort_by(f64::total_cmp);
    let mut most = 0;
    let mut first = 0;
    for last in 0..times.len() {
        while times[last] - times[first] >= window {
            first += 1;
        }
        most = most.max(last - first + 1);
    }
    most
}

async fn limits_are_validated_saved_and_named_in_the_history(backend: Backend) {
    let server = SmtpServer::start(&[]);
    let (app, _) = app_with_limits(backend, &server, json!({})).await;
    let bad = with_limits(server.port, json!({ "messages_per_minute": 0, "concurrent_sessions": 1000 }));
    let refused = problem(app.put_settings(&bad, None).await).await;
    assert_eq!(
        fields(&refused),
        [("limits.messages_per_minute", "out_of_range"), ("limits.concurrent_sessions", "out_of_range")]
    );
    let negative = with_limits(server.port, json!({ "messages_per_day": -5 }));
    assert_eq!(app.put_settings(&negative, None).await.status(), 422);
    let unknown = with_limits(server.port, json!({ "messages_per_week": 5 }));
    assert_eq!(app.put_settings(&unknown, None).await.status(), 422);

    let preset = serde_json::to_value(SendingLimits::microsoft_365()).unwrap();
    assert_eq!(app.put_settings(&with_limits(server.port, preset), None).await.status(), 200);
    let saved: Value = app.get_settings().await.json().await.unwrap();
    assert_eq!(saved["limits"]["messages_per_minute"], 30);
    assert_eq!(saved["limits"]["recipients_per_day"], 10000);
    assert_eq!(saved["limits"]["concurrent_sessions"], 3);
    assert!(saved["limits"]["messages_per_day"].is_null());
    let history: Value = app.get_history().await.json().await.unwrap();
    let changed: Vec<&str> =
        history["entries"][0]["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert!(changed.contains(&"limits.messages_per_minute"), "{changed:?}");
    assert!(changed.contains(&"limits.concurrent_sessions"), "{changed:?}");
}

async fn a_daily_limit_holds_messages_back_without_failing_them(backend: Backend) {
    let server = SmtpServer::start(&[]);
    let (mut app, key) = app_with_limits(backend, &server, json!({ "messages_per_day": 3 })).await;
    let ids = post_all(&[&app], &key, (0..5).map(finance).collect()).await;
    let started = Instant::now();
    while server.deliveries().len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(15), "the first three were not sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Longer than a held worker waits before it asks again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.deliveries().len(), 3, "the daily limit let more through");
    let mut held = 0;
    for id in &ids {
        let view = message(&app, &key, id).await;
        assert_ne!(view.status, MessageStatus::Failed, "{view:?}");
        if view.status == MessageStatus::Queued {
            let hold = view.held.clone().expect("a held message says why");
            assert_eq!(hold.reason, LimitReason::MessagesPerDay);
            let left = hold.until - chrono::Utc::now();
            assert!(left > chrono::Duration::hours(23) && left <= chrono::Duration::hours(25), "{left}");
            assert!(view.attempts.is_empty(), "a limit is not an attempt: {view:?}");
            held += 1;
        }
    }
    assert_eq!(held, 2);
    let usage: SendingUsage = app
        .anonymous()
        .get(app.url("/api/v1/mail-settings/usage"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let day = usage.limits.iter().find(|l| l.limit == LimitReason::MessagesPerDay).unwrap();
    assert_eq!((day.max, day.used), (Some(3), 3));
    assert_eq!(usage.waiting_normal, 2);
    assert_eq!(usage.hold.map(|h| h.reason), Some(LimitReason::MessagesPerDay));

    // A higher limit lets the rest go.
    app.sign_in().await;
    let settings: Value = app.get_settings().await.json().await.unwrap();
    let etag = settings["version"].to_string();
    let raised = with_limits(server.port, json!({ "messages_per_day": 10 }));
    assert_eq!(app.put_settings(&raised, Some(&format!("\"{}\"", etag.trim_matches('"')))).await.status(), 200);
    for id in &ids {
        wait_for(&app, &key, id, MessageStatus::Sent).await;
    }
    assert_eq!(server.deliveries().len(), 5);
}

async fn recipients_per_day_count_every_recipient(backend: Backend) {
    let server = SmtpServer::start(&[]);
    // The invoice has three recipients (To, Cc, Bcc): one fits into four, two do not.
    let (app, key) = app_with_limits(backend, &server, json!({ "recipients_per_day": 4 })).await;
    let first: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    wait_for(&app, &key, &first.id, MessageStatus::Sent).await;
    let second: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let view = message(&app, &key, &second.id).await;
    assert_eq!(view.status, MessageStatus::Queued, "{view:?}");
    assert_eq!(view.held.map(|h| h.reason), Some(LimitReason::RecipientsPerDay));
    assert_eq!(server.deliveries().len(), 1);
}

/// Ten one-time passwords posted behind 5,000 invoices (no limits; a server slow enough
/// that a backlog builds up) arrive while thousands of invoices still wait.
async fn otp_messages_go_before_a_queued_bulk_run(backend: Backend) {
    let server = SmtpServer::start(&["--stall", "data:0.004"]);
    let (app, key) = app_with_limits(backend, &server, json!({})).await;
    post_all(&[&app], &key, (0..5000).map(finance).collect()).await;
    let before = server.deliveries().len();
    assert!(before < 4000, "no backlog to overtake: {before} of 5000 already delivered");
    let otps = post_all(&[&app], &key, (0..10).map(otp).collect()).await;
    for id in &otps {
        let view = wait_for(&app, &key, id, MessageStatus::Sent).await;
        assert_eq!(view.priority, Priority::High);
    }
    let arrived = arrivals(&server);
    let last_otp = arrived.iter().rposition(|(s, _)| s.starts_with("Ihr Code")).unwrap();
    let finance_before = arrived[..last_otp].iter().filter(|(s, _)| s.starts_with("Rechnung")).count();
    // Each worker finishes the batch it holds (32) first.
    assert!(
        finance_before <= before + 2 * 64 + 50,
        "{finance_before} invoices went before the last OTP ({before} had gone when it was posted)"
    );
    assert!(finance_before < 4500, "the OTPs waited for the bulk run");
}

/// The Microsoft 365 preset on two instances sharing PostgreSQL: 200 invoices are metered
/// out at 30 a minute at the server, none fails, a one-time password posted after them
/// arrives at once, and waiting invoices say what holds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_microsoft_365_preset_meters_two_instances_and_lets_an_otp_through() {
    let server = SmtpServer::start(&["--log-sessions"]);
    let preset = serde_json::to_value(SendingLimits::microsoft_365()).unwrap();
    let (a, key) = app_with_limits(Backend::Postgres, &server, preset).await;
    let b = spawn_sibling(&a, |c| c.max_attempts = 3).await;
    let started = Instant::now();
    let invoices = post_all(&[&a, &b], &key, (0..200).map(finance).collect()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let posted = Instant::now();
    let code = post_all(&[&b], &key, vec![otp(1)]).await;
    wait_for(&b, &key, &code[0], MessageStatus::Sent).await;
    assert!(posted.elapsed() < Duration::from_secs(5), "the OTP waited {:?}", posted.elapsed());

    let waiting = message(&a, &key, invoices.last().unwrap()).await;
    assert_eq!(waiting.status, MessageStatus::Queued);
    assert_eq!(waiting.held.map(|h| h.reason), Some(LimitReason::MessagesPerMinute));

    // A little over a minute of metering.
    tokio::time::sleep(Duration::from_secs(66).saturating_sub(started.elapsed())).await;
    let times: Vec<f64> = arrivals(&server).into_iter().map(|(_, at)| at).collect();
    let busiest = busiest_window(&times, 60.0);
    assert!(busiest <= 30, "{busiest} messages arrived within 60 s (limit 30)");
    assert!(times.len() >= 30, "only {} arrived in 66 s: the limit held too much back", times.len());
    let most_open = server.events().iter().filter_map(|e| e["open"].as_u64()).max().unwrap_or(0);
    assert!(most_open <= 3, "{most_open} sessions open at once (limit 3)");
    for id in invoices.iter().step_by(10) {
        assert_ne!(message(&b, &key, id).await.status, MessageStatus::Failed);
    }
}

/// One session at a time over two instances with two workers each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_hold_across_instances() {
    let server = SmtpServer::start(&["--log-sessions", "--stall", "data:0.05"]);
    let (a, key) = app_with_limits(Backend::Postgres, &server, json!({ "concurrent_sessions": 1 })).await;
    let b = spawn_sibling(&a, |c| c.max_attempts = 3).await;
    let ids = post_all(&[&a, &b], &key, (0..30).map(finance).collect()).await;
    for id in &ids {
        wait_for(&a, &key, id, MessageStatus::Sent).await;
    }
    let most_open = server.events().iter().filter_map(|e| e["open"].as_u64()).max().unwrap_or(0);
    assert_eq!(most_open, 1, "sessions open at once");
}
