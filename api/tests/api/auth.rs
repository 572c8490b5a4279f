use crate::both_backends;
use crate::helpers::{problem, spawn_app, valid_settings, Backend};
use postamt_wire::Scope;

both_backends!(scopes_decide_what_a_key_may_do);

async fn scopes_decide_what_a_key_may_do(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    let reader = app.create_api_key("reader", &[Scope::SettingsRead]).await.secret;
    let writer = app.create_api_key("writer", &[Scope::SettingsWrite, Scope::SettingsRead]).await.secret;
    let url = app.url("/api/v1/mail-settings");
    let anonymous = app.anonymous();

    let none = anonymous.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(problem(none).await.status, 401);
    assert_eq!(anonymous.get(&url).bearer_auth("pa_wrong").send().await.unwrap().status(), 401);
    assert_eq!(anonymous.get(&url).header("Authorization", "Basic x").send().await.unwrap().status(), 401);

    let forbidden = anonymous.put(&url).bearer_auth(&reader).json(&valid_settings()).send().await.unwrap();
    assert_eq!(forbidden.status(), 403);
    assert!(problem(forbidden).await.detail.unwrap().contains("settings:write"));

    let saved = anonymous.put(&url).bearer_auth(&writer).json(&valid_settings()).send().await.unwrap();
    assert_eq!(saved.status(), 200);
    let settings: postamt_wire::MailSettings = saved.json().await.unwrap();
    assert_eq!(settings.updated_by, "api-key:writer");
    assert_eq!(anonymous.get(&url).bearer_auth(&reader).send().await.unwrap().status(), 200);
    let history = anonymous.get(app.url("/api/v1/mail-settings/history")).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(history.status(), 200);
    assert_eq!(anonymous.delete(&url).bearer_auth(&reader).send().await.unwrap().status(), 403);
    // API keys do not need the CSRF token: no browser carries them implicitly.
    assert_eq!(anonymous.delete(&url).bearer_auth(&writer).send().await.unwrap().status(), 204);
}

#[tokio::test]
async fn every_protected_endpoint_refuses_anonymous_callers() {
    let app = spawn_app(Backend::Sqlite).await;
    let c = app.anonymous();
    let requests = [
        c.get(app.url("/api/v1/mail-settings")),
        c.put(app.url("/api/v1/mail-settings")).json(&valid_settings()),
        c.delete(app.url("/api/v1/mail-settings")),
        c.get(app.url("/api/v1/mail-settings/history")),
        c.get(app.url("/api/v1/api-keys")),
        c.post(app.url("/api/v1/api-keys")).json(&serde_json::json!({"name": "x", "scopes": ["mail:send"]})),
        c.delete(app.url("/api/v1/api-keys/x")),
        c.get(app.url("/api/v1/session")),
        c.delete(app.url("/api/v1/session")),
        c.post(app.url("/api/v1/mail-settings/test")).json(&serde_json::json!({"recipient": "a@example.org"})),
        c.post(app.url("/api/v1/mail-settings/preview")).json(&serde_json::json!({})),
        c.post(app.url("/api/v1/messages")).json(&serde_json::json!({})),
        c.get(app.url("/api/v1/messages/x")),
        c.post(app.url("/api/v1/messages/x/resend")),
        c.get(app.url("/api/v1/mail-log")),
        c.get(app.url("/api/v1/mail-log/errors")),
        c.get(app.url("/api/v1/mail-log/export")),
        c.get(app.url("/metrics")),
    ];
    for request in requests {
        let request = request.build().unwrap();
        let label = format!("{} {}", request.method(), request.url().path());
        let response = c.execute(request).await.unwrap();
        assert_eq!(response.status(), 401, "{label}");
    }
}

#[tokio::test]
async fn cookie_changes_without_the_csrf_token_are_refused() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    let response = app.client.put(app.url("/api/v1/mail-settings")).json(&valid_settings()).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let wrong = app
        .client
        .put(app.url("/api/v1/mail-settings"))
        .header(postamt_wire::CSRF_HEADER, "forged")
        .json(&valid_settings())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    assert_eq!(app.get_settings().await.status(), 404, "nothing was stored");
}
