use crate::both_backends;
use crate::helpers::{fields, problem, spawn_app, Backend, TestApp};
use crate::smtp_server::SmtpServer;
use base64::Engine;
use postamt_wire::{FailureClass, MailTestResult, StageName, StageStatus};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_backends!(a_test_with_unsaved_settings_delivers_through_a_real_server_and_stores_nothing);

const PASSWORD: &str = "Unsaved-T3st-Pässword";

async fn run_test(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/mail-settings/test"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn plain_settings(port: u16) -> Value {
    json!({
        "host": "127.0.0.1",
        "port": port,
        "encryption": "none",
        "sender_name": "TEAMBOX",
        "sender_address": "teambox@example.org",
        "auth": { "enabled": true, "username": "teambox@example.org", "password": PASSWORD },
        "force_default_sender": true,
        "reply_to_individual_sender": true,
        "timeout_seconds": 5
    })
}

fn assert_no_secret(text: &str) {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for needle in [PASSWORD.to_owned(), b64(PASSWORD), b64(&format!("\0teambox@example.org\0{PASSWORD}"))] {
        assert!(!text.contains(&needle), "secret leaked: {needle}");
    }
}

async fn a_test_with_unsaved_settings_delivers_through_a_real_server_and_stores_nothing(backend: Backend) {
    let server = SmtpServer::start(&["--user", "teambox@example.org", "--password", PASSWORD]);
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    let response = run_test(
        &app,
        json!({
            "settings": plain_settings(server.port),
            "recipient": "admin@example.org",
            "acting_user": { "name": "Erika Mustermann", "address": "erika@example.org" }
        }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert_no_secret(&text);
    let result: MailTestResult = serde_json::from_str(&text).unwrap();
    assert!(result.ok, "{text}");
    let auth = result.stages.iter().find(|s| s.name == StageName::Auth).unwrap();
    assert_eq!((auth.status, auth.reply_code), (StageStatus::Ok, Some(235)));

    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), 1);
    let mail = &deliveries[0];
    assert_eq!(mail["mail_from"], "teambox@example.org");
    assert_eq!(mail["rcpt_tos"], json!(["admin@example.org"]));
    assert_eq!(mail["login"], "teambox@example.org");
    let content = mail["content"].as_str().unwrap();
    assert!(content.contains("From: TEAMBOX <teambox@example.org>"), "{content}");
    assert!(
        content.contains("Reply-To: \"Erika Mustermann\" <erika@example.org>")
            || content.contains("Reply-To: Erika Mustermann <erika@example.org>"),
        "{content}"
    );
    assert!(!content.contains(PASSWORD));

    // Nothing of the test was saved.
    assert_eq!(app.get_settings().await.status(), 404);
}

#[tokio::test]
async fn the_stored_password_never_goes_to_another_server() {
    let server = SmtpServer::start(&["--user", "teambox@example.org", "--password", PASSWORD]);
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    assert_eq!(app.put_settings(&plain_settings(server.port), None).await.status(), 200);

    // Saved server, no password in the request: the stored one is used.
    let mut same = plain_settings(server.port);
    same["auth"].as_object_mut().unwrap().remove("password");
    let result: MailTestResult =
        run_test(&app, json!({ "settings": same, "recipient": "a@example.org", "mode": "probe" }))
            .await
            .json()
            .await
            .unwrap();
    assert!(result.ok, "{result:?}");
    assert_eq!(server.deliveries().len(), 0, "a probe delivers nothing");
    assert_eq!(server.events().iter().filter(|e| e["event"] == "auth" && e["ok"] == true).count(), 1);

    // Another server without a password: refused before any connection.
    let mut elsewhere = same.clone();
    elsewhere["host"] = json!("localhost");
    let response = run_test(&app, json!({ "settings": elsewhere, "recipient": "a@example.org" })).await;
    assert_eq!(response.status(), 422);
    assert_eq!(fields(&problem(response).await), vec![("auth.password", "password_required_again")]);

    // The saved settings, omitted entirely.
    let saved: MailTestResult = run_test(&app, json!({ "recipient": "a@example.org" })).await.json().await.unwrap();
    assert!(saved.ok);
    assert_eq!(server.deliveries().len(), 1);
}

#[tokio::test]
async fn failures_are_a_200_with_class_field_and_hint_and_invalid_requests_a_422() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let response =
        run_test(&app, json!({ "settings": plain_settings(closed_port), "recipient": "a@example.org" })).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert_no_secret(&text);
    let result: MailTestResult = serde_json::from_str(&text).unwrap();
    assert!(!result.ok);
    let failure = result.failure.unwrap();
    assert_eq!(failure.class, FailureClass::ConnectionRefused);
    assert!(!failure.hint_de.is_empty() && !failure.hint_en.is_empty());

    let bad =
        run_test(&app, json!({ "settings": { "port": 0 }, "recipient": "nobody", "acting_user": { "address": "x" } }))
            .await;
    assert_eq!(bad.status(), 422);
    let got = problem(bad).await;
    let names: Vec<&str> = fields(&got).into_iter().map(|(f, _)| f).collect();
    for field in ["host", "port", "recipient", "acting_user.address"] {
        assert!(names.contains(&field), "{field} in {names:?}");
    }
}

#[tokio::test]
async fn a_silent_server_cannot_hold_the_test_past_its_deadline() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    // Accepts connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut settings = plain_settings(port);
    settings["timeout_seconds"] = json!(2);
    let started = Instant::now();
    let result: MailTestResult =
        run_test(&app, json!({ "settings": settings, "recipient": "a@example.org" })).await.json().await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed <= Duration::from_secs(3), "took {elapsed:?}");
    assert!(!result.ok);
    drop(silent);
}

#[tokio::test]
async fn tests_are_rate_limited_per_caller() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let body = json!({ "settings": plain_settings(closed_port), "recipient": "a@example.org" });
    for _ in 0..10 {
        assert_eq!(run_test(&app, body.clone()).await.status(), 200);
    }
    let limited = run_test(&app, body).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
}
