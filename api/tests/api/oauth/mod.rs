//! OAuth 2.0 sign-in (XOAUTH2) end to end: the provider double on loopback issues the tokens,
//! the test SMTP server checks them. `app_only`: client credentials and Google's service
//! account (settings, test mail, delivery, failures); `delegated`: "Connect account",
//! rotation, revocation, two instances refreshing at once, the session binding.

mod app_only;
mod delegated;

use crate::helpers::{json, spawn_app_with, Backend, TestApp};
use crate::smtp_server::SmtpServer;
use postamt_e2e::oauth_provider::{ProviderDouble, TENANT, TOKEN_SECRET};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const USER: &str = "erika@contoso.example";
const APP_MAILBOX: &str = "noreply@contoso.example";
const SECRET: &str = "ms-secret-value";
/// Both instances of a test share it (they decrypt each other's secrets).
const SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn provider() -> ProviderDouble {
    ProviderDouble::start(json!({
        "tenants": [TENANT],
        "users": [USER, "info@example.com"],
        "authorize": {"user": USER},
        "clients": [
            {"id": "ms-app", "secret": SECRET, "provider": "microsoft", "tenant": TENANT,
             "flows": ["client_credentials", "authorization_code", "refresh_token"], "mailbox": APP_MAILBOX},
            {"id": "ms-no-consent", "secret": "other-secret", "provider": "microsoft", "tenant": TENANT,
             "consented": false, "flows": ["client_credentials"]}
        ],
        "service_accounts": [
            {"client_email": "mailer@proj.iam.gserviceaccount.com", "client_id": "1001",
             "key_file": "{dir}/sa.json", "delegated_scopes": ["https://mail.google.com/"]}
        ]
    }))
}

pub fn smtp(style: &str) -> SmtpServer {
    SmtpServer::start(&["--mechanisms", "XOAUTH2", "--oauth-secret", TOKEN_SECRET, "--oauth-style", style])
}

/// An app whose OAuth endpoints are the double, checking the connection every second.
pub async fn app_for(backend: Backend, p: &ProviderDouble) -> TestApp {
    let base = p.base();
    let mut app = spawn_app_with(backend, |c| {
        c.oauth_microsoft_authority = base.clone();
        c.oauth_google_token_url = format!("{base}/token");
        c.oauth_google_authorization_url = format!("{base}/o/oauth2/v2/auth");
        c.oauth_check_seconds = 1;
        c.secret_key = Some(SecretString::from(SECRET_KEY.to_owned()));
    })
    .await;
    app.sign_in().await;
    app
}

pub fn settings(port: u16, mailbox: &str, oauth2: Value) -> Value {
    json!({
        "host": "127.0.0.1", "port": port, "encryption": "none",
        "sender_name": "TEAMBOX", "sender_address": mailbox,
        "auth": {"enabled": true, "method": "oauth2", "username": mailbox, "oauth2": oauth2},
        "timeout_seconds": 5
    })
}

pub fn client_credentials(secret: Option<&str>) -> Value {
    let mut o = json!({"provider": "microsoft", "flow": "client_credentials", "tenant": TENANT, "client_id": "ms-app"});
    if let Some(s) = secret {
        o["client_secret"] = json!(s);
    }
    o
}

pub async fn test_mail(app: &TestApp, settings: Option<&Value>) -> Value {
    let mut body = json!({"recipient": "someone@example.org"});
    if let Some(s) = settings {
        body["settings"] = s.clone();
    }
    let response = app
        .client
        .post(app.url("/api/v1/mail-settings/test"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json(response).await
}

pub async fn connection(app: &TestApp) -> Value {
    json(app.get_settings().await).await["auth"]["oauth2"]["connection"].clone()
}

/// Polls `check` on the settings' connection state (bounded).
pub async fn wait_connection(app: &TestApp, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let c = connection(app).await;
        if check(&c) {
            return c;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "waited for {what}: {c}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn connect_account(app: &TestApp) {
    let started = app
        .client
        .post(app.url("/api/v1/mail-settings/oauth/authorize"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&json!({"return_to": "/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200);
    let started = json(started).await;
    assert_eq!(started["redirect_uri"], app.url("/oauth/callback"));
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let at_provider = no_redirects.get(started["authorization_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(at_provider.status(), 302);
    let back = at_provider.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&app.url("/oauth/callback?")), "{back}");
    // The provider's redirect arrives without the (SameSite=Strict) cookie: a page moves on.
    let page = no_redirects.get(&back).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/oauth/callback/complete?"), "{page}");
    let query = back.split_once('?').unwrap().1;
    let done = app.client.get(app.url(&format!("/oauth/callback/complete?{query}"))).send().await.unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()["location"], "/?oauth=connected");
}

pub fn delegated(port: u16) -> Value {
    settings(
        port,
        USER,
        json!({"provider": "microsoft", "flow": "authorization_code", "tenant": TENANT, "client_id": "ms-app", "client_secret": SECRET}),
    )
}

pub fn assert_refresh_tokens_used_once(p: &ProviderDouble) {
    let refreshes: Vec<Value> = p.token_events().into_iter().filter(|e| e["grant_type"] == "refresh_token").collect();
    assert!(refreshes.iter().all(|e| e["reuse"] != true && e["outcome"] == "ok"), "{refreshes:?}");
    let mut ids: Vec<String> = refreshes.iter().map(|e| e["refresh_token_id"].to_string()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a refresh token was used twice: {refreshes:?}");
}
