//! Every failure class, from the double's real-shaped error JSON or from real sockets.

use std::time::{Duration, Instant};

use postamt_oauth::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::flows::{authorize, client, ms_app, read_key, sa_config};
use crate::support::*;

fn assert_class(e: &OAuthError, class: OAuthErrorClass, field: Option<&str>) {
    assert_eq!(e.class, class, "{e}");
    assert_eq!(e.field(), field, "{e}");
    let hint = e.hint();
    assert!(!hint.de.is_empty() && !hint.en.is_empty() && hint.de != hint.en);
}

#[tokio::test]
async fn microsoft_failures_are_classified() {
    let p = ProviderDouble::start(microsoft_config());
    let c = client(&p);

    let mut app = ms_app();
    app.provider = Provider::Microsoft { tenant: "fabrikam.onmicrosoft.com".into() };
    let e = c.client_credentials(&app).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::TenantNotFound, Some("oauth.tenant"));
    assert_eq!(e.provider_codes, vec![90002]);
    assert_eq!(e.http_status, Some(400));
    assert!(!e.description.as_deref().unwrap().contains("Trace ID"), "sanitised: {e}");

    app.provider = Provider::Microsoft { tenant: "not a tenant".into() };
    let e = c.client_credentials(&app).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::TenantNotFound, Some("oauth.tenant"));
    assert_eq!(e.provider_codes, vec![900023]);

    let mut app = ms_app();
    app.client_secret = Some(SecretString::from("wrong"));
    let e = c.client_credentials(&app).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::InvalidClientSecret, Some("oauth.client_secret"));
    assert_eq!((e.http_status, e.provider_error.as_deref()), (Some(401), Some("invalid_client")));

    let mut app = ms_app();
    app.client_id = "unknown-app".into();
    let e = c.client_credentials(&app).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::ApplicationNotFound, Some("oauth.client_id"));
    assert_eq!(e.provider_codes, vec![700016]);

    let mut app = ms_app();
    app.client_id = "ms-no-consent".into();
    app.client_secret = Some(SecretString::from("other-secret"));
    let e = c.client_credentials(&app).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::ConsentMissing, Some("oauth.client_id"));
    assert_eq!(e.provider_codes, vec![65001]);

    let mut app = ms_app();
    app.scope = Some("https://outlook.office365.com/SMTP.Send".into());
    let e = c.client_credentials(&app).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::InvalidScope, Some("oauth.scope"));

    // An unknown refresh token.
    let e = c.refresh(&ms_app(), &SecretString::from("rt.forged")).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::RefreshTokenInvalid, Some("oauth.sign_in"));

    // An admin lets the secret expire.
    p.control("expire-secret", json!({"client_id": "ms-app"}));
    let e = c.client_credentials(&ms_app()).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::ClientSecretExpired, Some("oauth.client_secret"));
    assert_eq!(e.provider_codes, vec![7000222]);
}

#[tokio::test]
async fn microsoft_expired_and_revoked_refresh_tokens() {
    let p = ProviderDouble::start(microsoft_config());
    let c = client(&p);
    let app = ms_app();
    let redirect = "http://127.0.0.1:1/cb";
    let (code, verifier) = authorize(&c, &app, redirect).await;
    let code = code.unwrap();
    let rt1 = c.exchange_code(&app, &code, &verifier, redirect).await.unwrap().refresh_token.unwrap();
    let rt2 = c.refresh(&app, &rt1).await.unwrap().refresh_token.unwrap();
    // rt2 expires by inactivity (700082); then an admin revokes whatever is left (50173).
    assert_eq!(p.control("revoke", json!({"refresh_token_id": "rt2", "reason": "expired"}))["revoked"], 1);
    let e = c.refresh(&app, &rt2).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::RefreshTokenInvalid, Some("oauth.sign_in"));
    assert_eq!(e.provider_codes, vec![700082]);
    let (code, verifier) = authorize(&c, &app, redirect).await;
    let code = code.unwrap();
    let rt3 = c.exchange_code(&app, &code, &verifier, redirect).await.unwrap().refresh_token.unwrap();
    assert_eq!(p.control("revoke", json!({"client_id": "ms-app"}))["revoked"], 1);
    let e = c.refresh(&app, &rt3).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::RefreshTokenInvalid, Some("oauth.sign_in"));
    assert_eq!(e.provider_codes, vec![50173]);
    // An admin revoke is not a reuse.
    assert!(p.token_events().iter().all(|e| e["reuse"] != true));
}

