use crate::helpers::Backend;
use crate::messages::{app_sending_to, invoice, send, wait_for};
use crate::smtp_server::SmtpServer;
use postamt_wire::{LogKind, MailLogEntry, MailLogPage, MessageAccepted, MessageStatus};
use serde_json::json;

#[tokio::test]
async fn the_log_pages_filters_and_exports_without_bodies() {
    let server = SmtpServer::start(&[]);
    let (app, key) = app_sending_to(Backend::Sqlite, &server).await;
    let mut ids = Vec::new();
    for (i, category) in ["finance", "calendar", "otp"].iter().enumerate() {
        let mut body = invoice();
        body["category"] = json!(category);
        body["to"] = json!([format!("person{i}@example.com")]);
        body["subject"] = json!("Ihr Code: 918273");
        body["text"] = json!("Code 918273");
        let accepted: MessageAccepted = send(&app, &key, &body, None).await.json().await.unwrap();
        ids.push(accepted.id);
    }
    for id in &ids {
        wait_for(&app, &key, id, MessageStatus::Sent).await;
    }
    let get = |path: String| {
        let request = app.anonymous().get(app.url(&path)).bearer_auth(&key);
        async move { request.send().await.unwrap() }
    };

    let page: MailLogPage = get("/api/v1/mail-log?limit=2".into()).await.json().await.unwrap();
    assert_eq!(page.entries.len(), 2);
    let cursor = page.next_cursor.clone().expect("more pages");
    let rest: MailLogPage = get(format!("/api/v1/mail-log?limit=2&cursor={cursor}")).await.json().await.unwrap();
    assert_eq!(rest.entries.len(), 1);
    assert!(rest.next_cursor.is_none());
    assert!(page.entries[0].id > page.entries[1].id && page.entries[1].id > rest.entries[0].id, "newest first");

    let otp: MailLogPage = get("/api/v1/mail-log?category=otp".into()).await.json().await.unwrap();
    assert_eq!(otp.entries.len(), 1);
    assert_eq!(otp.entries[0].kind, LogKind::Delivery);
    let person: MailLogPage = get("/api/v1/mail-log?recipient=PERSON1@example.com".into()).await.json().await.unwrap();
    assert_eq!(person.entries.len(), 1);
    assert_eq!(person.entries[0].category, "calendar");
    let failed: MailLogPage = get("/api/v1/mail-log?status=failed".into()).await.json().await.unwrap();
    assert!(failed.entries.is_empty());
    let bad = get("/api/v1/mail-log?status=lost&from=yesterday".into()).await;
    assert_eq!(bad.status(), 422);

    let csv = get("/api/v1/mail-log/export?format=csv".into()).await;
    assert_eq!(csv.status(), 200);
    let disposition = csv.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"mail-log-") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("\u{feff}id,at,kind,"), "BOM and header");
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(!text.contains("918273"), "no subject or body in the export");

    let ndjson = get("/api/v1/mail-log/export?format=ndjson".into()).await.text().await.unwrap();
    let entries: Vec<MailLogEntry> = ndjson.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), 3);
    assert!(entries[0].id < entries[2].id, "oldest first");

    let metrics = get("/metrics".into()).await.text().await.unwrap();
    assert!(metrics.contains("postamt_messages_accepted_total 3"), "{metrics}");
    assert!(metrics.contains("postamt_messages_sent_total{connection=\"primary\"} 3"), "{metrics}");
    assert!(metrics.contains("postamt_outbox_depth 0"));
    assert!(metrics.contains("postamt_delivery_latency_seconds_count 3"));
}

/// 12,000 delivered rows written with SQL: three slices of the export.
fn fill_log(app: &crate::helpers::TestApp) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn =
        diesel::SqliteConnection::establish(app.data_dir.path().join("postamt.sqlite3").to_str().unwrap()).unwrap();
    diesel::sql_query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) \
         INSERT INTO mail_log (at, kind, category, status, recipients, sender, duration_ms, details) \
         SELECT '2026-11-27 10:00:00', 'delivery', 'bulk', 'sent', 'a@example.org', 'b@example.org', 5, '{}' FROM n",
    )
    .execute(&mut conn)
    .unwrap();
}

#[tokio::test]
async fn a_large_export_streams_in_batches_instead_of_one_buffer() {
    let server = SmtpServer::start(&[]);
    let (app, key) = app_sending_to(Backend::Sqlite, &server).await;
    fill_log(&app);
    let response =
        app.anonymous().get(app.url("/api/v1/mail-log/export?format=ndjson")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // Streamed: no length known up front, the body arrives in chunks.
    assert!(response.content_length().is_none(), "the export was buffered whole");
    let text = response.text().await.unwrap();
    assert_eq!(text.lines().count(), 12000);
    let last: MailLogEntry = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last.category, "bulk");
}

#[tokio::test]
async fn the_export_is_gzipped_as_a_stream_when_the_client_accepts_it() {
    use std::io::Read;
    let server = SmtpServer::start(&[]);
    let (app, key) = app_sending_to(Backend::Sqlite, &server).await;
    fill_log(&app);
    let export = |accept: Option<&'static str>| {
        let mut request = app.anonymous().get(app.url("/api/v1/mail-log/export?format=csv")).bearer_auth(&key);
        if let Some(accept) = accept {
            request = request.header("Accept-Encoding", accept);
        }
        async move { request.send().await.unwrap() }
    };

    let plain = export(None).await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    let refused = export(Some("gzip;q=0, br")).await;
    assert!(refused.headers().get("content-encoding").is_none(), "gzip;q=0 refuses gzip");
    assert_eq!(refused.bytes().await.unwrap(), plain);

    let zipped = export(Some("gzip, deflate, br")).await;
    assert_eq!(zipped.status(), 200);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "Accept-Encoding");
    assert!(zipped.content_length().is_none(), "streamed, not buffered whole");
    let zipped = zipped.bytes().await.unwrap();
    assert!(zipped.len() * 5 < plain.len(), "{} bytes gzipped of {} plain", zipped.len(), plain.len());
    // One gzip member (GzDecoder reads only the first), byte for byte the plain CSV.
    let mut unzipped = vec![];
    flate2::read::GzDecoder::new(&zipped[..]).read_to_end(&mut unzipped).expect("valid gzip");
    assert_eq!(unzipped.len(), plain.len());
    assert!(unzipped == plain, "the gzipped export differs from the plain one");
    assert_eq!(String::from_utf8(unzipped).unwrap().lines().count(), 12001, "header and 12,000 rows");
}
