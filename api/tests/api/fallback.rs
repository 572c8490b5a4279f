//! The fallback server: its settings (validation, write-only password, history), failover
//! in delivery against real SMTP servers on loopback, and the test mail over it.

use crate::both_backends;
use crate::helpers::{fields, json, problem, spawn_app, Backend, TestApp};
use crate::messages::{invoice, send, settings_for, wait_for};
use crate::smtp_server::SmtpServer;
use postamt_wire::{MailConnection, MailSettings, MailTestResult, MessageAccepted, MessageStatus, Scope};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_backends!(
    fallback_settings_are_checked_kept_write_only_and_in_the_history,
    with_the_primary_port_closed_mail_arrives_at_the_fallback_and_returns_to_the_primary,
);

const FALLBACK_PASSWORD: &str = "Fallb4ck-Pässword";

/// Settings for the primary on `primary_port` with a fallback on `fallback_port`.
fn with_fallback(primary_port: u16, fallback: Value) -> Value {
    let mut settings = settings_for(primary_port);
    settings["fallback"] = fallback;
    settings
}

fn plain_fallback(port: u16) -> Value {
    json!({
        "host": "127.0.0.1",
        "port": port,
        "encryption": "none",
        "envelope_sender": "relay@backup.example.org"
    })
}

async fn app_with(backend: Backend, settings: &Value) -> (TestApp, String) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    let response = app.put_settings(settings, None).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let key = app.create_api_key("finance", &Scope::ALL).await.secret;
    (app, key)
}

/// A loopback port that refuses connections: bound, not listening, so no one else takes it
/// before a server is started there.
fn refusing_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

async fn mail_log_for(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let response = app.anonymous().get(app.url("/api/v1/mail-log")).bearer_auth(key).send().await.unwrap();
    let page = json(response).await;
    page["entries"].as_array().unwrap().iter().filter(|e| e["message_id"] == id).cloned().collect()
}

/// The shared failover row as other code reads it: down since, why, back at, fallback last used.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
struct SharedState {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    down_since: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    down_class: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    back_at: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    fallback_used: Option<String>,
}

fn shared_state(app: &TestApp) -> Option<SharedState> {
    use diesel::{Connection, RunQueryDsl};
    const QUERY: &str = "SELECT CAST(primary_down_since AS TEXT) AS down_since, primary_down_class AS down_class, \
        CAST(primary_back_at AS TEXT) AS back_at, CAST(fallback_last_used_at AS TEXT) AS fallback_used \
        FROM failover_state";
    let rows: Vec<SharedState> = match &app.database {
        Some(db) => diesel::sql_query(QUERY).load(&mut db.connect()).unwrap(),
        None => {
            let path = app.data_dir.path().join("postamt.sqlite3");
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            diesel::sql_query(QUERY).load(&mut conn).unwrap()
        }
    };
    rows.into_iter().next()
}

