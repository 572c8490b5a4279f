//! Delivery of production mail: one open, authenticated SMTP connection per worker, reused
//! for many messages (issue 4).
//!
//! ```no_run
//! # async fn demo(cfg: postamt_smtp::DeliveryConfig, message: Vec<u8>) {
//! use postamt_smtp::SmtpSession;
//! let mut session = SmtpSession::open(&cfg).await.expect("open");
//! let to = vec!["someone@example.org".to_owned()];
//! match session.send("teambox@example.org", &to, &message).await {
//!     Ok(receipt) => println!("{}", receipt.reply),
//!     Err(failure) if failure.permanent => println!("failed: {}", failure.class),
//!     Err(failure) => println!("retry later: {}", failure.class),
//! }
//! if session.is_usable().await {
//!     // keep it for the next message
//! }
//! session.close().await;
//! # }
//! ```
//!
//! - **One implementation.** [`SmtpSession::open`] runs the same code as the test mail
//!   (resolve, connect, TLS or STARTTLS, greeting, EHLO, AUTH), so a session fails with
//!   the same stage, failure class, settings field and German/English hint as the test
//!   would; [`SmtpSession::send`] classifies server replies with the same rules.
//! - **One deadline each.** Opening and each send run under one deadline of
//!   [`DeliveryConfig::timeout`], whatever the server does.
//! - **Never plaintext by surprise.** With STARTTLS configured, a server that does not
//!   offer it fails the open (`starttls_not_offered`).
//! - **All or nothing.** If any recipient is rejected no DATA is sent; RSET keeps the
//!   connection usable after a rejection.
//! - **Fast.** Envelopes are pipelined when the server offers PIPELINING (one round trip
//!   for MAIL FROM and all RCPT TO, and DATA with a single recipient), commands are
//!   written in one go, and the content is dot-stuffed on the fly and written in chunks of
//!   64 KiB (runs without a line starting with `.` go out straight from the caller's
//!   buffer). [`SmtpSession::submit`] pipelines across messages too: the next envelope
//!   follows the content without waiting for its answer, so a message with one recipient
//!   costs one round trip ([`pipeline`] says whose failure is whose).
//! - **OAuth 2.0.** With an access token the session signs in with XOAUTH2, exactly as
//!   the test mail does; [`DeliveryFailure::is_token_rejected`] says when a fresh token
//!   is worth one more try.
//! - **No secrets.** The password or token and its base64 forms are removed from every reply,
//!   detail and hint ([`crate::MASK`]); `tracing` events never carry secrets or content.

mod failure;
pub mod pipeline;
mod session;
mod transaction;

use std::fmt;
use std::time::Duration;

use postamt_wire::{Encryption, FailureClass, SettingsField, StageName, TIMEOUT_SECONDS_DEFAULT};

use crate::config::{Credentials, Endpoint};

pub use pipeline::{Submission, Submitted};
pub use session::{SmtpSession, IDLE_NOOP_AFTER};

/// The saved settings a session connects with.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// DNS name or IP address (IPv6 with or without brackets).
    pub host: String,
    pub port: u16,
    pub encryption: Encryption,
    /// `None`: no AUTH.
    pub credentials: Option<Credentials>,
    /// PEM of a private CA trusted in addition to the system's roots.
    pub trusted_ca_pem: Option<String>,
    /// Accept any certificate.
    pub accept_invalid_certificates: bool,
    /// The one deadline of [`SmtpSession::open`], and again of each [`SmtpSession::send`].
    pub timeout: Duration,
    /// Name given in EHLO; `localhost` is used instead if it is not a domain or address
    /// literal. `None`: [`crate::default_ehlo_name`] of the connection.
    pub ehlo_name: Option<String>,
}

impl DeliveryConfig {
    /// Settings with the default timeout (20 s), the default EHLO name, no
    /// login and the system's trusted roots.
    pub fn new(host: impl Into<String>, port: u16, encryption: Encryption) -> Self {
        DeliveryConfig {
            host: host.into(),
            port,
            encryption,
            credentials: None,
            trusted_ca_pem: None,
            accept_invalid_certificates: false,
            timeout: Duration::from_secs(u64::from(TIMEOUT_SECONDS_DEFAULT)),
            ehlo_name: None,
        }
    }

