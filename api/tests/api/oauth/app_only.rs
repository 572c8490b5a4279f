//! Client credentials (Microsoft) and a Google service account: settings, test mail,
//! delivery with XOAUTH2, every token failure, and a token the server refuses.

use super::*;
use crate::both_backends;
use crate::helpers::{fields, problem};
use crate::messages::{send, wait_for};
use postamt_wire::{MessageAccepted, MessageStatus, Scope};

both_backends!(client_credentials_sign_in_tests_and_delivers_with_xoauth2);

async fn client_credentials_sign_in_tests_and_delivers_with_xoauth2(backend: Backend) {
    let p = provider();
    let server = smtp("microsoft");
    let app = app_for(backend, &p).await;
    let body = settings(server.port, APP_MAILBOX, client_credentials(Some(SECRET)));
    let saved = app.put_settings(&body, None).await;
    assert_eq!(saved.status(), 200);
    let text = saved.text().await.unwrap();
    assert!(!text.contains(SECRET), "the client secret came back: {text}");
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["auth"]["method"], "oauth2");
    assert_eq!(view["auth"]["oauth2"]["client_secret_set"], true);
    let history = json(app.get_history().await).await;
    let change = history["entries"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "auth.oauth2.client_secret")
        .cloned()
        .unwrap();
    assert_eq!(
        (change["secret"].clone(), change["old"].clone(), change["new"].clone()),
        (json!(true), Value::Null, Value::Null)
    );

    // The saved settings: a token, then XOAUTH2.
    let result = test_mail(&app, None).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["stages"][0]["name"], "token");
    assert_eq!(result["stages"][0]["status"], "ok");
    let text = result.to_string();
    assert!(!text.contains("pa-at.") && !text.contains(SECRET), "a token or secret in the result: {text}");
    let c = wait_connection(&app, "status ok", |c| c["status"] == "ok").await;
    assert!(c["token_issued_at"].is_string() && c["token_expires_at"].is_string());

    // A module's mail, delivered with XOAUTH2.
    let key = app.create_api_key("finance", &Scope::ALL).await.secret;
    let mail = json!({"category": "finance", "to": ["x@example.org"], "subject": "Invoice", "text": "Hello"});
    let accepted: MessageAccepted = send(&app, &key, &mail, None).await.json().await.unwrap();
    wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    let auths: Vec<Value> = server.events().into_iter().filter(|e| e["event"] == "auth").collect();
    assert!(
        auths.iter().all(|a| a["mechanism"] == "XOAUTH2" && a["ok"] == true && a["login"] == APP_MAILBOX),
        "{auths:?}"
    );

    // An unsaved wrong secret: the token stage fails with its class, field and hint; the
    // saved connection's state is not touched by unsaved settings of another binding.
    let mut wrong = body.clone();
    wrong["auth"]["oauth2"]["client_secret"] = json!("wrong");
    let result = test_mail(&app, Some(&wrong)).await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["failure"]["stage"], "token");
    assert_eq!(result["failure"]["class"], "oauth_invalid_client_secret");
    assert_eq!(result["failure"]["field"], "auth.oauth2.client_secret");
    assert!(result["failure"]["hint_de"].as_str().unwrap().contains("geheime"));
    assert!(result["stages"].as_array().unwrap()[1..].iter().all(|s| s["status"] == "skipped"), "{result}");

    let metrics =
        app.anonymous().get(app.url("/metrics")).bearer_auth(&key).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("postamt_oauth_tokens_issued_total"), "{metrics}");
    assert!(
        metrics.contains("postamt_oauth_token_failures_total{class=\"oauth_invalid_client_secret\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_failures_name_their_class_field_and_hint() {
    let p = provider();
    let server = smtp("microsoft");
    let app = app_for(Backend::Sqlite, &p).await;
    let cases = [
        (json!({"tenant": "unknown.onmicrosoft.com"}), "oauth_tenant_not_found", "auth.oauth2.tenant"),
        (
            json!({"client_id": "ms-no-consent", "client_secret": "other-secret"}),
            "oauth_consent_missing",
            "auth.oauth2.client_id",
        ),
        (json!({"client_id": "nobody"}), "oauth_application_not_found", "auth.oauth2.client_id"),
    ];
    for (change, class, field) in cases {
        let mut oauth2 = client_credentials(Some(SECRET));
        for (k, v) in change.as_object().unwrap() {
            oauth2[k] = v.clone();
        }
        let result = test_mail(&app, Some(&settings(server.port, APP_MAILBOX, oauth2))).await;
        assert_eq!(
            (result["failure"]["class"].as_str(), result["failure"]["field"].as_str()),
            (Some(class), Some(field)),
            "{result}"
        );
        assert!(!result["failure"]["hint_en"].as_str().unwrap().is_empty());
    }
    // Google: the service account's key, impersonating a mailbox it may not.
    let key = p.file("sa.json");
    let google = |mailbox: &str| {
        settings(
            server.port,
            mailbox,
            json!({"provider": "google", "flow": "service_account", "service_account_key": key}),
        )
    };
    let result = test_mail(&app, Some(&google("stranger@example.com"))).await;
    assert_eq!(result["failure"]["class"], "oauth_service_account_rejected", "{result}");
    assert_eq!(result["failure"]["field"], "auth.username");

    // No secret, nothing stored: 422 naming the field; after saving, another app needs it again.
    let bad = app.put_settings(&settings(server.port, APP_MAILBOX, client_credentials(None)), None).await;
    assert_eq!(fields(&problem(bad).await), vec![("auth.oauth2.client_secret", "required")]);
    assert_eq!(
        app.put_settings(&settings(server.port, APP_MAILBOX, client_credentials(Some(SECRET))), None).await.status(),
        200
    );
    let mut other_app = client_credentials(None);
    other_app["client_id"] = json!("ms-no-consent");
    let again = app.put_settings(&settings(server.port, APP_MAILBOX, other_app), None).await;
    assert_eq!(fields(&problem(again).await), vec![("auth.oauth2.client_secret", "secret_required_again")]);
    // The same binding keeps the stored secret.
    assert_eq!(
        app.put_settings(&settings(server.port, APP_MAILBOX, client_credentials(None)), None).await.status(),
        200
    );
    // Unsaved settings may reuse the stored secret only for the same binding, like saving.
    let same = settings(server.port, APP_MAILBOX, client_credentials(None));
    assert_eq!(test_mail(&app, Some(&same)).await["ok"], true);
    let mut moved = same.clone();
    moved["auth"]["oauth2"]["client_id"] = json!("ms-no-consent");
    let refused = app
        .client
        .post(app.url("/api/v1/mail-settings/test"))
        .header(postamt_wire::CSRF_HEADER, app.csrf.clone().unwrap())
        .json(&json!({"recipient": "someone@example.org", "settings": moved}))
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&problem(refused).await), vec![("auth.oauth2.client_secret", "secret_required_again")]);
    // Flows the provider does not have.
    let mut wrong_flow = client_credentials(Some(SECRET));
    wrong_flow["flow"] = json!("service_account");
    let bad = app.put_settings(&settings(server.port, APP_MAILBOX, wrong_flow), None).await;
    assert_eq!(fields(&problem(bad).await), vec![("auth.oauth2.flow", "unsupported_flow")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_service_account_tests_and_delivers() {
    let p = provider();
    let server = smtp("google");
    let app = app_for(Backend::Sqlite, &p).await;
    let key = p.file("sa.json");
    let body = settings(
        server.port,
        "info@example.com",
        json!({"provider": "google", "flow": "service_account", "service_account_key": key}),
    );
    let saved = app.put_settings(&body, None).await;
    assert_eq!(saved.status(), 200);
    let view = json(saved).await;
    assert_eq!(view["auth"]["oauth2"]["service_account"], "mailer@proj.iam.gserviceaccount.com");
    assert!(!view.to_string().contains("PRIVATE KEY"));
    let result = test_mail(&app, None).await;
    assert_eq!(result["ok"], true, "{result}");
    let auth = server.events().into_iter().find(|e| e["event"] == "auth").unwrap();
    assert_eq!((auth["mechanism"].as_str(), auth["ok"].as_bool()), (Some("XOAUTH2"), Some(true)));
}

/// "Connect account" as the page does it: authorize, the provider's redirect, the callback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_server_refuses_is_replaced_once_and_the_mail_still_goes_out() {
    let p = provider();
    let server = smtp("microsoft");
    let app = app_for(Backend::Sqlite, &p).await;
    // Tokens die after 1 s although the provider says an hour: the cache keeps them.
    p.control("set", json!({"token_valid_seconds": 1}));
    let body = settings(server.port, APP_MAILBOX, client_credentials(Some(SECRET)));
    assert_eq!(app.put_settings(&body, None).await.status(), 200);
    assert_eq!(test_mail(&app, None).await["ok"], true);
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // The cached token is refused (535 5.7.3); a fresh one is fetched and the test passes.
    let result = test_mail(&app, None).await;
    assert_eq!(result["ok"], true, "{result}");
    let auths = |server: &SmtpServer| -> Vec<(bool, String)> {
        server
            .events()
            .into_iter()
            .filter(|e| e["event"] == "auth")
            .map(|e| (e["ok"].as_bool().unwrap(), e["reason"].as_str().unwrap_or("").to_owned()))
            .collect()
    };
    assert_eq!(auths(&server)[1..], [(false, "expired".to_owned()), (true, String::new())], "{:?}", auths(&server));
    assert_eq!(p.token_events().len(), 2);

    // Delivery does the same when it opens a session.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let key = app.create_api_key("finance", &Scope::ALL).await.secret;
    let mail = json!({"category": "finance", "to": ["x@example.org"], "subject": "Invoice", "text": "Hello"});
    let accepted: MessageAccepted = send(&app, &key, &mail, None).await.json().await.unwrap();
    let view = wait_for(&app, &key, &accepted.id, MessageStatus::Sent).await;
    assert_eq!(view.attempts.len(), 1, "the refused token must not cost the message an attempt");
    assert_eq!(auths(&server)[3..], [(false, "expired".to_owned()), (true, String::new())], "{:?}", auths(&server));
}