/// Polls the shared row until `check` holds (it is written in the background).
async fn wait_shared(app: &TestApp, what: &str, check: impl Fn(&SharedState) -> bool) -> SharedState {
    let started = Instant::now();
    loop {
        if let Some(state) = shared_state(app).filter(|s| check(s)) {
            return state;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "shared failover state: {what}: {:?}", shared_state(app));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn metrics(app: &TestApp, key: &str) -> String {
    app.anonymous().get(app.url("/metrics")).bearer_auth(key).send().await.unwrap().text().await.unwrap()
}

async fn fallback_settings_are_checked_kept_write_only_and_in_the_history(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    // Every field is checked, each error named `fallback.*`, together with the primary's.
    let mut bad = with_fallback(
        2525,
        json!({
            "host": "smtp://backup", "port": 0,
            "auth": { "enabled": true },
            "tls": { "trusted_ca_pem": "not a certificate" },
            "envelope_sender": "nope"
        }),
    );
    bad["sender_address"] = json!("also nope");
    let response = app.put_settings(&bad, None).await;
    assert_eq!(response.status(), 422);
    let refused = problem(response).await;
    let got = fields(&refused);
    for expected in [
        ("sender_address", "invalid_email"),
        ("fallback.host", "invalid_host"),
        ("fallback.port", "out_of_range"),
        ("fallback.encryption", "required"),
        ("fallback.auth.username", "required"),
        ("fallback.auth.password", "required"),
        ("fallback.envelope_sender", "invalid_email"),
    ] {
        assert!(got.iter().any(|(f, _)| *f == expected.0), "{expected:?} missing in {got:?}");
    }
    assert!(got.iter().any(|(f, _)| *f == "fallback.tls.trusted_ca_pem"), "{got:?}");
    // Unknown fields are refused as everywhere.
    let unknown =
        with_fallback(2525, json!({"host": "backup.example.org", "port": 587, "encryption": "starttls", "oauth2": {}}));
    assert_eq!(app.put_settings(&unknown, None).await.status(), 422);

    let fallback = json!({
        "host": "backup.example.org", "port": 587, "encryption": "starttls",
        "auth": { "enabled": true, "username": "relay@example.org", "password": FALLBACK_PASSWORD },
        "envelope_sender": "relay@backup.example.org"
    });
    let response = app.put_settings(&with_fallback(2525, fallback.clone()), None).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains(FALLBACK_PASSWORD), "{text}");
    let saved: MailSettings = serde_json::from_str(&text).unwrap();
    let view = saved.fallback.expect("the fallback is saved");
    assert_eq!((view.host.as_str(), view.port, view.auth.password_set), ("backup.example.org", 587, true));
    assert_eq!(view.envelope_sender.as_deref(), Some("relay@backup.example.org"));
    assert!(saved.warnings.iter().all(|w| !w.field.starts_with("fallback.")), "{:?}", saved.warnings);
    // Its warnings name its fields.
    let mut unusual = fallback.clone();
    unusual["port"] = json!(465);
    unusual["tls"] = json!({"accept_invalid_certificates": true});
    let response = app.put_settings(&with_fallback(2525, unusual), None).await;
    assert_eq!(response.status(), 200);
    let warned: Vec<String> =
        response.json::<MailSettings>().await.unwrap().warnings.into_iter().map(|w| w.field).collect();
    assert!(warned.contains(&"fallback.port".to_owned()), "{warned:?}");
    assert!(warned.contains(&"fallback.tls.accept_invalid_certificates".to_owned()), "{warned:?}");
    assert_eq!(app.put_settings(&with_fallback(2525, fallback.clone()), None).await.status(), 200);

    // The password left out: kept for the same server and username...
    let mut kept = fallback.clone();
    kept["auth"].as_object_mut().unwrap().remove("password");
    kept["envelope_sender"] = json!(null);
    let response = app.put_settings(&with_fallback(2525, kept.clone()), None).await;
    assert_eq!(response.status(), 200);
    let saved: MailSettings = response.json().await.unwrap();
    assert!(saved.fallback.unwrap().auth.password_set);
    // ...and required again for another one.
    for (field, value) in [("host", json!("other.example.org")), ("port", json!(465)), ("encryption", json!("tls"))] {
        let mut moved = kept.clone();
        moved[field] = value;
        let response = app.put_settings(&with_fallback(2525, moved), None).await;
        assert_eq!(response.status(), 422, "{field}");
        assert_eq!(
            fields(&problem(response).await),
            vec![("fallback.auth.password", "password_required_again")],
            "{field}"
        );
    }
    let mut renamed = kept.clone();
    renamed["auth"]["username"] = json!("someone-else@example.org");
    let response = app.put_settings(&with_fallback(2525, renamed), None).await;
    assert_eq!(fields(&problem(response).await), vec![("fallback.auth.password", "password_required_again")]);

    // Removing it is a change too.
    let response = app.put_settings(&settings_for(2525), None).await;
    assert_eq!(response.status(), 200);
    assert!(response.json::<MailSettings>().await.unwrap().fallback.is_none());

    let history = json(app.get_history().await).await;
    let entries = history["entries"].as_array().unwrap();
    let changes = |i: usize| entries[i]["changes"].as_array().unwrap().clone();
    // Newest first: removed first, added (with the settings) last.
    let removed = changes(0);
    assert!(
        removed.iter().any(|c| c["field"] == "fallback.host" && c["old"] == "backup.example.org" && c["new"].is_null()),
        "{removed:?}"
    );
    assert!(removed.iter().any(|c| c["field"] == "fallback.auth.password" && c["secret"] == true), "{removed:?}");
    let added = changes(entries.len() - 1);
    assert!(added.iter().any(|c| c["field"] == "fallback.port" && c["new"] == "587"), "{added:?}");
    let secret = added.iter().find(|c| c["field"] == "fallback.auth.password").expect("password change");
    assert!(secret["old"].is_null() && secret["new"].is_null() && secret["secret"] == true);
    assert!(!history.to_string().contains(FALLBACK_PASSWORD));
}

async fn with_the_primary_port_closed_mail_arrives_at_the_fallback_and_returns_to_the_primary(backend: Backend) {
    let (held, primary_port) = refusing_port();
    let backup = SmtpServer::start(&[]);
    let (app, key) = app_with(backend, &with_fallback(primary_port, plain_fallback(backup.port))).await;

    let first: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &first.id, MessageStatus::Sent).await;
    assert_eq!(view.delivered_via, Some(MailConnection::Fallback), "{view:?}");
    // One attempt: the refused primary is not an attempt of the message.
    assert_eq!(view.attempts.len(), 1, "{view:?}");
    assert_eq!(view.attempts[0].connection, Some(MailConnection::Fallback));
    let delivered = backup.deliveries();
    assert_eq!(delivered.len(), 1);
    // The fallback's envelope sender in MAIL FROM; the From header as the policy makes it.
    assert_eq!(delivered[0]["mail_from"], "relay@backup.example.org");
    assert!(delivered[0]["content"].as_str().unwrap().contains("From: TEAMBOX <teambox@example.org>"));
    let log = mail_log_for(&app, &key, &first.id).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["connection"], "fallback");
    assert_eq!(log[0]["server"], format!("127.0.0.1:{}", backup.port));
    assert_eq!(log[0]["sender"], "relay@backup.example.org");
    let text = metrics(&app, &key).await;
    assert!(text.contains("postamt_messages_sent_total{connection=\"fallback\"} 1"), "{text}");
    assert!(text.contains("postamt_messages_sent_total{connection=\"primary\"} 0"), "{text}");

    // Other code (alerts, status, other instances) reads "primary down, fallback in use".
    let down = wait_shared(&app, "down, fallback used", |s| s.down_since.is_some() && s.fallback_used.is_some()).await;
    assert_eq!(down.down_class.as_deref(), Some("connection_refused"));
    assert!(down.back_at.is_none());

    // The next messages go straight to the fallback.
    let second: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &second.id, MessageStatus::Sent).await;
    assert_eq!(view.delivered_via, Some(MailConnection::Fallback));

    // The primary answers again (the test config tries it again after 0.5 s, doubling).
    drop(held);
    let primary = SmtpServer::start_on(primary_port, &[]);
    let started = Instant::now();
    loop {
        let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
        let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
        if view.delivered_via == Some(MailConnection::Primary) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "delivery did not return to the primary");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let back = wait_shared(&app, "back", |s| s.down_since.is_none() && s.back_at.is_some()).await;
    assert!(back.fallback_used.is_some());

    // And stays there.
    let last: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &last.id, MessageStatus::Sent).await;
    assert_eq!(view.delivered_via, Some(MailConnection::Primary));
    assert_eq!(mail_log_for(&app, &key, &last.id).await[0]["connection"], "primary");
    assert!(primary.deliveries().len() >= 2);
    assert!(primary.deliveries().iter().all(|d| d["mail_from"] == "teambox@example.org"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_refused_by_the_primary_does_not_go_to_the_fallback() {
    let primary = SmtpServer::start(&["--reject-rcpt-address", "kunde@example.com"]);
    let backup = SmtpServer::start(&["--log-sessions"]);
    let (app, key) = app_with(Backend::Sqlite, &with_fallback(primary.port, plain_fallback(backup.port))).await;
    let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Failed).await;
    assert_eq!(view.attempts.len(), 1, "{view:?}");
    assert_eq!(view.attempts[0].connection, Some(MailConnection::Primary));
    assert_eq!(view.delivered_via, None);
    // Another message still goes over the primary: it is not down.
    let mut other = invoice();
    other["to"] = json!(["someone@example.com"]);
    let accepted: MessageAccepted = send(&app, &key, &other, None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!(view.delivered_via, Some(MailConnection::Primary));
    assert!(backup.events().is_empty(), "the fallback was contacted: {:?}", backup.events());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_reply_at_the_primary_moves_delivery_to_the_fallback_without_a_pause() {
    let busy =
        SmtpServer::start(&["--reject-mail", "451 4.7.500 Server busy. Please try again later from [192.0.2.1]."]);
    let backup = SmtpServer::start(&[]);
    let (app, key) = app_with(Backend::Sqlite, &with_fallback(busy.port, plain_fallback(backup.port))).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
        ids.push(accepted.id);
    }
    for id in &ids {
        let view = wait_for(&app, &key, id, MessageStatus::Sent).await;
        assert_eq!(view.delivered_via, Some(MailConnection::Fallback), "{view:?}");
        assert_eq!(view.attempts.len(), 1, "{view:?}");
    }
    assert_eq!(backup.deliveries().len(), ids.len());
    assert!(busy.deliveries().is_empty());
    // The primary was asked (and throttled) once; after that the fallback took the rest.
    let throttled = busy.events().iter().filter(|e| e["event"] == "mail_rejected").count();
    assert!((1..=2).contains(&throttled), "{throttled} MAIL FROM at the throttling primary");
}

async fn run_test(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/mail-settings/test"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_mail_tests_the_fallback_with_unsaved_values_and_its_stored_password() {
    let backup = SmtpServer::start(&["--user", "relay@example.org", "--password", FALLBACK_PASSWORD]);
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    // No fallback given or saved: nothing to test.
    let response = run_test(
        &app,
        json!({"settings": settings_for(2525), "recipient": "admin@example.org", "connection": "fallback"}),
    )
    .await;
    assert_eq!(response.status(), 422);
    assert_eq!(fields(&problem(response).await), vec![("fallback", "required")]);

    let fallback = json!({
        "host": "127.0.0.1", "port": backup.port, "encryption": "none",
        "auth": { "enabled": true, "username": "relay@example.org", "password": FALLBACK_PASSWORD },
        "envelope_sender": "relay@backup.example.org"
    });
    // Unsaved, with its password.
    let body = json!({"settings": with_fallback(2525, fallback.clone()), "recipient": "admin@example.org", "connection": "fallback"});
    let response = run_test(&app, body).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains(FALLBACK_PASSWORD));
    let result: MailTestResult = serde_json::from_str(&text).unwrap();
    assert!(result.ok, "{result:?}");
    assert_eq!(result.sender.envelope_from, "relay@backup.example.org");
    assert_eq!(backup.deliveries().len(), 1);
    assert_eq!(backup.deliveries()[0]["mail_from"], "relay@backup.example.org");

    // Saved, then tested with the password left out: the stored one is used.
    assert_eq!(app.put_settings(&with_fallback(2525, fallback.clone()), None).await.status(), 200);
    let mut without = fallback.clone();
    without["auth"].as_object_mut().unwrap().remove("password");
    without["envelope_sender"] = json!(null);
    let body = json!({"settings": with_fallback(2525, without.clone()), "recipient": "admin@example.org", "connection": "fallback", "mode": "probe"});
    let result: MailTestResult = run_test(&app, body).await.json().await.unwrap();
    assert!(result.ok, "{result:?}");
    assert_eq!(result.sender.envelope_from, "teambox@example.org");
    // ...but not for another server.
    let mut moved = without.clone();
    moved["port"] = json!(backup.port + 1);
    let body =
        json!({"settings": with_fallback(2525, moved), "recipient": "admin@example.org", "connection": "fallback"});
    let response = run_test(&app, body).await;
    assert_eq!(response.status(), 422);
    assert_eq!(fields(&problem(response).await), vec![("fallback.auth.password", "password_required_again")]);
    // The saved settings, tested over the fallback; the log says which connection.
    let result: MailTestResult =
        run_test(&app, json!({"recipient": "admin@example.org", "connection": "fallback"})).await.json().await.unwrap();
    assert!(result.ok, "{result:?}");
    let key = app.create_api_key("log", &Scope::ALL).await.secret;
    let response = app.anonymous().get(app.url("/api/v1/mail-log")).bearer_auth(&key).send().await.unwrap();
    let page = json(response).await;
    let tests: Vec<&Value> = page["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "test").collect();
    assert!(tests.len() >= 3 && tests.iter().all(|e| e["connection"] == "fallback"), "{tests:?}");
}

/// A quota reply to the content, read only with the next envelope (pipelining): the
/// message is tried again at once, over the fallback, and never fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_reply_after_the_content_moves_the_message_to_the_fallback() {
    const QUOTA: &str =
        "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message";
    let primary = SmtpServer::start(&["--pipelining", "--reject-data", QUOTA]);
    let backup = SmtpServer::start(&[]);
    let (app, key) = app_with(Backend::Sqlite, &with_fallback(primary.port, plain_fallback(backup.port))).await;
    let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!(view.delivered_via, Some(MailConnection::Fallback), "{view:?}");
    let (sent, before) = view.attempts.split_last().unwrap();
    assert_eq!(sent.connection, Some(MailConnection::Fallback));
    assert!(before.len() <= 1, "{view:?}");
    for attempt in before {
        assert_eq!(attempt.class, Some(postamt_wire::FailureClass::QuotaExceeded), "{view:?}");
        assert_eq!(attempt.connection, Some(MailConnection::Primary), "{view:?}");
    }
    // The next one goes straight to the fallback.
    let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!((view.attempts.len(), view.delivered_via), (1, Some(MailConnection::Fallback)), "{view:?}");
    assert!(primary.deliveries().is_empty());
    assert_eq!(backup.deliveries().len(), 2);
}

/// OAuth 2.0 on the fallback (app-only): Microsoft client credentials from the provider
/// double, XOAUTH2 at the fallback; the secret write-only and kept under the same rule;
/// "Connect account" is refused for the fallback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fallback_signs_in_with_oauth_client_credentials() {
    use crate::oauth::{app_for, client_credentials, provider, smtp};
    const SECRET: &str = "ms-secret-value";
    const MAILBOX: &str = "noreply@contoso.example";
    let p = provider();
    let backup = smtp("microsoft");
    let app = app_for(Backend::Sqlite, &p).await;
    let (held, primary_port) = refusing_port();
    let fallback = |oauth2: Value| {
        json!({
            "host": "127.0.0.1", "port": backup.port, "encryption": "none",
            "auth": {"enabled": true, "method": "oauth2", "username": MAILBOX, "oauth2": oauth2}
        })
    };
    // Delegated sign-in needs "Connect account", which is the primary's only.
    let mut delegated = client_credentials(Some(SECRET));
    delegated["flow"] = json!("authorization_code");
    let response = app.put_settings(&with_fallback(primary_port, fallback(delegated)), None).await;
    assert_eq!(response.status(), 422);
    assert_eq!(fields(&problem(response).await), vec![("fallback.auth.oauth2.flow", "unsupported_flow")]);
    // Its fields are named as the fallback's.
    let response = app.put_settings(&with_fallback(primary_port, fallback(client_credentials(None))), None).await;
    assert_eq!(fields(&problem(response).await), vec![("fallback.auth.oauth2.client_secret", "required")]);

    let response =
        app.put_settings(&with_fallback(primary_port, fallback(client_credentials(Some(SECRET)))), None).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains(SECRET), "{text}");
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(saved["fallback"]["auth"]["method"], "oauth2");
    assert_eq!(saved["fallback"]["auth"]["oauth2"]["client_secret_set"], true);
    let history = json(app.get_history().await).await;
    let changes = history["entries"][0]["changes"].as_array().unwrap().clone();
    assert!(
        changes.iter().any(|c| c["field"] == "fallback.auth.oauth2.client_secret" && c["secret"] == true),
        "{changes:?}"
    );
    assert!(changes.iter().any(|c| c["field"] == "fallback.auth.oauth2.client_id" && c["new"] == "ms-app"));
    // Kept when left out for the same server and app, required again for another mailbox.
    let kept = with_fallback(primary_port, fallback(client_credentials(None)));
    assert_eq!(app.put_settings(&kept, None).await.status(), 200);
    let mut moved = kept.clone();
    moved["fallback"]["auth"]["username"] = json!("other@contoso.example");
    let response = app.put_settings(&moved, None).await;
    assert_eq!(fields(&problem(response).await), vec![("fallback.auth.oauth2.client_secret", "secret_required_again")]);

    // The test mail over the fallback: a token, then XOAUTH2.
    let body = json!({"recipient": "someone@example.org", "connection": "fallback"});
    let result = json(
        app.client
            .post(app.url("/api/v1/mail-settings/test"))
            .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["stages"][0]["name"], "token");

    // Delivery: the primary's port is closed, the fallback signs in with a token.
    let key = app.create_api_key("finance", &Scope::ALL).await.secret;
    let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!(view.delivered_via, Some(MailConnection::Fallback));
    let auths: Vec<Value> = backup.events().into_iter().filter(|e| e["event"] == "auth").collect();
    assert!(auths.len() >= 2, "{auths:?}");
    assert!(auths.iter().all(|a| a["mechanism"] == "XOAUTH2" && a["ok"] == true && a["login"] == MAILBOX), "{auths:?}");
    // The primary's (absent) OAuth connection is not touched by the fallback's tokens.
    assert!(json(app.get_settings().await).await["auth"]["oauth2"].is_null());
    drop(held);
}
