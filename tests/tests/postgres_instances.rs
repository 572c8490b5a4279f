//! Two instances on one fresh PostgreSQL database behave as one service: settings, sessions and
//! API keys written through one are seen through the other.

use postamt_e2e::{random_secret_key, settings_input, Auth, Launch, TestDatabase};
use postamt_wire::{MailSettings, Scope};

#[test]
fn two_instances_share_settings_sessions_and_keys() {
    let db = TestDatabase::create();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let password = format!("pw-{}", postamt_e2e::unique());
    let key = random_secret_key();
    let launch = |name: &str| {
        Launch::new(&dir.path().join(name)).database_url(&db.url).admin_password(&password).secret_key(&key)
    };
    let a = launch("a").start();
    let b = launch("b").start();
    assert_ne!(a.url, b.url);
    let (api_a, api_b) = (a.api(), b.api());

    // A session created on A works on B.
    let session = api_a.sign_in(&password);
    api_b.get("/api/v1/session", Auth::Session(&session)).expect(200);

    // Settings saved via A are read via B, with the same version and ETag.
    let host = format!("smtp-{}.example.org", postamt_e2e::unique());
    let smtp_password = format!("smtp-{}", postamt_e2e::unique());
    let saved = api_a.put_json(
        "/api/v1/mail-settings",
        Auth::Session(&session),
        None,
        &settings_input(&host, Some(&smtp_password)),
    );
    saved.expect(200);
    let saved_etag = saved.etag();
    let saved: MailSettings = saved.json();

    let read = api_b.get("/api/v1/mail-settings", Auth::Session(&session));
    read.expect(200);
    assert_eq!(read.etag(), saved_etag);
    let read: MailSettings = read.json();
    assert_eq!(read, saved);
    assert_eq!(read.host, host);
    assert!(read.auth.password_set);

    // B can decrypt what A stored (same key): changing only the sender name keeps the stored
    // password, and B writes a new version that A sees; A's old ETag is now stale on A.
    let mut change = settings_input(&host, None);
    change.auth.enabled = true;
    change.auth.username = Some("teambox@example.org".to_string());
    change.sender_name = Some("Changed via B".to_string());
    let updated = api_b.put_json("/api/v1/mail-settings", Auth::Session(&session), Some(&saved_etag), &change);
    updated.expect(200);
    let updated: MailSettings = updated.json();
    assert_eq!(updated.version, saved.version + 1);
    assert!(updated.auth.password_set, "the stored password was lost when B saved");
    let seen_by_a: MailSettings = api_a.get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert_eq!(seen_by_a.sender_name, "Changed via B");
    api_a.put_json("/api/v1/mail-settings", Auth::Session(&session), Some(&saved_etag), &change).problem(412);

    // An API key created on B authenticates on A.
    let key_b = api_b.create_api_key(&session, "shared key", &[Scope::SettingsRead]);
    api_a.get("/api/v1/mail-settings", Auth::Bearer(&key_b.secret)).expect(200);

    // Signing out on B ends the session on A too.
    let out = api_b.delete("/api/v1/session", Auth::Session(&session));
    assert_eq!(out.status, 204, "sign-out: {}", out.body);
    api_a.get("/api/v1/session", Auth::Session(&session)).problem(401);

    // Both instances report the database as reachable.
    api_a.get("/readyz", Auth::None).expect(200);
    api_b.get("/readyz", Auth::None).expect(200);
}

#[test]
fn postgres_instance_restarts_on_its_migrated_database() {
    let db = TestDatabase::create();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let password = format!("pw-{}", postamt_e2e::unique());
    let key = random_secret_key();
    let launch = Launch::new(dir.path()).database_url(&db.url).admin_password(&password).secret_key(&key);

    let first = launch.start();
    let api = first.api();
    let session = api.sign_in(&password);
    let host = format!("smtp-{}.example.org", postamt_e2e::unique());
    api.put_json("/api/v1/mail-settings", Auth::Session(&session), None, &settings_input(&host, Some("pw-one")))
        .expect(200);
    first.stop();

    // Migrations that already ran are not a problem; the data is still there.
    let second = launch.start();
    let settings: MailSettings = second.api().get("/api/v1/mail-settings", Auth::Session(&session)).expect(200).json();
    assert_eq!(settings.host, host);
    assert!(settings.auth.password_set);
}
