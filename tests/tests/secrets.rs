//! The SMTP password goes in and never comes out: not in a response, not in a log line, not
//! readable in the database (SQLite file bytes; PostgreSQL dump and every text column).

use std::path::Path;

use postamt_e2e::{assert_no_secret, contains_bytes, random_secret_key, settings_input, Auth, Launch, TestDatabase};
use postamt_wire::{MailSettings, SettingsAction, SettingsHistory};

/// All bytes of every file under `dir` except the key file: database, WAL, journal.
fn data_dir_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read data dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "secret.key") {
                bytes.extend(std::fs::read(&path).expect("read data file"));
            }
        }
    }
    bytes
}

#[test]
fn smtp_password_stays_secret_on_sqlite() {
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let launch = Launch::new(&data).arg("--log-format").arg("text");
    let check = exercise(&launch);

    let bytes = data_dir_bytes(&data);
    assert!(
        contains_bytes(&bytes, check.host.as_bytes()),
        "the SQLite files do not contain the saved host: wrong data dir? ({})",
        data.display()
    );
    for pw in &check.passwords {
        assert_no_secret("the SQLite files", &bytes, pw);
    }
}

#[test]
fn smtp_password_stays_secret_on_postgres() {
    let db = TestDatabase::create();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let launch =
        Launch::new(dir.path()).database_url(&db.url).secret_key(&random_secret_key()).arg("--log-format").arg("json");
    let check = exercise(&launch);

    // --log-format json: every log line is one JSON object.
    for line in check.logs.lines().filter(|l| !l.trim().is_empty()) {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok_and(|v| v.is_object()), "not a JSON log line: {line}");
    }

    let dump = db.dump_data();
    let columns = db.all_text_values();
    assert!(dump.contains(&check.host), "the dump does not contain the saved host:\n{dump}");
    assert!(columns.contains(&check.host), "no text column holds the saved host:\n{columns}");
    for pw in &check.passwords {
        assert_no_secret("the PostgreSQL dump", dump.as_bytes(), pw);
        assert_no_secret("a PostgreSQL text column", columns.as_bytes(), pw);
    }
}

struct Written {
    host: String,
    passwords: Vec<String>,
    logs: String,
}

