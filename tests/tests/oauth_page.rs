//! The settings page's OAuth 2.0 sign-in in Chromium, without a provider: method and provider
//! choice with the server presets, the client-credentials fields saved and loaded back (saving
//! again from the page keeps OAuth), and the notice after the provider sent the admin back.

use postamt_e2e::{frontend_dist, Auth, Browser, Launch};
use postamt_wire::{AuthMethod, Encryption, MailSettings, OAuthFlow, OAuthProvider};

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
