//! The diagnostics against real servers on loopback: every failure class of issue 3 made
//! by a real server or socket, with stage, class, field, the deadline and the absence of
//! the password checked on every result (see `common::run`).

mod common;

use std::time::{Duration, Instant};

use common::*;
use postamt_smtp::{Credentials, Encryption};
use postamt_wire::{ActingUser, EffectiveSender, MailTestMode};

fn all_ok(json: &serde_json::Value) -> bool {
    json["ok"] == true && json["failure"].is_null()
}

#[tokio::test]
async fn starttls_with_auth_plain_delivers_the_test_mail() {
    let pki = Pki::new();
    let server = start_server("starttls", Some(&pki.localhost()), &["--mechanisms", "PLAIN,LOGIN"]).await;
    let mut cfg = config("localhost", server.port, Encryption::Starttls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let user = ActingUser { name: Some("Erika Mustermann".into()), address: "erika@example.org".into() };
    cfg.sender = EffectiveSender::apply("TEAMBOX", USER, true, true, Some(&user));
    let (result, json) = run(&cfg).await;
    assert!(all_ok(&json), "{}", pretty(&json));
    assert_eq!(
        timeline(&json),
        ["resolve", "connect", "greeting", "ehlo", "tls", "auth", "mail_from", "rcpt_to", "data"]
            .map(|s| format!("{s}:ok"))
    );
    let data = result.stages.last().unwrap();
    assert_eq!((data.reply_code, data.enhanced_code.as_deref()), (Some(250), Some("2.0.0")));
    assert_eq!(result.stages[5].reply_code, Some(235));

    let tls = result.tls.as_ref().expect("tls info");
    assert!(tls.verified, "{}", pretty(&json));
    assert_eq!(tls.protocol.as_deref(), Some("TLSv1.3"));
    assert!(tls.sans.contains(&"DNS:localhost".to_owned()) && tls.sans.contains(&"IP:127.0.0.1".to_owned()));
    assert_eq!(tls.issuer.as_deref(), Some("CN=Postamt Test CA"));
    assert_eq!(tls.chain_length, 1);
    let fingerprint = tls.sha256_fingerprint.as_deref().unwrap();
    assert_eq!(fingerprint.len(), 32 * 3 - 1);
    assert!(tls.not_before.unwrap() < tls.not_after.unwrap());

    let t = transcript(&json);
    assert!(t.contains("C: STARTTLS") && t.contains("S: 220 Ready to start TLS"), "{t}");
    assert!(t.contains("C: AUTH PLAIN ********"), "{t}");
    assert!(t.contains("S: 250-STARTTLS"), "multi-line EHLO reply kept line by line:\n{t}");

    // What the server received: the policy's From and Reply-To, the envelope, the login.
    let delivered = server.deliveries();
    assert_eq!(delivered.len(), 1);
    let mail = &delivered[0];
    assert_eq!(mail["mail_from"], USER);
    assert_eq!(mail["rcpt_tos"], serde_json::json!([RECIPIENT]));
    assert_eq!(mail["login"], USER);
    assert_eq!(mail["tls"], true);
    let content = mail["content"].as_str().unwrap();
    assert!(content.contains("From: TEAMBOX <teambox@example.org>\r\n"), "{content}");
    assert!(content.contains("Reply-To: \"Erika Mustermann\" <erika@example.org>\r\n"), "{content}");
    assert!(content.contains(&format!("Message-ID: {}", result.message_id.as_deref().unwrap())));
    assert!(content.contains("Subject: Testmail von Postamt / Test mail from Postamt"));
    assert!(!content.contains(PASSWORD));
    assert_eq!(server.events().iter().filter(|e| e["event"] == "auth").count(), 1);
}

#[tokio::test]
async fn implicit_tls_with_auth_login_delivers() {
    let pki = Pki::new();
    let server = start_server("implicit", Some(&pki.localhost()), &["--mechanisms", "LOGIN"]).await;
    let mut cfg = config("127.0.0.1", server.port, Encryption::Tls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let (result, json) = run(&cfg).await;
    assert!(all_ok(&json), "{}", pretty(&json));
    assert_eq!(
        timeline(&json),
        ["resolve", "connect", "tls", "greeting", "ehlo", "auth", "mail_from", "rcpt_to", "data"]
            .map(|s| format!("{s}:ok"))
    );
    assert!(result.tls.as_ref().unwrap().verified);
    let t = transcript(&json);
    assert!(t.contains("C: AUTH LOGIN\n"), "{t}");
    assert!(t.contains("C: ********"), "{t}");
    let auth = server.events().into_iter().find(|e| e["event"] == "auth").unwrap();
    assert_eq!((auth["mechanism"].as_str(), auth["ok"].as_bool()), (Some("LOGIN"), Some(true)));
    assert_eq!(server.deliveries().len(), 1);
    assert_eq!(result.peer.as_deref(), Some(format!("127.0.0.1:{}", server.port).as_str()));
}

#[tokio::test]
async fn probe_stops_at_354_and_delivers_nothing() {
    let pki = Pki::new();
    let server = start_server("starttls", Some(&pki.localhost()), &[]).await;
    let mut cfg = config("localhost", server.port, Encryption::Starttls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    cfg.mode = MailTestMode::Probe;
    let (result, json) = run(&cfg).await;
    assert!(all_ok(&json), "{}", pretty(&json));
    assert_eq!(json["mode"], "probe");
    assert_eq!(result.stages.last().unwrap().reply_code, Some(354));
    let note = result.probe_note.as_ref().expect("probe note");
    assert!(note.en.contains("DMARC") && note.de.contains("DMARC"));
    assert!(result.message_id.is_none());
    let t = transcript(&json);
    assert!(t.contains("C: DATA\nS: 354"), "{t}");
    assert!(!t.contains("C: QUIT") && !t.contains("C: RSET"), "nothing may follow 354:\n{t}");
    // Give the server time to see the connection close, then check it delivered nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(server.deliveries().is_empty(), "{:?}", server.events());
    assert_eq!(server.events().len(), 1, "one AUTH, no delivery: {:?}", server.events());
}

#[tokio::test]
async fn unresolvable_name() {
    let cfg = config("nonexistent.invalid", 587, Encryption::Starttls, 5);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "resolve", "dns_not_found", Some("host"));
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("nonexistent.invalid"));
}

#[tokio::test]
async fn refused_port() {
    let port = common::refused_port().await;
    let cfg = config("127.0.0.1", port, Encryption::Starttls, 5);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "connect", "connection_refused", Some("port"));
}