    pub(crate) fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            host: &self.host,
            port: self.port,
            encryption: self.encryption,
            credentials: self.credentials.as_ref(),
            trusted_ca_pem: self.trusted_ca_pem.as_deref(),
            accept_invalid_certificates: self.accept_invalid_certificates,
            timeout: self.timeout,
            ehlo_name: self.ehlo_name.as_deref(),
        }
    }
}

/// Equal when every field is, the password or access token included: a pool keeps a session
/// only while the saved settings still equal [`SmtpSession::config`]. So a refreshed OAuth
/// token makes the pool open new sessions (an open session stays signed in regardless).
impl PartialEq for DeliveryConfig {
    fn eq(&self, other: &Self) -> bool {
        self.credentials == other.credentials
            && self.host == other.host
            && self.port == other.port
            && self.encryption == other.encryption
            && self.trusted_ca_pem == other.trusted_ca_pem
            && self.accept_invalid_certificates == other.accept_invalid_certificates
            && self.timeout == other.timeout
            && self.ehlo_name == other.ehlo_name
    }
}

impl Eq for DeliveryConfig {}

/// The server accepted the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReceipt {
    /// The server's answer to the message, on one line, masked, e.g.
    /// `250 2.0.0 Ok: queued as 4XyZ`.
    pub reply: String,
    /// From MAIL FROM to that answer.
    pub duration_ms: u64,
}

/// Why a session could not be opened or a message not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// The stage that failed (`auth` at open, `rcpt_to` for a rejected recipient, `data`
    /// for the message or its final answer).
    pub stage: StageName,
    /// The same classes as the test mail.
    pub class: FailureClass,
    /// The settings field most likely at fault (`recipient` for a rejected recipient).
    pub field: Option<SettingsField>,
    /// The code of the server reply that decided it, if a reply did.
    pub reply_code: Option<u16>,
    /// That reply on one line, masked, e.g. `550 5.1.1 <x@example.org>: User unknown`.
    pub reply: Option<String>,
    /// Retrying cannot help: a 5xx reply, or a recipient or sender address that is not an
    /// address at all. 4xx replies, network problems, timeouts, TLS and DNS failures are
    /// not permanent; the outbox retries them.
    pub permanent: bool,
    /// What to change, in German (the same text as the test mail's hint).
    pub hint_de: String,
    /// What to change, in English.
    pub hint_en: String,
    /// The technical cause (for a rejected recipient: which one, and that no DATA was
    /// sent), masked.
    pub detail: Option<String>,
}

impl fmt::Display for DeliveryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.class, self.stage.as_str())?;
        match (&self.detail, &self.reply) {
            (Some(detail), _) => write!(f, ": {detail}"),
            (None, Some(reply)) => write!(f, ": {reply}"),
            (None, None) => Ok(()),
        }
    }
}

impl DeliveryFailure {
    /// The server rejected the OAuth 2.0 access token (XOAUTH2): drop a cached token and
    /// open once more with a fresh one. Such a failure is also `permanent` (a 5xx): the
    /// same token will not work again.
    pub fn is_token_rejected(&self) -> bool {
        self.class.is_token_rejected()
    }
}

impl std::error::Error for DeliveryFailure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_compare_the_password_too() {
        let mut a = DeliveryConfig::new("smtp.example.org", 587, Encryption::Starttls);
        a.credentials = Some(Credentials::password("u", "first-Secret"));
        let mut b = a.clone();
        assert_eq!(a, b);
        b.credentials = Some(Credentials::password("u", "two"));
        assert_ne!(a, b);
        b.credentials = None;
        assert_ne!(a, b);
        let mut c = a.clone();
        c.port = 465;
        assert_ne!(a, c);
        assert!(!format!("{a:?}").contains("first-Secret"));
    }
}
