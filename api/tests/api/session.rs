use crate::both_backends;
use crate::helpers::{problem, spawn_app, Backend};
use postamt_wire::CSRF_HEADER;

both_backends!(sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it, repeated_failures_are_throttled);

async fn sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let wrong = app.sign_in_with("not the password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(problem(wrong).await.detail.as_deref(), Some("the password is wrong"));

    let response = app.sign_in_with(crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(response.status(), 201);
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("postamt_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: no Secure flag");
    let session: postamt_wire::SessionInfo = response.json().await.unwrap();
    app.csrf = Some(session.csrf_token.clone());

    let me: postamt_wire::SessionInfo =
        app.client.get(app.url("/api/v1/session")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me.csrf_token, session.csrf_token);

    // Signing out is a change: it needs the CSRF token.
    let without = app.client.delete(app.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(without.status(), 403);
    let out =
        app.client.delete(app.url("/api/v1/session")).header(CSRF_HEADER, &session.csrf_token).send().await.unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(app.client.get(app.url("/api/v1/session")).send().await.unwrap().status(), 401);
    assert_eq!(app.get_settings().await.status(), 401);
}

async fn repeated_failures_are_throttled(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..5 {
        assert_eq!(app.sign_in_with("guess").await.status(), 401);
    }
    let throttled = app.sign_in_with(crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(throttled.status(), 429, "even the right password waits once throttled");
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(problem(throttled).await.status, 429);
}
