//! An integration's view, as with curl: API keys and scopes (401/403/200), ETag and If-Match
//! (412), validation (422 naming every field), history, deleting keys and settings. Run on
//! SQLite and on PostgreSQL.

use std::collections::BTreeSet;

use postamt_e2e::{random_secret_key, settings_input, Api, Auth, Launch, Session, TestDatabase};
use postamt_wire::problem_types::{FORBIDDEN, NOT_CONFIGURED, PRECONDITION_FAILED, UNAUTHORIZED, VALIDATION};
use postamt_wire::{ApiKey, MailSettings, Scope, SettingsAction, SettingsHistory};
use serde_json::json;

#[test]
fn api_key_flow_on_sqlite() {
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    flow(Launch::new(dir.path()));
}

#[test]
fn api_key_flow_on_postgres() {
    let db = TestDatabase::create();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    flow(Launch::new(dir.path()).database_url(&db.url).secret_key(&random_secret_key()));
}

fn flow(launch: Launch) {
    let admin = format!("admin-{}", postamt_e2e::unique());
    let server = launch.admin_password(&admin).start();
    let api = server.api();
    let session = api.sign_in(&admin);

    // 401 without credentials, and with a key that does not exist.
    let p = api.get("/api/v1/mail-settings", Auth::None).problem(401);
    assert_eq!(p.problem_type, UNAUTHORIZED);
    api.get("/api/v1/mail-settings", Auth::Bearer("pa_0000000000000000000000")).problem(401);

    // Keys are created with the session (and its CSRF token), never with a key.
    api.post_json(
        "/api/v1/api-keys",
        Auth::SessionWithoutCsrf(&session),
        &json!({"name": "x", "scopes": ["settings:read"]}),
    )
    .problem(403);
    let reader = api.create_api_key(&session, "reader", &[Scope::SettingsRead]);
    let writer = api.create_api_key(&session, "writer", &[Scope::SettingsRead, Scope::SettingsWrite]);
    let sender = api.create_api_key(&session, "sender", &[Scope::MailSend]);
    assert!(
        reader.secret.starts_with(&reader.key.prefix),
        "the prefix {} does not start the secret",
        reader.key.prefix
    );
    assert_eq!(reader.key.scopes, vec![Scope::SettingsRead]);
    assert!(reader.key.last_used_at.is_none());
    let ids: BTreeSet<_> = [&reader, &writer, &sender].iter().map(|k| k.key.id.clone()).collect();
    assert_eq!(ids.len(), 3, "key ids are not unique");
    // A key cannot make keys, whatever its scopes (the server answers 401 "sign in first":
    // key management needs the admin session).
    let by_key = api.post_json(
        "/api/v1/api-keys",
        Auth::Bearer(&writer.secret),
        &json!({"name": "made by a key", "scopes": ["settings:read"]}),
    );
    assert!(by_key.status == 401 || by_key.status == 403, "a key created a key: {} {}", by_key.status, by_key.body);
    by_key.problem(by_key.status);

    // 403 with a valid key lacking the scope; 404 "not configured" with it, before any save.
    let p = api.get("/api/v1/mail-settings", Auth::Bearer(&sender.secret)).problem(403);
    assert_eq!(p.problem_type, FORBIDDEN);
    let p = api.get("/api/v1/mail-settings", Auth::Bearer(&reader.secret)).problem(404);
    assert_eq!(p.problem_type, NOT_CONFIGURED);
    let host = format!("smtp-{}.example.org", postamt_e2e::unique());
    api.put_json("/api/v1/mail-settings", Auth::Bearer(&reader.secret), None, &settings_input(&host, None))
        .problem(403);

    // 200 with the write scope (no CSRF token needed with a key), then readable with the read scope.
    let put =
        api.put_json("/api/v1/mail-settings", Auth::Bearer(&writer.secret), None, &settings_input(&host, Some("pw-1")));
    put.expect(200);
    let etag1 = put.etag();
    let saved: MailSettings = put.json();
    assert_eq!(saved.updated_by, "api-key:writer");
    assert_eq!((saved.host.as_str(), saved.port), (host.as_str(), 587));
    assert!(saved.auth.password_set);
    let got = api.get("/api/v1/mail-settings", Auth::Bearer(&reader.secret));
    got.expect(200);
    assert_eq!(got.etag(), etag1);
    assert_eq!(got.json::<MailSettings>(), saved);

    // ETag / If-Match: a change based on the current version passes, one based on an old
    // version gets 412 and changes nothing.
    let mut next = settings_input(&host, None);
    next.auth.enabled = true;
    next.auth.username = Some("teambox@example.org".into());
    next.sender_name = Some("Second".into());
    let put2 = api.put_json("/api/v1/mail-settings", Auth::Bearer(&writer.secret), Some(&etag1), &next);
    put2.expect(200);
    let etag2 = put2.etag();
    assert_ne!(etag1, etag2);
    next.sender_name = Some("Lost update".into());
    let p = api.put_json("/api/v1/mail-settings", Auth::Bearer(&writer.secret), Some(&etag1), &next).problem(412);
    assert_eq!(p.problem_type, PRECONDITION_FAILED);
    api.send(
        api.request(reqwest::Method::DELETE, "/api/v1/mail-settings", Auth::Bearer(&writer.secret))
            .header("if-match", &etag1),
    )
    .problem(412);
    let now = api.get("/api/v1/mail-settings", Auth::Bearer(&reader.secret));
    assert_eq!(now.expect(200).etag(), etag2);
    assert_eq!(now.json::<MailSettings>().sender_name, "Second");

    // 422 names every invalid field at once.
    let invalid = json!({
        "host": "http://smtp example.org",
        "port": 0,
        "encryption": "starttls",
        "sender_name": "Evil\r\nBcc: victim@example.org",
        "sender_address": "not an address",
        "auth": {"enabled": true},
        "force_default_sender": false,
        "reply_to_individual_sender": true,
        "timeout_seconds": 500
    });
    let reply = api.put_json("/api/v1/mail-settings", Auth::Bearer(&writer.secret), None, &invalid);
    let p = reply.problem(422);
    assert_eq!(p.problem_type, VALIDATION);
    let fields: BTreeSet<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
    for field in [
        "host",
        "port",
        "sender_name",
        "sender_address",
        "auth.username",
        "auth.password",
        "reply_to_individual_sender",
        "timeout_seconds",
    ] {
        assert!(fields.contains(field), "the 422 does not name `{field}`: {}", reply.body);
    }
    assert!(p.errors.iter().all(|e| !e.code.is_empty() && !e.message.is_empty()), "{}", reply.body);
    // Required fields missing, and an unknown field.
    let p =
        api.put_json("/api/v1/mail-settings", Auth::Bearer(&writer.secret), None, &json!({"port": 587})).problem(422);
    let fields: BTreeSet<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
    for field in ["host", "encryption", "sender_name", "sender_address"] {
        assert!(fields.contains(field), "missing `{field}` is not named: {p:?}");
    }
    let mut unknown = serde_json::to_value(settings_input(&host, None)).expect("json");
    unknown["colour"] = json!("blue");
    let p = api.put_json("/api/v1/mail-settings", Auth::Bearer(&writer.secret), None, &unknown).problem(422);
    assert!(p.errors.iter().any(|e| e.field == "colour"), "the unknown field is not named: {p:?}");
    // Nothing of that was saved.
    assert_eq!(api.get("/api/v1/mail-settings", Auth::Bearer(&reader.secret)).etag(), etag2);

    // Listing keys shows no secrets, and when each key was last used.
    let list = api.get("/api/v1/api-keys", Auth::Session(&session));
    list.expect(200);
    for k in [&reader, &writer, &sender] {
        assert!(!list.body.contains(&k.secret), "the key list shows a secret: {}", list.body);
    }
    let keys: Vec<ApiKey> = list.json();
    let listed_reader = keys.iter().find(|k| k.id == reader.key.id).expect("reader listed");
    assert!(listed_reader.last_used_at.is_some(), "last_used_at is not kept: {listed_reader:?}");
    assert_eq!(keys.len(), 3, "exactly the three keys made with the session: {keys:?}");

    // A deleted key stops working at once.
    let del = api.delete(&format!("/api/v1/api-keys/{}", reader.key.id), Auth::Session(&session));
    assert_eq!(del.status, 204, "deleting a key: {}", del.body);
    api.get("/api/v1/mail-settings", Auth::Bearer(&reader.secret)).problem(401);
    api.delete(&format!("/api/v1/api-keys/{}", reader.key.id), Auth::Session(&session)).problem(404);

    // DELETE with the current ETag: back to "not configured".
    let del = api.send(
        api.request(reqwest::Method::DELETE, "/api/v1/mail-settings", Auth::Bearer(&writer.secret))
            .header("if-match", &etag2),
    );
    assert_eq!(del.status, 204, "{}", del.body);
    let p = api.get("/api/v1/mail-settings", Auth::Bearer(&writer.secret)).problem(404);
    assert_eq!(p.problem_type, NOT_CONFIGURED);

    check_history(&api, &session, &writer.secret);
}

