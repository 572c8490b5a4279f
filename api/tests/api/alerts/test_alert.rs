//! `POST /api/v1/alerts/test`: a signed test to the webhook at once, a test mail through the
//! outbox, 409 without a channel.

use super::*;
use crate::helpers::problem;
use crate::smtp_server::SmtpServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_alert_reaches_every_channel() {
    let receiver = Receiver::start(&[]);
    let server = SmtpServer::start(&[]);
    let app = alert_app(Backend::Sqlite, |_| {}).await;
    assert_eq!(app.put_settings(&crate::messages::settings_for(server.port), None).await.status(), 200);
    let test = |app: &TestApp| {
        app.client.post(app.url("/api/v1/alerts/test")).header(CSRF_HEADER, app.csrf.clone().unwrap()).send()
    };
    let refused = test(&app).await.unwrap();
    assert_eq!(problem(refused).await.status, 409);

    let body = alert_settings(Some(&receiver.url), Some(&["ops@example.org", "oncall@example.org"]), "none");
    assert_eq!(put_alert_settings(&app, &body, None).await.status(), 200);
    let result = json(test(&app).await.unwrap()).await;
    let results = result["results"].as_array().unwrap();
    assert_eq!(results[0]["channel"], "webhook");
    assert_eq!((results[0]["ok"].as_bool(), results[0]["status"].as_u64()), (Some(true), Some(200)), "{result}");
    assert_eq!((results[1]["channel"].as_str(), results[1]["ok"].as_bool()), (Some("email"), Some(true)), "{result}");
    // The webhook got it before the answer, signed.
    let got = receiver.events("test");
    assert_eq!(got.len(), 1);
    got[0].assert_signed_with(WEBHOOK_SECRET);
    assert!(got[0].json()["text"].as_str().unwrap().contains("test alert"), "{:?}", got[0].json());
    // The mail arrives at the SMTP server, to both admins.
    let started = Instant::now();
    while alert_mails(&server, "test").is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "no test mail: {:?}", server.deliveries());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = &alert_mails(&server, "test")[0];
    assert_eq!(mail["rcpt_tos"], json!(["ops@example.org", "oncall@example.org"]));

    // A receiver that fails is reported, with its status.
    let failing = Receiver::start(&[503]);
    let body = json!({"webhook": {"url": failing.url, "secret": WEBHOOK_SECRET}});
    assert_eq!(put_alert_settings(&app, &body, None).await.status(), 200);
    let result = json(test(&app).await.unwrap()).await;
    let outcome = &result["results"][0];
    assert_eq!((outcome["ok"].as_bool(), outcome["status"].as_u64()), (Some(false), Some(503)), "{result}");
    assert!(outcome["error"].as_str().unwrap().contains("503"), "{result}");
}
