//! From what happened to a failure class and the settings field most likely at fault.

use std::io;

use postamt_wire::{FailureClass as C, SettingsField as F, StageName};
use rustls::CertificateError;

use crate::conn::ReadError;
use crate::reply::{looks_like_smtp, Reply};

/// A failure as the stages report it; the hint is added when the result is assembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub class: C,
    pub field: Option<F>,
    /// The technical cause, masked. English.
    pub detail: Option<String>,
    /// `detail` in German, where Postamt worded it (see [`Fail::said`]).
    pub detail_de: Option<String>,
    /// The server's own words that decided it (`535 5.7.8 …`), masked; hints quote them.
    pub reply: Option<String>,
    /// The code of the reply that decided it.
    pub code: Option<u16>,
    /// That reply whole, on one line ([`Reply::one_line`]), masked.
    pub full_reply: Option<String>,
}

impl Fail {
    pub(crate) fn new(class: C, field: Option<F>) -> Self {
        Fail { class, field, detail: None, detail_de: None, reply: None, code: None, full_reply: None }
    }

    /// Decided by `reply`: its summary is the detail and is quoted by the hint.
    pub(crate) fn from_reply(class: C, field: Option<F>, reply: &Reply) -> Self {
        let mut fail = Fail::new(class, field).reply(reply.summary());
        fail.code = Some(reply.code);
        fail.full_reply = Some(reply.one_line());
        fail
    }

    /// A technical cause in its own (English) words: an error text of the system or a library.
    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self.detail_de = None;
        self
    }

    /// A cause Postamt words itself, in German and English.
    pub(crate) fn said(mut self, de: impl Into<String>, en: impl Into<String>) -> Self {
        self.detail = Some(en.into());
        self.detail_de = Some(de.into());
        self
    }

    /// The server's words: shown as the detail and quoted by the hint.
    pub(crate) fn reply(mut self, reply: impl Into<String>) -> Self {
        let reply = reply.into();
        self.detail = Some(reply.clone());
        self.detail_de = None;
        self.reply = Some(reply);
        self
    }
}

/// What was true when a reply came, for telling causes apart.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReplyContext {
    /// AUTH succeeded on this connection.
    pub authenticated: bool,
    /// The connection is encrypted.
    pub encrypted: bool,
}

/// Texts by which servers say that the normal password is not accepted for SMTP: an app
/// password is needed (2-step verification), or basic authentication is switched off in
/// favour of OAuth ("modern authentication").
const APP_PASSWORD_TEXTS: &[&str] = &[
    "application-specific password",
    "application specific password",
    "app password",
    "app-password",
    "apppassword",
    "app-specific password",
    "invalidsecondfactor",
    "modern authentication",
    "log in via your web browser",
    "please log in with your web browser",
    "web login required",
    "weblogin",
];

/// Microsoft's words for "SMTP AUTH is switched off" for the tenant or the mailbox, or
/// blocked by security defaults: neither a password nor a token helps until it is enabled.
const SMTP_AUTH_DISABLED_TEXTS: &[&str] =
    &["5.7.139", "smtpclientauthentication is disabled", "smtp auth is disabled", "security defaults"];

/// Texts by which a server says it takes no passwords at all any more (Microsoft
/// `550 5.7.30 Basic authentication is not supported for Client Submission`): OAuth 2.0
/// is needed.
const BASIC_AUTH_DISABLED_TEXTS: &[&str] =
    &["5.7.30 ", "basic authentication is not supported", "basic authentication is disabled", "basic auth is disabled"];

fn contains_any(text: &str, needles: &[&str]) -> bool {
    let text = text.to_lowercase();
    needles.iter().any(|needle| text.contains(needle))
}

pub(crate) fn is_app_password_text(text: &str) -> bool {
    contains_any(text, APP_PASSWORD_TEXTS)
}

fn mentions_encryption(text: &str) -> bool {
    let text = text.to_lowercase();
    ["starttls", "tls", "ssl", "encrypt"].iter().any(|needle| text.contains(needle))
}

fn mentions_relay(text: &str) -> bool {
    let text = text.to_lowercase();
    text.contains("relay") || text.contains("not permitted") || text.contains("authentication required")
}

