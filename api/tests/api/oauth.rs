//! OAuth 2.0 sign-in (XOAUTH2) end to end: the provider double on loopback issues the tokens,
//! the test SMTP server checks them; settings, test mail, delivery, "Connect account",
//! rotation, revocation and two instances refreshing at once.

use crate::both_backends;
use crate::helpers::{fields, json, problem, spawn_app_with, spawn_sibling, Backend, TestApp};
use crate::messages::{send, wait_for};
use crate::smtp_server::SmtpServer;
use postamt_e2e::oauth_provider::{ProviderDouble, TENANT, TOKEN_SECRET};
use postamt_wire::{MessageAccepted, MessageStatus, Scope};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const USER: &str = "erika@contoso.example";
const APP_MAILBOX: &str = "noreply@contoso.example";
const SECRET: &str = "ms-secret-value";

both_backends!(
    client_credentials_sign_in_tests_and_delivers_with_xoauth2,
    connect_account_refreshes_with_rotation_and_a_revoked_grant_shows_at_once,
);

fn provider() -> ProviderDouble {
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

fn smtp(style: &str) -> SmtpServer {
    SmtpServer::start(&["--mechanisms", "XOAUTH2", "--oauth-secret", TOKEN_SECRET, "--oauth-style", style])
}

/// An app whose OAuth endpoints are the double, checking the connection every second.
async fn app_for(backend: Backend, p: &ProviderDouble) -> TestApp {
    let base = p.base();
    let mut app = spawn_app_with(backend, |c| {
        c.oauth_microsoft_authority = base.clone();
        c.oauth_google_token_url = format!("{base}/token");
        c.oauth_google_authorization_url = format!("{base}/o/oauth2/v2/auth");
        c.oauth_check_seconds = 1;
        c.secret_key = Some(SecretString::from("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned()));
    })
    .await;
    app.sign_in().await;
    app
}

fn settings(port: u16, mailbox: &str, oauth2: Value) -> Value {
    json!({
        "host": "127.0.0.1", "port": port, "encryption": "none",
        "sender_name": "TEAMBOX", "sender_address": mailbox,
        "auth": {"enabled": true, "method": "oauth2", "username": mailbox, "oauth2": oauth2},
        "timeout_seconds": 5
    })
}

fn client_credentials(secret: Option<&str>) -> Value {
    let mut o = json!({"provider": "microsoft", "flow": "client_credentials", "tenant": TENANT, "client_id": "ms-app"});
    if let Some(s) = secret {
        o["client_secret"] = json!(s);
    }
    o
}

async fn test_mail(app: &TestApp, settings: Option<&Value>) -> Value {
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

async fn connection(app: &TestApp) -> Value {
    json(app.get_settings().await).await["auth"]["oauth2"]["connection"].clone()
}

/// Polls `check` on the settings' connection state (bounded).
async fn wait_connection(app: &TestApp, what: &str, check: impl Fn(&Value) -> bool) -> Value {
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

async fn client_credentials_sign_in_tests_and_delivers_with_xoauth2(backend: Backend) {
    let p = provider();
    let server = smtp("microsoft");
    let app = app_for(backend, &p).await;
    let body = settings(server.port, APP_MAILBOX, client_credentials(Some(SECRET)));
    let saved = app.put_settings(&body, None).await;
    assert_eq!(saved.status(), 200);
    let text = saved.text().await.unwrap();
    assert!(!text.contains(SECRET), "the client secret came back: {text}");
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["auth"]["method"], "oauth2");
    assert_eq!(view["auth"]["oauth2"]["client_secret_set"], true);
    let history = json(app.get_history().await).await;
    let change = history["entries"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "auth.oauth2.client_secret")
        .cloned()
        .unwrap();
    assert_eq!(
        (change["secret"].clone(), change["old"].clone(), change["new"].clone()),
        (json!(true), Value::Null, Value::Null)
    );

    // The saved settings: a token, then XOAUTH2.
    let result = test_mail(&app, None).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["stages"][0]["name"], "token");
    assert_eq!(result["stages"][0]["status"], "ok");
    let text = result.to_string();
    assert!(!text.contains("pa-at.") && !text.contains(SECRET), "a token or secret in the result: {text}");
    let c = wait_connection(&app, "status ok", |c| c["status"] == "ok").await;
    assert!(c["token_issued_at"].is_string() && c["token_expires_at"].is_string());

    // A module's mail, delivered with XOAUTH2.
    let key = app.create_api_key("finance", &Scope::ALL).await.secret;
    let mail = json!({"category": "finance", "to": ["x@example.org"], "subject": "Invoice", "text": "Hello"});
    let accepted: MessageAccepted = send(&app, &key, &mail, None).await.json().await.unwrap();
    wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    let auths: Vec<Value> = server.events().into_iter().filter(|e| e["event"] == "auth").collect();
    assert!(
        auths.iter().all(|a| a["mechanism"] == "XOAUTH2" && a["ok"] == true && a["login"] == APP_MAILBOX),
        "{auths:?}"
    );

    // An unsaved wrong secret: the token stage fails with its class, field and hint; the
    // saved connection's state is not touched by unsaved settings of another binding.
    let mut wrong = body.clone();
    wrong["auth"]["oauth2"]["client_secret"] = json!("wrong");
    let result = test_mail(&app, Some(&wrong)).await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["failure"]["stage"], "token");
    assert_eq!(result["failure"]["class"], "oauth_invalid_client_secret");
    assert_eq!(result["failure"]["field"], "auth.oauth2.client_secret");
    assert!(result["failure"]["hint_de"].as_str().unwrap().contains("geheime"));
    assert!(result["stages"].as_array().unwrap()[1..].iter().all(|s| s["status"] == "skipped"), "{result}");

    let metrics =
        app.anonymous().get(app.url("/metrics")).bearer_auth(&key).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("postamt_oauth_tokens_issued_total"), "{metrics}");
    assert!(
        metrics.contains("postamt_oauth_token_failures_total{class=\"oauth_invalid_client_secret\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_failures_name_their_class_field_and_hint() {
    let p = provider();
    let server = smtp("microsoft");
    let app = app_for(Backend::Sqlite, &p).await;
    let cases = [
        (json!({"tenant": "unknown.onmicrosoft.com"}), "oauth_tenant_not_found", "auth.oauth2.tenant"),
        (
            json!({"client_id": "ms-no-consent", "client_secret": "other-secret"}),
            "oauth_consent_missing",
            "auth.oauth2.client_id",
        ),
        (json!({"client_id": "nobody"}), "oauth_application_not_found", "auth.oauth2.client_id"),
    ];
    for (change, class, field) in cases {
        let mut oauth2 = client_credentials(Some(SECRET));
        for (k, v) in change.as_object().unwrap() {
            oauth2[k] = v.clone();
        }
        let result = test_mail(&app, Some(&settings(server.port, APP_MAILBOX, oauth2))).await;
        assert_eq!(
            (result["failure"]["class"].as_str(), result["failure"]["field"].as_str()),
            (Some(class), Some(field)),
            "{result}"
        );
        assert!(!result["failure"]["hint_en"].as_str().unwrap().is_empty());
    }
    // Google: the service account's key, impersonating a mailbox it may not.
    let key = p.file("sa.json");
    let google = |mailbox: &str| {
        settings(
            server.port,
            mailbox,
            json!({"provider": "google", "flow": "service_account", "service_account_key": key}),
        )
    };
    let result = test_mail(&app, Some(&google("stranger@example.com"))).await;
    assert_eq!(result["failure"]["class"], "oauth_service_account_rejected", "{result}");
    assert_eq!(result["failure"]["field"], "auth.username");

    // No secret, nothing stored: 422 naming the field; after saving, another app needs it again.
    let bad = app.put_settings(&settings(server.port, APP_MAILBOX, client_credentials(None)), None).await;
    assert_eq!(fields(&problem(bad).await), vec![("auth.oauth2.client_secret", "required")]);
    assert_eq!(
        app.put_settings(&settings(server.port, APP_MAILBOX, client_credentials(Some(SECRET))), None).await.status(),
        200
    );
    let mut other_app = client_credentials(None);
    other_app["client_id"] = json!("ms-no-consent");
    let again = app.put_settings(&settings(server.port, APP_MAILBOX, other_app), None).await;
    assert_eq!(fields(&problem(again).await), vec![("auth.oauth2.client_secret", "secret_required_again")]);
    // The same binding keeps the stored secret.
    assert_eq!(
        app.put_settings(&settings(server.port, APP_MAILBOX, client_credentials(None)), None).await.status(),
        200
    );
    // Unsaved settings may reuse the stored secret only for the same binding, like saving.
    let same = settings(server.port, APP_MAILBOX, client_credentials(None));
    assert_eq!(test_mail(&app, Some(&same)).await["ok"], true);
    let mut moved = same.clone();
    moved["auth"]["oauth2"]["client_id"] = json!("ms-no-consent");
    let refused = app
        .client
        .post(app.url("/api/v1/mail-settings/test"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&json!({"recipient": "someone@example.org", "settings": moved}))
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&problem(refused).await), vec![("auth.oauth2.client_secret", "secret_required_again")]);
    // Flows the provider does not have.
    let mut wrong_flow = client_credentials(Some(SECRET));
    wrong_flow["flow"] = json!("service_account");
    let bad = app.put_settings(&settings(server.port, APP_MAILBOX, wrong_flow), None).await;
    assert_eq!(fields(&problem(bad).await), vec![("auth.oauth2.flow", "unsupported_flow")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_service_account_tests_and_delivers() {
    let p = provider();
    let server = smtp("google");
    let app = app_for(Backend::Sqlite, &p).await;
    let key = p.file("sa.json");
    let body = settings(
        server.port,
        "info@example.com",
        json!({"provider": "google", "flow": "service_account", "service_account_key": key}),
    );
    let saved = app.put_settings(&body, None).await;
    assert_eq!(saved.status(), 200);
    let view = json(saved).await;
    assert_eq!(view["auth"]["oauth2"]["service_account"], "mailer@proj.iam.gserviceaccount.com");
    assert!(!view.to_string().contains("PRIVATE KEY"));
    let result = test_mail(&app, None).await;
    assert_eq!(result["ok"], true, "{result}");
    let auth = server.events().into_iter().find(|e| e["event"] == "auth").unwrap();
    assert_eq!((auth["mechanism"].as_str(), auth["ok"].as_bool()), (Some("XOAUTH2"), Some(true)));
}

/// "Connect account" as the page does it: authorize, the provider's redirect, the callback.
async fn connect_account(app: &TestApp) {
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

fn delegated(port: u16) -> Value {
    settings(
        port,
        USER,
        json!({"provider": "microsoft", "flow": "authorization_code", "tenant": TENANT, "client_id": "ms-app", "client_secret": SECRET}),
    )
}

async fn connect_account_refreshes_with_rotation_and_a_revoked_grant_shows_at_once(backend: Backend) {
    let p = provider();
    let server = smtp("microsoft");
    let app = app_for(backend, &p).await;
    assert_eq!(app.put_settings(&delegated(server.port), None).await.status(), 200);
    assert_eq!(connection(&app).await["status"], "needs_connect");
    let result = test_mail(&app, None).await;
    assert_eq!(result["failure"]["class"], "oauth_not_connected", "{result}");

    connect_account(&app).await;
    let c = connection(&app).await;
    assert_eq!((c["account"].as_str(), c["refresh_token_set"].as_bool()), (Some(USER), Some(true)), "{c}");
    let result = test_mail(&app, None).await;
    assert_eq!(result["ok"], true, "{result}");

    // The check job refreshes every second: each refresh uses the token the last one stored.
    let started = Instant::now();
    while p.token_events().iter().filter(|e| e["grant_type"] == "refresh_token").count() < 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "no refreshes: {:?}", p.token_events());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_refresh_tokens_used_once(&p);

    // The admin revokes the grant at the provider: the page's state and the 24 h errors say so.
    assert!(p.control("revoke", json!({"user": USER}))["revoked"].as_u64().unwrap() >= 1);
    let c = wait_connection(&app, "needs_connect", |c| c["status"] == "needs_connect").await;
    assert_eq!(c["last_error"]["class"], "oauth_refresh_token_invalid");
    assert!(c["last_error"]["hint_en"].as_str().unwrap().contains("Sign the mailbox in again"), "{c}");
    let errors: postamt_wire::MailErrors =
        app.client.get(app.url("/api/v1/mail-log/errors")).send().await.unwrap().json().await.unwrap();
    let revoked: Vec<_> = errors
        .entries
        .iter()
        .filter(|e| e.class == Some(postamt_wire::FailureClass::OauthRefreshTokenInvalid))
        .collect();
    // Once, although the check has failed every second since.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again: postamt_wire::MailErrors =
        app.client.get(app.url("/api/v1/mail-log/errors")).send().await.unwrap().json().await.unwrap();
    assert_eq!(revoked.len(), 1, "{errors:?}");
    assert_eq!(again.total, errors.total, "{again:?}");
    let entry = revoked[0];
    assert_eq!((entry.kind, entry.stage), (postamt_wire::LogKind::Connection, Some(postamt_wire::StageName::Token)));
    assert!(entry.hint_de.as_deref().is_some_and(|h| h.contains("erneut an")), "{entry:?}");

    // Reconnecting heals it; disconnecting forgets the token.
    connect_account(&app).await;
    assert_eq!(wait_connection(&app, "ok", |c| c["status"] == "ok").await["refresh_token_set"], true);
    let gone = app
        .client
        .delete(app.url("/api/v1/mail-settings/oauth/connection"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(connection(&app).await["status"], "needs_connect");
}

/// No refresh token was presented twice, and none after it was rotated.
fn assert_refresh_tokens_used_once(p: &ProviderDouble) {
    let refreshes: Vec<Value> = p.token_events().into_iter().filter(|e| e["grant_type"] == "refresh_token").collect();
    assert!(refreshes.iter().all(|e| e["reuse"] != true && e["outcome"] == "ok"), "{refreshes:?}");
    let mut ids: Vec<String> = refreshes.iter().map(|e| e["refresh_token_id"].to_string()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a refresh token was used twice: {refreshes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_use_each_refresh_token_once() {
    let p = provider();
    let server = smtp("microsoft");
    let a = app_for(Backend::Postgres, &p).await;
    assert_eq!(a.put_settings(&delegated(server.port), None).await.status(), 200);
    connect_account(&a).await;
    let base = p.base();
    let mut b = spawn_sibling(&a, |c| {
        c.oauth_microsoft_authority = base.clone();
        c.oauth_check_seconds = 1;
        c.secret_key = Some(SecretString::from("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned()));
    })
    .await;
    b.sign_in().await;
    // Both check jobs and both test mails want a token at the same moments; a slow provider
    // keeps each refresh open long enough for the other instance to try too.
    p.control("set", json!({"token_delay_ms": 400}));
    let (ra, rb) = tokio::join!(test_mail(&a, None), test_mail(&b, None));
    assert_eq!((ra["ok"].as_bool(), rb["ok"].as_bool()), (Some(true), Some(true)), "{ra} {rb}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(p.token_events().iter().filter(|e| e["grant_type"] == "refresh_token").count() >= 3);
    assert_refresh_tokens_used_once(&p);
    assert_eq!(connection(&b).await["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_server_refuses_is_replaced_once_and_the_mail_still_goes_out() {
    let p = provider();
    let server = smtp("microsoft");
    let app = app_for(Backend::Sqlite, &p).await;
    // Tokens die after 1 s although the provider says an hour: the cache keeps them.
    p.control("set", json!({"token_valid_seconds": 1}));
    let body = settings(server.port, APP_MAILBOX, client_credentials(Some(SECRET)));
    assert_eq!(app.put_settings(&body, None).await.status(), 200);
    assert_eq!(test_mail(&app, None).await["ok"], true);
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // The cached token is refused (535 5.7.3); a fresh one is fetched and the test passes.
    let result = test_mail(&app, None).await;
    assert_eq!(result["ok"], true, "{result}");
    let auths = |server: &SmtpServer| -> Vec<(bool, String)> {
        server
            .events()
            .into_iter()
            .filter(|e| e["event"] == "auth")
            .map(|e| (e["ok"].as_bool().unwrap(), e["reason"].as_str().unwrap_or("").to_owned()))
            .collect()
    };
    assert_eq!(auths(&server)[1..], [(false, "expired".to_owned()), (true, String::new())], "{:?}", auths(&server));
    assert_eq!(p.token_events().len(), 2);

    // Delivery does the same when it opens a session.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let key = app.create_api_key("finance", &Scope::ALL).await.secret;
    let mail = json!({"category": "finance", "to": ["x@example.org"], "subject": "Invoice", "text": "Hello"});
    let accepted: MessageAccepted = send(&app, &key, &mail, None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!(view.attempts.len(), 1, "the refused token must not cost the message an attempt");
    assert_eq!(auths(&server)[3..], [(false, "expired".to_owned()), (true, String::new())], "{:?}", auths(&server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_completes_only_in_the_session_that_started_it() {
    let p = provider();
    let server = smtp("microsoft");
    let app = app_for(Backend::Sqlite, &p).await;
    assert_eq!(app.put_settings(&delegated(server.port), None).await.status(), 200);
    let started = app
        .client
        .post(app.url("/api/v1/mail-settings/oauth/authorize"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let url = json(started).await["authorization_url"].as_str().unwrap().to_owned();
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = no_redirects.get(url).send().await.unwrap().headers()["location"].to_str().unwrap().to_owned();
    let query = back.split_once('?').unwrap().1.to_owned();

    // Another admin session (another browser) cannot finish it, nor can no session at all.
    let other =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = other
        .post(app.url("/api/v1/session"))
        .json(&json!({"password": crate::helpers::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 201);
    let complete = app.url(&format!("/oauth/callback/complete?{query}"));
    let stranger = other.get(&complete).send().await.unwrap();
    assert_eq!(stranger.headers()["location"], "/?oauth_error=state");
    let anonymous = no_redirects.get(&complete).send().await.unwrap();
    assert_eq!(anonymous.headers()["location"], "/?oauth_error=session");
    assert_eq!(connection(&app).await["refresh_token_set"], false);
    // The session that started it still can; then the state is spent.
    let owner = app.client.get(&complete).send().await.unwrap();
    assert_eq!(owner.headers()["location"], "/?oauth=connected");
    assert_eq!(connection(&app).await["refresh_token_set"], true);
    let again = app.client.get(&complete).send().await.unwrap();
    assert_eq!(again.headers()["location"], "/?oauth_error=state");
    // An open redirect is refused at the start.
    let open = app
        .client
        .post(app.url("/api/v1/mail-settings/oauth/authorize"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&json!({"return_to": "//evil.example/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&problem(open).await), vec![("return_to", "invalid")]);
    // API keys cannot start a sign-in (it belongs to a browser session).
    let key = app.create_api_key("ops", &Scope::ALL).await.secret;
    let by_key = app
        .anonymous()
        .post(app.url("/api/v1/mail-settings/oauth/authorize"))
        .bearer_auth(key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_key.status(), 403);
}