#[tokio::test]
async fn silent_server_hits_the_one_deadline() {
    let (port, _listener) = silent_listener().await;
    let cfg = config("127.0.0.1", port, Encryption::Starttls, 2);
    let started = Instant::now();
    let (_, json) = run(&cfg).await;
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_failure(&json, "greeting", "timeout", Some("port"));
    let t = transcript(&json);
    assert!(t.contains("Checking on a second connection"), "{t}");
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("“TLS”"));
}

#[tokio::test]
async fn silent_server_with_implicit_tls_times_out_in_tls() {
    let (port, _listener) = silent_listener().await;
    let cfg = config("127.0.0.1", port, Encryption::Tls, 2);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "tls", "timeout", Some("port"));
}

#[tokio::test]
async fn starttls_spoken_to_an_implicit_tls_port_says_choose_tls() {
    let pki = Pki::new();
    let server = start_server("implicit", Some(&pki.localhost()), &[]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::Starttls, 10);
    let started = Instant::now();
    let (_, json) = run(&cfg).await;
    assert!(started.elapsed() < Duration::from_secs(3), "detected, not waited out: {:?}", started.elapsed());
    assert_failure(&json, "greeting", "starttls_on_implicit_tls_port", Some("encryption"));
    let t = transcript(&json);
    assert!(!t.contains("C: "), "nothing is sent in plaintext to a TLS port:\n{t}");
    assert!(json["failure"]["hint_de"].as_str().unwrap().contains("„TLS“"), "{}", pretty(&json));
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("Choose “TLS”"), "{}", pretty(&json));
}

#[tokio::test]
async fn tls_spoken_to_a_plaintext_port() {
    let pki = Pki::new();
    let server = start_server("starttls", Some(&pki.localhost()), &[]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::Tls, 10);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "tls", "tls_on_plaintext_port", Some("encryption"));
    assert!(json["failure"]["detail"].as_str().unwrap().contains("220 postamt-test.localhost"), "{}", pretty(&json));
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("STARTTLS"));
}

