//! `GET`/`PUT /api/v1/alert-settings`: validation naming the fields, the secret write-only
//! and kept only for the same URL, ETag / If-Match, scopes.

use super::*;
use crate::helpers::{fields, problem};
use postamt_wire::Scope;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_settings_are_validated_and_the_secret_is_write_only() {
    let app = alert_app(Backend::Sqlite, |_| {}).await;
    // Nothing saved: no channel, the defaults.
    let response = app.client.get(app.url("/api/v1/alert-settings")).send().await.unwrap();
    assert_eq!(response.headers()["etag"], "\"0\"");
    let body = json(response).await;
    assert_eq!((body["webhook"].is_null(), body["email"].is_null()), (true, true), "{body}");
    assert_eq!(
        body["conditions"]["failures"],
        json!({"enabled": true, "count": 10, "ratio": 0.5, "window_minutes": 15})
    );
    assert_eq!(body["conditions"]["queue_stuck"], json!({"enabled": true, "minutes": 15}));

    // Every violation at once, each naming its field.
    let bad = json!({
        "webhook": {"url": "http://hooks.example.org/x", "secret": "short"},
        "email": {"recipients": ["ops@example.org", "not an address"]},
        "conditions": {"failures": {"ratio": 1.5, "count": 0}, "queue_stuck": {"minutes": 0}}
    });
    let refused = problem(put_alert_settings(&app, &bad, None).await).await;
    let mut got = fields(&refused);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("conditions.failures.count", "out_of_range"),
            ("conditions.failures.ratio", "out_of_range"),
            ("conditions.queue_stuck.minutes", "out_of_range"),
            ("email.recipients[1]", "invalid_email"),
            ("webhook.secret", "invalid_length"),
            ("webhook.url", "invalid_url"),
        ],
        "{refused:?}"
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("a{i}@example.org")).collect();
    let refused = problem(put_alert_settings(&app, &json!({"email": {"recipients": eleven}}), None).await).await;
    assert_eq!(fields(&refused), vec![("email.recipients", "out_of_range")]);
    let refused =
        problem(put_alert_settings(&app, &json!({"webhook": {"url": "https://h.example.org/a"}}), None).await).await;
    assert_eq!(fields(&refused), vec![("webhook.secret", "required")]);
    let unknown = put_alert_settings(&app, &json!({"conditions": {"nonsense": {}}}), None).await;
    assert_eq!(unknown.status(), 422);

    // Saved: the secret never comes back, in no response.
    let body = alert_settings(Some("https://hooks.example.org/postamt"), Some(&["ops@example.org"]), "queue_stuck");
    let saved = put_alert_settings(&app, &body, None).await;
    assert_eq!((saved.status().as_u16(), saved.headers()["etag"].to_str().unwrap()), (200, "\"1\""));
    let text = saved.text().await.unwrap();
    assert!(!text.contains(WEBHOOK_SECRET), "{text}");
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["webhook"], json!({"url": "https://hooks.example.org/postamt", "secret_set": true}));
    assert_eq!(view["email"]["recipients"], json!(["ops@example.org"]));
    let text = app.client.get(app.url("/api/v1/alert-settings")).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains(WEBHOOK_SECRET) && text.contains("\"secret_set\":true"), "{text}");

    // Omitted, the secret stays for the same URL; for another URL it must be sent again.
    let same = json!({"webhook": {"url": "https://hooks.example.org/postamt"}});
    let kept = json(put_alert_settings(&app, &same, Some("\"1\"")).await).await;
    assert_eq!((kept["webhook"]["secret_set"].as_bool(), kept["version"].as_i64()), (Some(true), Some(2)), "{kept}");
    let other = json!({"webhook": {"url": "https://elsewhere.example.org/postamt"}});
    let refused = problem(put_alert_settings(&app, &other, None).await).await;
    assert_eq!(fields(&refused), vec![("webhook.secret", "required")]);
    // A stale If-Match changes nothing.
    assert_eq!(put_alert_settings(&app, &same, Some("\"1\"")).await.status(), 412);
    // The stored secret is encrypted: not in the database file in readable form.
    let mut file = std::fs::read(app.data_dir.path().join("postamt.sqlite3")).unwrap();
    file.extend(std::fs::read(app.data_dir.path().join("postamt.sqlite3-wal")).unwrap_or_default());
    postamt_e2e::assert_no_secret("the SQLite file", &file, WEBHOOK_SECRET);

    // An API key needs settings:read to see and settings:write to change them.
    let reader = app.create_api_key("reader", &[Scope::SettingsRead]).await.secret;
    let get = app.anonymous().get(app.url("/api/v1/alert-settings")).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(get.status(), 200);
    let put =
        app.anonymous().put(app.url("/api/v1/alert-settings")).bearer_auth(&reader).json(&same).send().await.unwrap();
    assert_eq!(put.status(), 403);
    assert_eq!(app.anonymous().get(app.url("/api/v1/alerts")).send().await.unwrap().status(), 401);
}
