//! "Connect account" (authorization code): the callback, rotation, revocation, two
//! instances refreshing at once, and the sign-in bound to its session.

use super::*;
use crate::both_backends;
use crate::helpers::{fields, problem, spawn_sibling};
use postamt_wire::Scope;

both_backends!(connect_account_refreshes_with_rotation_and_a_revoked_grant_shows_at_once);

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
        c.secret_key = Some(SecretString::from(SECRET_KEY.to_owned()));
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