/// Puts, changes and reads settings with passwords through every path that could echo them,
/// checks every response and the logs, and returns what the database checks look for.
fn exercise(launch: &Launch) -> Written {
    let admin = format!("admin-{}", postamt_e2e::unique());
    // Debug logging: a secret must not leak at any level an operator might switch on.
    let server = launch.clone().admin_password(&admin).env("RUST_LOG", "debug").start();
    let api = server.api();
    let session = api.sign_in(&admin);
    let auth = Auth::Session(&session);
    let host = format!("smtp-{}.example.org", postamt_e2e::unique());
    let first_pw = format!("First-Secret-{}", postamt_e2e::unique());
    let second_pw = format!("Second-Secret-{}", postamt_e2e::unique());
    let mut bodies: Vec<(String, String)> = Vec::new();

    // Save with a password.
    let saved = api.put_json("/api/v1/mail-settings", auth, None, &settings_input(&host, Some(&first_pw)));
    saved.expect(200);
    let settings: MailSettings = saved.json();
    assert!(settings.auth.password_set, "password_set is false after saving a password");
    bodies.push(("PUT".into(), saved.body.clone()));

    // A rejected PUT carrying the password must not echo it.
    let mut invalid = settings_input(&host, Some(&first_pw));
    invalid.port = Some(0);
    let rejected = api.put_json("/api/v1/mail-settings", auth, None, &invalid);
    rejected.problem(422);
    bodies.push(("422 PUT".into(), rejected.body.clone()));

    // Neither must a body that is not JSON or has a wrong type next to the password.
    let broken = format!(r#"{{"host": "{host}", "auth": {{"enabled": true, "password": "{first_pw}""#);
    let malformed = api.send(
        api.request(reqwest::Method::PUT, "/api/v1/mail-settings", auth)
            .header("content-type", "application/json")
            .body(broken),
    );
    malformed.problem(400);
    bodies.push(("400 PUT".into(), malformed.body.clone()));
    let wrong_type = serde_json::json!({
        "host": host, "port": "587", "encryption": "starttls",
        "sender_name": "TEAMBOX", "sender_address": "teambox@example.org",
        "auth": {"enabled": true, "username": "teambox@example.org", "password": first_pw}
    });
    let typed = api.put_json("/api/v1/mail-settings", auth, None, &wrong_type);
    typed.problem(422);
    bodies.push(("422 wrong type".into(), typed.body.clone()));

    // A stored credential never follows a connection to a new server: changing the host
    // without sending the password again is refused, naming auth.password.
    let mut moved = settings_input(&format!("other-{host}"), None);
    moved.auth.enabled = true;
    moved.auth.username = Some("teambox@example.org".into());
    let refused = api.put_json("/api/v1/mail-settings", auth, None, &moved);
    let problem = refused.problem(422);
    assert!(
        problem.errors.iter().any(|e| e.field == "auth.password"),
        "changing the host without the password must name auth.password: {}",
        refused.body
    );
    bodies.push(("422 host change".into(), refused.body.clone()));

    // Changing something harmless without the password keeps it.
    let mut renamed = moved.clone();
    renamed.host = Some(host.clone());
    renamed.sender_name = Some("Renamed".into());
    let kept = api.put_json("/api/v1/mail-settings", auth, None, &renamed);
    kept.expect(200);
    assert!(kept.json::<MailSettings>().auth.password_set, "omitting the password dropped the stored one");
    bodies.push(("PUT keep".into(), kept.body.clone()));

    // A new password.
    let changed = api.put_json("/api/v1/mail-settings", auth, None, &settings_input(&host, Some(&second_pw)));
    changed.expect(200);
    bodies.push(("PUT change".into(), changed.body.clone()));

    let read = api.get("/api/v1/mail-settings", auth);
    read.expect(200);
    let view: serde_json::Value = read.json();
    assert!(view["auth"].get("password").is_none(), "the settings response has a password field: {}", read.body);
    bodies.push(("GET".into(), read.body.clone()));

    // The history says the password changed, and nothing more.
    let history = api.get("/api/v1/mail-settings/history", auth);
    history.expect(200);
    bodies.push(("history".into(), history.body.clone()));
    let history: SettingsHistory = history.json();
    assert_eq!(history.entries.len(), 3, "three saves, three entries: {history:?}");
    assert_eq!(history.entries[2].action, SettingsAction::Created);
    let newest = &history.entries[0];
    assert_eq!(newest.action, SettingsAction::Updated);
    let pw_change = newest
        .changes
        .iter()
        .find(|c| c.field == "auth.password")
        .unwrap_or_else(|| panic!("the password change is not in the history: {newest:?}"));
    assert!(pw_change.secret, "the password change is not marked secret: {pw_change:?}");
    assert!(pw_change.old.is_none() && pw_change.new.is_none(), "the history holds password values: {pw_change:?}");
    assert!(
        history.entries[1].changes.iter().all(|c| c.field != "auth.password"),
        "keeping the password is recorded as a change: {:?}",
        history.entries[1]
    );

    for (what, body) in &bodies {
        for pw in [&first_pw, &second_pw] {
            assert_no_secret(&format!("the {what} response"), body.as_bytes(), pw);
        }
    }
    for pw in [&first_pw, &second_pw] {
        assert_no_secret("the logs (stderr) while running", server.stderr().as_bytes(), pw);
        assert_no_secret("stdout", server.stdout().as_bytes(), pw);
    }
    let (stdout, stderr) = server.stop();
    assert!(!stderr.trim().is_empty(), "no log lines at all: the log check would prove nothing");
    for pw in [&first_pw, &second_pw] {
        assert_no_secret("the logs (stderr)", stderr.as_bytes(), pw);
        assert_no_secret("stdout", stdout.as_bytes(), pw);
    }
    Written { host, passwords: vec![first_pw, second_pw], logs: stderr }
}
