use crate::both_backends;
use crate::helpers::{spawn_app, Backend};
use postamt_wire::{ApiKey, Scope};

both_backends!(keys_are_shown_once_listed_without_secret_and_deleted);

async fn keys_are_shown_once_listed_without_secret_and_deleted(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    let created = app.create_api_key("finance module", &[Scope::SettingsRead, Scope::SettingsRead]).await;
    assert!(created.secret.starts_with("pa_") && created.secret.len() > 40);
    assert!(created.secret.starts_with(&created.key.prefix));
    assert_eq!(created.key.scopes, vec![Scope::SettingsRead], "duplicates removed");

    let listed = app.client.get(app.url("/api/v1/api-keys")).send().await.unwrap();
    let text = listed.text().await.unwrap();
    assert!(!text.contains(&created.secret), "the secret is shown only once");
    let keys: Vec<ApiKey> = serde_json::from_str(&text).unwrap();
    assert_eq!(keys, vec![created.key.clone()]);

    // Using the key records when it was last used.
    let use_key =
        app.anonymous().get(app.url("/api/v1/mail-settings")).bearer_auth(&created.secret).send().await.unwrap();
    assert_eq!(use_key.status(), 404, "authorised, nothing configured yet");
    let keys: Vec<ApiKey> = app.client.get(app.url("/api/v1/api-keys")).send().await.unwrap().json().await.unwrap();
    assert!(keys[0].last_used_at.is_some());

    assert_eq!(app.delete_api_key(&created.key.id).await.status(), 204);
    assert_eq!(app.delete_api_key(&created.key.id).await.status(), 404);
    let after =
        app.anonymous().get(app.url("/api/v1/mail-settings")).bearer_auth(&created.secret).send().await.unwrap();
    assert_eq!(after.status(), 401);
}

#[tokio::test]
async fn key_creation_is_validated_and_needs_the_admin() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    let bad = app
        .client
        .post(app.url("/api/v1/api-keys"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&serde_json::json!({ "name": " ", "scopes": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let problem = crate::helpers::problem(bad).await;
    assert_eq!(crate::helpers::fields(&problem), vec![("name", "required"), ("scopes", "required")]);

    let unknown_scope = app
        .client
        .post(app.url("/api/v1/api-keys"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&serde_json::json!({ "name": "x", "scopes": ["root"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_scope.status(), 422);

    // A key, whatever its scopes, cannot create keys.
    let key = app.create_api_key("all", &Scope::ALL).await;
    let by_key = app
        .anonymous()
        .post(app.url("/api/v1/api-keys"))
        .bearer_auth(&key.secret)
        .json(&serde_json::json!({ "name": "x", "scopes": ["settings:read"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_key.status(), 403, "a valid key without the right is forbidden, not unknown");
    let list_by_key = app.anonymous().get(app.url("/api/v1/api-keys")).bearer_auth(&key.secret).send().await.unwrap();
    assert_eq!(list_by_key.status(), 403);
    let bogus = app.anonymous().get(app.url("/api/v1/api-keys")).bearer_auth("pa_bogus").send().await.unwrap();
    assert_eq!(bogus.status(), 401);
}