/// A reply the stage did not expect.
/// Texts of quota replies: the mailbox may send no more for now (Microsoft
/// `554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException`, Gmail
/// `550 5.4.5 Daily user sending quota exceeded`).
const QUOTA_TEXTS: &[&str] = &["quotaexceeded", "quota exceeded", "5.4.5 daily", "sending limit exceeded"];

/// Texts of throttling replies: too much too fast (Microsoft `451 4.7.500 Server busy`,
/// `4.3.2 … concurrent connections`, Gmail's `421 4.7.28` rate limit). Not a bare `4.3.2`
/// (a server not accepting mail at all), greylisting or "too many recipients".
const THROTTLE_TEXTS: &[&str] = &["4.7.500", "server busy", "concurrent connections", "4.7.28", "rate limit"];

/// Throttling or quota, whatever the stage: these pause sending rather than blame a message.
fn rate_failure(reply: &Reply) -> Option<Fail> {
    let coded = format!("{} ", reply.text());
    if contains_any(&coded, QUOTA_TEXTS) {
        return Some(Fail::from_reply(C::QuotaExceeded, None, reply));
    }
    (reply.is_transient() && contains_any(&coded, THROTTLE_TEXTS)).then(|| Fail::from_reply(C::Throttled, None, reply))
}

pub(crate) fn reply_failure(stage: StageName, reply: &Reply, ctx: ReplyContext) -> Fail {
    let text = reply.text();
    let fail = |class, field| Fail::from_reply(class, field, reply);
    if let Some(rate) = rate_failure(reply) {
        return rate;
    }
    if reply.code == 421 || (reply.is_transient() && stage != StageName::Auth) {
        return fail(C::TemporaryFailure, None);
    }
    match stage {
        StageName::Greeting if reply.is_permanent() => fail(C::ConnectionRejected, Some(F::Host)),
        StageName::Tls if reply.is_permanent() => fail(C::StarttlsNotOffered, Some(F::Encryption)),
        StageName::Auth => auth_failure(reply, &text, ctx),
        StageName::MailFrom | StageName::RcptTo if reply.code == 530 => {
            if !ctx.encrypted && mentions_encryption(&text) {
                fail(C::EncryptionRequired, Some(F::Encryption))
            } else if !ctx.authenticated {
                fail(C::AuthRequired, Some(F::AuthEnabled))
            } else if stage == StageName::MailFrom {
                fail(C::SenderRejected, Some(F::SenderAddress))
            } else {
                fail(C::RecipientRejected, Some(F::Recipient))
            }
        }
        StageName::MailFrom if reply.is_permanent() => fail(C::SenderRejected, Some(F::SenderAddress)),
        StageName::RcptTo if reply.is_permanent() => {
            if !ctx.authenticated && mentions_relay(&text) {
                fail(C::AuthRequired, Some(F::AuthEnabled))
            } else {
                fail(C::RecipientRejected, Some(F::Recipient))
            }
        }
        StageName::Data if reply.is_permanent() => fail(C::MessageRejected, None),
        _ => fail(C::ProtocolError, None),
    }
}

/// A password sign-in (PLAIN, LOGIN) that failed.
fn auth_failure(reply: &Reply, text: &str, ctx: ReplyContext) -> Fail {
    let fail = |class, field| Fail::from_reply(class, field, reply);
    // The enhanced code is part of the text for these checks (`5.7.30 ` with its space).
    let coded = format!("{text} ");
    // First: `535 5.7.139 … basic authentication is disabled` wants OAuth, not SMTP AUTH.
    if reply.is_permanent() && contains_any(&coded, BASIC_AUTH_DISABLED_TEXTS) {
        return fail(C::BasicAuthDisabled, Some(F::AuthPassword));
    }
    if reply.is_permanent() && contains_any(&coded, SMTP_AUTH_DISABLED_TEXTS) {
        return fail(C::SmtpAuthDisabled, None);
    }
    if reply.is_permanent() && is_app_password_text(text) {
        return fail(C::AppPasswordRequired, Some(F::AuthPassword));
    }
    match reply.code {
        535 => fail(C::CredentialsRejected, Some(F::AuthPassword)),
        538 => fail(C::AuthRequiresTls, Some(F::Encryption)),
        530 | 523 if !ctx.encrypted => fail(C::AuthRequiresTls, Some(F::Encryption)),
        534 | 504 => fail(C::AuthMechanismUnsupported, Some(F::AuthEnabled)),
        500 | 502 => fail(C::AuthNotOffered, Some(F::AuthEnabled)),
        code if (400..500).contains(&code) => fail(C::TemporaryFailure, None),
        code if (500..600).contains(&code) => fail(C::CredentialsRejected, Some(F::AuthPassword)),
        _ => fail(C::ProtocolError, None),
    }
}

