//! Postamt's SMTP client: diagnostics for the test mail (issue 3) and delivery of every
//! module's mail (issue 4).
//!
//! [`run_test`] goes through the SMTP exchange stage by stage (resolve, connect, TLS,
//! greeting, EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA) against the settings in a
//! [`TestConfig`], saved or not, and returns a [`MailTestResult`]: the timeline, the failure
//! with its class, the field at fault and a hint in German and English, the masked
//! transcript and the server's certificate.
//!
//! Guarantees:
//! - **One deadline.** The whole exchange, from DNS lookup to QUIT, runs under one
//!   `tokio::time::timeout`; a test ends within `timeout` plus a few milliseconds, whatever
//!   the server does.
//! - **Two kinds of sign-in.** A password ([`AuthSecret::Password`]) logs in with AUTH
//!   PLAIN if offered, else AUTH LOGIN; an OAuth 2.0 access token
//!   ([`AuthSecret::AccessToken`], Microsoft 365 and Google) with AUTH XOAUTH2, its
//!   initial response moved to a line of its own when the command would exceed 512 octets.
//!   A rejected token fails as `oauth_token_rejected`
//!   ([`FailureClass::is_token_rejected`], [`DeliveryFailure::is_token_rejected`]), so a
//!   caller can fetch a fresh token and try once more.
//! - **No secret leaves.** AUTH payloads are built as secrets with a fixed mask for the
//!   transcript; every text that reaches the result or a `tracing` event also passes a
//!   redactor that removes the password or token, its base64 and the base64 of the AUTH
//!   PLAIN blob or the XOAUTH2 string.
//! - **Probe delivers nothing.** `probe` mode stops at the 354 answer to DATA and closes the
//!   connection without the final `.`: after 354 even RSET or QUIT would be message content.
//!
//! [`delivery::SmtpSession`] is one open, authenticated connection for production mail,
//! reused for many messages: it opens exactly the way a test does (the same stages, the
//! same failure classes and hints) and then sends messages with pipelined envelopes and
//! the content streamed in large chunks. See [`delivery`].
//!
//! The SMTP protocol is implemented here on tokio and rustls (ring), because lettre's
//! transport exposes neither a transcript nor per-stage timing; lettre builds the test
//! message.

mod auth;
mod certs;
mod classify;
mod config;
mod conn;
pub mod delivery;
mod dial;
mod ehlo;
mod greeting;
mod handshake;
mod hints;
mod mask;
mod message;
mod probe;
mod reply;
mod session;
mod stages;
mod tls;
mod transcript;

use std::time::Instant;

use chrono::Utc;
use postamt_wire::{Failure, FailureClass, LocalizedText, MailTestMode, MailTestResult, SettingsField, StageName};

pub use config::{AuthSecret, Credentials, TestConfig};
pub use delivery::{DeliveryConfig, DeliveryFailure, DeliveryReceipt, SmtpSession};
pub use ehlo::{address_literal, check_ehlo_name, default_ehlo_name, is_valid_ehlo_name, machine_fqdn};
pub use hints::expired_hint;
pub use mask::MASK;
pub use message::{build_test_mail, parse_address, InvalidAddress, TestMail};
pub use postamt_wire::{EffectiveSender, Encryption};

use classify::Fail;
use hints::{HintContext, Purpose};
use mask::Redactor;
use session::Run;
use stages::StageBook;
use transcript::Transcript;

