//! The password and its base64 never reach the result or the logs, even when a server
//! echoes what it received.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::*;
use postamt_smtp::Encryption;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A scripted server on a real socket: greets, offers `auth` in EHLO, answers QUIT, and
/// lets `answer` reply to everything else (`None`: "500 what").
async fn scripted_server(auth: &'static str, mut answer: impl FnMut(&str) -> Option<String> + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 echo.test ESMTP\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply = if line.starts_with("EHLO") {
                format!("250-echo.test\r\n250 AUTH {auth}\r\n")
            } else if line == "QUIT" {
                "221 bye\r\n".to_owned()
            } else {
                answer(&line).unwrap_or_else(|| "500 what\r\n".to_owned())
            };
            write.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    port
}

/// Repeats every AUTH LOGIN payload it gets, decoded too, in its error replies, the way
/// careless servers do.
async fn echoing_server() -> u16 {
    let mut login_step = 0;
    scripted_server("LOGIN", move |line| {
        Some(if line == "AUTH LOGIN" {
            login_step = 1;
            "334 VXNlcm5hbWU6\r\n".to_owned()
        } else if login_step == 1 {
            login_step = 2;
            "334 UGFzc3dvcmQ6\r\n".to_owned()
        } else if login_step == 2 {
            login_step = 0;
            let decoded = String::from_utf8_lossy(&B64.decode(line.trim()).unwrap_or_default()).into_owned();
            format!("535-5.7.8 Rejected payload {line}\r\n535 5.7.8 which decodes to {decoded}\r\n")
        } else {
            return None;
        })
    })
    .await
}

#[tokio::test]
async fn echoed_credentials_are_masked_in_result_and_logs() {
    let (logs, _guard) = capture_logs();
    let port = echoing_server().await;
    let cfg = config("127.0.0.1", port, Encryption::None, 5);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "auth", "credentials_rejected", Some("auth.password"));
    let t = transcript(&json);
    assert!(t.contains("S: 535-5.7.8 Rejected payload ********"), "{t}");
    assert!(t.contains("S: 535 5.7.8 which decodes to ********"), "{t}");

    let logs = logs.text();
    assert!(logs.contains("AUTH LOGIN"), "the transcript is logged:\n{logs}");
    assert!(logs.contains("mail test finished"), "{logs}");
    assert_no_secret(&logs, USER, PASSWORD);
}

#[tokio::test]
async fn successful_auth_plain_leaves_no_secret_in_logs() {
    let (logs, _guard) = capture_logs();
    let pki = Pki::new();
    let server = start_server("starttls", Some(&pki.localhost()), &["--mechanisms", "PLAIN"]).await;
    let mut cfg = config("localhost", server.port, Encryption::Starttls, 10);
    cfg.trusted_ca_pem = Some(pki.ca_pem.clone());
    let (result, json) = run(&cfg).await;
    assert!(result.ok, "{}", pretty(&json));
    let logs = logs.text();
    assert!(logs.contains("AUTH PLAIN ********"), "{logs}");
    assert_no_secret(&logs, USER, PASSWORD);
    // Debug output of the configuration hides the password as well.
    assert_no_secret(&format!("{cfg:?}"), USER, PASSWORD);
}

/// Like [`echoing_server`], for XOAUTH2: repeats the initial response, its decoded text
/// (which holds the token) and the token's base64 in its error reply.
async fn echoing_xoauth2_server() -> u16 {
    scripted_server("XOAUTH2", |line| {
        let payload = line.strip_prefix("AUTH XOAUTH2 ")?;
        let decoded = String::from_utf8_lossy(&B64.decode(payload.trim()).unwrap_or_default()).into_owned();
        let token = decoded.split("Bearer ").nth(1).unwrap_or("").trim_end_matches('\x01');
        let decoded = decoded.replace('\x01', "^A");
        Some(format!(
            "535-5.7.3 Rejected {payload}\r\n535-5.7.3 which decodes to {decoded}\r\n535 5.7.3 token {} \
             base64 {}\r\n",
            token,
            B64.encode(token)
        ))
    })
    .await
}

#[tokio::test]
async fn echoed_token_is_masked_in_result_and_logs() {
    let (logs, _guard) = capture_logs();
    let port = echoing_xoauth2_server().await;
    let token = valid_token();
    let cfg = oauth_config("127.0.0.1", port, Encryption::None, 5, &token);
    let (_, json) = run(&cfg).await;
    assert_failure(&json, "auth", "oauth_token_rejected", Some("auth.username"));
    let t = transcript(&json);
    assert!(t.contains("C: AUTH XOAUTH2 ********"), "{t}");
    assert!(t.contains("S: 535-5.7.3 Rejected ********"), "{t}");
    assert!(t.contains("S: 535 5.7.3 token ******** base64 ********"), "{t}");
    let text = serde_json::to_string(&json).unwrap();
    assert_no_token(&text, USER, &token);
    let logs = logs.text();
    assert!(logs.contains("AUTH XOAUTH2 ********"), "the transcript is logged:\n{logs}");
    assert_no_token(&logs, USER, &token);
}
