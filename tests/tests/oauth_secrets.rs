//! OAuth 2.0 with the real binary, the loopback provider double and an XOAUTH2-checking SMTP
//! server: no client secret, service account key, access or refresh token, nor the XOAUTH2
//! string ever leaves — not in a response, a transcript, the log export, a log line (at
//! debug level) or the database file.

use postamt_e2e::oauth_provider::{ProviderDouble, TENANT, TOKEN_SECRET};
use postamt_e2e::{assert_no_secret, contains_bytes, Auth, Launch, SmtpServer};
use serde_json::{json, Value};

const USER: &str = "erika@contoso.example";
const APP_MAILBOX: &str = "noreply@contoso.example";

#[test]
fn oauth_secrets_and_tokens_never_leave() {
    let client_secret = format!("ms-secret-{}", postamt_e2e::unique());
    let p = ProviderDouble::start(json!({
        "tenants": [TENANT],
        "users": [USER, "info@example.com"],
        "authorize": {"user": USER},
        "clients": [{"id": "ms-app", "secret": client_secret, "provider": "microsoft", "tenant": TENANT,
                     "flows": ["client_credentials", "authorization_code", "refresh_token"], "mailbox": APP_MAILBOX}],
        "service_accounts": [{"client_email": "mailer@proj.iam.gserviceaccount.com", "client_id": "1001",
                              "key_file": "{dir}/sa.json", "delegated_scopes": ["https://mail.google.com/"]}]
    }));
    let smtp = SmtpServer::start(&["--mechanisms", "XOAUTH2", "--oauth-secret", TOKEN_SECRET]);
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let server = Launch::new(&data)
        .admin_password(&admin)
        .env("RUST_LOG", "debug")
        .arg("--oauth-microsoft-authority")
        .arg(p.base())
        .arg("--oauth-google-token-url")
        .arg(format!("{}/token", p.base()))
        .start();
    let api = server.api();
    let session = api.sign_in(&admin);
    let auth = Auth::Session(&session);
    let mut bodies: Vec<String> = Vec::new();
    let settings = |mailbox: &str, oauth2: Value| {
        json!({"host": "127.0.0.1", "port": smtp.port, "encryption": "none", "sender_name": "TEAMBOX",
               "sender_address": mailbox, "timeout_seconds": 5,
               "auth": {"enabled": true, "method": "oauth2", "username": mailbox, "oauth2": oauth2}})
    };
    let test_mail = |bodies: &mut Vec<String>| {
        let reply = api.post_json("/api/v1/mail-settings/test", auth, &json!({"recipient": "x@example.org"}));
        reply.expect(200);
        assert_eq!(reply.json::<Value>()["ok"], true, "{}", reply.body);
        bodies.push(reply.body.clone());
    };

    // Client credentials: saved, tested, a message sent through the outbox.
    let cc = json!({"provider": "microsoft", "flow": "client_credentials", "tenant": TENANT,
                    "client_id": "ms-app", "client_secret": client_secret});
    let saved = api.put_json("/api/v1/mail-settings", auth, None, &settings(APP_MAILBOX, cc));
    saved.expect(200);
    bodies.push(saved.body.clone());
    test_mail(&mut bodies);
    let key = api.create_api_key(&session, "finance", &postamt_wire::Scope::ALL);
    let mail = json!({"category": "finance", "to": ["x@example.org"], "subject": "Invoice", "text": "Hello"});
    api.post_json("/api/v1/messages", Auth::Bearer(&key.secret), &mail).expect(202);

    // Google service account.
    let sa_key = p.file("sa.json");
    let sa = json!({"provider": "google", "flow": "service_account", "service_account_key": sa_key});
    let saved = api.put_json("/api/v1/mail-settings", auth, None, &settings("info@example.com", sa));
    saved.expect(200);
    bodies.push(saved.body.clone());
    test_mail(&mut bodies);

    // Delegated: Connect account, then a test (a refresh, with rotation).
    let delegated = json!({"provider": "microsoft", "flow": "authorization_code", "tenant": TENANT,
                           "client_id": "ms-app", "client_secret": client_secret});
    api.put_json("/api/v1/mail-settings", auth, None, &settings(USER, delegated)).expect(200);
    let started = api.post_json("/api/v1/mail-settings/oauth/authorize", auth, &json!({}));
    started.expect(200);
    let plain = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = started.json::<Value>()["authorization_url"].as_str().unwrap().to_owned();
    let at_provider = plain.get(url).send().unwrap();
    let back = at_provider.headers()["location"].to_str().unwrap().to_owned();
    let query = back.split_once('?').unwrap().1.to_owned();
    let done = plain
        .get(format!("{}/oauth/callback/complete?{query}", api.base))
        .header("cookie", format!("{}={}", postamt_wire::SESSION_COOKIE, session.cookie))
        .send()
        .unwrap();
    assert_eq!(done.headers()["location"], "/?oauth=connected");
    test_mail(&mut bodies);
    for path in
        ["/api/v1/mail-settings", "/api/v1/mail-settings/history", "/api/v1/mail-log", "/api/v1/mail-log/export"]
    {
        let reply = api.get(path, auth);
        reply.expect(200);
        bodies.push(reply.body);
    }

    // What must never appear: the secrets, the key, any token the provider issued, and the
    // XOAUTH2 string (its base64 prefix up to the token is fixed by the mailbox).
    let issued = p.events().len();
    assert!(issued >= 4, "the provider saw too little to prove anything: {:?}", p.events());
    let mut forbidden = vec![client_secret.clone(), "pa-at.".to_owned(), "rt.rt".to_owned()];
    let pem = serde_json::from_str::<Value>(&sa_key).unwrap()["private_key"].as_str().unwrap().to_owned();
    let body_line = pem.lines().nth(5).expect("a PEM body line").to_owned();
    forbidden.extend([body_line, "PRIVATE KEY".to_owned()]);
    for mailbox in [APP_MAILBOX, USER, "info@example.com"] {
        use base64::Engine as _;
        let prefix = format!("user={mailbox}\x01auth=Bearer ");
        let encoded = base64::engine::general_purpose::STANDARD.encode(&prefix);
        forbidden.push(encoded[..prefix.len() / 3 * 4].to_owned());
    }
    let (stdout, stderr) = server.stop();
    assert!(contains_bytes(stderr.as_bytes(), b"OAuth"), "no OAuth log lines at all: the check would prove nothing");
    let db = std::fs::read(data.join("postamt.sqlite3")).expect("database file");
    for secret in &forbidden {
        for body in &bodies {
            assert_no_secret("a response", body.as_bytes(), secret);
        }
        assert_no_secret("the logs (stderr)", stderr.as_bytes(), secret);
        assert_no_secret("stdout", stdout.as_bytes(), secret);
        assert_no_secret("the SQLite file", &db, secret);
    }
}
