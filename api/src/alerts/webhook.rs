//! The webhook: a JSON POST of [`WebhookPayload`], signed with HMAC-SHA256 over the exact
//! body (`X-Postamt-Signature: sha256=<hex>`). A 2xx answer is delivered; anything else,
//! a redirect included, is retried by the caller. The secret and the URL (whose path is
//! often a credential itself, as with Slack) never reach the log.

use postamt_wire::{WebhookPayload, EVENT_HEADER, SIGNATURE_HEADER};
use secrecy::{ExposeSecret, SecretString};
use std::sync::OnceLock;
use std::time::Duration;

/// How long one POST may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a POST did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    pub error: String,
    /// Whether another attempt may succeed (not: the channel is gone, the secret unreadable).
    pub retry: bool,
}

fn client() -> Result<&'static reqwest::Client, Failed> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let built = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Postamt/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failed {
            status: None,
            error: format!("creating the HTTP client: {}", e.without_url()),
            retry: true,
        })?;
    Ok(CLIENT.get_or_init(|| built))
}

/// `sha256=<lowercase hex of HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &SecretString, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
    format!("sha256={}", crate::hex::lower(ring::hmac::sign(&key, body).as_ref()))
}

/// POSTs `payload` to `url`; the receiver's 2xx status, or why not.
pub async fn post(url: &str, secret: &SecretString, payload: &WebhookPayload) -> Result<u16, Failed> {
    let body = serde_json::to_vec(payload).map_err(|e| Failed { status: None, error: e.to_string(), retry: true })?;
    let response = client()?
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature(secret, &body))
        .header(EVENT_HEADER, payload.event.as_str())
        .body(body)
        .send()
        .await
        .map_err(|e| Failed { status: None, error: describe(&e), retry: true })?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        Ok(status)
    } else {
        Err(Failed { status: Some(status), error: format!("the receiver answered HTTP {status}"), retry: true })
    }
}

/// The error without the URL, in a few words.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "no answer within 10 s"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2.
    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        let key = SecretString::from("Jefe".to_owned());
        assert_eq!(
            signature(&key, b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
