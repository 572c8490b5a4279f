//! The other conditions end to end: failed attempts above the threshold, and an OAuth
//! grant revoked at the provider; each opens one incident and resolves it.

use super::*;
use crate::both_backends;
use crate::messages::{invoice, send, settings_for};
use crate::oauth::{connect_account, delegated, provider, smtp, wait_connection};
use postamt_wire::Scope;

both_backends!(
    failures_above_the_count_open_an_incident,
    a_revoked_oauth_grant_raises_one_alert_and_one_resolution,
    a_used_up_daily_limit_raises_one_alert_and_one_resolution,
);

async fn a_used_up_daily_limit_raises_one_alert_and_one_resolution(backend: Backend) {
    let receiver = Receiver::start(&[]);
    let server = crate::smtp_server::SmtpServer::start(&[]);
    let app = alert_app(backend, |_| {}).await;
    let mut settings = settings_for(server.port);
    settings["limits"] = serde_json::json!({ "messages_per_day": 1 });
    assert_eq!(app.put_settings(&settings, None).await.status(), 200);
    let alerts = alert_settings(Some(&receiver.url), None, "daily_quota");
    assert_eq!(put_alert_settings(&app, &alerts, None).await.status(), 200);
    let key = app.create_api_key("finance", &Scope::ALL).await.secret;
    for _ in 0..2 {
        assert_eq!(send(&app, &key, &invoice(), None).await.status(), 202);
    }
    let firing = receiver.wait_delivered("firing", 1, Duration::from_secs(20)).await;
    let body = firing[0].json();
    assert_eq!(body["condition"], "daily_quota");
    assert!(body["detail"].as_str().unwrap().contains("messages_per_day"), "{body}");
    firing[0].assert_signed_with(WEBHOOK_SECRET);
    assert_eq!(server.deliveries().len(), 1);

    // A higher limit: the second message goes, the incident resolves, once.
    let saved: serde_json::Value = app.get_settings().await.json().await.unwrap();
    settings["limits"] = serde_json::json!({ "messages_per_day": 5 });
    let etag = format!("\"{}\"", saved["version"]);
    assert_eq!(app.put_settings(&settings, Some(&etag)).await.status(), 200);
    receiver.wait_delivered("resolved", 1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!((receiver.events("firing").len(), receiver.events("resolved").len()), (1, 1));
    assert_eq!(server.deliveries().len(), 2);
}

async fn failures_above_the_count_open_an_incident(backend: Backend) {
    let receiver = Receiver::start(&[]);
    // Nothing listens there: every attempt fails at once, and for good (one attempt each).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = alert_app(backend, |c| c.max_attempts = 1).await;
    assert_eq!(app.put_settings(&settings_for(port), None).await.status(), 200);
    // count 3, ratio 1.0, window 1 minute.
    assert_eq!(
        put_alert_settings(&app, &alert_settings(Some(&receiver.url), None, "failures"), None).await.status(),
        200
    );
    let key = app.create_api_key("finance", &Scope::ALL).await.secret;
    // One failed attempt of one: below the count, and too few attempts for the ratio (2).
    assert_eq!(send(&app, &key, &invoice(), None).await.status(), 202);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(receiver.received().is_empty(), "1 failure is below the thresholds: {:?}", receiver.received());
    for _ in 0..2 {
        assert_eq!(send(&app, &key, &invoice(), None).await.status(), 202);
    }
    let firing = receiver.wait_delivered("firing", 1, Duration::from_secs(20)).await;
    let body = firing[0].json();
    assert_eq!(body["condition"], "failures");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        ["2 of 2", "3 of 3"].iter().any(|n| detail.starts_with(&format!("{n} delivery attempts failed"))),
        "{body}"
    );
    firing[0].assert_signed_with(WEBHOOK_SECRET);

    // The failures leave the window: resolved, once.
    {
        use postamt::db::schema::mail_log::dsl as l;
        let mut conn = database(&app);
        let rows: Vec<(i64, chrono::NaiveDateTime)> = l::mail_log.select((l::id, l::at)).load(&mut conn).unwrap();
        for (id, at) in rows {
            diesel::update(l::mail_log.filter(l::id.eq(id)))
                .set(l::at.eq(at - chrono::Duration::minutes(5)))
                .execute(&mut conn)
                .unwrap();
        }
    }
    receiver.wait_delivered("resolved", 1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!((receiver.events("firing").len(), receiver.events("resolved").len()), (1, 1));
    let listed = incidents(&app).await;
    assert_eq!((listed.len(), listed[0]["state"].as_str()), (1, Some("resolved")), "{listed:?}");
}

async fn a_revoked_oauth_grant_raises_one_alert_and_one_resolution(backend: Backend) {
    revoked_grant(backend, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_send_one_oauth_alert_and_one_resolution() {
    revoked_grant(Backend::Postgres, true).await;
}

async fn revoked_grant(backend: Backend, two_instances: bool) {
    let receiver = Receiver::start(&[]);
    let p = provider();
    let server = smtp("microsoft");
    let base = p.base();
    let oauth = |c: &mut postamt::config::Config| {
        c.oauth_microsoft_authority = base.clone();
        c.oauth_check_seconds = 1;
    };
    let app = alert_app(backend, oauth).await;
    assert_eq!(app.put_settings(&delegated(server.port), None).await.status(), 200);
    let _sibling = match two_instances {
        true => Some(
            crate::helpers::spawn_sibling(&app, |c| {
                oauth(c);
                c.alert_check_seconds = 1;
                c.secret_key = Some(SecretString::from(SECRET_KEY.to_owned()));
            })
            .await,
        ),
        false => None,
    };
    assert_eq!(put_alert_settings(&app, &alert_settings(Some(&receiver.url), None, "oauth"), None).await.status(), 200);
    // Not connected yet is no incident: nothing failed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    connect_account(&app).await;
    wait_connection(&app, "ok", |c| c["status"] == "ok").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());

    // The admin revokes the grant at the provider: the next connection check fails.
    assert!(p.control("revoke", json!({"user": "erika@contoso.example"}))["revoked"].as_u64().unwrap() >= 1);
    let firing = receiver.wait_delivered("firing", 1, Duration::from_secs(20)).await;
    let body = firing[0].json();
    assert_eq!(body["condition"], "oauth");
    assert!(body["detail"].as_str().unwrap().contains("oauth_refresh_token_invalid"), "{body}");
    firing[0].assert_signed_with(WEBHOOK_SECRET);

    // Signed in again: resolved once.
    connect_account(&app).await;
    receiver.wait_delivered("resolved", 1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        (receiver.events("firing").len(), receiver.events("resolved").len()),
        (1, 1),
        "{:?}",
        receiver.received()
    );
}
