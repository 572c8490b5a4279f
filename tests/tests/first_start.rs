//! First start on embedded SQLite: the generated admin password, the key file, sign-in and
//! sign-out, throttling, health and API docs.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use postamt_e2e::{wait_for, Api, Auth, Launch};
use postamt_wire::{HealthStatus, SessionInfo};

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir")
}

/// All bytes of every file under `dir` (the SQLite database, its WAL, ...), except the key file.
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read data dir") {
        let path = entry.expect("dir entry").path();
        if path.is_file() && path.file_name().is_some_and(|n| n != "secret.key") {
            bytes.extend(std::fs::read(&path).expect("read data file"));
        }
    }
    bytes
}

#[test]
fn sqlite_first_start_generates_the_admin_password_once() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let launch = Launch::new(&data);

    let first = launch.start();
    let password =
        wait_for(Duration::from_secs(10), "the `Generated admin password:` line", || first.generated_password());
    assert!(password.len() >= 16, "the generated password is too short to be strong: {} characters", password.len());
    assert_eq!(first.stdout().matches(password.as_str()).count(), 1, "the password must be printed exactly once");
    assert!(!first.stderr().contains(&password), "the generated password appears in the logs (stderr)");

    // The key file is created beside the data, readable by the owner only.
    let key_file = data.join("secret.key");
    let mode = std::fs::metadata(&key_file)
        .unwrap_or_else(|e| panic!("no key file at {}: {e}", key_file.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key file has mode {:o}, expected 600", mode & 0o777);
    let key_before = std::fs::read(&key_file).expect("read key file");

    // Signing in with the printed password works; a wrong one does not.
    let api = first.api();
    api.try_sign_in("not-the-password").problem(401);
    let session = api.sign_in(&password);
    assert_eq!(session.info.subject, "admin");
    assert!(!session.info.csrf_token.is_empty(), "no CSRF token in the session");
    let attrs = session.set_cookie.to_ascii_lowercase();
    assert!(attrs.contains("httponly"), "session cookie without HttpOnly: {}", session.set_cookie);
    assert!(attrs.contains("samesite=strict"), "session cookie without SameSite=Strict: {}", session.set_cookie);
    assert!(
        !attrs.contains("secure;") && !attrs.ends_with("secure"),
        "a Secure cookie is lost over plain HTTP: {}",
        session.set_cookie
    );
    let me: SessionInfo = api.get("/api/v1/session", Auth::Session(&session)).expect(200).json();
    assert_eq!(me.subject, "admin");

    // Only the hash is stored.
    postamt_e2e::assert_no_secret("the SQLite files (admin password)", &database_bytes(&data), &password);

    let (_, stderr) = first.stop();
    assert!(!stderr.contains(&password), "the generated password appears in the logs (stderr)");

    // A restart generates nothing, prints no password, keeps the key, and the same
    // password (and the server-side session) still work.
    let second = launch.start();
    let api = second.api();
    let again = api.sign_in(&password);
    assert_eq!(again.info.subject, "admin");
    api.get("/api/v1/session", Auth::Session(&session)).expect(200);
    let stdout = second.stdout();
    assert!(second.generated_password().is_none(), "a restart printed a generated password again:\n{stdout}");
    assert!(!stdout.contains(&password), "a restart printed the admin password again:\n{stdout}");
    assert_eq!(std::fs::read(&key_file).expect("read key file"), key_before, "a restart changed the key file");
}

#[test]
fn sign_out_ends_the_session_and_needs_the_csrf_token() {
    let dir = temp_dir();
    let password = format!("pw-{}", postamt_e2e::unique());
    let server = Launch::new(dir.path()).admin_password(&password).start();
    assert!(
        server.generated_password().is_none() && !server.stdout().contains("Generated admin password"),
        "a password was generated although one is configured:\n{}",
        server.stdout()
    );
    let api = server.api();
    api.get("/api/v1/session", Auth::None).problem(401);
    let session = api.sign_in(&password);

    // Cookie-authenticated state changes without the CSRF header are refused.
    api.delete("/api/v1/session", Auth::SessionWithoutCsrf(&session)).problem(403);
    api.get("/api/v1/session", Auth::Session(&session)).expect(200);

    let reply = api.delete("/api/v1/session", Auth::Session(&session));
    assert_eq!(reply.status, 204, "sign-out: {}", reply.body);
    let cleared = reply.header("set-cookie").unwrap_or("");
    assert!(
        cleared.starts_with("postamt_session=") && (cleared.contains("Max-Age=0") || cleared.contains("1970")),
        "sign-out does not clear the cookie: {cleared:?}"
    );
    api.get("/api/v1/session", Auth::Session(&session)).problem(401);
    api.get("/api/v1/mail-settings", Auth::Session(&session)).problem(401);
}

#[test]
fn admin_password_file_is_used() {
    let dir = temp_dir();
    let password = format!("from-file-{}", postamt_e2e::unique());
    let file = dir.path().join("admin-password");
    std::fs::write(&file, format!("{password}\n")).expect("write password file");
    let data = dir.path().join("data");
    let server = Launch::new(&data).arg("--admin-password-file").arg(&file).start();
    assert!(server.generated_password().is_none(), "a password was generated although a file is configured");
    let api = server.api();
    api.sign_in(&password);
    // The file's line ending is not part of the password.
    let reply = api.try_sign_in(&format!("{password}\n"));
    assert_eq!(reply.status, 401, "the password with its newline was accepted: {}", reply.body);
}

#[test]
fn repeated_failed_sign_ins_are_throttled() {
    let dir = temp_dir();
    let password = format!("pw-{}", postamt_e2e::unique());
    let server = Launch::new(dir.path()).admin_password(&password).start();
    let api = server.api();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let reply = api.try_sign_in("wrong-password");
        statuses.push(reply.status);
        if reply.status == 429 {
            let problem = reply.problem(429);
            assert!(problem.detail.is_some() || !problem.title.is_empty());
            assert!(reply.header("retry-after").is_some(), "429 without Retry-After");
            break;
        }
        reply.problem(401);
    }
    assert_eq!(statuses.last(), Some(&429), "no 429 after repeated failed sign-ins: {statuses:?}");
    // While throttled, even the right password is refused.
    api.try_sign_in(&password).problem(429);
}

