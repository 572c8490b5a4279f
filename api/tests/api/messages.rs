use crate::both_backends;
use crate::helpers::{fields, problem, spawn_app, Backend, TestApp};
use crate::smtp_server::SmtpServer;
use postamt_wire::{FailureClass, MailErrors, MessageAccepted, MessageStatus, MessageView, Scope, StageName};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

both_backends!(
    a_module_posts_mail_and_it_arrives_with_the_policy_headers,
    a_temporary_failure_is_retried_then_delivered,
    a_permanent_failure_fails_at_once_shows_in_the_errors_and_can_be_resent,
    a_large_message_goes_through_the_outbox_and_arrives_whole,
    a_connection_lost_under_one_message_leaves_the_others_one_attempt_each,
);

/// Settings pointing at `port` on loopback, plain SMTP without authentication.
pub fn settings_for(port: u16) -> Value {
    json!({
        "host": "127.0.0.1",
        "port": port,
        "encryption": "none",
        "sender_name": "TEAMBOX",
        "sender_address": "teambox@example.org",
        "auth": { "enabled": false },
        "force_default_sender": true,
        "reply_to_individual_sender": true,
        "timeout_seconds": 5
    })
}

/// An app with settings for `server` and an API key with every scope.
pub async fn app_sending_to(backend: Backend, server: &SmtpServer) -> (TestApp, String) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    assert_eq!(app.put_settings(&settings_for(server.port), None).await.status(), 200);
    let key = app.create_api_key("finance", &Scope::ALL).await.secret;
    (app, key)
}

pub async fn send(app: &TestApp, key: &str, body: &Value, idempotency_key: Option<&str>) -> reqwest::Response {
    let mut request = app.anonymous().post(app.url("/api/v1/messages")).bearer_auth(key).json(body);
    if let Some(k) = idempotency_key {
        request = request.header("Idempotency-Key", k);
    }
    request.send().await.unwrap()
}

