//! The settings page's OAuth 2.0 sign-in in Chromium: method and provider choice with the
//! server presets, the client-credentials fields saved and loaded back (saving again from the
//! page keeps OAuth), the notice after the provider sent the admin back; and the whole set-up
//! of Microsoft 365 and Google from the page against the provider double
//! (`api/oauth/tests/servers/oauth_provider.py`) and an SMTP server that checks XOAUTH2.

use std::time::Duration;

use postamt_e2e::oauth_provider::{ProviderDouble, TENANT, TOKEN_SECRET};
use postamt_e2e::{frontend_dist, Auth, Browser, Launch, SmtpServer};
use postamt_wire::{AuthMethod, Encryption, MailSettings, OAuthFlow, OAuthProvider};
use serde_json::json;

const OK_STATUS: &str = r#"#status[data-state="ok"]"#;

#[test]
fn admin_sets_up_oauth_in_the_settings_page() {
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let server = Launch::new(dir.path()).admin_password(&admin).static_dir(&dist).start();
    let api = server.api();

    let browser = Browser::start("en-US");
    browser.goto(&format!("{}/", server.url));
    browser.wait_visible("#login-password");
    browser.fill("#login-password", &admin);
    browser.click("#login-submit");
    browser.wait_visible("#host");

    // OAuth 2.0 with Microsoft (the default provider) fills in Microsoft's server.
    browser.fill("#sender_name", "Postamt OAuth");
    browser.fill("#sender_address", "postamt@example.org");
    browser.set_checked("#auth_enabled", true);
    browser.wait_visible("#auth_method");
    browser.select("#auth_method", "oauth2");
    browser.wait_visible("#auth_oauth2_provider");
    browser.wait_value("#host", "smtp.office365.com");
    assert_eq!(browser.value("#port"), "587");
    assert_eq!(browser.value("#encryption"), "starttls");
    assert!(!browser.is_visible("#auth_password"), "the password shows with OAuth 2.0");
    // Google replaces the preset, offers its own flows only, and has no tenant.
    browser.select("#auth_oauth2_provider", "google");
    browser.wait_value("#host", "smtp.gmail.com");
    assert_eq!(browser.value("#port"), "465");
    assert_eq!(browser.value("#encryption"), "tls");
    let flows = browser
        .exec("return [...document.querySelectorAll('#auth_oauth2_flow option')].map(o => o.value).join(',')", vec![]);
    assert_eq!(flows.as_str(), Some("authorization_code,service_account"));
    assert!(!browser.is_visible("#auth_oauth2_tenant"), "Google has no tenant");
    // A server of one's own is never overwritten.
    browser.fill("#host", "smtp.example.org");
    browser.select("#auth_oauth2_provider", "microsoft");
    browser.wait_visible("#auth_oauth2_tenant");
    assert_eq!(browser.value("#host"), "smtp.example.org");
    // Google's delegated flow was kept (Microsoft has it too); the app-only flow needs a secret.
    assert_eq!(browser.value("#auth_oauth2_flow"), "authorization_code");
    browser.select("#auth_oauth2_flow", "client_credentials");
    browser.fill("#host", "smtp.office365.com");
    browser.select("#encryption", "starttls");
    browser.fill("#port", "587");

    // Saving without the app's fields names them, as the server would.
    browser.click("#save");
    browser.wait_visible("#error-auth_oauth2_tenant");
    browser.wait_visible("#error-auth_oauth2_client_id");
    browser.wait_visible("#error-auth_oauth2_client_secret");

    let secret = format!("Client-Secret-{}", postamt_e2e::unique());
    browser.fill("#auth_username", "postamt@example.org");
    browser.fill("#auth_oauth2_tenant", "contoso.onmicrosoft.com");
    browser.fill("#auth_oauth2_client_id", "11111111-2222-3333-4444-555555555555");
    browser.fill("#auth_oauth2_client_secret", &secret);
    browser.click("#save");
    browser.wait_visible(OK_STATUS);

    let session = api.sign_in(&admin);
    let saved: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert_eq!((saved.host.as_str(), saved.port, saved.encryption), ("smtp.office365.com", 587, Encryption::Starttls));
    assert_eq!(saved.auth.method, AuthMethod::Oauth2);
    let o = saved.auth.oauth2.as_ref().expect("oauth2 saved");
    assert_eq!((o.provider, o.flow), (OAuthProvider::Microsoft, OAuthFlow::ClientCredentials));
    assert_eq!(o.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
    assert!(o.client_secret_set);

    // Reload: the OAuth settings are shown, the secret is not; the connection's state shows.
    browser.refresh();
    browser.wait_visible("#auth_oauth2_tenant");
    browser.wait_value("#auth_oauth2_tenant", "contoso.onmicrosoft.com");
    assert_eq!(browser.value("#auth_method"), "oauth2");
    assert_eq!(browser.value("#auth_oauth2_flow"), "client_credentials");
    assert_eq!(browser.value("#auth_oauth2_client_secret"), "");
    assert!(browser.is_visible("#oauth-connection[data-status]"));
    let html = browser.exec("return document.documentElement.outerHTML", vec![]);
    assert!(!html.as_str().unwrap_or("").contains(&secret), "the page holds the client secret");

    // Saving another change from the page keeps OAuth and the stored secret.
    browser.fill("#sender_name", "Postamt OAuth 2");
    browser.click("#save");
    browser.wait_visible(OK_STATUS);
    let again: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert_eq!(again.version, saved.version + 1);
    assert_eq!(again.auth.method, AuthMethod::Oauth2, "saving from the page switched OAuth off");
    assert!(again.auth.oauth2.as_ref().is_some_and(|o| o.client_secret_set));

    // Delegated flow: "Connect account" waits for the flow to be saved.
    browser.select("#auth_oauth2_flow", "authorization_code");
    browser.wait_visible("#oauth-connect");
    assert!(browser.property("#oauth-connect", "disabled").as_bool().unwrap_or(false));
    assert!(browser.is_visible("#oauth-save-first"));
    browser.click("#discard");

    // Back from the provider with an error: the notice names it, the address is cleaned.
    browser.goto(&format!("{}/?oauth_error=oauth_access_denied", server.url));
    browser.wait_visible(r#"#oauth-notice[data-state="error"]"#);
    let search = browser.exec("return location.search", vec![]);
    assert_eq!(search.as_str(), Some(""), "the query was not removed");
}

const USER: &str = "erika@contoso.example";
const APP_MAILBOX: &str = "noreply@contoso.example";
const SA_MAILBOX: &str = "info@example.com";

fn sign_in(browser: &Browser, url: &str, admin: &str) {
    browser.goto(&format!("{url}/"));
    browser.wait_visible("#login-password");
    browser.fill("#login-password", admin);
    browser.click("#login-submit");
    browser.wait_visible("#host");
}

/// The test mail from the page, with the form's values; waits for a passed result.
fn test_mail_passes(browser: &Browser) {
    browser.fill("#test-recipient", "admin@example.org");
    browser.select("#test-mode", "send");
    browser.click("#test-run");
    browser.wait_visible("#test-result[data-ok]");
    assert!(browser.is_visible(r#"#test-result[data-ok="true"]"#), "{}", browser.text("#test-result"));
    assert!(browser.is_visible(r#"#test-stage-token[data-status="ok"]"#));
}

/// The Done-when of the OAuth issue, as a new admin would do it from the page: Microsoft 365
/// with client credentials (test mail, a module's mail delivered with XOAUTH2), then with
/// "Connect account" (test mail; the grant revoked at the provider shows on the page with its
/// hint and in the 24 h errors; reconnect; disconnect), then Google with a service account.
#[test]
fn admin_sets_up_microsoft_and_google_from_the_page_and_mail_goes_out() {
    let p = ProviderDouble::start(json!({
        "tenants": [TENANT],
        "users": [USER, SA_MAILBOX],
        "authorize": {"user": USER},
        "clients": [{"id": "ms-app", "secret": "ms-secret-value", "provider": "microsoft", "tenant": TENANT,
                     "flows": ["client_credentials", "authorization_code", "refresh_token"], "mailbox": APP_MAILBOX}],
        "service_accounts": [{"client_email": "mailer@proj.iam.gserviceaccount.com", "client_id": "1001",
                              "key_file": "{dir}/sa.json", "delegated_scopes": ["https://mail.google.com/"]}]
    }));
    let smtp = SmtpServer::start(&["--mechanisms", "XOAUTH2", "--oauth-secret", TOKEN_SECRET]);
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let server = Launch::new(dir.path())
        .admin_password(&admin)
        .static_dir(&dist)
        .env("POSTAMT_OAUTH_MICROSOFT_AUTHORITY", &p.base())
        .env("POSTAMT_OAUTH_CHECK_SECONDS", "1")
        .start();
    let api = server.api();
    let session = api.sign_in(&admin);
    let browser = Browser::start("en-US");
    sign_in(&browser, &server.url, &admin);

    // Microsoft 365, app-only.
    browser.fill("#sender_name", "Postamt");
    browser.fill("#sender_address", APP_MAILBOX);
    browser.set_checked("#auth_enabled", true);
    browser.select("#auth_method", "oauth2");
    browser.wait_value("#host", "smtp.office365.com");
    // The test's SMTP server stands in for smtp.office365.com.
    browser.fill("#host", "127.0.0.1");
    browser.fill("#port", &smtp.port.to_string());
    browser.select("#encryption", "none");
    browser.select("#auth_oauth2_flow", "client_credentials");
    browser.fill("#auth_username", APP_MAILBOX);
    browser.fill("#auth_oauth2_tenant", TENANT);
    browser.fill("#auth_oauth2_client_id", "ms-app");
    browser.fill("#auth_oauth2_client_secret", "ms-secret-value");
    browser.click("#save");
    browser.wait_visible(OK_STATUS);
    test_mail_passes(&browser);
    let key = api.create_api_key(&session, "finance", &postamt_wire::Scope::ALL);
    let mail = json!({"category": "finance", "to": ["x@example.org"], "subject": "Invoice", "text": "Hello"});
    api.post_json("/api/v1/messages", Auth::Bearer(&key.secret), &mail).expect(202);
    postamt_e2e::wait_for(Duration::from_secs(20), "the module's mail", || {
        (smtp.deliveries().len() == 2).then_some(())
    });
    let auths: Vec<_> = smtp.events().into_iter().filter(|e| e["event"] == "auth").collect();
    assert!(auths.iter().all(|a| a["mechanism"] == "XOAUTH2" && a["ok"] == true), "{auths:?}");

    // Microsoft 365, delegated: another flow needs the secret again, then "Connect account".
    browser.select("#auth_oauth2_flow", "authorization_code");
    browser.fill("#auth_username", USER);
    browser.fill("#sender_address", USER);
    browser.fill("#auth_oauth2_client_secret", "ms-secret-value");
    browser.click("#save");
    browser.wait_visible(OK_STATUS);
    browser.wait_visible(r#"#oauth-connection[data-status="needs_connect"]"#);
    assert_eq!(browser.text("#oauth-connect"), "Connect account");
    assert!(!browser.is_visible("#oauth-disconnect"), "nothing to disconnect yet");
    browser.click("#oauth-connect");
    browser.wait_visible(r#"#oauth-notice[data-state="ok"]"#);
    assert_eq!(browser.exec("return location.search", vec![]).as_str(), Some(""));
    browser.wait_visible(r#"#oauth-connection[data-status="ok"]"#);
    assert!(browser.text("#oauth-connection").contains(USER), "{}", browser.text("#oauth-connection"));
    assert_eq!(browser.text("#oauth-connect"), "Reconnect");
    test_mail_passes(&browser);

    // The grant is revoked at the provider: within seconds (the check runs every second
    // here, every 5 minutes by default) the page says to reconnect, and the 24 h errors say so.
    p.control("revoke", json!({"user": USER}));
    postamt_e2e::wait_for(Duration::from_secs(20), "needs_connect on the page", || {
        browser.refresh();
        browser.wait_visible("#oauth-connection");
        browser.is_visible(r#"#oauth-connection[data-status="needs_connect"]"#).then_some(())
    });
    let state = browser.text("#oauth-connection");
    assert!(state.contains("Sign the mailbox in again"), "{state}");
    let errors = api.get("/api/v1/mail-log/errors", Auth::Session(&session)).expect(200).body.clone();
    assert!(errors.contains("oauth_refresh_token_invalid"), "{errors}");

    browser.click("#oauth-connect");
    browser.wait_visible(r#"#oauth-notice[data-state="ok"]"#);
    browser.wait_visible(r#"#oauth-connection[data-status="ok"]"#);
    browser.click("#oauth-disconnect");
    browser.wait_visible(r#"#oauth-notice[data-state="ok"]"#);
    browser.wait_gone("#oauth-disconnect");
    let after: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert!(!after.auth.oauth2.as_ref().expect("oauth2").connection.refresh_token_set);

    // Google Workspace with a service account: the JSON key pasted into the page.
    browser.select("#auth_oauth2_provider", "google");
    browser.select("#auth_oauth2_flow", "service_account");
    browser.fill("#auth_username", SA_MAILBOX);
    browser.fill("#sender_address", SA_MAILBOX);
    browser.fill("#auth_oauth2_service_account_key", &p.file("sa.json"));
    browser.click("#save");
    browser.wait_visible(OK_STATUS);
    assert!(browser.text("#oauth-service-account").contains("mailer@proj.iam.gserviceaccount.com"));
    test_mail_passes(&browser);
    let last = smtp.events().into_iter().rfind(|e| e["event"] == "auth").expect("an auth");
    assert_eq!((last["login"].as_str(), last["ok"].as_bool()), (Some(SA_MAILBOX), Some(true)));
}
