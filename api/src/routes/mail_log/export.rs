//! The full mail log as a download, streamed in batches so that a million rows need no
//! more memory than ten.

use super::timestamp;
use crate::auth::{scopes, Authorized};
use crate::db;
use crate::domain::Violations;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use futures_util::stream;
use postamt_wire::{MailLogEntry, Problem};
use serde::Deserialize;

/// Rows read from the database per step.
const BATCH: i64 = 5000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `ndjson`.
    format: Option<String>,
    /// Entries at or after this time (RFC 3339).
    from: Option<String>,
    /// Entries before this time (RFC 3339).
    to: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Ndjson,
}

/// Download the mail log, oldest first, as CSV (UTF-8 with BOM, safe to open in
/// spreadsheet programs) or as NDJSON (one `MailLogEntry` per line).
#[utoipa::path(
    tag = "mail-log",
    params(ExportQuery),
    responses(
        (status = 200, description = "The log as an attachment", content_type = "text/csv", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["log:read"]), ("session_cookie" = []))
)]
#[get("/api/v1/mail-log/export")]
pub async fn export_mail_log(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::LogRead>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let mut v = Violations::default();
    let format = match q.format.as_deref() {
        None | Some("") | Some("csv") => Format::Csv,
        Some("ndjson") => Format::Ndjson,
        Some(_) => {
            v.add("format", "invalid_value", "must be csv or ndjson");
            Format::Csv
        }
    };
    let from = timestamp(&mut v, "from", q.from.as_deref());
    let to = timestamp(&mut v, "to", q.to.as_deref());
    v.into_result()?;

    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    let filename = format!("mail-log-{}.{extension}", chrono::Utc::now().format("%Y-%m-%d"));
    let head = match format {
        Format::Csv => web::Bytes::from(format!("\u{feff}{}\r\n", CSV_HEADER.join(","))),
        Format::Ndjson => web::Bytes::new(),
    };
    // State: (db, last id sent, finished). Each step loads one batch and renders it.
    let db = state.db.clone();
    let rows = stream::unfold((db, 0i64, false), move |(db, after, done)| async move {
        if done {
            return None;
        }
        let batch = db.run(move |conn| db::mail_log::export_batch(conn, from, to, after, BATCH)).await;
        match batch {
            Ok(entries) if entries.is_empty() => None,
            Ok(entries) => {
                let last = entries.last().map_or(after, |e| e.id);
                let finished = i64::try_from(entries.len()).unwrap_or(0) < BATCH;
                let bytes = render(format, &entries);
                Some((Ok::<_, actix_web::Error>(bytes), (db, last, finished)))
            }
            Err(e) => {
                // Headers are sent already: end the download short; the log has the cause.
                tracing::error!(error = format!("{e:#}"), "mail log export failed");
                Some((Err(actix_web::error::ErrorInternalServerError("export failed")), (db, after, true)))
            }
        }
    });
    let body = stream::once(async move { Ok::<_, actix_web::Error>(head) });
    use futures_util::StreamExt;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body.chain(rows)))
}

const CSV_HEADER: [&str; 17] = [
    "id",
    "at",
    "kind",
    "message_id",
    "category",
    "status",
    "recipients",
    "sender",
    "attempt",
    "stage",
    "class",
    "field",
    "smtp_reply",
    "server",
    "duration_ms",
    "hint_en",
    "hint_de",
];

fn render(format: Format, entries: &[MailLogEntry]) -> web::Bytes {
    let mut out = Vec::with_capacity(entries.len() * 256);
    for e in entries {
        match format {
            Format::Ndjson => {
                if serde_json::to_writer(&mut out, e).is_ok() {
                    out.push(b'\n');
                }
            }
            Format::Csv => csv_row(&mut out, e),
        }
    }
    web::Bytes::from(out)
}

fn csv_row(out: &mut Vec<u8>, e: &MailLogEntry) {
    let opt = |o: Option<&str>| o.unwrap_or("").to_owned();
    let cells: [String; 17] = [
        e.id.to_string(),
        e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        db::mail_log::enum_str(e.kind),
        opt(e.message_id.as_deref()),
        e.category.clone(),
        e.status.as_str().to_owned(),
        e.recipients.join(" "),
        e.sender.clone(),
        e.attempt.map(|a| a.to_string()).unwrap_or_default(),
        opt(e.stage.map(|s| s.as_str())),
        opt(e.class.map(|c| c.as_str())),
        opt(e.field.map(|f| f.as_str())),
        opt(e.smtp_reply.as_deref()),
        opt(e.server.as_deref()),
        e.duration_ms.to_string(),
        opt(e.hint_en.as_deref()),
        opt(e.hint_de.as_deref()),
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_cell(out, cell);
    }
    out.extend_from_slice(b"\r\n");
}

/// RFC 4180 quoting, and a leading `'` before anything a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@`, tab, CR): server replies and names come from outside.
fn csv_cell(out: &mut Vec<u8>, cell: &str) {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || cell.contains([',', '"', '\r', '\n']);
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for b in cell.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    if quote {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(s: &str) -> String {
        let mut out = Vec::new();
        csv_cell(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("-1+2"), "\"'-1+2\"");
    }
}