pub async fn message(app: &TestApp, key: &str, id: &str) -> MessageView {
    let response =
        app.anonymous().get(app.url(&format!("/api/v1/messages/{id}"))).bearer_auth(key).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Polls until the message has `status` (bounded).
pub async fn wait_for(app: &TestApp, key: &str, id: &str, status: MessageStatus) -> MessageView {
    let started = Instant::now();
    loop {
        let view = message(app, key, id).await;
        if view.status == status {
            return view;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still {:?} after 20 s: {view:?}", view.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn invoice() -> Value {
    json!({
        "category": "finance",
        "acting_user": { "name": "Erika Mustermann", "address": "erika@example.org" },
        "to": ["Kunde <kunde@example.com>"],
        "cc": [{ "name": "Buchhaltung", "address": "buha@example.org" }],
        "bcc": ["archiv@example.org"],
        "subject": "Rechnung 2026-117",
        "html": "<p>Sehr geehrte Damen und Herren,<br>anbei die Rechnung.</p>",
        "attachments": [{ "filename": "../Rechnung 2026-117.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0xLjQKJcOkw7zDtsOfCg==" }],
        "headers": { "X-Invoice": "2026-117" }
    })
}

async fn a_module_posts_mail_and_it_arrives_with_the_policy_headers(backend: Backend) {
    let server = SmtpServer::start(&[]);
    let (app, key) = app_sending_to(backend, &server).await;
    let response = send(&app, &key, &invoice(), None).await;
    assert_eq!(response.status(), 202);
    let accepted: MessageAccepted = response.json().await.unwrap();
    assert_eq!(accepted.status, MessageStatus::Queued);

    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!(view.headers.from.address, "teambox@example.org");
    assert_eq!(view.headers.reply_to.as_ref().unwrap().address, "erika@example.org");
    assert_eq!(view.headers.envelope_from, "teambox@example.org");
    assert_eq!(view.attempts.len(), 1);
    assert_eq!(view.attempts[0].outcome, MessageStatus::Sent);
    assert!(view.sent_at.is_some() && !view.resendable);

    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), 1);
    let mail = &deliveries[0];
    assert_eq!(mail["mail_from"], "teambox@example.org");
    assert_eq!(mail["rcpt_tos"], json!(["kunde@example.com", "buha@example.org", "archiv@example.org"]));
    let content = mail["content"].as_str().unwrap();
    assert!(content.contains("From: TEAMBOX <teambox@example.org>"), "{content}");
    assert!(content.contains("Reply-To: \"Erika Mustermann\" <erika@example.org>"), "{content}");
    assert!(content.contains(&format!("Message-ID: {}", view.headers.message_id)));
    assert!(content.contains("X-Invoice: 2026-117"));
    assert!(!content.contains("archiv@example.org"), "Bcc must not appear in the message");
    assert!(content.contains("Rechnung 2026-117.pdf") && !content.contains("../"), "sanitised file name");
    assert!(content.contains("text/plain") && content.contains("anbei die Rechnung."), "text part derived from HTML");
}

async fn a_temporary_failure_is_retried_then_delivered(backend: Backend) {
    let server =
        SmtpServer::start(&["--reject-rcpt", "451 4.7.1 Greylisted, try again later", "--reject-rcpt-times", "1"]);
    let (app, key) = app_sending_to(backend, &server).await;
    let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!(view.attempts.len(), 2, "{view:?}");
    let first = &view.attempts[0];
    assert_eq!((first.outcome, first.class), (MessageStatus::Retrying, Some(FailureClass::TemporaryFailure)));
    assert!(first.smtp_reply.as_deref().unwrap().starts_with("451"), "{first:?}");
    assert_eq!(view.attempts[1].outcome, MessageStatus::Sent);
    assert_eq!(server.deliveries().len(), 1);
}

async fn a_permanent_failure_fails_at_once_shows_in_the_errors_and_can_be_resent(backend: Backend) {
    let server = SmtpServer::start(&["--reject-rcpt", "550 5.1.1 User unknown"]);
    let (app, key) = app_sending_to(backend, &server).await;
    let accepted: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Failed).await;
    assert_eq!(view.attempts.len(), 1, "5xx is not retried");
    assert_eq!(view.attempts[0].class, Some(FailureClass::RecipientRejected));
    assert!(view.resendable);
    assert!(server.deliveries().is_empty());

    let errors: MailErrors = app
        .anonymous()
        .get(app.url("/api/v1/mail-log/errors"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(errors.total, 1);
    let entry = &errors.entries[0];
    assert_eq!(entry.class, Some(FailureClass::RecipientRejected));
    assert_eq!(entry.category, "finance");
    assert!(entry.hint_de.as_deref().is_some_and(|h| !h.is_empty()) && entry.hint_en.is_some());
    assert!(entry.smtp_reply.as_deref().unwrap().starts_with("550"));
    assert!(entry.recipients.contains(&"kunde@example.com".to_owned()));

    let resent = app
        .anonymous()
        .post(app.url(&format!("/api/v1/messages/{}/resend", accepted.id)))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), 202);
    let again = wait_for(&app, &key, &accepted.id, MessageStatus::Failed).await;
    assert_eq!(again.attempts.len(), 2);
    let grouped: MailErrors = app
        .anonymous()
        .get(app.url("/api/v1/mail-log/errors?group=class"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grouped.groups.len(), 1);
    assert_eq!((grouped.groups[0].class, grouped.groups[0].count), (FailureClass::RecipientRejected, 2));

    let sent_one = app
        .anonymous()
        .post(app.url(&format!("/api/v1/messages/{}/resend", uuid::Uuid::new_v4())))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(sent_one.status(), 404);
}

#[tokio::test]
async fn the_idempotency_key_holds() {
    let server = SmtpServer::start(&[]);
    let (app, key) = app_sending_to(Backend::Sqlite, &server).await;
    let first = send(&app, &key, &invoice(), Some("invoice-2026-117")).await;
    assert_eq!(first.status(), 202);
    let first: MessageAccepted = first.json().await.unwrap();
    let replay = send(&app, &key, &invoice(), Some("invoice-2026-117")).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: MessageAccepted = replay.json().await.unwrap();
    assert_eq!(replay.id, first.id);
    // A client that serialises its retry differently (key order, whitespace) sends the same
    // request: still a replay.
    let fields_reversed: Vec<String> = invoice()
        .as_object()
        .unwrap()
        .iter()
        .rev()
        .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).unwrap(), serde_json::to_string_pretty(v).unwrap()))
        .collect();
    let reserialised = format!("{{\n  {}\n}}", fields_reversed.join(",\n  "));
    assert_ne!(reserialised.as_bytes(), serde_json::to_vec(&invoice()).unwrap().as_slice());
    let retry = app
        .anonymous()
        .post(app.url("/api/v1/messages"))
        .bearer_auth(&key)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", "invoice-2026-117")
        .body(reserialised)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200, "a re-serialised retry is a replay");
    assert_eq!(retry.json::<MessageAccepted>().await.unwrap().id, first.id);
    let mut other = invoice();
    other["subject"] = json!("Another invoice");
    let conflict = send(&app, &key, &other, Some("invoice-2026-117")).await;
    assert_eq!(conflict.status(), 422);
    assert_eq!(fields(&problem(conflict).await), vec![("Idempotency-Key", "reused_with_different_request")]);
    wait_for(&app, &key, &first.id, MessageStatus::Sent).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.deliveries().len(), 1, "one message, never a second mail");
}