#[tokio::test]
async fn no_starttls_offered() {
    let server = start_server("none", None, &[]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::Starttls, 10);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "tls", "starttls_not_offered", Some("encryption"));
    // Postamt's own words come in both languages, on the failure and on its stage.
    assert_eq!(json["failure"]["detail"], "the server's EHLO answer does not offer STARTTLS");
    assert_eq!(json["failure"]["detail_de"], "die EHLO-Antwort des Servers bietet kein STARTTLS an");
    let tls = json["stages"].as_array().unwrap().iter().find(|s| s["name"] == "tls").unwrap();
    assert_eq!(tls["detail_de"], json["failure"]["detail_de"]);
}

#[tokio::test]
async fn certificate_from_an_untrusted_ca() {
    let pki = Pki::new();
    let server = start_server("starttls", Some(&pki.localhost()), &[]).await;
    let cfg = config("localhost", server.port, Encryption::Starttls, 10);
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "tls", "certificate_untrusted", Some("tls.trusted_ca_pem"));
    let tls = result.tls.expect("certificate details even though verification failed");
    assert!(!tls.verified);
    assert_eq!(tls.subject.as_deref(), Some("CN=localhost"));
    assert!(tls.verify_error.unwrap().contains("not trusted"));
    assert!(tls.protocol.is_none(), "the handshake did not complete");
}

#[tokio::test]
async fn expired_certificate() {
    let pki = Pki::new();
    let cert = pki.issue("expired", &["localhost"], true, true);
    let server = start_server("implicit", Some(&cert), &[]).await;
    let mut cfg = config("localhost", server.port, Encryption::Tls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "tls", "certificate_expired", Some("host"));
    let tls = result.tls.unwrap();
    assert_eq!(tls.not_after.unwrap().to_rfc3339(), "2021-01-01T00:00:00+00:00");
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("2021-01-01"), "{}", pretty(&json));
}

#[tokio::test]
async fn certificate_for_another_host_name() {
    let pki = Pki::new();
    let cert = pki.issue("other", &["mail.other.example"], false, false);
    let server = start_server("starttls", Some(&cert), &[]).await;
    let mut cfg = config("localhost", server.port, Encryption::Starttls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "tls", "certificate_hostname_mismatch", Some("host"));
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("mail.other.example"), "{}", pretty(&json));
}

#[tokio::test]
async fn accepting_invalid_certificates_still_reports_why() {
    let pki = Pki::new();
    let server = start_server("implicit", Some(&pki.localhost()), &[]).await;
    let mut cfg = config("localhost", server.port, Encryption::Tls, 10);
    cfg.accept_invalid_certificates = true;
    let (result, json) = run(&cfg).await;
    assert!(all_ok(&json), "{}", pretty(&json));
    let tls = result.tls.unwrap();
    assert!(!tls.verified && tls.verify_error.is_some());
    assert!(transcript(&json).contains("NOT verified"));
}

#[tokio::test]
async fn throttling_and_quota_replies_have_classes_of_their_own() {
    for (args, stage, class) in [
        (
            ["--reject-mail", "451 4.7.500 Server busy. Please try again later from [192.0.2.1]."],
            "mail_from",
            "throttled",
        ),
        (["--reject-rcpt", "452 4.3.2 Too many concurrent connections from this IP"], "rcpt_to", "throttled"),
        (
            [
                "--reject-data",
                "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message",
            ],
            "data",
            "quota_exceeded",
        ),
        (["--reject-mail", "550 5.4.5 Daily user sending quota exceeded."], "mail_from", "quota_exceeded"),
        // Greylisting is no throttling: one message waits, not the connection.
        (["--reject-rcpt", "451 4.7.1 Greylisted, try again later"], "rcpt_to", "temporary_failure"),
    ] {
        let server = start_server("none", None, &args).await;
        let cfg = config("127.0.0.1", server.port, Encryption::None, 10);
        let (_, json) = run(&cfg).await;
        assert_failure(&json, stage, class, None);
        let hint = json["failure"]["hint_en"].as_str().unwrap();
        assert!(class == "temporary_failure" || hint.contains("quota") || hint.contains("slowing"), "{hint}");
    }
}

