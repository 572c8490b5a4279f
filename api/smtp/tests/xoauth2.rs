//! AUTH XOAUTH2 (OAuth 2.0 access tokens) against the real test server: aiosmtpd with
//! `--oauth-secret`, which checks signed test tokens the way Microsoft 365 and Google
//! check theirs, and rejects them in either provider's words.

mod common;

use common::delivery::{check, delivery_config, message, open, send, to, FROM};
use common::*;
use postamt_smtp::{Credentials, Encryption, SmtpSession};
use postamt_wire::{FailureClass, SettingsField, StageName};

/// Every XOAUTH2 result: no form of the token in the result, and none in the logs.
fn assert_token_hidden(json: &serde_json::Value, logs: &str, token: &str) {
    assert_no_token(&serde_json::to_string(json).unwrap(), USER, token);
    assert_no_token(logs, USER, token);
}

#[tokio::test]
async fn test_mail_signs_in_with_a_token() {
    let (logs, _guard) = capture_logs();
    let pki = Pki::new();
    let server = start_oauth_server("starttls", Some(&pki.localhost()), "microsoft", &[]).await;
    let token = valid_token();
    let mut cfg = oauth_config("localhost", server.port, Encryption::Starttls, 10, &token);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let (result, json) = run(&cfg).await;
    assert!(result.ok, "{}", pretty(&json));
    let t = transcript(&json);
    assert!(t.contains("C: AUTH XOAUTH2 ********\nS: 235"), "{t}");
    assert!(!t.contains("AUTH PLAIN"), "a token never goes out as a password: {t}");

    let auth = auth_events(&server);
    assert_eq!(auth.len(), 1, "{auth:?}");
    assert_eq!(auth[0]["mechanism"], "XOAUTH2");
    assert_eq!(auth[0]["login"], USER);
    assert_eq!((auth[0]["ok"].as_bool(), auth[0]["inline"].as_bool()), (Some(true), Some(true)), "{auth:?}");
    let delivered = server.deliveries();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["login"], USER);

    let logs = logs.text();
    assert!(logs.contains("AUTH XOAUTH2 ********"), "the transcript is logged:\n{logs}");
    assert_token_hidden(&json, &logs, &token);
    assert_no_token(&format!("{cfg:?}"), USER, &token);
}

#[tokio::test]
async fn a_long_token_follows_the_334_on_its_own_line() {
    let (logs, _guard) = capture_logs();
    let server = start_oauth_server("none", None, "microsoft", &[]).await;
    // As long as a large Microsoft token: far beyond the 512 octets of a command line.
    let token = mint_token(OAUTH_SECRET, USER, 3600, 3_600);
    assert!(token.len() >= 5_000, "{}", token.len());
    let cfg = oauth_config("127.0.0.1", server.port, Encryption::None, 10, &token);
    let (result, json) = run(&cfg).await;
    assert!(result.ok, "{}", pretty(&json));
    let t = transcript(&json);
    assert!(t.contains("more than the 512 an SMTP command line may have"), "{t}");
    assert!(t.contains("C: AUTH XOAUTH2\nS: 334 \nC: ********\nS: 235"), "{t}");

    let auth = auth_events(&server);
    assert_eq!(auth.len(), 1, "{auth:?}");
    assert_eq!(auth[0]["ok"], true, "{auth:?}");
    assert_eq!(auth[0]["inline"], false, "{auth:?}");
    assert_eq!(auth[0]["token_length"].as_u64(), Some(token.len() as u64));
    assert_token_hidden(&json, &logs.text(), &token);
}

#[tokio::test]
async fn the_512_octet_limit_decides_between_inline_and_continuation() {
    let server = start_oauth_server("none", None, "microsoft", &[]).await;
    // `AUTH XOAUTH2 <base64>\r\n` grows in steps of 4 octets: find the longest line that
    // still fits (511) and the shortest that does not (515).
    let line_len = |token: &str| {
        use base64::Engine as _;
        let xoauth2 = format!("user={USER}\x01auth=Bearer {token}\x01\x01");
        "AUTH XOAUTH2 ".len() + base64::engine::general_purpose::STANDARD.encode(xoauth2).len() + 2
    };
    let tokens: Vec<String> = (0..400).map(|pad| mint_token(OAUTH_SECRET, USER, 3600, pad)).collect();
    let fits = tokens.iter().filter(|t| line_len(t) <= 512).max_by_key(|t| line_len(t)).unwrap();
    let over = tokens.iter().filter(|t| line_len(t) > 512).min_by_key(|t| line_len(t)).unwrap();
    assert_eq!((line_len(fits), line_len(over)), (511, 515));
    for (token, inline) in [(fits, true), (over, false)] {
        let cfg = oauth_config("127.0.0.1", server.port, Encryption::None, 10, token);
        let (result, json) = run(&cfg).await;
        assert!(result.ok, "{}", pretty(&json));
        let t = transcript(&json);
        assert_eq!(t.contains("C: AUTH XOAUTH2 ********"), inline, "{t}");
        assert_eq!(t.contains("C: AUTH XOAUTH2\nS: 334 \nC: ********"), !inline, "{t}");
    }
    let auth = auth_events(&server);
    assert_eq!(
        auth.iter().map(|e| (e["ok"].as_bool(), e["inline"].as_bool())).collect::<Vec<_>>(),
        [(Some(true), Some(true)), (Some(true), Some(false))]
    );
}

