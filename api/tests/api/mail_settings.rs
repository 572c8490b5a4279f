use crate::both_backends;
use crate::helpers::{fields, json, problem, spawn_app, valid_settings, Backend};
use postamt_wire::{problem_types, MailSettings, SettingsHistory};
use serde_json::json;

both_backends!(
    settings_round_trip_without_ever_returning_the_password,
    every_violation_is_reported_at_once_and_nothing_is_stored,
    stored_password_never_follows_a_connection_to_a_new_server,
    stale_versions_are_refused_and_change_nothing,
    delete_returns_to_not_configured_and_history_tells_who_changed_what,
);

async fn settings_round_trip_without_ever_returning_the_password(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    let not_configured = app.get_settings().await;
    assert_eq!(not_configured.status(), 404);
    assert_eq!(problem(not_configured).await.problem_type, problem_types::NOT_CONFIGURED);

    let saved = app.put_settings(&valid_settings(), None).await;
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.headers()["etag"], "\"1\"");
    let text = saved.text().await.unwrap();
    assert!(!text.contains("pa55-W"), "password in response: {text}");
    let saved: MailSettings = serde_json::from_str(&text).unwrap();
    assert!(saved.auth.password_set);
    assert_eq!(saved.auth.username.as_deref(), Some("teambox@example.org"));
    assert_eq!((saved.port, saved.timeout_seconds, saved.version), (587, 15, 1));
    assert!(saved.force_default_sender && saved.reply_to_individual_sender);
    assert!(saved.warnings.is_empty(), "{:?}", saved.warnings);

    let fetched = app.get_settings().await;
    assert_eq!(fetched.headers()["etag"], "\"1\"");
    assert_eq!(fetched.headers()["cache-control"], "no-store");
    let text = fetched.text().await.unwrap();
    assert!(!text.contains("pa55-W"));
    assert_eq!(serde_json::from_str::<MailSettings>(&text).unwrap(), saved);
}

async fn every_violation_is_reported_at_once_and_nothing_is_stored(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    let body = json!({
        "host": "smtps://mail.example.org",
        "port": 0,
        "encryption": "starttls",
        "sender_name": "Team\r\nBcc: victim@example.org",
        "sender_address": "not-an-address",
        "auth": { "enabled": true, "username": "" },
        "force_default_sender": false,
        "reply_to_individual_sender": true,
        "timeout_seconds": 121
    });
    let response = app.put_settings(&body, None).await;
    assert_eq!(response.status(), 422);
    let all = problem(response).await;
    assert_eq!(all.problem_type, problem_types::VALIDATION);
    assert_eq!(
        fields(&all),
        vec![
            ("host", "invalid_host"),
            ("port", "out_of_range"),
            ("sender_name", "contains_line_break"),
            ("sender_address", "invalid_email"),
            ("auth.username", "required"),
            ("reply_to_individual_sender", "requires_force_default_sender"),
            ("timeout_seconds", "out_of_range"),
            ("auth.password", "required"),
        ]
    );
    assert_eq!(app.get_settings().await.status(), 404, "nothing half-stored");

    let unknown = app.put_settings(&json!({"host": "x.org", "colour": "blue"}), None).await;
    assert_eq!(unknown.status(), 422);
    assert_eq!(fields(&problem(unknown).await), vec![("colour", "unknown_field")]);

    let wrong_type = app.put_settings(&json!({"port": "587"}), None).await;
    assert_eq!(fields(&problem(wrong_type).await), vec![("port", "invalid_type")]);

    let not_json = app
        .client
        .put(app.url("/api/v1/mail-settings"))
        .header("X-CSRF-Token", app.csrf.clone().unwrap())
        .header("Content-Type", "application/json")
        .body("{\"host\":")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_eq!(problem(not_json).await.problem_type, problem_types::MALFORMED);

    let too_large = app.put_settings(&json!({"host": "a".repeat(300 * 1024)}), None).await;
    assert_eq!(too_large.status(), 413);
}

async fn stored_password_never_follows_a_connection_to_a_new_server(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    assert_eq!(app.put_settings(&valid_settings(), None).await.status(), 200);

    // Same server, password omitted: kept.
    let mut same = serde_json::to_value(valid_settings()).unwrap();
    same["auth"].as_object_mut().unwrap().remove("password");
    same["sender_name"] = json!("Renamed");
    let kept: MailSettings = serde_json::from_value(json(app.put_settings(&same, Some("\"1\"")).await).await).unwrap();
    assert!(kept.auth.password_set);
    assert_eq!(kept.version, 2);

    for (field, value) in [("host", json!("attacker.example.net")), ("port", json!(2525)), ("encryption", json!("tls"))]
    {
        let mut moved = same.clone();
        moved[field] = value;
        let response = app.put_settings(&moved, None).await;
        assert_eq!(response.status(), 422, "{field}");
        assert_eq!(fields(&problem(response).await), vec![("auth.password", "password_required_again")], "{field}");
    }
    let mut renamed_user = same.clone();
    renamed_user["auth"]["username"] = json!("someone@example.org");
    assert_eq!(app.put_settings(&renamed_user, None).await.status(), 422);

    // Turning authentication off forgets the password.
    let mut off = same.clone();
    off["auth"] = json!({ "enabled": false });
    let off: MailSettings = serde_json::from_value(json(app.put_settings(&off, None).await).await).unwrap();
    assert!(!off.auth.password_set && !off.auth.enabled);
    // ... so turning it on again needs one.
    let response = app.put_settings(&same, None).await;
    assert_eq!(fields(&problem(response).await), vec![("auth.password", "required")]);
}

