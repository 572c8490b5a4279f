//! The test panel and the error log on the page, in Debian's Chromium, against real SMTP
//! servers: a failing test shows its hint beside the field at fault (German, then English),
//! a passing test delivers with unsaved values, and a delivery failure shows in the error log.

use postamt_e2e::smtp::free_port;
use postamt_e2e::{frontend_dist, wait_for, Auth, Browser, Launch, SmtpServer};
use postamt_wire::{MessageAccepted, Scope};
use serde_json::json;
use std::time::Duration;

fn sign_in(browser: &Browser, url: &str, password: &str) {
    browser.goto(&format!("{url}/"));
    browser.wait_visible("#login-password");
    browser.fill("#login-password", password);
    browser.click("#login-submit");
    browser.wait_visible("#host");
}

#[test]
fn a_test_from_the_page_fails_with_a_hint_then_passes_with_unsaved_values() {
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let app = Launch::new(dir.path()).admin_password(&admin).static_dir(&dist).start();
    let smtp = SmtpServer::start(&[]);
    let closed = free_port();

    let browser = Browser::start("de-DE");
    sign_in(&browser, &app.url, &admin);
    browser.fill("#host", "127.0.0.1");
    browser.select("#encryption", "none");
    browser.fill("#port", &closed.to_string());
    browser.fill("#sender_name", "TEAMBOX");
    browser.fill("#sender_address", "teambox@example.org");
    browser.fill("#timeout_seconds", "5");
    browser.fill("#test-recipient", "admin@example.org");
    browser.select("#test-mode", "send");

    // Nothing listens on the port: the hint stands beside the port, which is highlighted.
    browser.click("#test-run");
    browser.wait_visible(r#"#test-result[data-ok="false"]"#);
    assert!(
        browser.text("#test-failure-class").contains("connection_refused"),
        "{}",
        browser.text("#test-failure-class")
    );
    browser.wait_visible("#port.at-fault");
    let german = browser.text("#test-hint");
    assert!(german.contains("Port"), "German hint expected: {german:?}");
    browser.click("#lang-en");
    let english = wait_for(postamt_e2e::webdriver::WAIT, "the hint in English", || {
        let text = browser.text("#test-hint");
        (text != german && !text.is_empty()).then_some(text)
    });
    assert!(english.contains("port"), "English hint expected: {english:?}");

    // The right port, still unsaved: every stage passes and the mail arrives.
    browser.fill("#port", &smtp.port.to_string());
    browser.click("#test-run");
    browser.wait_visible(r#"#test-result[data-ok="true"]"#);
    for stage in ["connect", "greeting", "ehlo", "mail_from", "rcpt_to", "data"] {
        assert!(browser.is_visible(&format!(r#"#test-stage-{stage}[data-status="ok"]"#)), "stage {stage}");
    }
    assert!(browser.is_visible(r#"#test-stage-auth[data-status="skipped"]"#));
    // The stages' detail lines follow the language too.
    let connected = browser.text("#test-stage-connect .stage-detail");
    assert!(connected.starts_with("connected to 127.0.0.1:"), "{connected:?}");
    browser.click("#lang-de");
    wait_for(postamt_e2e::webdriver::WAIT, "the stage details in German", || {
        browser.text("#test-stage-connect .stage-detail").starts_with("verbunden mit 127.0.0.1:").then_some(())
    });
    let resolve = browser.text("#test-stage-resolve .stage-detail");
    assert_eq!(resolve, "127.0.0.1 ist eine IP-Adresse; keine Namensauflösung nötig");
    assert_eq!(browser.text("#test-stage-auth .stage-detail"), "Authentifizierung ist aus");
    assert_eq!(smtp.deliveries().len(), 1);
    assert_eq!(smtp.deliveries()[0]["rcpt_tos"], json!(["admin@example.org"]));

    // Trying saved nothing.
    let api = app.api();
    let session = api.sign_in(&admin);
    api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(404);
}

#[test]
fn a_delivery_failure_shows_in_the_error_log_tab_with_its_download() {
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let app = Launch::new(dir.path()).admin_password(&admin).static_dir(&dist).start();
    let smtp = SmtpServer::start(&["--reject-rcpt", "550 5.1.1 User unknown"]);
    let api = app.api();
    let session = api.sign_in(&admin);
    let settings = json!({
        "host": "127.0.0.1", "port": smtp.port, "encryption": "none", "sender_name": "TEAMBOX",
        "sender_address": "teambox@example.org", "auth": { "enabled": false }, "force_default_sender": true
    });
    api.put_json("/api/v1/mail-settings", Auth::Session(&session), None, &settings).expect(200);
    let key = api.create_api_key(&session, "finance", &[Scope::MailSend, Scope::LogRead]).secret;
    let message =
        json!({ "category": "finance", "to": ["nobody@example.com"], "subject": "Rechnung", "text": "Anbei." });
    let accepted: MessageAccepted = api.post_json("/api/v1/messages", Auth::Bearer(&key), &message).json();
    wait_for(Duration::from_secs(30), "the delivery to fail", || {
        let view: serde_json::Value = api.get(&format!("/api/v1/messages/{}", accepted.id), Auth::Bearer(&key)).json();
        (view["status"] == "failed").then_some(())
    });

    let browser = Browser::start("en-US");
    sign_in(&browser, &app.url, &admin);
    browser.click("#tab-errors");
    browser.wait_visible(r#".error-group[data-class="recipient_rejected"]"#);
    browser.wait_visible("#errors-list .error-entry");
    let entry = browser.text("#errors-list .error-entry");
    assert!(entry.contains("nobody@example.com") && entry.contains("550"), "{entry}");
    // Dates name the month, so an American does not read 05/12 as May 12: "5 Dec 2026, 14:03:07".
    let when = browser.text("#errors-list .error-entry time");
    let parts: Vec<&str> = when.split([' ', ',']).filter(|p| !p.is_empty()).collect();
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Sep", "Oct", "Nov", "Dec"];
    assert!(
        parts.len() == 4
            && parts[0].parse::<u32>().is_ok()
            && months.contains(&parts[1])
            && parts[2].len() == 4
            && parts[3].len() == 8,
        "the English error log's date is not in the form 5 Dec 2026, 14:03:07: {when:?}"
    );

    let href = browser.property("#export-download", "href");
    let href = href.as_str().unwrap_or_default().to_owned();
    assert!(href.contains("/api/v1/mail-log/export"), "{href}");
    let path = href.trim_start_matches(&app.url).to_owned();
    let csv = api.get(&path, Auth::Session(&session));
    csv.expect(200);
    assert!(csv.body.contains("recipient_rejected") && csv.body.contains("nobody@example.com"), "{}", csv.body);
}