#[tokio::test]
async fn auth_not_offered() {
    let server = start_server("none", None, &["--no-auth"]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::None, 10);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "auth", "auth_not_offered", Some("auth.enabled"));
    let connect = json["stages"].as_array().unwrap().iter().find(|s| s["name"] == "connect").unwrap();
    assert!(connect["detail_de"].as_str().unwrap().starts_with("verbunden mit 127.0.0.1:"), "{connect}");
    let resolve = json["stages"].as_array().unwrap().iter().find(|s| s["name"] == "resolve").unwrap();
    assert_eq!(resolve["detail_de"], "127.0.0.1 ist eine IP-Adresse; keine Namensauflösung nötig");
}

#[tokio::test]
async fn auth_offered_only_after_tls() {
    let pki = Pki::new();
    let server = start_server("starttls", Some(&pki.localhost()), &["--auth-require-tls"]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::None, 10);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "auth", "auth_requires_tls", Some("encryption"));
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("STARTTLS"));
}

#[tokio::test]
async fn wrong_password_is_rejected_and_never_shown() {
    let pki = Pki::new();
    let server = start_server("implicit", Some(&pki.localhost()), &[]).await;
    let mut cfg = config("localhost", server.port, Encryption::Tls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    cfg.credentials = Some(Credentials::password(USER, "Wrong-Pass-4711"));
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "auth", "credentials_rejected", Some("auth.password"));
    let auth = &result.stages[5];
    assert_eq!((auth.reply_code, auth.enhanced_code.as_deref()), (Some(535), Some("5.7.8")));
    assert_no_secret(&serde_json::to_string(&result).unwrap(), USER, "Wrong-Pass-4711");
}

#[tokio::test]
async fn app_password_required() {
    let pki = Pki::new();
    let reply = "534 5.7.9 Application-specific password required. Learn more at \
                 https://support.google.com/mail/?p=InvalidSecondFactor";
    let server = start_server("starttls", Some(&pki.localhost()), &["--auth-fail-reply", reply]).await;
    let mut cfg = config("localhost", server.port, Encryption::Starttls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    cfg.credentials = Some(Credentials::password(USER, "normal-account-pw"));
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "auth", "app_password_required", Some("auth.password"));
    assert!(json["failure"]["hint_de"].as_str().unwrap().contains("App-Passwort"));
}

#[tokio::test]
async fn smtp_auth_disabled_for_the_tenant_is_its_own_class() {
    let pki = Pki::new();
    let reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.";
    let server = start_server("starttls", Some(&pki.localhost()), &["--auth-fail-reply", reply]).await;
    let mut cfg = config("localhost", server.port, Encryption::Starttls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    cfg.credentials = Some(Credentials::password(USER, "another-pw-1"));
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "auth", "smtp_auth_disabled", None);
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("-SmtpClientAuthenticationDisabled $false"));
}

#[tokio::test]
async fn only_unsupported_auth_mechanisms() {
    let server = start_server("none", None, &["--mechanisms", "XOAUTH2"]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::None, 10);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "auth", "auth_mechanism_unsupported", Some("auth.enabled"));
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("XOAUTH2"));
    // A password cannot be used there, a token could.
    assert!(
        json["failure"]["hint_en"].as_str().unwrap().contains("Switch the login to OAuth 2.0"),
        "{}",
        pretty(&json)
    );
}

#[tokio::test]
async fn server_requires_login() {
    let server = start_server("none", None, &["--auth-required"]).await;
    let mut cfg = config("127.0.0.1", server.port, Encryption::None, 10);
    cfg.credentials = None;
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "mail_from", "auth_required", Some("auth.enabled"));
    assert_eq!(json["stages"][5]["status"], "skipped");
    assert_eq!(json["stages"][5]["detail"], "authentication is off");
}

#[tokio::test]
async fn sender_rejected() {
    let server =
        start_server("none", None, &["--reject-mail", "550 5.7.1 Sender address rejected: not owned by user"]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::None, 10);
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "mail_from", "sender_rejected", Some("sender_address"));
    assert_eq!(result.stages[6].reply_code, Some(550));
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("Force default sender"));
}

#[tokio::test]
async fn recipient_rejected() {
    let server = start_server("none", None, &["--reject-rcpt", "550 5.1.1 <someone@example.org>: User unknown"]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::None, 10);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "rcpt_to", "recipient_rejected", Some("recipient"));
    assert_eq!(json["stages"][7]["enhanced_code"], "5.1.1");
}

#[tokio::test]
async fn temporary_failure() {
    let server = start_server("none", None, &["--reject-rcpt", "451 4.7.1 Greylisted, please try again later"]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::None, 10);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "rcpt_to", "temporary_failure", None);
}

