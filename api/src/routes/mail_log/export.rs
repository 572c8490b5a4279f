//! The full mail log as a download, streamed in batches so that a million rows need no
//! more memory than ten.

use super::{csv, gzip_stream, timestamp};
use crate::auth::{scopes, Authorized};
use crate::content_coding::{self, Coding};
use crate::db;
use crate::db::mail_log::Row;
use crate::domain::Violations;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use futures_util::stream;
use futures_util::StreamExt;
use postamt_wire::Problem;
use serde::Deserialize;

/// Ids per slice read from the database.
const SLICE: i64 = 5000;
/// Slices read and rendered at once, ahead of the client.
const AHEAD: usize = 2;

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
/// spreadsheet programs) or as NDJSON (one `MailLogEntry` per line). Sent gzip-compressed
/// (`Content-Encoding: gzip`) when the request's `Accept-Encoding` allows it.
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
    req: HttpRequest,
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
        Format::Csv => web::Bytes::from(format!("\u{feff}{}\r\n", csv::HEADER.join(","))),
        Format::Ndjson => web::Bytes::new(),
    };
    let gzip = content_coding::negotiate(req.headers(), &[Coding::Gzip]) == Coding::Gzip;
    let chunks = produce(state.db.clone(), format, from, to, gzip);
    let mut response = HttpResponse::Ok();
    response
        .content_type(content_type)
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Vary", "Accept-Encoding"));
    if !gzip {
        let plain = chunks.map(|chunk| chunk.map(Encoded::into_plain));
        return Ok(response.streaming(stream::once(async move { Ok::<_, actix_web::Error>(head) }).chain(plain)));
    }
    // One gzip member: header, the pieces in order, then the trailer summed up on the way.
    let head = gzip_stream::compress(&head).map_err(|e| ApiError::Internal(e.into()))?;
    let trailer = std::sync::Arc::new(std::sync::Mutex::new(gzip_stream::Trailer::default()));
    let sums = trailer.clone();
    let pieces = stream::once(async move { Ok(Encoded::Gzip(head)) }).chain(chunks).map(move |chunk| {
        chunk.map(|encoded| match encoded {
            Encoded::Gzip(piece) => {
                sums.lock().unwrap_or_else(|e| e.into_inner()).add(&piece);
                web::Bytes::from(piece.deflate)
            }
            Encoded::Plain(bytes) => bytes,
        })
    });
    let end = stream::once(async move {
        let trailer = std::mem::take(&mut *trailer.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(web::Bytes::from(trailer.finish()))
    });
    let header = stream::once(async { Ok::<_, actix_web::Error>(web::Bytes::from_static(&gzip_stream::HEADER)) });
    Ok(response.insert_header(("Content-Encoding", "gzip")).streaming(header.chain(pieces).chain(end)))
}

/// A slice as it leaves the blocking thread: plain, or already compressed there.
enum Encoded {
    Plain(web::Bytes),
    Gzip(gzip_stream::Piece),
}

impl Encoded {
    fn new(rendered: Vec<u8>, gzip: bool) -> anyhow::Result<Encoded> {
        Ok(if gzip && !rendered.is_empty() {
            Encoded::Gzip(gzip_stream::compress(&rendered)?)
        } else {
            Encoded::Plain(rendered.into())
        })
    }

    fn into_plain(self) -> web::Bytes {
        match self {
            Encoded::Plain(bytes) => bytes,
            // Not made without gzip.
            Encoded::Gzip(piece) => piece.deflate.into(),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Encoded::Plain(bytes) if bytes.is_empty())
    }
}

/// The log as of the request, in id ranges of `SLICE`, read and rendered `AHEAD` at a time
/// on blocking threads and sent in order. Two slices in flight keep both cores busy (one
/// reads while the other renders); the ranges bound the memory, a client that stops
/// reading stops the reading, and a database connection is held only while a slice loads.
/// Ranges rather than "the next N after the last id" so that slices can be read side by
/// side. An id gap (retention) costs one index probe; with `from`/`to`, the rows outside the
/// time range are still read by primary key and dropped, so a narrow range of a big log
/// costs about what the whole log does.
fn produce(
    db: db::Db,
    format: Format,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    gzip: bool,
) -> impl futures_util::Stream<Item = Result<Encoded, actix_web::Error>> {
    let span = {
        let db = db.clone();
        async move { db.run(db::mail_log::id_span).await }
    };
    stream::once(span)
        .map(move |span| {
            // An empty log (or a failed lookup) gives the empty range 1..=0.
            let (low, high) = span.as_ref().ok().copied().flatten().unwrap_or((1, 0));
            let ranges = (low..=high).step_by(SLICE as usize).map(|start| start..start.saturating_add(SLICE));
            let span_error = span.err().map(|e| Err(failed(e)));
            let db = db.clone();
            let slices = stream::iter(ranges)
                .map(move |ids| {
                    let db = db.clone();
                    async move {
                        db.run(move |conn| {
                            Encoded::new(render(format, db::mail_log::export_range(conn, from, to, ids)?), gzip)
                        })
                        .await
                        .map_err(failed)
                    }
                })
                .buffered(AHEAD);
            stream::iter(span_error).chain(slices)
        })
        .flatten()
        // Headers are sent already: an error ends the download short; the log has the cause.
        .scan(false, |broken, chunk| {
            if *broken {
                return std::future::ready(None);
            }
            *broken = chunk.is_err();
            std::future::ready(Some(chunk))
        })
        .filter(|chunk| std::future::ready(!matches!(chunk, Ok(encoded) if encoded.is_empty())))
}

fn failed(e: anyhow::Error) -> actix_web::Error {
    tracing::error!(error = format!("{e:#}"), "mail log export failed");
    actix_web::error::ErrorInternalServerError("export failed")
}

fn render(format: Format, rows: Vec<Row>) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 200);
    let mut csv = csv::Rows::default();
    for r in rows {
        match format {
            Format::Csv => csv.row(&mut out, &r),
            Format::Ndjson => {
                if serde_json::to_writer(&mut out, &r.into_wire()).is_ok() {
                    out.push(b'\n');
                }
            }
        }
    }
    out
}
