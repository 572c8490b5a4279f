//! The one client of Postamt's REST API (same origin, cookie session).
//!
//! Keeps the session's CSRF token in memory and sends it on every POST, PUT and DELETE;
//! tells network failures (no answer) apart from API errors (an answer with a problem body);
//! and reports any 401 on a signed-in request to the handler set with [`on_unauthorized`].

use std::cell::RefCell;
use std::rc::Rc;

use crate::json::{self, FromJs, ToJs};
use postamt_wire::{
    problem_types, EffectiveSender, MailErrors, MailSettings, MailSettingsInput, MailTestRequest, MailTestResult,
    OAuthAuthorization, OAuthAuthorizeRequest, Problem, SenderPreviewRequest, SendingUsage, SessionCreate, SessionInfo,
    SettingsHistory, CSRF_HEADER,
};
#[cfg(feature = "alerts")]
use postamt_wire::{AlertList, AlertSettings, AlertSettingsInput, AlertTestResult};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, Request, RequestCache, RequestCredentials, RequestInit, Response};

/// Relative, so the page also works when served below a path prefix.
const BASE: &str = "api/v1";
/// No request may keep the page waiting longer than this.
const TIMEOUT_MS: u32 = 30_000;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No answer from the server: offline, connection refused, timed out.
    Network(String),
    /// The server answered with an error and a problem document.
    Api {
        problem: Problem,
        /// Seconds from `Retry-After` (429).
        retry_after: Option<u64>,
    },
    /// An answer that is not what the API sends (e.g. an HTML error page from a proxy, or a body
    /// that does not decode).
    Unexpected { status: u16, detail: String },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Network(_) => None,
            ApiError::Api { problem, .. } => Some(problem.status),
            ApiError::Unexpected { status, .. } => Some(*status),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Saved settings with the `ETag` to send back as `If-Match`.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    pub settings: MailSettings,
    pub etag: String,
}

thread_local! {
    static CSRF_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    static UNAUTHORIZED_HANDLER: RefCell<Option<Rc<dyn Fn()>>> = const { RefCell::new(None) };
}

/// Called whenever a signed-in request answers 401 (session expired or signed out elsewhere).
pub fn on_unauthorized(handler: impl Fn() + 'static) {
    UNAUTHORIZED_HANDLER.with(|h| *h.borrow_mut() = Some(Rc::new(handler)));
}

fn set_csrf(token: Option<String>) {
    CSRF_TOKEN.with(|t| *t.borrow_mut() = token);
}

/// Forgets the session's CSRF token (after sign-out or a 401).
pub fn forget_session() {
    set_csrf(None);
}

/// Who is signed in; `Err` with status 401 when nobody is. Remembers the CSRF token.
pub async fn session_get() -> ApiResult<SessionInfo> {
    let reply = send(Method::Get, "session", None, None, Probe::Session).await?;
    let info: SessionInfo = reply.json()?;
    set_csrf(Some(info.csrf_token.clone()));
    Ok(info)
}

/// Signs in with the admin password (401 wrong password, 429 throttled).
pub async fn session_create(password: String) -> ApiResult<SessionInfo> {
    let body = encode(&SessionCreate { password })?;
    let reply = send(Method::Post, "session", Some(body), None, Probe::Session).await?;
    let info: SessionInfo = reply.json()?;
    set_csrf(Some(info.csrf_token.clone()));
    Ok(info)
}