#[tokio::test]
async fn bad_messages_get_a_clear_4xx_and_nothing_is_queued() {
    let server = SmtpServer::start(&[]);
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    let key = app.create_api_key("finance", &[Scope::MailSend]).await.secret;
    let reader = app.create_api_key("reader", &[Scope::SettingsRead]).await.secret;

    let not_configured = send(&app, &key, &invoice(), None).await;
    assert_eq!(not_configured.status(), 409);
    assert_eq!(problem(not_configured).await.problem_type, postamt_wire::problem_types::NOT_CONFIGURED);
    assert_eq!(app.put_settings(&settings_for(server.port), None).await.status(), 200);

    assert_eq!(send(&app, &reader, &invoice(), None).await.status(), 403);
    let mut bad = invoice();
    bad["category"] = json!("Finance Dept");
    bad["to"] = json!(["ok@example.org", "not an address"]);
    bad["headers"] = json!({ "Subject": "override" });
    bad["attachments"][0]["content_base64"] = json!("not base64!");
    let response = send(&app, &key, &bad, None).await;
    assert_eq!(response.status(), 422);
    let got = problem(response).await;
    assert_eq!(
        fields(&got),
        vec![
            ("category", "invalid_category"),
            ("to[1]", "invalid_email"),
            ("headers.Subject", "not_allowed"),
            ("attachments[0].content_base64", "invalid_base64")
        ]
    );
    let mut no_body = invoice();
    no_body.as_object_mut().unwrap().remove("html");
    assert_eq!(fields(&problem(send(&app, &key, &no_body, None).await).await), vec![("text", "required")]);
    let too_many = json!({ "category": "otp", "to": (0..101).map(|i| format!("u{i}@example.org")).collect::<Vec<_>>(), "subject": "x", "text": "y" });
    assert_eq!(fields(&problem(send(&app, &key, &too_many, None).await).await), vec![("to", "too_many_recipients")]);
    let bad_key = send(&app, &key, &invoice(), Some("")).await;
    assert_eq!(bad_key.status(), 422);

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.deliveries().is_empty(), "nothing half-stored, nothing sent");
}