#[test]
fn health_readiness_and_api_docs_need_no_credentials() {
    let dir = temp_dir();
    let server = Launch::new(dir.path()).admin_password("irrelevant-password").start();
    let api = server.api();

    let health: HealthStatus = api.get("/healthz", Auth::None).expect(200).json();
    assert_eq!(health.status, "ok");
    let ready: HealthStatus = api.get("/readyz", Auth::None).expect(200).json();
    assert_eq!(ready.status, "ok");

    // The served spec is the committed one.
    let served: serde_json::Value = api.get("/api-docs/openapi.json", Auth::None).expect(200).json();
    assert!(
        served["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "not an OpenAPI 3 document: {}",
        served["openapi"]
    );
    let committed_path = postamt_e2e::workspace_root().join("openapi/openapi.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&committed_path).expect("read openapi/openapi.json"))
            .expect("openapi/openapi.json is JSON");
    assert!(
        served == committed,
        "the served spec differs from openapi/openapi.json (regenerate: POSTAMT_UPDATE_OPENAPI=1 cargo test -p postamt openapi)"
    );

    // The interactive docs work offline: every asset is served by Postamt itself.
    let page = api.get("/api-docs/", Auth::None);
    page.expect(200);
    assert!(page.content_type().starts_with("text/html"), "docs page is {}", page.content_type());
    let assets = asset_refs(&page.body);
    assert!(!assets.is_empty(), "the docs page references no scripts or styles: {}", page.body);
    for asset in assets {
        assert!(!asset.contains("//"), "the docs page loads {asset} from elsewhere; it must work with no internet");
        let path = if asset.starts_with('/') {
            asset.clone()
        } else {
            format!("/api-docs/{}", asset.trim_start_matches("./"))
        };
        let reply = api.get(&path, Auth::None);
        assert_eq!(reply.status, 200, "docs asset {path} answered {}", reply.status);
    }
}

/// `src="…"` and `href="…"` values of a page.
fn asset_refs(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            if let Some(end) = rest.find('"') {
                let value = &rest[..end];
                if !value.is_empty() && !value.starts_with('#') && !value.starts_with("data:") {
                    refs.push(value.to_string());
                }
            }
        }
    }
    refs
}

#[test]
fn unknown_routes_and_missing_credentials_answer_problems() {
    let dir = temp_dir();
    let server = Launch::new(dir.path()).admin_password("irrelevant-password").start();
    let api = Api::new(&server.url);
    for path in ["/api/v1/mail-settings", "/api/v1/mail-settings/history", "/api/v1/api-keys"] {
        let problem = api.get(path, Auth::None).problem(401);
        assert_eq!(problem.problem_type, postamt_wire::problem_types::UNAUTHORIZED, "{path}");
    }
    api.get("/api/v1/mail-settings", Auth::Bearer("pa_not-a-real-key")).problem(401);
}
