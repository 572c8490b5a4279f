//! Issue 16's "done when", tried as a new user would, against the real binary, real SMTP
//! servers and a real webhook receiver: the Microsoft 365 preset, 200 invoices and a one-time
//! password. The password arrives at once, the invoices are metered out at 30 a minute, none
//! fails; closing the primary's port moves delivery to the fallback server and sends one
//! signed alert to the webhook, and reopening it sends the resolution.

use postamt_e2e::webhook::Receiver;
use postamt_e2e::{wait_for, Api, Auth, Launch, SmtpServer};
use postamt_wire::{MessageAccepted, MessageView, Scope, SendingLimits};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PASSWORD: &str = "degraded-admin-password";
const WEBHOOK_SECRET: &str = "whsec-degraded-0123456789";

fn settings(primary: u16, fallback: u16) -> Value {
    json!({
        "host": "127.0.0.1", "port": primary, "encryption": "none",
        "sender_name": "TEAMBOX", "sender_address": "teambox@example.org",
        "auth": { "enabled": false }, "force_default_sender": true, "timeout_seconds": 5,
        "limits": serde_json::to_value(SendingLimits::microsoft_365()).unwrap(),
        "fallback": { "host": "127.0.0.1", "port": fallback, "encryption": "none" }
    })
}

fn post(api: &Api, key: &str, body: &Value) -> String {
    let reply = api.post_json("/api/v1/messages", Auth::Bearer(key), body);
    reply.expect(202);
    reply.json::<MessageAccepted>().id
}

fn invoice(n: usize) -> Value {
    json!({ "category": "finance", "to": [format!("kunde{n}@example.com")], "subject": format!("Rechnung {n}"), "text": "Anbei." })
}

/// When each message arrived at `server`, seconds since the epoch.
fn arrival_times(server: &SmtpServer) -> Vec<f64> {
    server.deliveries().iter().filter_map(|d| d["at"].as_f64()).collect()
}

fn busiest_minute(mut times: Vec<f64>) -> usize {
    times.sort_by(f64::total_cmp);
    let (mut most, mut first) = (0, 0);
    for last in 0..times.len() {
        while times[last] - times[first] >= 60.0 {
            first += 1;
        }
        most = most.max(last - first + 1);
    }
    most
}

#[test]
fn the_microsoft_365_preset_meters_invoices_lets_an_otp_through_and_fails_over_with_one_alert() {
    let primary = SmtpServer::start(&[]);
    let primary_port = primary.port;
    let fallback = SmtpServer::start(&[]);
    let receiver = Receiver::start(&[]);
    let dir = tempfile::tempdir().expect("data dir");
    let launch = Launch::new(dir.path())
        .admin_password(PASSWORD)
        .arg("--alert-check-seconds")
        .arg("1")
        .arg("--primary-retry-seconds")
        .arg("2");
    let server = launch.start();
    let api = server.api();
    let session = api.sign_in(PASSWORD);
    api.put_json("/api/v1/mail-settings", Auth::Session(&session), None, &settings(primary_port, fallback.port))
        .expect(200);
    // A new user's alert settings: a webhook, every condition at its defaults.
    let alerts = json!({ "webhook": { "url": receiver.url, "secret": WEBHOOK_SECRET } });
    api.put_json("/api/v1/alert-settings", Auth::Session(&session), None, &alerts).expect(200);
    let key = api.create_api_key(&session, "erp", &[Scope::MailSend, Scope::LogRead]).secret;

    let started = Instant::now();
    let invoices: Vec<String> = (0..200).map(|n| post(&api, &key, &invoice(n))).collect();
    let otp_posted = Instant::now();
    let otp = post(
        &api,
        &key,
        &json!({ "category": "otp", "to": ["erika@example.org"], "subject": "Ihr Code", "text": "481516" }),
    );
    let view: MessageView = wait_for(Duration::from_secs(10), "the OTP is sent", || {
        let view: MessageView = api.get(&format!("/api/v1/messages/{otp}"), Auth::Bearer(&key)).expect(200).json();
        (view.status == postamt_wire::MessageStatus::Sent).then_some(view)
    });
    assert!(otp_posted.elapsed() < Duration::from_secs(6), "the OTP waited {:?}", otp_posted.elapsed());
    assert_eq!(view.priority, postamt_wire::Priority::High);

    // Metered: about one every two seconds at the primary.
    std::thread::sleep(Duration::from_secs(20).saturating_sub(started.elapsed()));
    let at_primary = primary.deliveries().len();
    assert!((6..=13).contains(&at_primary), "{at_primary} messages at the primary after 20 s (30 a minute)");

    // The primary's port closes: delivery moves to the fallback, one alert fires.
    let mut times = arrival_times(&primary);
    drop(primary);
    let firing = receiver.wait_delivered_blocking("firing", 1, Duration::from_secs(30));
    let body = firing[0].json();
    assert_eq!(body["condition"], "fallback_in_use", "{body}");
    firing[0].assert_signed_with(WEBHOOK_SECRET);
    wait_for(Duration::from_secs(20), "messages at the fallback", || (fallback.deliveries().len() >= 3).then_some(()));

    // The primary is back on its port: delivery returns to it, the incident resolves.
    let primary = SmtpServer::start_on(primary_port, &[]);
    wait_for(Duration::from_secs(60), "messages at the primary again", || {
        (!primary.deliveries().is_empty()).then_some(())
    });
    receiver.wait_delivered_blocking("resolved", 1, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(receiver.delivered("firing").len(), 1, "one alert per incident: {:?}", receiver.received());
    assert_eq!(receiver.delivered("resolved").len(), 1);

    // Over a little more than a minute, at all servers together: 30 in the busiest minute,
    // never more.
    std::thread::sleep(Duration::from_secs(66).saturating_sub(started.elapsed()));
    times.extend(arrival_times(&fallback));
    times.extend(arrival_times(&primary));
    let busiest = busiest_minute(times.clone());
    assert!(busiest <= 30, "{busiest} messages within 60 s (limit 30)");
    assert!(busiest >= 27, "only {busiest} messages in the busiest minute: metered below 30 a minute");
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    assert!(times.len() as f64 >= 20.0 * minutes, "{} messages in {minutes:.1} min: metered too slowly", times.len());
    // None failed; the rest wait their turn.
    for id in invoices.iter().step_by(7) {
        let view: Value = api.get(&format!("/api/v1/messages/{id}"), Auth::Bearer(&key)).expect(200).json();
        assert_ne!(view["status"], "failed", "{view}");
    }
    // The status names the connection that delivered.
    let at_fallback = fallback.deliveries();
    let subject =
        at_fallback[0]["content"].as_str().unwrap().lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap();
    let n: usize = subject.trim_start_matches("Rechnung ").trim().parse().unwrap();
    let view: Value = api.get(&format!("/api/v1/messages/{}", invoices[n]), Auth::Bearer(&key)).expect(200).json();
    assert_eq!(view["delivered_via"], "fallback", "{view}");
    drop(server);
}