/// Runs one test. Never fails: every problem is reported in the result. Dropping the
/// future (a cancelled request) closes the connection.
pub async fn run_test(cfg: &TestConfig) -> MailTestResult {
    let started = Instant::now();
    let credentials = cfg.credentials.as_ref();
    let redactor = Redactor::new(credentials);
    let transcript = Transcript::new(started, redactor);
    let mut run = Run {
        ep: cfg.endpoint(),
        mail: None,
        deadline: started + cfg.timeout,
        // Chosen once connected: the default depends on the connection's local address.
        ehlo_name: String::new(),
        book: StageBook::new(cfg.encryption),
        transcript,
        tls: None,
        peer: None,
        mechanisms: None,
        failure: None,
    };
    tracing::info!(
        target: "postamt_smtp",
        host = %cfg.host,
        port = cfg.port,
        encryption = cfg.encryption.as_str(),
        mode = cfg.mode.as_str(),
        timeout_ms = cfg.timeout.as_millis() as u64,
        "mail test begins"
    );

    match preflight(cfg) {
        Err((stage, fail)) => {
            let detail = fail.detail.clone().unwrap_or_default();
            let detail_de = fail.detail_de.as_deref().map(|d| run.transcript.redact(d));
            run.book.fail_unrun(stage, run.transcript.redact(&detail), detail_de);
            run.transcript.info(format!("Not started: {detail}"));
            run.failure = Some((stage, fail));
        }
        Ok(mail) => {
            run.mail = mail;
            let deadline = tokio::time::Instant::from_std(run.deadline);
            if tokio::time::timeout_at(deadline, session::run(&mut run, cfg)).await.is_err() {
                let secs = cfg.timeout.as_secs_f64().ceil() as u64;
                match run.book.running() {
                    Some(stage) => {
                        run.transcript.info(format!("Deadline of {secs} s reached; connection closed."));
                        run.record_failure(classify::timeout_failure(stage, secs), stage);
                    }
                    None => run.transcript.info(format!("Deadline of {secs} s reached while closing.")),
                }
            }
        }
    }
    finish(cfg, run, started)
}

/// The result of a test that could not begin talking to the server because a step before
/// it failed (an OAuth 2.0 token could not be obtained): every SMTP stage is skipped, and
/// `failure` (with its own stage, e.g. `token`) is the reason. The caller adds that stage.
pub fn not_started(cfg: &TestConfig, failure: Failure, duration_ms: u64) -> MailTestResult {
    let transcript = Transcript::new(Instant::now(), Redactor::new(cfg.credentials.as_ref()));
    transcript.info(format!("Not started: {}", failure.detail.as_deref().unwrap_or(failure.class.as_str())));
    tracing::info!(target: "postamt_smtp", class = failure.class.as_str(), stage = failure.stage.as_str(), "mail test not started");
    MailTestResult {
        ok: false,
        mode: cfg.mode,
        duration_ms,
        stages: StageBook::new(cfg.encryption).into_stages(),
        failure: Some(failure),
        tls: None,
        peer: None,
        sender: cfg.sender.clone(),
        recipient: cfg.recipient.clone(),
        message_id: None,
        probe_note: None,
        transcript: transcript.into_lines(),
    }
}

/// Checks that need no server: addresses, the message, the CA PEM, the TLS name.
fn preflight(cfg: &TestConfig) -> Result<Option<TestMail>, (StageName, Fail)> {
    let invalid =
        |stage, e: InvalidAddress| (stage, Fail::new(FailureClass::InvalidSettings, Some(e.field)).detail(e.detail));
    parse_address(&cfg.sender.envelope_from, SettingsField::SenderAddress)
        .map_err(|e| invalid(StageName::MailFrom, e))?;
    parse_address(&cfg.recipient, SettingsField::Recipient).map_err(|e| invalid(StageName::RcptTo, e))?;
    if cfg.encryption != Encryption::None {
        if let Some(pem) = cfg.trusted_ca_pem.as_deref().filter(|p| !p.trim().is_empty()) {
            validate_trusted_ca_pem(pem).map_err(|why| {
                (
                    StageName::Tls,
                    Fail::new(FailureClass::InvalidSettings, Some(SettingsField::TlsTrustedCaPem)).detail(why),
                )
            })?;
        }
        tls::server_name(cfg.host.trim()).map_err(|_| {
            (
                StageName::Tls,
                Fail::new(FailureClass::InvalidSettings, Some(SettingsField::Host)).said(
                    format!("„{}“ ist weder ein Hostname noch eine IP-Adresse", cfg.host),
                    format!("“{}” is neither a host name nor an IP address", cfg.host),
                ),
            )
        })?;
    }
    match cfg.mode {
        MailTestMode::Probe => Ok(None),
        MailTestMode::Send => build_test_mail(cfg, Utc::now()).map(Some).map_err(|e| invalid(StageName::Data, e)),
    }
}