async fn stale_versions_are_refused_and_change_nothing(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    assert_eq!(app.put_settings(&valid_settings(), Some("\"1\"")).await.status(), 412, "nothing to match yet");
    assert_eq!(app.put_settings(&valid_settings(), None).await.status(), 200);
    let mut changed = valid_settings();
    changed.sender_name = Some("Second".into());
    assert_eq!(app.put_settings(&changed, Some("\"1\"")).await.status(), 200);

    let mut late = valid_settings();
    late.sender_name = Some("Lost update".into());
    let response = app.put_settings(&late, Some("\"1\"")).await;
    assert_eq!(response.status(), 412);
    assert_eq!(problem(response).await.problem_type, problem_types::PRECONDITION_FAILED);
    assert_eq!(app.delete_settings(Some("\"1\"")).await.status(), 412);
    let current: MailSettings = app.get_settings().await.json().await.unwrap();
    assert_eq!((current.sender_name.as_str(), current.version), ("Second", 2));

    let garbage = app.put_settings(&late, Some("yesterday")).await;
    assert_eq!(garbage.status(), 400);
}

async fn delete_returns_to_not_configured_and_history_tells_who_changed_what(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    assert_eq!(app.put_settings(&valid_settings(), None).await.status(), 200);
    let mut changed = valid_settings();
    changed.port = Some(465);
    changed.encryption = Some(postamt_wire::Encryption::Tls);
    changed.auth.password = Some("n3w-pa55".into());
    assert_eq!(app.put_settings(&changed, None).await.status(), 200);
    assert_eq!(app.delete_settings(Some("\"2\"")).await.status(), 204);
    assert_eq!(app.get_settings().await.status(), 404);
    assert_eq!(app.delete_settings(None).await.status(), 404);

    // Versions keep counting after a deletion, so old ETags never match again.
    let recreated: MailSettings = app.put_settings(&valid_settings(), None).await.json().await.unwrap();
    assert_eq!(recreated.version, 4);

    let text = app.get_history().await.text().await.unwrap();
    assert!(!text.contains("pa55"), "no secret in the history: {text}");
    let history: SettingsHistory = serde_json::from_str(&text).unwrap();
    let summary: Vec<(i64, String)> = history
        .entries
        .iter()
        .map(|e| (e.version, serde_json::to_value(e.action).unwrap().as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        summary,
        vec![(4, "created".into()), (3, "deleted".into()), (2, "updated".into()), (1, "created".into())]
    );
    let update = &history.entries[2];
    assert_eq!(update.changed_by, "admin");
    let changed_fields: Vec<&str> = update.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(changed_fields, vec!["port", "encryption", "auth.password"]);
    assert!(update.changes[2].secret && update.changes[2].old.is_none() && update.changes[2].new.is_none());
    assert_eq!((update.changes[0].old.as_deref(), update.changes[0].new.as_deref()), (Some("587"), Some("465")));

    let bad_limit = app.client.get(app.url("/api/v1/mail-settings/history?limit=0")).send().await.unwrap();
    assert_eq!(fields(&problem(bad_limit).await), vec![("limit", "out_of_range")]);
}

#[tokio::test]
async fn warnings_point_at_probable_mistakes() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    let mut risky = valid_settings();
    risky.sender_address = Some("info@example.org".into());
    risky.encryption = Some(postamt_wire::Encryption::None);
    risky.port = Some(465);
    risky.tls.accept_invalid_certificates = true;
    let saved: MailSettings = app.put_settings(&risky, None).await.json().await.unwrap();
    let codes: Vec<&str> = saved.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(
        codes,
        vec!["sender_differs_from_username", "insecure_encryption", "certificate_checks_disabled", "unusual_port"]
    );
}

#[tokio::test]
async fn a_private_ca_is_validated_stored_and_returned() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.sign_in().await;
    let key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertificateParams::new(vec!["smtp.example.org".to_owned()]).unwrap().self_signed(&key).unwrap();
    let mut with_ca = valid_settings();
    with_ca.tls.trusted_ca_pem = Some(ca.pem());
    let saved: MailSettings = app.put_settings(&with_ca, None).await.json().await.unwrap();
    assert_eq!(saved.tls.trusted_ca_pem.as_deref().map(str::trim), Some(ca.pem().trim()));

    let mut broken = valid_settings();
    broken.tls.trusted_ca_pem = Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into());
    let response = app.put_settings(&broken, None).await;
    assert_eq!(fields(&problem(response).await), vec![("tls.trusted_ca_pem", "invalid_pem")]);
}
