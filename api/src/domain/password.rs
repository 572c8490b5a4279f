//! The password rule both SMTP connections (primary and fallback) follow: write-only, kept
//! when left out only for the same server and account, so a stored credential never follows
//! a connection to a new server.

use super::{FieldProblem, SingleLine, SmtpHost, Violations};
use crate::domain::PasswordChange;
use postamt_wire::{AuthMethod, Encryption};
use secrecy::SecretString;

const MAX_PASSWORD_BYTES: usize = 1024;

/// What a request says about a connection's sign-in.
pub struct PasswordInput<'a> {
    /// `auth.password` or `fallback.auth.password`.
    pub field: &'static str,
    pub enabled: bool,
    pub method: AuthMethod,
    pub password: Option<&'a str>,
    /// The parsed server and account (`None` where they failed to parse).
    pub host: Option<&'a SmtpHost>,
    pub port: Option<u16>,
    pub encryption: Option<Encryption>,
    pub username: &'a Option<Option<SingleLine>>,
    /// Why it must be entered again, for the message.
    pub changed: &'static str,
}

/// The stored connection a left-out password would be kept for.
pub struct StoredLogin<'a> {
    pub host: &'a str,
    pub port: u16,
    pub encryption: Encryption,
    pub username: Option<&'a str>,
}

/// What happens to the stored password; `stored` is the saved connection when a password of
/// the password method is stored for it.
pub fn password_change(
    v: &mut Violations,
    i: &PasswordInput<'_>,
    stored: Option<StoredLogin<'_>>,
) -> Option<PasswordChange> {
    if !i.enabled || i.method != AuthMethod::Password {
        if i.enabled && i.password.is_some() {
            return v
                .check(i.field, Err(FieldProblem::new("not_applicable", "is only used with auth.method password")));
        }
        return Some(PasswordChange::Clear);
    }
    let problem = |code, message: &str| Err(FieldProblem::new(code, message));
    match i.password {
        Some("") => v.check(i.field, problem("required", "must not be empty; omit it to keep the stored password")),
        Some(p) if p.len() > MAX_PASSWORD_BYTES => v.check(i.field, problem("too_long", "must be at most 1024 bytes")),
        Some(p) if p.contains('\0') => {
            v.check(i.field, problem("invalid_character", "must not contain NUL characters"))
        }
        Some(p) => Some(PasswordChange::Set(SecretString::from(p.to_owned()))),
        None => {
            let Some(stored) = stored else {
                return v.check(i.field, problem("required", "is required when authentication is enabled"));
            };
            let same_connection = i.host.map(SmtpHost::as_str) == Some(stored.host)
                && i.port == Some(stored.port)
                && i.encryption == Some(stored.encryption)
                && i.username.as_ref().and_then(|u| u.as_ref()).map(SingleLine::as_str) == stored.username;
            if same_connection {
                Some(PasswordChange::Keep)
            } else {
                let message = format!("must be entered again because {} changed", i.changed);
                v.check(i.field, problem("password_required_again", &message))
            }
        }
    }
}