/// An XOAUTH2 sign-in that failed with `reply` (after Google's error challenge, its
/// final answer). Any other permanent refusal means the token was not accepted for this
/// mailbox: expired, wrong scope or audience, or (Microsoft) the app has no right to the
/// mailbox; the user name names the mailbox.
pub(crate) fn xoauth2_failure(reply: &Reply, ctx: ReplyContext) -> Fail {
    let fail = |class, field| Fail::from_reply(class, field, reply);
    if reply.is_permanent() && contains_any(&reply.text(), SMTP_AUTH_DISABLED_TEXTS) {
        return fail(C::SmtpAuthDisabled, None);
    }
    match reply.code {
        538 => fail(C::AuthRequiresTls, Some(F::Encryption)),
        530 | 523 if !ctx.encrypted => fail(C::AuthRequiresTls, Some(F::Encryption)),
        504 => fail(C::AuthMechanismUnsupported, Some(F::AuthEnabled)),
        500 | 502 => fail(C::AuthNotOffered, Some(F::AuthEnabled)),
        code if (400..500).contains(&code) => fail(C::TemporaryFailure, None),
        code if (500..600).contains(&code) => fail(C::OauthTokenRejected, Some(F::AuthUsername)),
        _ => fail(C::ProtocolError, None),
    }
}

/// No reply could be read in `stage`.
pub(crate) fn read_failure(stage: StageName, err: &ReadError) -> Fail {
    let field = match stage {
        StageName::Greeting => Some(F::Port),
        _ => None,
    };
    let fail = Fail::new(C::ProtocolError, field);
    match (stage, err) {
        (StageName::Greeting, ReadError::Malformed(_)) => {
            fail.said(format!("das ist kein SMTP-Server: {err}"), format!("this is not an SMTP server: {err}"))
        }
        (StageName::Greeting, ReadError::Closed) => fail.said(
            "der Server hat die Verbindung ohne Begrüßung geschlossen",
            "the server closed the connection without a greeting",
        ),
        _ => fail.detail(err.to_string()),
    }
}

/// A command could not be written.
pub(crate) fn write_failure(err: &io::Error) -> Fail {
    Fail::new(C::ProtocolError, None).said(
        format!("die Verbindung brach beim Senden ab: {err}"),
        format!("the connection broke while sending: {err}"),
    )
}

/// The TCP connection failed.
pub(crate) fn connect_failure(err: &io::Error) -> Fail {
    let (class, field) = match err.kind() {
        io::ErrorKind::ConnectionRefused => (C::ConnectionRefused, Some(F::Port)),
        io::ErrorKind::TimedOut => (C::Timeout, Some(F::Host)),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable | io::ErrorKind::AddrNotAvailable => {
            (C::HostUnreachable, Some(F::Host))
        }
        _ => (C::HostUnreachable, Some(F::Host)),
    };
    Fail::new(class, field).detail(err.to_string())
}