fn check_history(api: &Api, session: &Session, writer: &str) {
    let history: SettingsHistory = api.get("/api/v1/mail-settings/history", Auth::Bearer(writer)).expect(200).json();
    let actions: Vec<SettingsAction> = history.entries.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![SettingsAction::Deleted, SettingsAction::Updated, SettingsAction::Created],
        "history (newest first): {history:?}"
    );
    assert!(history.entries.iter().all(|e| e.changed_by == "api-key:writer"), "{history:?}");
    let versions: Vec<i64> = history.entries.iter().map(|e| e.version).collect();
    assert!(versions.windows(2).all(|w| w[0] > w[1]), "versions not newest first: {versions:?}");
    let update = &history.entries[1];
    let name = update
        .changes
        .iter()
        .find(|c| c.field == "sender_name")
        .unwrap_or_else(|| panic!("the sender_name change is not recorded: {update:?}"));
    assert_eq!((name.old.as_deref(), name.new.as_deref()), (Some("TEAMBOX"), Some("Second")));
    // The admin sees the same history through the session.
    let via_session: SettingsHistory =
        api.get("/api/v1/mail-settings/history", Auth::Session(session)).expect(200).json();
    assert_eq!(via_session, history);
    api.get("/api/v1/mail-settings/history?limit=0", Auth::Session(session)).problem(422);
}
