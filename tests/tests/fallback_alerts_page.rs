//! The settings page's fallback server and alerts tab in Chromium, in German: a fallback server
//! configured, saved and loaded back (its password write-only), the test mail over it; a
//! webhook and e-mail recipients for alerts, an API field error beside its input, saved and
//! loaded back; a test alert arriving signed at a real receiver; an incident in the list.
//!
//! With `POSTAMT_SCREENSHOTS=<dir>` it saves screenshots of both sections there.
//!
//! Both are not in the page's default build yet (its size budget, see frontend/Cargo.toml),
//! so the test is ignored by default. Run it with the page built with them:
//! `POSTAMT_PAGE_FEATURES=fallback,alerts scripts/build-frontend --force`, then
//! `cargo nextest run -p postamt-e2e -E 'binary(fallback_alerts_page)' --run-ignored all`.

use std::path::PathBuf;
use std::time::Duration;

use postamt_e2e::webhook::Receiver;
use postamt_e2e::{frontend_dist, Auth, Browser, Launch, SmtpServer};
use postamt_wire::{AlertSettings, Encryption, MailSettings};
use serde_json::json;

const OK_STATUS: &str = r#"#status[data-state="ok"]"#;
const RELAY_USER: &str = "relay@example.org";
const RELAY_PASSWORD: &str = "Backup-Relay-Password-7";
const ENVELOPE: &str = "bounces@backup.example.org";
const HOOK_SECRET: &str = "signing-secret-for-the-hook-42";

fn screenshot(browser: &Browser, css: &str, name: &str) {
    let Some(dir) = std::env::var_os("POSTAMT_SCREENSHOTS").map(PathBuf::from) else { return };
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    browser.exec(&format!("document.querySelector('{css}').scrollIntoView({{block: 'start'}})"), vec![]);
    std::thread::sleep(Duration::from_millis(300));
    let path = dir.join(format!("{name}.png"));
    browser.screenshot(&path).expect("screenshot");
    println!("screenshot: {}", path.display());
}

