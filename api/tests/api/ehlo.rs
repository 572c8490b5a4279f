//! The name Postamt gives in EHLO, as a real SMTP server sees it: the configured one, or by
//! default the machine's FQDN or an address literal (never a short host name, which servers
//! requiring an FQDN refuse).

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::messages::{invoice, send, settings_for, wait_for};
use crate::smtp_server::SmtpServer;
use postamt_wire::{MessageAccepted, MessageStatus, Scope};
use serde_json::{json, Value};

/// An app with `ehlo_name` configured and settings for `server`; the key may send.
async fn app(server: &SmtpServer, ehlo_name: Option<&str>) -> (TestApp, String) {
    let mut app = spawn_app_with(Backend::Sqlite, |c| c.ehlo_name = ehlo_name.map(str::to_owned)).await;
    app.sign_in().await;
    assert_eq!(app.put_settings(&settings_for(server.port), None).await.status(), 200);
    let key = app.create_api_key("ehlo", &[Scope::MailSend, Scope::LogRead]).await.secret;
    (app, key)
}

/// Delivers one message and runs one test mail; returns the names of their EHLOs.
async fn ehlo_names(app: &TestApp, key: &str, server: &SmtpServer) -> Vec<String> {
    let response = send(app, key, &invoice(), None).await;
    assert_eq!(response.status(), 202);
    let accepted: MessageAccepted = response.json().await.unwrap();
    wait_for(app, key, &accepted.id, MessageStatus::Sent).await;
    let test = app
        .client
        .post(app.url("/api/v1/mail-settings/test"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&json!({ "settings": settings_for(server.port), "recipient": "admin@example.org" }))
        .send()
        .await
        .unwrap();
    assert_eq!(test.status(), 200);
    let result: Value = test.json().await.unwrap();
    assert_eq!(result["ok"], true, "{result}");
    let names: Vec<String> = server
        .events()
        .into_iter()
        .filter(|e| e["event"] == "ehlo")
        .map(|e| e["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names.len(), 2, "one EHLO for the delivery, one for the test mail: {:?}", server.events());
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_ehlo_name_reaches_the_server() {
    let server = SmtpServer::start(&["--log-sessions"]);
    let (app, key) = app(&server, Some("postamt.example.org")).await;
    assert_eq!(ehlo_names(&app, &key, &server).await, ["postamt.example.org", "postamt.example.org"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_ehlo_name_is_an_fqdn_or_an_address_literal() {
    let server = SmtpServer::start(&["--log-sessions"]);
    let (app, key) = app(&server, None).await;
    // On loopback the local address is 127.0.0.1; a host name without a dot is no FQDN.
    let expected = postamt_smtp::machine_fqdn().unwrap_or_else(|| "[127.0.0.1]".to_owned());
    for name in ehlo_names(&app, &key, &server).await {
        assert_eq!(name, expected);
        assert_eq!(postamt_smtp::check_ehlo_name(&name), Ok(()), "{name}");
    }
}
