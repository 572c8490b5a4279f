//! Every flow end to end: client credentials (Microsoft, generic), authorization code with
//! PKCE and rotating refresh tokens (Microsoft, Google), Google service account.

use std::time::Duration;

use postamt_oauth::*;
use serde_json::json;

use crate::support::*;

pub fn client(p: &ProviderDouble) -> OAuthClient {
    OAuthClient::new(p.endpoints(), Duration::from_secs(10)).unwrap()
}

pub fn ms_app() -> OAuthApp {
    OAuthApp {
        provider: Provider::Microsoft { tenant: TENANT.into() },
        client_id: "ms-app".into(),
        client_secret: Some(SecretString::from("ms-secret-value")),
        scope: None,
    }
}

/// One authorize round trip with a fresh PKCE verifier and state, as the admin's browser
/// makes it: the callback's code (or the provider's error, state checked) and the verifier
/// the code belongs to.
pub async fn authorize(
    c: &OAuthClient,
    app: &OAuthApp,
    redirect: &str,
) -> (Result<SecretString, OAuthError>, PkceVerifier) {
    let verifier = PkceVerifier::generate();
    let state = random_state();
    let url = c
        .authorization_url(
            app,
            &AuthorizationRequest {
                redirect_uri: redirect,
                state: &state,
                pkce_challenge: &verifier.challenge(),
                login_hint: None,
            },
        )
        .unwrap();
    (parse_callback(&sign_in(&url, redirect).await, &state), verifier)
}

/// Follows the authorize redirect like a browser would (redirects off) and returns the
/// callback's query.
pub async fn sign_in(url: &url::Url, redirect_uri: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(url.clone()).send().await.unwrap();
    assert_eq!(r.status(), 302, "authorize must redirect");
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(redirect_uri), "{location}");
    url::Url::parse(&location).unwrap().query().unwrap_or("").to_owned()
}

#[tokio::test]
async fn client_credentials_microsoft() {
    let p = ProviderDouble::start(microsoft_config());
    let t = client(&p).client_credentials(&ms_app()).await.unwrap();
    let claims = verify_access_token(t.access_token.expose_secret());
    assert_eq!(claims["sub"], "noreply@contoso.example");
    assert_eq!(claims["scp"], MICROSOFT_APP_SCOPE);
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.expires_in, Duration::from_secs(3600));
    assert!(t.refresh_token.is_none());
    let events = p.token_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["grant_type"], "client_credentials");
    assert_eq!(events[0]["tenant"], TENANT);
    assert_eq!(events[0]["outcome"], "ok");
}

#[tokio::test]
async fn client_credentials_generic_with_long_tokens() {
    let p = ProviderDouble::start(json!({
        "token_padding": 5000,
        "clients": [{"id": "gen", "secret": "gen-secret", "provider": "generic",
                     "flows": ["client_credentials"], "scopes": ["smtp.send"], "mailbox": "bot@example.org"}]
    }));
    let app = OAuthApp {
        provider: Provider::Generic {
            token_url: format!("{}/generic/token", p.base()),
            authorization_url: None,
            scope: "smtp.send".into(),
        },
        client_id: "gen".into(),
        client_secret: Some(SecretString::from("gen-secret")),
        scope: None,
    };
    let t = client(&p).client_credentials(&app).await.unwrap();
    assert!(t.access_token.expose_secret().len() > 4096);
    let claims = verify_access_token(t.access_token.expose_secret());
    assert_eq!(claims["sub"], "bot@example.org");
    assert_eq!(claims["scp"], "smtp.send");
}

#[tokio::test]
async fn authorization_code_microsoft_pkce_and_rotation() {
    let p = ProviderDouble::start(microsoft_config());
    let c = client(&p);
    let app = ms_app();
    let verifier = PkceVerifier::generate();
    let state = random_state();
    let redirect = "http://127.0.0.1:8080/oauth/callback";
    let url = c
        .authorization_url(
            &app,
            &AuthorizationRequest {
                redirect_uri: redirect,
                state: &state,
                pkce_challenge: &verifier.challenge(),
                login_hint: Some(USER),
            },
        )
        .unwrap();
    assert_eq!(url.path(), format!("/{TENANT}/oauth2/v2.0/authorize"));
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["scope"], MICROSOFT_DELEGATED_SCOPE);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["login_hint"], USER);

    let code = parse_callback(&sign_in(&url, redirect).await, &state).unwrap();
    let first = c.exchange_code(&app, &code, &verifier, redirect).await.unwrap();
    assert_eq!(verify_access_token(first.access_token.expose_secret())["sub"], USER);
    let rt1 = first.refresh_token.clone().expect("offline_access gives a refresh token");

    // The code is single-use.
    let e = c.exchange_code(&app, &code, &verifier, redirect).await.unwrap_err();
    assert_eq!(e.class, OAuthErrorClass::AuthorizationCodeInvalid);
    assert_eq!(e.provider_codes, vec![54005]);

    let second = c.refresh(&app, &rt1).await.unwrap();
    let rt2 = second.refresh_token.clone().expect("rotated");
    assert_ne!(rt1.expose_secret(), rt2.expose_secret());
    assert_eq!(verify_access_token(second.access_token.expose_secret())["sub"], USER);

    // The old one is dead now, and the attempt is recorded as a reuse.
    let e = c.refresh(&app, &rt1).await.unwrap_err();
    assert_eq!(e.class, OAuthErrorClass::RefreshTokenInvalid);
    assert_eq!(e.field(), Some("oauth.sign_in"));
    assert_eq!(e.provider_error.as_deref(), Some("invalid_grant"));
    let events = p.token_events();
    let reuse: Vec<_> = events.iter().filter(|e| e["reuse"] == true).collect();
    assert_eq!(reuse.len(), 1);
    assert_eq!(reuse[0]["refresh_token_id"], "rt1");

    // The new one works once.
    c.refresh(&app, &rt2).await.unwrap();
}