/// Checks `tls.trusted_ca_pem`: it must hold at least one X.509 certificate. Returns how
/// many; the error is an English sentence fragment for a field error.
pub fn validate_trusted_ca_pem(pem: &str) -> Result<usize, String> {
    tls::parse_ca_pem(pem).map(|certs| certs.len()).map_err(|e| match e {
        tls::TlsSetupError::InvalidCaPem(why) | tls::TlsSetupError::Other(why) => why,
        tls::TlsSetupError::InvalidServerName(name) => name,
    })
}

/// The texts of the probe note.
pub fn probe_note() -> LocalizedText {
    LocalizedText {
        de: "Probelauf: Es wurde nichts zugestellt. Der Server hat alles bis zur Bereitschaft für die Nachricht \
             (354) angenommen. Ablehnungen nach dem Inhalt – Inhaltsfilter, Spam-Prüfung, SPF/DKIM/DMARC – \
             sieht ein Probelauf nicht; dafür eine echte Testmail senden."
            .to_owned(),
        en: "Probe: nothing was delivered. The server accepted everything up to being ready for the message (354). \
             Rejections after the content – content filters, spam checks, SPF/DKIM/DMARC – cannot be seen by a \
             probe; send a real test mail for those."
            .to_owned(),
    }
}

fn finish(cfg: &TestConfig, run: Run<'_>, started: Instant) -> MailTestResult {
    let redact = |s: String| run.transcript.redact(&s);
    let failure = run.failure.as_ref().map(|(stage, fail)| {
        let detail = fail.detail.clone().map(redact);
        let detail_de = fail.detail_de.clone().map(redact);
        let reply = fail.reply.clone().map(redact);
        let cx = HintContext {
            purpose: Purpose::Test,
            field: fail.field,
            reply: reply.as_deref(),
            stage: *stage,
            host: &cfg.host,
            port: cfg.port,
            encryption: cfg.encryption,
            timeout_secs: cfg.timeout.as_secs_f64().ceil() as u64,
            sender: &cfg.sender.envelope_from,
            recipient: &cfg.recipient,
            username: cfg.credentials.as_ref().map(|c| c.username.as_str()),
            oauth: cfg.credentials.as_ref().is_some_and(Credentials::is_oauth),
            detail: detail.as_deref(),
            tls: run.tls.as_ref(),
            mechanisms: run.mechanisms.as_deref(),
        };
        let (hint_de, hint_en) = hints::hint(fail.class, &cx);
        Failure {
            stage: *stage,
            class: fail.class,
            field: fail.field,
            hint_de: redact(hint_de),
            hint_en: redact(hint_en),
            detail,
            detail_de,
        }
    });
    let stages = run
        .book
        .into_stages()
        .into_iter()
        .map(|mut stage| {
            stage.server_text = stage.server_text.map(redact);
            stage.detail = stage.detail.map(redact);
            stage
        })
        .collect();
    let ok = failure.is_none();
    let duration_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        target: "postamt_smtp",
        ok,
        class = failure.as_ref().map(|f| f.class.as_str()),
        stage = failure.as_ref().map(|f| f.stage.as_str()),
        duration_ms,
        "mail test finished"
    );
    MailTestResult {
        ok,
        mode: cfg.mode,
        duration_ms,
        stages,
        failure,
        tls: run.tls,
        peer: run.peer.map(|p| p.to_string()),
        sender: cfg.sender.clone(),
        recipient: cfg.recipient.clone(),
        message_id: if ok { run.mail.as_ref().map(|m| m.message_id.clone()) } else { None },
        probe_note: (cfg.mode == MailTestMode::Probe).then(probe_note),
        transcript: run.transcript.into_lines(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_future_can_be_spawned() {
        fn assert_send<T: Send>(_: T) {}
        let sender = EffectiveSender::apply("T", "t@example.org", true, false, None);
        let cfg = TestConfig::new("localhost", 25, Encryption::None, sender, "a@example.org");
        assert_send(run_test(&cfg));
    }

    #[test]
    fn ca_pem_validation_for_the_settings() {
        assert!(validate_trusted_ca_pem("nonsense").is_err());
    }
}