#[tokio::test]
async fn message_rejected_at_data() {
    let server = start_server("none", None, &["--reject-data", "554 5.7.1 Message rejected as spam"]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::None, 10);
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "data", "message_rejected", None);
    assert_eq!(result.stages[8].reply_code, Some(554));
    assert!(server.deliveries().is_empty());
}

#[tokio::test]
async fn server_stalling_after_the_message_hits_the_deadline() {
    let server = start_server("none", None, &["--stall", "data:30"]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::None, 2);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "data", "timeout", Some("timeout_seconds"));
    assert!(transcript(&json).contains("C: ."), "the message was sent");
}

#[tokio::test]
async fn server_stalling_at_rcpt_hits_the_deadline_without_an_extra_quit_wait() {
    let server = start_server("none", None, &["--stall", "rcpt:30"]).await;
    let cfg = config("127.0.0.1", server.port, Encryption::None, 2);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "rcpt_to", "timeout", None);
}

#[tokio::test]
async fn invalid_recipient_is_reported_before_connecting() {
    let cfg = {
        let mut cfg = config("127.0.0.1", 9, Encryption::None, 5);
        cfg.recipient = "someone@example.org>\r\nRCPT TO:<other@example.org".into();
        cfg
    };
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "rcpt_to", "invalid_settings", Some("recipient"));
    assert_eq!(json["stages"][0]["status"], "skipped", "nothing was connected");
    assert!(json["peer"].is_null());
}

#[tokio::test]
async fn unusable_ca_pem_is_reported_before_connecting() {
    let mut cfg = config("localhost", 465, Encryption::Tls, 5);
    cfg.trusted_ca_pem = Some("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into());
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "tls", "invalid_settings", Some("tls.trusted_ca_pem"));
}

#[tokio::test]
async fn greeting_rejected() {
    let port = scripted_server("554 5.7.1 Service unavailable; client host [127.0.0.1] blocked", &[]).await;
    let cfg = config("127.0.0.1", port, Encryption::Starttls, 5);
    let (result, json) = run(&cfg).await;
    assert_failure(&json, "greeting", "connection_rejected", Some("host"));
    assert_eq!(result.stages[2].reply_code, Some(554));
    assert!(json["failure"]["hint_en"].as_str().unwrap().contains("blocked"));
}

#[tokio::test]
async fn greeting_busy_is_temporary() {
    let port = scripted_server("421 4.3.2 Service not available, too busy", &[]).await;
    let cfg = config("127.0.0.1", port, Encryption::Starttls, 5);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "greeting", "temporary_failure", None);
}

#[tokio::test]
async fn encryption_required_by_the_server() {
    const RULES: &[(&str, &str)] = &[("MAIL FROM", "530 5.7.0 Must issue a STARTTLS command first.")];
    let port = scripted_server("220 scripted.test ESMTP", RULES).await;
    let mut cfg = config("127.0.0.1", port, Encryption::None, 5);
    cfg.credentials = None;
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "mail_from", "encryption_required", Some("encryption"));
}

#[tokio::test]
async fn helo_when_ehlo_is_unknown() {
    const RULES: &[(&str, &str)] = &[("EHLO", "502 5.5.2 Error: command not recognized")];
    let port = scripted_server("220 scripted.test SMTP", RULES).await;
    let mut cfg = config("127.0.0.1", port, Encryption::None, 5);
    cfg.credentials = None;
    let (_, json) = run(&cfg).await;
    assert!(json["ok"] == true, "{}", pretty(&json));
    let t = transcript(&json);
    assert!(t.contains("C: HELO postamt.test\nS: 250 OK"), "{t}");
    assert!(t.contains("S: 250 2.0.0 queued"), "{t}");
}

#[tokio::test]
async fn tls_handshake_cut_off() {
    let port = closing_listener().await;
    let cfg = config("127.0.0.1", port, Encryption::Tls, 5);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "tls", "tls_handshake_failed", Some("encryption"));
}

#[tokio::test]
async fn not_an_smtp_server() {
    let port = scripted_server("SSH-2.0-OpenSSH_9.2p1 Debian-2", &[]).await;
    let cfg = config("127.0.0.1", port, Encryption::Starttls, 5);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "greeting", "protocol_error", Some("port"));
    assert!(transcript(&json).contains("S: SSH-2.0-OpenSSH"));
}
