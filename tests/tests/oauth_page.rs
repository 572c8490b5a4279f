//! The settings page's OAuth 2.0 sign-in in Chromium: method and provider choice with the
//! server presets, the client-credentials fields saved and loaded back (saving again from the
//! page keeps OAuth), the notice after the provider sent the admin back, and "Connect account"
//! / "Disconnect" against the provider double (`api/oauth/tests/servers/oauth_provider.py`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use postamt_e2e::{frontend_dist, Auth, Browser, Launch};
use postamt_wire::{AuthMethod, Encryption, MailSettings, OAuth2Input, OAuthFlow, OAuthProvider};
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

const TENANT: &str = "contoso.onmicrosoft.com";
const USER: &str = "erika@contoso.example";

/// The provider double, killed when dropped.
struct ProviderDouble {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl ProviderDouble {
    /// A Microsoft tenant with one confidential client that may connect `USER`.
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = json!({
            "port": 0,
            "token_secret": "page-test-token-secret",
            "events_file": dir.path().join("events.jsonl"),
            "token_lifetime": 3600,
            "tenants": [TENANT],
            "users": [USER],
            "authorize": {"user": USER},
            "clients": [{"id": "ms-app", "secret": "ms-secret-value", "provider": "microsoft", "tenant": TENANT,
                         "flows": ["authorization_code", "refresh_token"]}]
        });
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, config.to_string()).expect("write the config");
        let script = postamt_e2e::workspace_root().join("api/oauth/tests/servers/oauth_provider.py");
        let mut child = Command::new(postamt_e2e::smtp::python())
            .arg(script)
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the provider double");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("the provider double did not print READY");
        let port = line.trim().strip_prefix("READY ").and_then(|p| p.parse().ok()).expect("READY <port>");
        ProviderDouble { child, port, _dir: dir }
    }
}

impl Drop for ProviderDouble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn admin_connects_and_disconnects_the_mailbox() {
    let provider = ProviderDouble::start();
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let server = Launch::new(dir.path())
        .admin_password(&admin)
        .static_dir(&dist)
        .env("POSTAMT_OAUTH_MICROSOFT_AUTHORITY", &format!("http://127.0.0.1:{}", provider.port))
        .start();
    let api = server.api();
    let session = api.sign_in(&admin);
    let mut input = postamt_e2e::settings_input("smtp.office365.com", None);
    input.auth.enabled = true;
    input.auth.method = AuthMethod::Oauth2;
    input.auth.username = Some(USER.to_string());
    input.auth.oauth2 = Some(OAuth2Input {
        provider: Some(OAuthProvider::Microsoft),
        flow: Some(OAuthFlow::AuthorizationCode),
        tenant: Some(TENANT.to_string()),
        client_id: Some("ms-app".to_string()),
        client_secret: Some("ms-secret-value".to_string()),
        ..OAuth2Input::default()
    });
    api.put_json("/api/v1/mail-settings", Auth::Session(&session), None, &input).expect(200);

    let browser = Browser::start("en-US");
    browser.goto(&format!("{}/", server.url));
    browser.wait_visible("#login-password");
    browser.fill("#login-password", &admin);
    browser.click("#login-submit");
    browser.wait_visible("#oauth-connect");
    assert_eq!(browser.text("#oauth-connect"), "Connect account");
    assert!(!browser.is_visible("#oauth-disconnect"), "nothing to disconnect yet");
    assert!(browser.is_visible(r#"#oauth-connection[data-status="needs_connect"]"#));

    // The provider signs the mailbox in and sends the browser back.
    browser.click("#oauth-connect");
    browser.wait_visible(r#"#oauth-notice[data-state="ok"]"#);
    assert_eq!(browser.exec("return location.search", vec![]).as_str(), Some(""));
    browser.wait_visible(r#"#oauth-connection[data-status="ok"]"#);
    assert!(browser.text("#oauth-connection").contains(USER), "{}", browser.text("#oauth-connection"));
    assert_eq!(browser.text("#oauth-connect"), "Reconnect");
    let saved: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    let connection = &saved.auth.oauth2.as_ref().expect("oauth2").connection;
    assert!(connection.refresh_token_set && connection.account.as_deref() == Some(USER), "{connection:?}");

    browser.click("#oauth-disconnect");
    browser.wait_visible(r#"#oauth-notice[data-state="ok"]"#);
    browser.wait_gone("#oauth-disconnect");
    let after: MailSettings = api.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert!(!after.auth.oauth2.as_ref().expect("oauth2").connection.refresh_token_set);
}