/// The TLS handshake failed. `first_bytes` is what the server sent first, `verify_error`
/// what the certificate verifier found (when invalid certificates are not accepted);
/// `implicit` is true for TLS from the first byte, false after STARTTLS.
pub(crate) fn handshake_failure(
    err: &io::Error,
    first_bytes: &[u8],
    verify_error: Option<&rustls::Error>,
    implicit: bool,
) -> Fail {
    if let Some(verify_error) = verify_error {
        return certificate_failure(verify_error);
    }
    if looks_like_smtp(first_bytes) && !implicit {
        let line = String::from_utf8_lossy(first_bytes);
        let line = line.lines().next().unwrap_or("").trim_end().to_owned();
        return Fail::new(C::TlsHandshakeFailed, Some(F::Encryption)).reply(line.clone()).said(
            format!("nach der Zusage zu STARTTLS antwortete der Server unverschlüsselt: „{line}“"),
            format!("after agreeing to STARTTLS the server answered in plaintext: \"{line}\""),
        );
    }
    if looks_like_smtp(first_bytes) {
        let line = String::from_utf8_lossy(first_bytes);
        let line = line.lines().next().unwrap_or("").trim_end();
        return Fail::new(C::TlsOnPlaintextPort, Some(F::Encryption)).reply(line).said(
            format!("der Server antwortete unverschlüsselt: „{line}“"),
            format!("the server answered in plaintext: \"{line}\""),
        );
    }
    match crate::tls::rustls_error(err) {
        Some(e @ rustls::Error::InvalidCertificate(_)) => certificate_failure(e),
        Some(e) => Fail::new(C::TlsHandshakeFailed, Some(F::Encryption)).detail(e.to_string()),
        None if err.kind() == io::ErrorKind::UnexpectedEof || err.kind() == io::ErrorKind::ConnectionReset => {
            Fail::new(C::TlsHandshakeFailed, Some(F::Encryption)).said(
                format!("der Server hat die Verbindung während des TLS-Handshakes geschlossen ({err})"),
                format!("the server closed the connection during the TLS handshake ({err})"),
            )
        }
        None => Fail::new(C::TlsHandshakeFailed, Some(F::Encryption)).detail(err.to_string()),
    }
}

/// A certificate that did not verify.
pub(crate) fn certificate_failure(err: &rustls::Error) -> Fail {
    let detail = crate::certs::verify_error_text(err);
    let (class, field) = match err {
        rustls::Error::InvalidCertificate(ce) => match ce {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => (C::CertificateExpired, Some(F::Host)),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                (C::CertificateHostnameMismatch, Some(F::Host))
            }
            _ => (C::CertificateUntrusted, Some(F::TlsTrustedCaPem)),
        },
        _ => (C::TlsHandshakeFailed, Some(F::Encryption)),
    };
    Fail::new(class, field).detail(detail)
}