/// A message too large to wait in the workers' memory (above the hand-over limit) is
/// stored queued, claimed from the outbox and arrives whole.
/// Pipelined delivery: the server answers one message with 421 and closes while the next
/// message's envelope is already out. The 421 is that message's (temporary) failure; the
/// next one goes again over a new connection without an attempt of its own. Whether a
/// worker has the next message in hand at that moment depends on timing; either way every
/// other message must be sent once, in one attempt.
async fn a_connection_lost_under_one_message_leaves_the_others_one_attempt_each(backend: Backend) {
    let server = SmtpServer::start(&[
        "--pipelining",
        "--reject-data-containing",
        "SHUTDOWN-MARKER=421 4.3.2 Service shutting down",
    ]);
    let (app, key) = app_sending_to(backend, &server).await;
    let mut bodies = vec![invoice(); 8];
    bodies[0]["text"] = json!("Bitte ignorieren: SHUTDOWN-MARKER");
    let responses = futures_util::future::join_all(bodies.iter().map(|body| send(&app, &key, body, None))).await;
    let mut accepted = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 202);
        accepted.push(response.json::<MessageAccepted>().await.unwrap());
    }

    let shut = wait_for(&app, &key, &accepted[0].id, MessageStatus::Retrying).await;
    let attempt = &shut.attempts[0];
    assert_eq!((attempt.class, attempt.stage), (Some(FailureClass::TemporaryFailure), Some(StageName::Data)));
    assert!(attempt.smtp_reply.as_deref().unwrap().starts_with("421"), "{attempt:?}");
    for other in &accepted[1..] {
        let view = wait_for(&app, &key, &other.id, MessageStatus::Sent).await;
        assert_eq!(view.attempts.len(), 1, "{view:?}");
    }
    let delivered: Vec<String> = server
        .deliveries()
        .iter()
        .map(|d| {
            let content = d["content"].as_str().unwrap();
            content.lines().find(|l| l.starts_with("Message-ID:")).unwrap().to_owned()
        })
        .collect();
    let unique: std::collections::HashSet<&String> = delivered.iter().collect();
    assert_eq!((delivered.len(), unique.len()), (7, 7), "each other message once: {delivered:?}");
}

async fn a_large_message_goes_through_the_outbox_and_arrives_whole(backend: Backend) {
    use base64::Engine;
    let server = SmtpServer::start(&[]);
    let (app, key) = app_sending_to(backend, &server).await;
    // 600 KiB of attachment: more than twice the hand-over limit once base64-encoded. The
    // content is stored compressed, so the bytes must not compress (a repeating pattern
    // would shrink to a few KiB and be handed over): xorshift noise.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let attachment: Vec<u8> = (0..600 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        })
        .collect();
    let mut body = invoice();
    body["attachments"][0]["content_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(&attachment));
    let response = send(&app, &key, &body, None).await;
    assert_eq!(response.status(), 202);
    let accepted: MessageAccepted = response.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!(view.attempts.len(), 1);
    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), 1);
    let content = deliveries[0]["content"].as_str().unwrap();
    // The attachment's base64 lines, joined, decode to what was sent.
    let start = content.find("Rechnung 2026-117.pdf").expect("the attachment part");
    let part = &content[start..];
    let body_start = part.find("\r\n\r\n").or_else(|| part.find("\n\n")).unwrap();
    let encoded: String = part[body_start..]
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with("--"))
        .collect();
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap(), attachment);
}

#[tokio::test]
async fn oversized_messages_get_413() {
    let server = SmtpServer::start(&[]);
    let (app, key) = app_sending_to(Backend::Sqlite, &server).await;
    // 26 MiB of attachment against the default limit of 25 MiB.
    use base64::Engine;
    let big = base64::engine::general_purpose::STANDARD.encode(vec![b'a'; 26 * 1024 * 1024]);
    let mut body = invoice();
    body["attachments"][0]["content_base64"] = json!(big);
    let response = send(&app, &key, &body, None).await;
    assert_eq!(response.status(), 413);
    assert_eq!(problem(response).await.status, 413);
}

#[tokio::test]
async fn a_settings_change_applies_to_the_next_delivery_without_restart() {
    let first = SmtpServer::start(&[]);
    let second = SmtpServer::start(&[]);
    let (app, key) = app_sending_to(Backend::Sqlite, &first).await;
    let a: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    wait_for(&app, &key, &a.id, MessageStatus::Sent).await;
    assert_eq!(app.put_settings(&settings_for(second.port), None).await.status(), 200);
    let b: MessageAccepted = send(&app, &key, &invoice(), None).await.json().await.unwrap();
    wait_for(&app, &key, &b.id, MessageStatus::Sent).await;
    assert_eq!((first.deliveries().len(), second.deliveries().len()), (1, 1));
}
