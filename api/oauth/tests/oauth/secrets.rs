//! No secret in `Debug`, error `Display`, tracing output or request URLs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use postamt_oauth::*;

use crate::flows::{client, ms_app, read_key, sa_config};
use crate::support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

// current_thread: the subscriber set below is thread-local and sees every event.
#[tokio::test]
async fn secrets_stay_out_of_debug_display_logs_and_urls() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(logs.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let keys = tempfile::tempdir().unwrap();
    let mut config = microsoft_config();
    config["users"] = serde_json::json!([USER, "info@example.com"]);
    config["service_accounts"] = sa_config(keys.path().to_str().unwrap())["service_accounts"].clone();
    let p = ProviderDouble::start(config);
    let c = client(&p);
    let app = ms_app();
    let mut secrets: Vec<String> = vec!["ms-secret-value".into()];

    // Success and failure with a secret in play.
    let t = c.client_credentials(&app).await.unwrap();
    secrets.push(t.access_token.expose_secret().to_owned());
    let mut wrong = ms_app();
    wrong.client_secret = Some(SecretString::from("wrong-secret-xyz"));
    secrets.push("wrong-secret-xyz".into());
    let e1 = c.client_credentials(&wrong).await.unwrap_err();

    // Authorization code and refresh, with the URL checked too.
    let verifier = PkceVerifier::generate();
    secrets.push(verifier.secret().expose_secret().to_owned());
    let state = random_state();
    let redirect = "http://127.0.0.1:1/cb";
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
    let code = parse_callback(&crate::flows::sign_in(&url, redirect).await, &state).unwrap();
    secrets.push(code.expose_secret().to_owned());
    let first = c.exchange_code(&app, &code, &verifier, redirect).await.unwrap();
    let rt = first.refresh_token.clone().unwrap();
    secrets.push(rt.expose_secret().to_owned());
    secrets.push(first.access_token.expose_secret().to_owned());
    let second = c.refresh(&app, &rt).await.unwrap();
    secrets.push(second.refresh_token.as_ref().unwrap().expose_secret().to_owned());
    let e2 = c.refresh(&app, &rt).await.unwrap_err();

    // Service account: the private key's body.
    let key_json = read_key(keys.path(), "sa.json");
    let v: serde_json::Value = serde_json::from_str(key_json.expose_secret()).unwrap();
    let pem = v["private_key"].as_str().unwrap();
    secrets.push(pem.lines().nth(1).unwrap().to_owned());
    let key = ServiceAccountKey::from_json(&key_json).unwrap();
    let sa_token = c.service_account(&key, "info@example.com", None).await.unwrap();
    secrets.push(sa_token.access_token.expose_secret().to_owned());
    let e3 = c.service_account(&key, "nobody@example.com", None).await.unwrap_err();

    let cache = TokenCache::new();
    let cached = cache.get_or_fetch(&CacheKey::from_parts(&["k"]), || c.client_credentials(&app)).await.unwrap();
    secrets.push(cached.access_token.expose_secret().to_owned());

    let texts = [
        format!("{app:?}"),
        format!("{t:?}"),
        format!("{first:?}"),
        format!("{second:?}"),
        format!("{verifier:?}"),
        format!("{code:?}"),
        format!("{key:?}"),
        format!("{sa_token:?}"),
        format!("{cached:?}"),
        format!("{cache:?}"),
        format!("{e1} {e1:?} {e2} {e2:?} {e3} {e3:?}"),
        url.to_string(),
        String::from_utf8(logs.0.lock().unwrap().clone()).unwrap(),
        p.events_text(),
    ];
    assert!(texts[12].contains("oauth token request failed"), "tracing captured: {}", texts[12]);
    assert!(format!("{app:?}").contains("REDACTED"));
    for text in &texts {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "secret {:.12}… leaked into: {text:.300}", secret);
        }
    }
    assert!(!url.as_str().contains("client_secret"));
}