#[test]
#[ignore = "needs the page built with POSTAMT_PAGE_FEATURES=fallback,alerts (see the module docs)"]
fn admin_configures_a_fallback_server_and_alerts_in_the_page() {
    // The primary refuses every recipient (a failed attempt for the failures alert); the
    // fallback wants a password.
    let primary = SmtpServer::start(&["--reject-rcpt", "550 5.1.1 No such user"]);
    let backup = SmtpServer::start(&["--user", RELAY_USER, "--password", RELAY_PASSWORD]);
    let hook = Receiver::start(&[]);
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let server = Launch::new(dir.path())
        .admin_password(&admin)
        .static_dir(&dist)
        .env("POSTAMT_ALERT_CHECK_SECONDS", "1")
        .start();
    let api = server.api();
    let session = api.sign_in(&admin);

    let browser = Browser::start("de-DE");
    browser.goto(&format!("{}/", server.url));
    browser.wait_visible("#login-password");
    browser.fill("#login-password", &admin);
    browser.click("#login-submit");
    browser.wait_visible("#host");

    browser.fill("#host", "127.0.0.1");
    browser.select("#encryption", "none");
    browser.fill("#port", &primary.port.to_string());
    browser.fill("#sender_name", "Postamt");
    browser.fill("#sender_address", "postamt@example.org");

    // The fallback's inputs show with its switch; the primary's own server is no fallback.
    assert!(!browser.is_visible("#fallback_host"), "the fallback's inputs show while it is off");
    assert!(!browser.is_visible("#test-connection"), "the test offers a fallback that is off");
    browser.set_checked("#fallback", true);
    browser.wait_visible("#fallback_host");
    browser.fill("#fallback_host", "127.0.0.1");
    browser.select("#fallback_encryption", "none");
    browser.fill("#fallback_port", &primary.port.to_string());
    browser.set_checked("#fallback_auth_enabled", true);
    browser.fill("#fallback_auth_username", RELAY_USER);
    browser.click("#save");
    browser.wait_visible("#error-fallback_host");
    assert!(browser.text("#error-fallback_host").contains("Ersatzserver muss ein anderer sein"));
    browser.wait_visible("#error-fallback_auth_password");

    browser.fill("#fallback_port", &backup.port.to_string());
    browser.fill("#fallback_auth_password", RELAY_PASSWORD);
    browser.fill("#fallback_envelope_sender", ENVELOPE);
    browser.click("#save");
    browser.wait_visible(OK_STATUS);

    let saved: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    let f = saved.fallback.as_ref().expect("fallback saved");
    assert_eq!((f.host.as_str(), f.port, f.encryption), ("127.0.0.1", backup.port, Encryption::None));
    assert!(f.auth.enabled && f.auth.password_set);
    assert_eq!(f.auth.username.as_deref(), Some(RELAY_USER));
    assert_eq!(f.envelope_sender.as_deref(), Some(ENVELOPE));

    // Reloaded: shown, the password only as stored.
    browser.refresh();
    browser.wait_visible("#fallback_host");
    browser.wait_value("#fallback_port", &backup.port.to_string());
    assert!(browser.is_checked("#fallback"));
    assert_eq!(browser.value("#fallback_auth_username"), RELAY_USER);
    assert_eq!(browser.value("#fallback_auth_password"), "");
    assert_eq!(browser.property("#fallback_auth_password", "placeholder").as_str(), Some("gespeichert"));
    let html = browser.exec("return document.documentElement.outerHTML", vec![]);
    assert!(!html.as_str().unwrap_or("").contains(RELAY_PASSWORD), "the page holds the fallback's password");

    // The test mail over the fallback, with the stored password and its envelope sender.
    browser.select("#test-connection", "fallback");
    browser.fill("#test-recipient", "admin@example.org");
    browser.select("#test-mode", "send");
    browser.click("#test-run");
    browser.wait_visible("#test-result[data-ok]");
    assert!(browser.is_visible(r#"#test-result[data-ok="true"]"#), "{}", browser.text("#test-result"));
    let delivered = backup.deliveries();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0]["mail_from"], ENVELOPE);
    assert_eq!(delivered[0]["login"], RELAY_USER);
    assert!(primary.deliveries().is_empty());
    screenshot(&browser, "#fallback-server", "fallback-de");

    // Saving another change keeps the fallback and its password; switched off it is removed.
    browser.fill("#sender_name", "Postamt 2");
    browser.click("#save");
    browser.wait_visible(OK_STATUS);
    let again: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert!(again.fallback.as_ref().is_some_and(|f| f.auth.password_set && f.port == backup.port));

    // Alerts: an http webhook off loopback passes the page's check, the API refuses it.
    browser.click("#tab-alerts");
    browser.wait_visible("#webhook_enabled");
    assert!(browser.is_visible("#incidents"));
    browser.set_checked("#webhook_enabled", true);
    browser.wait_visible("#webhook_url");
    browser.fill("#webhook_url", "http://hooks.example.org/postamt");
    browser.fill("#webhook_secret", HOOK_SECRET);
    browser.click("#alerts-save");
    browser.wait_visible("#error-webhook_url");
    assert!(browser.text("#error-webhook_url").contains("Keine gültige Adresse"));
    assert_eq!(browser.property("#webhook_url", "ariaInvalid").as_str(), Some("true"));

    browser.fill("#webhook_url", &hook.url);
    browser.set_checked("#email_enabled", true);
    browser.fill("#email_recipients", "ops@example.org,\nit@example.org");
    browser.fill("#conditions_failures_count", "1");
    browser.fill("#conditions_queue_stuck_minutes", "30");
    browser.click("#alerts-save");
    browser.wait_visible(OK_STATUS);

    let alerts: AlertSettings = api.get("/api/v1/alert-settings", Auth::Session(&session)).expect(200).json();
    let w = alerts.webhook.as_ref().expect("webhook saved");
    assert!(w.url.starts_with(&hook.url) && w.secret_set);
    assert_eq!(
        alerts.email.as_ref().map(|e| e.recipients.clone()),
        Some(vec!["ops@example.org".into(), "it@example.org".into()])
    );
    assert_eq!((alerts.conditions.failures.count, alerts.conditions.queue_stuck.minutes), (1, 30));

    // Reloaded (the tab is kept in the address): shown, the secret only as stored.
    browser.refresh();
    browser.wait_visible("#webhook_url");
    browser.wait_value("#conditions_queue_stuck_minutes", "30");
    assert_eq!(browser.value("#webhook_url"), w.url);
    assert_eq!(browser.value("#webhook_secret"), "");
    assert_eq!(browser.value("#email_recipients"), "ops@example.org\nit@example.org");
    let html = browser.exec("return document.documentElement.outerHTML", vec![]);
    assert!(!html.as_str().unwrap_or("").contains(HOOK_SECRET), "the page holds the webhook secret");

    // The test alert: each channel's answer, and the signed request at the receiver.
    browser.click("#alert-test");
    browser.wait_visible(r#"#alert-test-result li[data-channel="webhook"][data-ok="true"]"#);
    assert!(browser.is_visible(r#"#alert-test-result li[data-channel="email"][data-ok="true"]"#));
    let tests = hook.wait_delivered_blocking("test", 1, Duration::from_secs(20));
    tests[0].assert_signed_with(HOOK_SECRET);

    // A refused recipient is a failed attempt: with a count of 1 an incident opens and shows.
    let key = api.create_api_key(&session, "finance", &postamt_wire::Scope::ALL);
    let mail = json!({"category": "finance", "to": ["x@example.org"], "subject": "Invoice", "text": "Hello"});
    api.post_json("/api/v1/messages", Auth::Bearer(&key.secret), &mail).expect(202);
    hook.wait_delivered_blocking("firing", 1, Duration::from_secs(30))[0].assert_signed_with(HOOK_SECRET);
    postamt_e2e::wait_for(Duration::from_secs(20), "the incident in the list", || {
        browser.click("#incidents-refresh");
        std::thread::sleep(Duration::from_millis(300));
        browser.is_visible(r#"#incidents .incident[data-condition="failures"][data-state="firing"]"#).then_some(())
    });
    assert!(browser.text("#incidents").contains("Fehlgeschlagene Zustellversuche"));
    screenshot(&browser, "#alerts", "alerts-de");
    screenshot(&browser, "#alert-test-result", "alerts-test-de");
}

/// The page's default build (without the fallback's inputs): saving from the page sends a
/// fallback saved over the API back unchanged, OAuth 2.0 sign-in and TLS settings included.
#[test]
fn saving_from_the_page_keeps_a_fallback_saved_over_the_api() {
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let server = Launch::new(dir.path()).admin_password(&admin).static_dir(&dist).start();
    let api = server.api();
    let session = api.sign_in(&admin);
    let mut body = serde_json::to_value(postamt_e2e::settings_input("smtp.example.org", None)).unwrap();
    body["fallback"] = json!({
        "host": "smtp.office365.com", "port": 587, "encryption": "starttls",
        "auth": {"enabled": true, "method": "oauth2", "username": "noreply@contoso.example",
                 "oauth2": {"provider": "microsoft", "flow": "client_credentials",
                            "tenant": "contoso.onmicrosoft.com", "client_id": "app",
                            "client_secret": "client-secret-value"}},
        "tls": {"trusted_ca_pem": null, "accept_invalid_certificates": true},
        "envelope_sender": "bounces@contoso.example"
    });
    api.put_json("/api/v1/mail-settings", Auth::Session(&session), None, &body).expect(200);

    let browser = Browser::start("de-DE");
    browser.goto(&format!("{}/", server.url));
    browser.wait_visible("#login-password");
    browser.fill("#login-password", &admin);
    browser.click("#login-submit");
    browser.wait_visible("#host");
    browser.wait_value("#sender_name", "TEAMBOX");
    browser.fill("#sender_name", "TEAMBOX 2");
    browser.click("#save");
    browser.wait_visible(OK_STATUS);

    let saved: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert_eq!(saved.sender_name, "TEAMBOX 2");
    let f = saved.fallback.expect("the fallback was kept");
    assert_eq!((f.host.as_str(), f.auth.method), ("smtp.office365.com", postamt_wire::AuthMethod::Oauth2));
    assert!(f
        .auth
        .oauth2
        .is_some_and(|o| o.client_secret_set && o.tenant.as_deref() == Some("contoso.onmicrosoft.com")));
    assert!(f.tls.accept_invalid_certificates);
    assert_eq!(f.envelope_sender.as_deref(), Some("bounces@contoso.example"));
}