#[tokio::test]
async fn microsoft_rejects_the_token() {
    let (logs, _guard) = capture_logs();
    let server = start_oauth_server("none", None, "microsoft", &[]).await;
    // Signed with another secret: what Exchange Online says to a token it does not take.
    let token = mint_token("some-other-tenant-secret", USER, 3600, 0);
    let cfg = oauth_config("127.0.0.1", server.port, Encryption::None, 10, &token);
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "auth", "oauth_token_rejected", Some("auth.username"));
    let failure = result.failure.as_ref().unwrap();
    assert!(failure.class.is_token_rejected());
    assert!(failure.hint_en.contains("New-ServicePrincipal"), "{}", failure.hint_en);
    assert!(failure.hint_en.contains("Add-MailboxPermission -Identity teambox@example.org"), "{}", failure.hint_en);
    assert!(failure.hint_de.contains("Dienstprinzipal"), "{}", failure.hint_de);
    let auth_stage = result.stages.iter().find(|s| s.name == StageName::Auth).unwrap();
    assert_eq!((auth_stage.reply_code, auth_stage.enhanced_code.as_deref()), (Some(535), Some("5.7.3")));
    let auth = auth_events(&server);
    assert_eq!((auth[0]["ok"].as_bool(), auth[0]["bad_signature"].as_bool()), (Some(false), Some(true)));
    assert_token_hidden(&json, &logs.text(), &token);
}

#[tokio::test]
async fn google_rejects_the_token_with_an_error_challenge() {
    let (logs, _guard) = capture_logs();
    let pki = Pki::new();
    let server = start_oauth_server("implicit", Some(&pki.localhost()), "google", &[]).await;
    // A good token, but for another mailbox than the user name.
    let token = mint_token(OAUTH_SECRET, "someone-else@example.org", 3600, 0);
    let mut cfg = oauth_config("localhost", server.port, Encryption::Tls, 10, &token);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "auth", "oauth_token_rejected", Some("auth.username"));
    let t = transcript(&json);
    assert!(
        t.contains(
            r#"I: The server's error challenge decodes to: {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#
        ),
        "{t}"
    );
    assert!(t.contains("C: \nS: 535-5.7.8 Username and Password not accepted"), "an empty line answers it: {t}");
    let failure = result.failure.as_ref().unwrap();
    assert!(failure.class.is_token_rejected());
    assert!(failure.hint_en.contains("scope https://mail.google.com/"), "{}", failure.hint_en);
    assert!(failure.hint_de.contains("Bereich (Scope) https://mail.google.com/"), "{}", failure.hint_de);
    let auth_stage = result.stages.iter().find(|s| s.name == StageName::Auth).unwrap();
    assert_eq!((auth_stage.reply_code, auth_stage.enhanced_code.as_deref()), (Some(535), Some("5.7.8")));
    assert_eq!(auth_events(&server)[0]["reason"], "user_mismatch");
    // After the failed AUTH the connection is still in a sane state: QUIT is answered.
    assert!(t.contains("C: QUIT\nS: 221"), "{t}");
    assert_token_hidden(&json, &logs.text(), &token);
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let server = start_oauth_server("none", None, "microsoft", &[]).await;
    let token = mint_token(OAUTH_SECRET, USER, -60, 0);
    let cfg = oauth_config("127.0.0.1", server.port, Encryption::None, 10, &token);
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "auth", "oauth_token_rejected", Some("auth.username"));
    assert!(result.failure.unwrap().class.is_token_rejected());
    let auth = auth_events(&server);
    assert_eq!((auth[0]["expired"].as_bool(), auth[0]["bad_signature"].as_bool()), (Some(true), Some(false)));
}