#[tokio::test]
async fn service_account_failures_are_classified() {
    let keys = tempfile::tempdir().unwrap();
    let p = ProviderDouble::start(sa_config(keys.path().to_str().unwrap()));
    let c = client(&p);
    let key = ServiceAccountKey::from_json(&read_key(keys.path(), "sa.json")).unwrap();

    let e = c.service_account(&key, "nobody@example.com", None).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::ServiceAccountRejected, Some("oauth.impersonate"));
    assert_eq!(e.description.as_deref(), Some("Invalid email or User ID"));

    let e = c
        .service_account(&key, "info@example.com", Some("https://www.googleapis.com/auth/gmail.send"))
        .await
        .unwrap_err();
    assert_class(&e, OAuthErrorClass::UnauthorizedClient, Some("oauth.client_id"));

    let no_dwd = ServiceAccountKey::from_json(&read_key(keys.path(), "sa2.json")).unwrap();
    let e = c.service_account(&no_dwd, "info@example.com", None).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::UnauthorizedClient, Some("oauth.client_id"));
    assert_eq!(e.http_status, Some(401));

    // The first account's identity with the second account's private key: bad signature.
    let mut json: serde_json::Value = serde_json::from_str(read_key(keys.path(), "sa.json").expose_secret()).unwrap();
    let other: serde_json::Value = serde_json::from_str(read_key(keys.path(), "sa2.json").expose_secret()).unwrap();
    json["private_key"] = other["private_key"].clone();
    let forged = ServiceAccountKey::from_json(&SecretString::from(json.to_string())).unwrap();
    let e = c.service_account(&forged, "info@example.com", None).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::ServiceAccountRejected, Some("oauth.impersonate"));
    assert_eq!(e.description.as_deref(), Some("Invalid JWT Signature."));

    // A key file that does not parse never reaches the network.
    let mut broken: serde_json::Value = serde_json::from_str(read_key(keys.path(), "sa.json").expose_secret()).unwrap();
    broken["private_key"] = json!("-----BEGIN PRIVATE KEY-----\nMIIBroken\n-----END PRIVATE KEY-----\n");
    let e = ServiceAccountKey::from_json(&SecretString::from(broken.to_string())).unwrap_err();
    assert_class(&e, OAuthErrorClass::ServiceAccountKeyInvalid, Some("oauth.service_account_key"));
}

#[tokio::test]
async fn google_client_errors() {
    let p = ProviderDouble::start(json!({
        "clients": [{"id": "g", "secret": "g-secret", "provider": "google", "flows": ["refresh_token"]}]
    }));
    let c = client(&p);
    let app = |id: &str, secret: &str| OAuthApp {
        provider: Provider::Google,
        client_id: id.into(),
        client_secret: Some(SecretString::from(secret)),
        scope: None,
    };
    let e = c.refresh(&app("missing", "x"), &SecretString::from("rt")).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::ApplicationNotFound, Some("oauth.client_id"));
    let e = c.refresh(&app("g", "wrong"), &SecretString::from("rt")).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::InvalidClientSecret, Some("oauth.client_secret"));
}

fn generic_app(token_url: String) -> OAuthApp {
    OAuthApp {
        provider: Provider::Generic { token_url, authorization_url: None, scope: "s".into() },
        client_id: "c".into(),
        client_secret: Some(SecretString::from("secret")),
        scope: None,
    }
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = OAuthClient::new(Endpoints::default(), Duration::from_secs(5)).unwrap();
    let e = c.client_credentials(&generic_app(format!("http://127.0.0.1:{port}/token"))).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::EndpointUnreachable, None);
}

#[tokio::test]
async fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds every connection, never answers.
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let c = OAuthClient::new(Endpoints::default(), Duration::from_millis(500)).unwrap();
    let started = Instant::now();
    let e = c.client_credentials(&generic_app(format!("http://127.0.0.1:{port}/token"))).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::Timeout, None);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    hold.abort();
}

#[tokio::test]
async fn html_answer_is_an_invalid_response() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html></html>").await;
        }
    });
    let c = OAuthClient::new(Endpoints::default(), Duration::from_secs(5)).unwrap();
    let e = c.client_credentials(&generic_app(format!("http://127.0.0.1:{port}/token"))).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::InvalidResponse, None);
    assert_eq!(e.http_status, Some(200));

    // The same server behind https: the TLS handshake fails, which is "unreachable".
    let e = c.client_credentials(&generic_app(format!("https://127.0.0.1:{port}/token"))).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::EndpointUnreachable, None);
}

#[tokio::test]
async fn http_to_a_remote_host_is_refused_before_any_network() {
    let endpoints =
        Endpoints { microsoft_authority: "http://login.microsoftonline.com".into(), ..Endpoints::default() };
    let e = OAuthClient::new(endpoints, Duration::from_secs(5)).unwrap_err();
    assert_class(&e, OAuthErrorClass::InsecureEndpoint, Some("oauth.token_url"));

    // A generic token URL on http: refused at once (an unresolvable name proves no lookup
    // happened: it would be unreachable, not insecure).
    let c = OAuthClient::new(Endpoints::default(), Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    let e = c.client_credentials(&generic_app("http://mail.invalid/token".into())).await.unwrap_err();
    assert_class(&e, OAuthErrorClass::InsecureEndpoint, Some("oauth.token_url"));
    assert!(started.elapsed() < Duration::from_millis(100));
}