#[tokio::test]
async fn authorization_code_pkce_mismatch_is_refused() {
    let p = ProviderDouble::start(microsoft_config());
    let c = client(&p);
    let app = ms_app();
    let redirect = "http://127.0.0.1:8080/cb";
    let (code, _verifier) = authorize(&c, &app, redirect).await;
    // Exchanged with a verifier other than the one the challenge came from.
    let e = c.exchange_code(&app, &code.unwrap(), &PkceVerifier::generate(), redirect).await.unwrap_err();
    assert_eq!(e.class, OAuthErrorClass::AuthorizationCodeInvalid);
    assert_eq!(e.provider_codes, vec![501481]);
}

#[tokio::test]
async fn authorize_denied_comes_back_as_access_denied() {
    let mut config = microsoft_config();
    config["authorize"] = json!({"deny": "AADSTS65004: User declined to consent to access the app."});
    let p = ProviderDouble::start(config);
    let c = client(&p);
    let (callback, _) = authorize(&c, &ms_app(), "http://127.0.0.1:8080/cb").await;
    let e = callback.unwrap_err();
    assert_eq!(e.class, OAuthErrorClass::AccessDenied);
    assert!(e.description.unwrap().contains("AADSTS65004"));
}

#[tokio::test]
async fn authorization_code_google_rotation_and_admin_revoke() {
    let p = ProviderDouble::start(json!({
        "users": ["max@example.com"],
        "authorize": {"user": "max@example.com"},
        "clients": [{"id": "g-app.apps.googleusercontent.com", "secret": "g-secret", "provider": "google",
                     "flows": ["authorization_code", "refresh_token"]}]
    }));
    let c = client(&p);
    let app = OAuthApp {
        provider: Provider::Google,
        client_id: "g-app.apps.googleusercontent.com".into(),
        client_secret: Some(SecretString::from("g-secret")),
        scope: None,
    };
    let verifier = PkceVerifier::generate();
    let state = random_state();
    let redirect = "http://localhost:8080/cb";
    let url = c
        .authorization_url(
            &app,
            &AuthorizationRequest {
                redirect_uri: redirect,
                state: &state,
                pkce_challenge: &verifier.challenge(),
                login_hint: None,
            },
        )
        .unwrap();
    assert_eq!(url.path(), "/o/oauth2/v2/auth");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        (q["scope"].as_str(), q["access_type"].as_str(), q["prompt"].as_str()),
        (GOOGLE_MAIL_SCOPE, "offline", "consent")
    );

    let code = parse_callback(&sign_in(&url, redirect).await, &state).unwrap();
    let first = c.exchange_code(&app, &code, &verifier, redirect).await.unwrap();
    assert_eq!(verify_access_token(first.access_token.expose_secret())["sub"], "max@example.com");
    let rt1 = first.refresh_token.unwrap();
    let rt2 = c.refresh(&app, &rt1).await.unwrap().refresh_token.unwrap();
    let e = c.refresh(&app, &rt1).await.unwrap_err();
    assert_eq!(e.class, OAuthErrorClass::RefreshTokenInvalid);
    assert_eq!(e.description.as_deref(), Some("Token has been expired or revoked."));

    // An admin revokes the grant: the current refresh token stops working too.
    assert_eq!(p.control("revoke", json!({"user": "max@example.com"}))["revoked"], 1);
    let e = c.refresh(&app, &rt2).await.unwrap_err();
    assert_eq!(e.class, OAuthErrorClass::RefreshTokenInvalid);
    assert_eq!(e.http_status, Some(400));
}

pub fn sa_config(dir_hint: &str) -> serde_json::Value {
    json!({
        "users": ["info@example.com"],
        "service_accounts": [
            {"client_email": "mailer@proj.iam.gserviceaccount.com", "client_id": "1001",
             "key_file": format!("{dir_hint}/sa.json"), "delegated_scopes": [GOOGLE_MAIL_SCOPE]},
            {"client_email": "nodelegation@proj.iam.gserviceaccount.com", "client_id": "1002",
             "key_file": format!("{dir_hint}/sa2.json"), "delegated_scopes": []}
        ]
    })
}

pub fn read_key(dir: &std::path::Path, name: &str) -> SecretString {
    SecretString::from(std::fs::read_to_string(dir.join(name)).unwrap())
}

#[tokio::test]
async fn service_account_jwt_bearer() {
    let keys = tempfile::tempdir().unwrap();
    let p = ProviderDouble::start(sa_config(keys.path().to_str().unwrap()));
    let c = client(&p);
    let key = ServiceAccountKey::from_json(&read_key(keys.path(), "sa.json")).unwrap();
    assert_eq!(key.token_uri, format!("{}/token", p.base()));
    let t = c.service_account(&key, "info@example.com", None).await.unwrap();
    let claims = verify_access_token(t.access_token.expose_secret());
    assert_eq!(claims["sub"], "info@example.com");
    assert_eq!(claims["scp"], GOOGLE_MAIL_SCOPE);
    let events = p.token_events();
    assert_eq!(events[0]["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(events[0]["outcome"], "ok");
}