#[tokio::test]
async fn a_server_without_xoauth2() {
    let server = start_server("none", None, &["--mechanisms", "PLAIN,LOGIN"]).await;
    let cfg = oauth_config("127.0.0.1", server.port, Encryption::None, 10, &valid_token());
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "auth", "auth_mechanism_unsupported", Some("auth.enabled"));
    let failure = result.failure.unwrap();
    assert!(failure.detail.as_deref().unwrap().contains("does not offer XOAUTH2"), "{failure:?}");
    assert!(failure.hint_en.contains("does not offer login with OAuth 2.0 (XOAUTH2), only LOGIN PLAIN"), "{failure:?}");
    assert!(!failure.class.is_token_rejected());
    assert!(auth_events(&server).is_empty(), "nothing was sent: {:?}", server.events());
}

#[tokio::test]
async fn smtp_auth_disabled_for_the_tenant() {
    let reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. \
                 Visit https://aka.ms/smtp_auth_disabled for more information.";
    let server = start_oauth_server("none", None, "microsoft", &["--auth-reply", reply]).await;
    let cfg = oauth_config("127.0.0.1", server.port, Encryption::None, 10, &valid_token());
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "auth", "smtp_auth_disabled", None);
    let failure = result.failure.unwrap();
    assert!(!failure.class.is_token_rejected(), "a fresh token would not help");
    assert!(
        failure
            .hint_en
            .contains("Set-CASMailbox -Identity teambox@example.org -SmtpClientAuthenticationDisabled $false"),
        "{}",
        failure.hint_en
    );
    assert!(failure.hint_en.contains("security defaults"), "{}", failure.hint_en);
    assert_eq!(auth_events(&server)[0]["reason"], "fixed_reply");
}

#[tokio::test]
async fn basic_auth_disabled_for_a_password() {
    let reply = "550 5.7.30 Basic authentication is not supported for Client Submission.";
    let server = start_server("none", None, &["--auth-reply", reply]).await;
    // The right password: the server takes none at all.
    let cfg = config("127.0.0.1", server.port, Encryption::None, 10);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "auth", "basic_auth_disabled", Some("auth.password"));
    assert!(
        json["failure"]["hint_en"].as_str().unwrap().contains("Switch the login to OAuth 2.0"),
        "{}",
        pretty(&json)
    );
    assert!(json["failure"]["hint_de"].as_str().unwrap().contains("auf OAuth 2.0 um"), "{}", pretty(&json));
}

#[tokio::test]
async fn delivery_session_signs_in_with_a_long_token() {
    let (logs, _guard) = capture_logs();
    let server = start_oauth_server("none", None, "microsoft", &["--log-sessions"]).await;
    let token = mint_token(OAUTH_SECRET, USER, 3600, 4_000);
    let mut cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    cfg.credentials = Some(Credentials::access_token(USER, token.as_str()));
    let mut session = open(&cfg).await.expect("the session opens with the token");
    for i in 0..2 {
        send(&mut session, &to(&[RECIPIENT]), &message(i, 3)).await.expect("sent");
    }
    session.close().await;
    let delivered = server.deliveries();
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|d| d["login"] == USER && d["mail_from"] == FROM), "{delivered:?}");
    let auth = auth_events(&server);
    assert_eq!((auth.len(), auth[0]["inline"].as_bool()), (1, Some(false)), "{auth:?}");
    assert_no_token(&logs.text(), USER, &token);

    // A new token is new settings for the pool; the same token is not.
    let mut same = cfg.clone();
    same.credentials = Some(Credentials::access_token(USER, token.as_str()));
    assert_eq!(same, cfg);
    same.credentials = Some(Credentials::access_token(USER, valid_token()));
    assert_ne!(same, cfg);
    same.credentials = Some(Credentials::password(USER, token.as_str()));
    assert_ne!(same, cfg, "a password equal to the token is not the same sign-in");
}

#[tokio::test]
async fn delivery_session_reports_a_rejected_token() {
    let (logs, _guard) = capture_logs();
    let server = start_oauth_server("none", None, "google", &[]).await;
    let token = mint_token(OAUTH_SECRET, USER, -1, 0);
    let mut cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    cfg.credentials = Some(Credentials::access_token(USER, token.as_str()));
    let failure = match SmtpSession::open(&cfg).await {
        Ok(_) => panic!("an expired token must not open a session"),
        Err(failure) => failure,
    };
    check(&failure);
    assert!(failure.is_token_rejected(), "{failure:#?}");
    assert_eq!((failure.stage, failure.class), (StageName::Auth, FailureClass::OauthTokenRejected));
    assert_eq!(failure.field, Some(SettingsField::AuthUsername));
    assert_eq!(failure.reply_code, Some(535));
    assert!(failure.permanent, "the same token will not work again");
    assert!(failure.hint_en.contains("https://mail.google.com/"), "{}", failure.hint_en);
    assert_no_token(&format!("{failure:?} {failure}"), USER, &token);
    assert_no_token(&logs.text(), USER, &token);
}
