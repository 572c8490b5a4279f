//! The settings page in Debian's Chromium: sign in, fill every field, save, reload and see the
//! saved values; a field error in German, then in English; discard restores the saved values.
//! On failure a screenshot and the page's HTML are saved and their paths printed.

use postamt_e2e::{frontend_dist, Auth, Browser, Launch};
use postamt_wire::{Encryption, MailSettings};

const OK_STATUS: &str = r#"#status[data-state="ok"]"#;

#[test]
fn admin_edits_saves_and_reloads_the_settings_page() {
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let server = Launch::new(dir.path()).admin_password(&admin).static_dir(&dist).start();
    let api = server.api();
    let index = api.get("/", Auth::None);
    index.expect(200);
    assert!(index.content_type().starts_with("text/html"), "/ is {}", index.content_type());

    let browser = Browser::start("de-DE");
    browser.goto(&format!("{}/", server.url));

    // Sign in. A German browser gets the German page.
    browser.wait_visible("#login-password");
    assert_eq!(page_lang(&browser), "de", "a German browser should get the German page");
    browser.fill("#login-password", &admin);
    browser.click("#login-submit");
    browser.wait_visible("#host");

    // Fill every field.
    let host = format!("smtp-{}.example.org", &postamt_e2e::unique()[..12]);
    let smtp_password = format!("Browser-Secret-{}", postamt_e2e::unique());
    browser.fill("#host", &host);
    browser.select("#encryption", "tls");
    browser.fill("#port", "465");
    browser.fill("#sender_name", "Postamt Browser");
    browser.fill("#sender_address", "postamt@example.org");
    browser.set_checked("#auth_enabled", true);
    browser.wait_visible("#auth_username");
    browser.fill("#auth_username", "postamt@example.org");
    browser.fill("#auth_password", &smtp_password);
    browser.set_checked("#force_default_sender", true);
    browser.set_checked("#reply_to_individual_sender", true);
    browser.fill("#timeout_seconds", "45");

    assert!(!browser.is_visible(OK_STATUS), "the status says saved before saving");
    browser.click("#save");
    browser.wait_visible(OK_STATUS);

    // The server has exactly what was entered.
    let session = api.sign_in(&admin);
    let saved = api.get("/api/v1/mail-settings", Auth::Session(&session));
    saved.expect(200);
    let saved: MailSettings = saved.json();
    assert_eq!(saved.host, host);
    assert_eq!(saved.port, 465);
    assert_eq!(saved.encryption, Encryption::Tls);
    assert_eq!(saved.sender_name, "Postamt Browser");
    assert_eq!(saved.sender_address, "postamt@example.org");
    assert!(saved.auth.enabled && saved.auth.password_set, "{:?}", saved.auth);
    assert_eq!(saved.auth.username.as_deref(), Some("postamt@example.org"));
    assert!(saved.force_default_sender && saved.reply_to_individual_sender);
    assert_eq!(saved.timeout_seconds, 45);
    assert_eq!(saved.updated_by, "admin");

    // Reload: still signed in, the saved values are shown, the password is not.
    browser.refresh();
    browser.wait_visible("#host");
    browser.wait_value("#host", &host);
    let expect_saved_form = || {
        browser.wait_value("#host", &host);
        browser.wait_value("#port", "465");
        assert_eq!(browser.value("#encryption"), "tls");
        assert_eq!(browser.value("#sender_name"), "Postamt Browser");
        assert_eq!(browser.value("#sender_address"), "postamt@example.org");
        assert!(browser.is_checked("#auth_enabled"));
        assert_eq!(browser.value("#auth_username"), "postamt@example.org");
        assert!(browser.is_checked("#force_default_sender"));
        assert!(browser.is_checked("#reply_to_individual_sender"));
        assert_eq!(browser.value("#timeout_seconds"), "45");
    };
    expect_saved_form();
    assert_eq!(browser.value("#auth_password"), "", "the password field must never receive the password");
    let html = browser.exec("return document.documentElement.outerHTML", vec![]);
    assert!(!html.as_str().unwrap_or("").contains(&smtp_password), "the page holds the SMTP password after a reload");

    // An invalid port: the error beside the field, in German, then in English.
    browser.fill("#port", "70000");
    browser.click("#save");
    browser.wait_visible("#error-port");
    let german = browser.text("#error-port");
    assert!(
        german.contains("65535") && ["Bitte", "Zahl", "zwischen", "muss"].iter().any(|w| german.contains(w)),
        "the port error is not German: {german:?}"
    );
    browser.click("#lang-en");
    postamt_e2e::wait_for(postamt_e2e::webdriver::WAIT, "<html lang=\"en\">", || {
        (page_lang(&browser) == "en").then_some(())
    });
    let english = postamt_e2e::wait_for(postamt_e2e::webdriver::WAIT, "the port error in English", || {
        let text = browser.text("#error-port");
        (text != german).then_some(text)
    });
    assert!(
        english.contains("65535") && ["Please", "number", "between", "must"].iter().any(|w| english.contains(w)),
        "the port error is not English: {english:?}"
    );
    // Nothing was saved.
    let unchanged: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert_eq!(unchanged.version, saved.version, "an invalid port was saved");

    // Discard restores the saved values and clears the error.
    browser.fill("#host", "discard-me.example.org");
    browser.set_checked("#reply_to_individual_sender", false);
    browser.click("#discard");
    expect_saved_form();
    browser.wait_gone("#error-port");
    // The language choice outlives a reload.
    browser.refresh();
    browser.wait_value("#host", &host);
    assert_eq!(page_lang(&browser), "en", "the chosen language was not kept");

    let after: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert_eq!(after.version, saved.version, "discarding saved something");
}

#[test]
fn page_language_follows_the_browser() {
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let server = Launch::new(dir.path()).admin_password("irrelevant-password").static_dir(&dist).start();
    let browser = Browser::start("en-US");
    browser.goto(&format!("{}/", server.url));
    browser.wait_visible("#login-password");
    assert_eq!(page_lang(&browser), "en", "an English browser should get the English page");
}

/// The page's `<html lang>`.
fn page_lang(browser: &Browser) -> String {
    browser.exec("return document.documentElement.lang", vec![]).as_str().unwrap_or("").to_string()
}
