//! The settings page's sending limits in Chromium (German), against the real binary and a real
//! SMTP server: the Microsoft 365 preset fills the inputs (an edit that can be discarded),
//! saving stores the limits, a reload shows them with their use after a module's mail went
//! out, and an out-of-range value is named beside its input, by the page's own check and by
//! the server's 422.
//!
//! German screenshots of the section are saved to the temp folder and their paths printed.

use std::path::PathBuf;
use std::time::Duration;

use postamt_e2e::{frontend_dist, Auth, Browser, Launch, SmtpServer};
use postamt_wire::{Encryption, MailSettings, Scope, SendingLimits};
use serde_json::json;

const OK_STATUS: &str = r#"#status[data-state="ok"]"#;
const INPUTS: [&str; 5] = [
    "#limits_messages_per_minute",
    "#limits_messages_per_hour",
    "#limits_messages_per_day",
    "#limits_recipients_per_day",
    "#limits_concurrent_sessions",
];

fn values(browser: &Browser) -> Vec<String> {
    INPUTS.iter().map(|css| browser.value(css)).collect()
}

/// A screenshot of the limits section, its path printed.
fn screenshot(browser: &Browser, name: &str) -> PathBuf {
    browser.exec("document.getElementById('limits').scrollIntoView({block: 'start'});", vec![]);
    let path = std::env::temp_dir().join(format!("postamt-limits-{name}-{}.png", postamt_e2e::unique()));
    browser.screenshot(&path).expect("screenshot");
    eprintln!("screenshot of the limits section: {}", path.display());
    path
}

#[test]
fn admin_picks_a_preset_saves_and_sees_the_use_and_the_errors() {
    let smtp = SmtpServer::start(&[]);
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let server = Launch::new(dir.path()).admin_password(&admin).static_dir(&dist).start();
    let api = server.api();
    let session = api.sign_in(&admin);
    let mut settings = postamt_e2e::settings_input("127.0.0.1", None);
    settings.port = Some(i64::from(smtp.port));
    settings.encryption = Some(Encryption::None);
    api.put_json("/api/v1/mail-settings", Auth::Session(&session), None, &settings).expect(200);

    let browser = Browser::start("de-DE");
    browser.goto(&format!("{}/", server.url));
    browser.wait_visible("#login-password");
    browser.fill("#login-password", &admin);
    browser.click("#login-submit");
    browser.wait_visible("#limits_messages_per_minute");
    assert_eq!(values(&browser), ["", "", "", "", ""]);
    // The use shows without limits too (nothing sent yet).
    postamt_e2e::wait_for(Duration::from_secs(20), "the use", || {
        (browser.text("#use-limits_messages_per_minute") == "0 in der letzten Minute").then_some(())
    });

    // The preset is an edit like any other: unsaved, and discarded with the rest.
    browser.click("#limits-preset-microsoft");
    browser.wait_value("#limits_messages_per_minute", "30");
    assert_eq!(values(&browser), ["30", "", "", "10000", "3"]);
    browser.wait_visible(".dirty-flag");
    browser.click("#discard");
    browser.wait_value("#limits_messages_per_minute", "");
    browser.click("#limits-preset-google");
    browser.wait_value("#limits_messages_per_day", "2000");
    browser.click("#limits-preset-none");
    browser.wait_value("#limits_messages_per_day", "");
    browser.click("#limits-preset-microsoft");
    browser.wait_value("#limits_messages_per_minute", "30");
    browser.click("#save");
    browser.wait_visible(OK_STATUS);
    let saved: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert_eq!(saved.limits, SendingLimits::microsoft_365());

    // A module sends three messages; they go out (30 a minute: one every 2 s).
    let key = api.create_api_key(&session, "finance", &[Scope::MailSend]);
    for n in 1..=3 {
        let mail = json!({"category": "finance", "to": [format!("kunde{n}@example.org")], "subject": "Rechnung",
                          "text": "Hallo"});
        api.post_json("/api/v1/messages", Auth::Bearer(&key.secret), &mail).expect(202);
    }
    postamt_e2e::wait_for(Duration::from_secs(30), "three deliveries", || (smtp.deliveries().len() == 3).then_some(()));

    // After a reload: the saved limits, and the use against each.
    browser.refresh();
    browser.wait_value("#limits_messages_per_minute", "30");
    assert_eq!(values(&browser), ["30", "", "", "10000", "3"]);
    postamt_e2e::wait_for(Duration::from_secs(30), "the use of the limits", || {
        (browser.text("#use-limits_messages_per_minute") == "3 / 30 in der letzten Minute").then_some(())
    });
    assert_eq!(browser.text("#use-limits_messages_per_day"), "3 in den letzten 24 Stunden");
    assert_eq!(browser.text("#use-limits_recipients_per_day"), "3 / 10000 Empfänger in den letzten 24 Stunden");
    assert!(browser.text("#use-limits_concurrent_sessions").ends_with(" / 3 Verbindungen offen"));
    assert_eq!(browser.text("#limits-waiting"), "Wartend: 0 hoch, 0 normal, 0 niedrig");
    screenshot(&browser, "use");

    // Out of range: the page's own check names the field beside its input.
    browser.fill("#limits_concurrent_sessions", "101");
    browser.click("#save");
    browser.wait_visible("#error-limits_concurrent_sessions");
    assert_eq!(
        browser.text("#error-limits_concurrent_sessions"),
        "Bitte eine Zahl von 1 bis 100 eingeben oder leer lassen (kein Limit)."
    );
    screenshot(&browser, "error");
    browser.fill("#limits_concurrent_sessions", "3");
    browser.wait_gone("#error-limits_concurrent_sessions");

    // The server's 422 lands beside the same input. The page never sends an out-of-range
    // value, so the request is changed on its way (as an older page or another client could
    // send it): the saved 3 concurrent sessions go out as 101.
    browser.exec(
        "const send = window.fetch;
         window.fetch = (input, init) => {
             if (!(input instanceof Request) || input.method !== 'PUT') return send(input, init);
             return input.clone().text().then(body => send(new Request(input, {
                 body: body.replace('\"concurrent_sessions\":3', '\"concurrent_sessions\":101')
             })));
         };",
        vec![],
    );
    browser.click("#save");
    browser.wait_visible(r#"#status[data-state="error"]"#);
    browser.wait_visible("#error-limits_concurrent_sessions");
    assert_eq!(
        browser.text("#error-limits_concurrent_sessions"),
        "Bitte eine Zahl von 1 bis 100 eingeben oder leer lassen (kein Limit)."
    );
    assert_eq!(browser.property("#limits_concurrent_sessions", "ariaInvalid").as_str(), Some("true"));
    let after: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert_eq!(after.version, saved.version, "the refused change was stored");
}