/// Signs out. The token is forgotten also when the session was already gone (401).
pub async fn session_delete() -> ApiResult<()> {
    let result = send(Method::Delete, "session", None, None, Probe::Session).await;
    match result {
        Ok(_) => {
            forget_session();
            Ok(())
        }
        Err(e) if e.status() == Some(401) => {
            forget_session();
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The saved settings, or `None` when mail is not configured yet.
pub async fn settings_get() -> ApiResult<Option<Versioned>> {
    match send(Method::Get, "mail-settings", None, None, Probe::No).await {
        Ok(reply) => reply.versioned().map(Some),
        Err(ApiError::Api { problem, .. })
            if problem.status == 404 && problem.problem_type == problem_types::NOT_CONFIGURED =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Saves the settings. `if_match` is the `ETag` of the settings being edited (`None` when
/// creating them); a stale one gets 412 and changes nothing.
pub async fn settings_put(input: &MailSettingsInput, if_match: Option<&str>) -> ApiResult<Versioned> {
    let body = encode(input)?;
    send(Method::Put, "mail-settings", Some(body), if_match, Probe::No).await?.versioned()
}

/// Removes the settings (mail is "not configured" afterwards).
pub async fn settings_delete(if_match: &str) -> ApiResult<()> {
    send(Method::Delete, "mail-settings", None, Some(if_match), Probe::No).await.map(|_| ())
}

/// Starts "Connect account" with the saved settings: where to send the browser. The provider
/// sends it back to `return_to` (a path of this site) with `?oauth=connected` or `?oauth_error=…`.
pub async fn oauth_authorize(return_to: String) -> ApiResult<OAuthAuthorization> {
    let body = encode(&OAuthAuthorizeRequest { return_to: Some(return_to) })?;
    send(Method::Post, "mail-settings/oauth/authorize", Some(body), None, Probe::No).await?.json()
}

/// Forgets the connected account and its refresh token (404 when none is connected).
pub async fn oauth_disconnect() -> ApiResult<()> {
    send(Method::Delete, "mail-settings/oauth/connection", None, None, Probe::No).await.map(|_| ())
}

/// The use of each sending limit, what holds messages back, and how many wait.
pub async fn usage_get() -> ApiResult<SendingUsage> {
    send(Method::Get, "mail-settings/usage", None, None, Probe::No).await?.json()
}

/// Every change of the settings, newest first.
pub async fn history_get() -> ApiResult<SettingsHistory> {
    send(Method::Get, "mail-settings/history", None, None, Probe::No).await?.json()
}

/// Runs a test mail (usually with the form's unsaved settings). The request ends when `cancel`
/// aborts or after `deadline_ms`, whichever comes first; the answer is 200 whether or not mail
/// worked, an error only for a bad request (422), too many tests (429) or no answer.
pub async fn mail_test(request: &MailTestRequest, cancel: &AbortSignal, deadline_ms: u32) -> ApiResult<MailTestResult> {
    let body = encode(request)?;
    let signals = js_sys::Array::of2(cancel, &AbortSignal::timeout_with_u32(deadline_ms));
    let signal = AbortSignal::any(&signals);
    send_with(Method::Post, "mail-settings/test", Some(body), None, Probe::No, &signal).await?.json()
}

/// From, Reply-To and envelope sender for (unsaved) settings and an acting user.
pub async fn sender_preview(request: &SenderPreviewRequest) -> ApiResult<EffectiveSender> {
    let body = encode(request)?;
    send(Method::Post, "mail-settings/preview", Some(body), None, Probe::No).await?.json()
}

/// The failures of the last 24 hours grouped by class (`groups`, most frequent first).
pub async fn mail_errors_grouped() -> ApiResult<MailErrors> {
    send(Method::Get, "mail-log/errors?group=class", None, None, Probe::No).await?.json()
}

/// The newest `limit` failures of the last 24 hours (`entries`), and how many there are (`total`).
pub async fn mail_errors_list(limit: u32) -> ApiResult<MailErrors> {
    send(Method::Get, &format!("mail-log/errors?limit={limit}"), None, None, Probe::No).await?.json()
}

/// The alert settings with the `ETag` to send back as `If-Match` (version 0 before anything
/// was saved).
#[cfg(feature = "alerts")]
pub async fn alert_settings_get() -> ApiResult<(AlertSettings, String)> {
    send(Method::Get, "alert-settings", None, None, Probe::No).await?.alert_settings()
}

/// Saves the alert settings; a stale `if_match` gets 412 and changes nothing.
#[cfg(feature = "alerts")]
pub async fn alert_settings_put(input: &AlertSettingsInput, if_match: &str) -> ApiResult<(AlertSettings, String)> {
    let body = encode(input)?;
    send(Method::Put, "alert-settings", Some(body), Some(if_match), Probe::No).await?.alert_settings()
}

/// The newest incidents.
#[cfg(feature = "alerts")]
pub async fn alerts_list() -> ApiResult<AlertList> {
    send(Method::Get, "alerts?limit=50", None, None, Probe::No).await?.json()
}

/// A test notification on every saved channel (409 without one).
#[cfg(feature = "alerts")]
pub async fn alerts_test() -> ApiResult<AlertTestResult> {
    send(Method::Post, "alerts/test", None, None, Probe::No).await?.json()
}

/// Format of the mail-log download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }

    pub fn parse(s: &str) -> Option<ExportFormat> {
        [ExportFormat::Csv, ExportFormat::Ndjson].into_iter().find(|f| f.as_str() == s)
    }
}

/// The URL of the mail-log download (a cookie-authenticated GET, so a plain link works).
/// `from` and `to` are RFC 3339 times; `None` leaves that end open.
pub fn export_url(format: ExportFormat, from: Option<&str>, to: Option<&str>) -> String {
    let mut url = format!("{BASE}/mail-log/export?format={}", format.as_str());
    for (name, value) in [("from", from), ("to", to)] {
        if let Some(value) = value {
            url.push_str(&format!("&{name}={}", query_value(value)));
        }
    }
    url
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// Requests on the session itself expect 401 as an ordinary answer ("not signed in", "wrong
/// password"); every other 401 means the session is gone.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Probe {
    Session,
    No,
}

struct Reply {
    status: u16,
    etag: Option<String>,
    body: String,
}

impl Reply {
    /// Read with the browser's JSON.parse (see [`crate::json`] for why not serde_json). The
    /// detail says only that the answer did not decode: it is not shown on the page (only
    /// a broken proxy or a version mismatch produces it; the network tab shows the body).
    fn json<T: FromJs>(&self) -> ApiResult<T> {
        json::parse(&self.body)
            .ok_or_else(|| ApiError::Unexpected { status: self.status, detail: "undecodable answer".to_owned() })
    }

    #[cfg(feature = "alerts")]
    fn alert_settings(&self) -> ApiResult<(AlertSettings, String)> {
        let settings: AlertSettings = self.json()?;
        let etag = self.etag.clone().unwrap_or_else(|| format!("\"{}\"", settings.version));
        Ok((settings, etag))
    }

    fn versioned(&self) -> ApiResult<Versioned> {
        let settings: MailSettings = self.json()?;
        let etag = self.etag.clone().unwrap_or_else(|| format!("\"{}\"", settings.version));
        Ok(Versioned { settings, etag })
    }
}

/// JSON.stringify of the object [`ToJs`] builds (see [`crate::json`] for why not serde_json).
fn encode<T: ToJs>(value: &T) -> ApiResult<String> {
    // Only a cyclic object or a BigInt fails to stringify; the request objects have neither.
    json::stringify(value)
        .ok_or_else(|| ApiError::Unexpected { status: 0, detail: "the request could not be encoded".to_owned() })
}

/// A readable text for a JavaScript error value. (Not `{:?}`: the page is built with
/// `-Zfmt-debug=none`, which leaves `Debug` output empty to save space.)
pub(crate) fn js_error_text(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        let name: String = err.name().into();
        if name == "TimeoutError" || name == "AbortError" {
            return "timeout".to_owned();
        }
        return err.message().into();
    }
    e.as_string()
        .or_else(|| js_sys::JSON::stringify(e).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// A request that gives up after [`TIMEOUT_MS`].
async fn send(
    method: Method,
    path: &str,
    body: Option<String>,
    if_match: Option<&str>,
    probe: Probe,
) -> ApiResult<Reply> {
    send_with(method, path, body, if_match, probe, &AbortSignal::timeout_with_u32(TIMEOUT_MS)).await
}

/// A request that ends when `signal` aborts.
async fn send_with(
    method: Method,
    path: &str,
    body: Option<String>,
    if_match: Option<&str>,
    probe: Probe,
    signal: &AbortSignal,
) -> ApiResult<Reply> {
    let network = |e: JsValue| ApiError::Network(js_error_text(&e));

    let headers = Headers::new().map_err(network)?;
    headers.set("Accept", "application/json, application/problem+json").map_err(network)?;
    if body.is_some() {
        headers.set("Content-Type", "application/json").map_err(network)?;
    }
    if method != Method::Get {
        if let Some(token) = CSRF_TOKEN.with(|t| t.borrow().clone()) {
            headers.set(CSRF_HEADER, &token).map_err(network)?;
        }
    }
    if let Some(etag) = if_match {
        headers.set("If-Match", etag).map_err(network)?;
    }

    let init = RequestInit::new();
    init.set_method(method.as_str());
    init.set_headers(&headers);
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(signal));
    if let Some(body) = &body {
        init.set_body(&JsValue::from_str(body));
    }
    let request = Request::new_with_str_and_init(&format!("{BASE}/{path}"), &init).map_err(network)?;

    let window = web_sys::window().ok_or_else(|| ApiError::Network("no window".to_owned()))?;
    let response: Response =
        JsFuture::from(window.fetch_with_request(&request)).await.map_err(network)?.unchecked_into();
    let text = JsFuture::from(response.text().map_err(network)?).await.map_err(network)?;
    let reply = Reply {
        status: response.status(),
        etag: response.headers().get("ETag").ok().flatten(),
        body: text.as_string().unwrap_or_default(),
    };
    if (200..300).contains(&reply.status) {
        return Ok(reply);
    }

    let error = match json::parse::<Problem>(&reply.body) {
        Some(problem) => ApiError::Api {
            problem,
            retry_after: response.headers().get("Retry-After").ok().flatten().and_then(|v| v.trim().parse().ok()),
        },
        None => ApiError::Unexpected { status: reply.status, detail: response.status_text() },
    };
    if reply.status == 401 && probe == Probe::No {
        forget_session();
        if let Some(handler) = UNAUTHORIZED_HANDLER.with(|h| h.borrow().clone()) {
            handler();
        }
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_urls() {
        assert_eq!(export_url(ExportFormat::Csv, None, None), "api/v1/mail-log/export?format=csv");
        assert_eq!(
            export_url(ExportFormat::Ndjson, Some("2026-10-28T00:00:00.000Z"), Some("2026-11-27T23:00:00+01:00")),
            "api/v1/mail-log/export?format=ndjson&from=2026-10-28T00%3A00%3A00.000Z&to=2026-11-27T23%3A00%3A00%2B01%3A00"
        );
        assert_eq!(ExportFormat::parse("ndjson"), Some(ExportFormat::Ndjson));
        assert_eq!(ExportFormat::parse("xls"), None);
    }
}