/// The deadline passed while `stage` was running.
pub(crate) fn timeout_failure(stage: StageName, timeout_secs: u64) -> Fail {
    let field = match stage {
        StageName::Resolve | StageName::Connect => Some(F::Host),
        StageName::Tls | StageName::Greeting => Some(F::Port),
        StageName::Data => Some(F::TimeoutSeconds),
        _ => None,
    };
    Fail::new(C::Timeout, field).said(
        format!("keine Antwort innerhalb der Frist von {timeout_secs} s"),
        format!("no answer within the deadline of {timeout_secs} s"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, text: &str) -> Reply {
        Reply { code, lines: text.lines().map(str::to_owned).collect() }
    }

    const PLAIN: ReplyContext = ReplyContext { authenticated: false, encrypted: false };
    const AUTHED: ReplyContext = ReplyContext { authenticated: true, encrypted: true };

    #[test]
    fn auth_replies() {
        let class = |code, text, ctx| auth_failure(&reply(code, text), text, ctx).class;
        assert_eq!(class(535, "5.7.8 Authentication credentials invalid", AUTHED), C::CredentialsRejected);
        assert_eq!(
            class(534, "5.7.9 Application-specific password required. Learn more at https://support.google.com/mail/?p=InvalidSecondFactor", AUTHED),
            C::AppPasswordRequired
        );
        assert_eq!(
            class(
                535,
                "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
                AUTHED
            ),
            C::SmtpAuthDisabled
        );
        assert_eq!(
            class(535, "5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.", AUTHED),
            C::SmtpAuthDisabled
        );
        assert_eq!(
            class(535, "5.7.139 Authentication unsuccessful, basic authentication is disabled.", AUTHED),
            C::BasicAuthDisabled
        );
        assert_eq!(
            class(550, "5.7.30 Basic authentication is not supported for Client Submission.", AUTHED),
            C::BasicAuthDisabled
        );
        assert_eq!(class(535, "5.7.3 Authentication unsuccessful", AUTHED), C::CredentialsRejected);
        assert_eq!(
            class(538, "5.7.11 Encryption required for requested authentication mechanism", PLAIN),
            C::AuthRequiresTls
        );
        assert_eq!(class(454, "4.7.0 Temporary authentication failure", AUTHED), C::TemporaryFailure);
        assert_eq!(class(504, "5.5.4 Unrecognized authentication type", AUTHED), C::AuthMechanismUnsupported);
    }

    #[test]
    fn xoauth2_replies() {
        let f = |code, text| xoauth2_failure(&reply(code, text), AUTHED);
        let ms = f(535, "5.7.3 Authentication unsuccessful");
        assert_eq!((ms.class, ms.field), (C::OauthTokenRejected, Some(F::AuthUsername)));
        assert_eq!(f(535, "5.7.8 Username and Password not accepted.").class, C::OauthTokenRejected);
        let off = f(535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant");
        assert_eq!((off.class, off.field), (C::SmtpAuthDisabled, None));
        assert_eq!(f(454, "4.7.0 Temporary authentication failure").class, C::TemporaryFailure);
        assert_eq!(f(504, "5.5.4 Unrecognized authentication type").class, C::AuthMechanismUnsupported);
        assert!(!f(454, "4.7.0 later").class.is_token_rejected());
    }

    #[test]
    fn envelope_replies() {
        let f = |stage, code, text, ctx| reply_failure(stage, &reply(code, text), ctx);
        let mail = f(StageName::MailFrom, 553, "5.7.1 Sender address rejected: not owned by user", AUTHED);
        assert_eq!((mail.class, mail.field), (C::SenderRejected, Some(F::SenderAddress)));
        let rcpt = f(StageName::RcptTo, 550, "5.1.1 User unknown", AUTHED);
        assert_eq!((rcpt.class, rcpt.field), (C::RecipientRejected, Some(F::Recipient)));
        let relay = f(StageName::RcptTo, 554, "5.7.1 Relay access denied", PLAIN);
        assert_eq!((relay.class, relay.field), (C::AuthRequired, Some(F::AuthEnabled)));
        let auth = f(StageName::MailFrom, 530, "5.7.0 Authentication required", PLAIN);
        assert_eq!(auth.class, C::AuthRequired);
        let tls = f(StageName::MailFrom, 530, "5.7.0 Must issue a STARTTLS command first.", PLAIN);
        assert_eq!((tls.class, tls.field), (C::EncryptionRequired, Some(F::Encryption)));
        assert_eq!(f(StageName::RcptTo, 451, "4.7.1 Greylisted", AUTHED).class, C::TemporaryFailure);
        assert_eq!(f(StageName::Data, 554, "5.7.1 Spam", AUTHED).class, C::MessageRejected);
        assert_eq!(f(StageName::Greeting, 554, "no SMTP service here", PLAIN).class, C::ConnectionRejected);
        assert_eq!(f(StageName::Greeting, 421, "too busy", PLAIN).class, C::TemporaryFailure);
    }

    #[test]
    fn certificate_errors() {
        let f = |ce| certificate_failure(&rustls::Error::InvalidCertificate(ce)).class;
        assert_eq!(f(CertificateError::UnknownIssuer), C::CertificateUntrusted);
        assert_eq!(f(CertificateError::Expired), C::CertificateExpired);
        assert_eq!(f(CertificateError::NotValidForName), C::CertificateHostnameMismatch);
    }

    #[test]
    fn plaintext_answer_to_a_tls_handshake() {
        let err = io::Error::new(io::ErrorKind::InvalidData, "received corrupt message");
        let fail = handshake_failure(&err, b"220 mail.example.org ESMTP\r\n", None, true);
        assert_eq!((fail.class, fail.field), (C::TlsOnPlaintextPort, Some(F::Encryption)));
        assert!(fail.detail.unwrap().contains("220 mail.example.org ESMTP"));
        let fail = handshake_failure(&err, b"454 4.7.0 TLS not available\r\n", None, false);
        assert_eq!(fail.class, C::TlsHandshakeFailed);
    }
}
