//! Valid settings that will probably not work as intended.

use super::StoredSettings;
use postamt_wire::{Encryption, SettingsWarning};

pub fn warnings_for(s: &StoredSettings) -> Vec<SettingsWarning> {
    let mut warnings = Vec::new();
    let mut warn = |field: &str, code: &str, message: &str| {
        warnings.push(SettingsWarning { field: field.to_owned(), code: code.to_owned(), message: message.to_owned() });
    };
    if let (true, Some(username)) = (s.auth_enabled, s.auth_username.as_deref()) {
        // Most providers refuse senders other than the signed-in account.
        if username.contains('@') && !username.eq_ignore_ascii_case(&s.sender_address) {
            warn(
                "sender_address",
                "sender_differs_from_username",
                "the sender address differs from the username; most providers only accept the account's own address",
            );
        }
    }
    if s.encryption == Encryption::None && s.auth_enabled {
        warn("encryption", "insecure_encryption", "the password is sent unencrypted; use STARTTLS or TLS");
    }
    if s.tls_accept_invalid_certificates {
        warn(
            "tls.accept_invalid_certificates",
            "certificate_checks_disabled",
            "any certificate is accepted, so the connection can be intercepted; prefer trusting the server's CA",
        );
    }
    let usual_mismatch =
        matches!((s.encryption, s.port), (Encryption::Tls, 25 | 587) | (Encryption::Starttls | Encryption::None, 465));
    if usual_mismatch {
        warn(
            "port",
            "unusual_port",
            "this port usually expects the other encryption: 465 is TLS, 587 and 25 are STARTTLS",
        );
    }
    if let Some(f) = &s.fallback {
        if f.encryption == Encryption::None && f.auth_enabled {
            warn(
                "fallback.encryption",
                "insecure_encryption",
                "the fallback's password is sent unencrypted; use STARTTLS or TLS",
            );
        }
        if f.tls_accept_invalid_certificates {
            warn(
                "fallback.tls.accept_invalid_certificates",
                "certificate_checks_disabled",
                "any certificate of the fallback server is accepted, so the connection can be intercepted",
            );
        }
        if matches!(
            (f.encryption, f.port),
            (Encryption::Tls, 25 | 587) | (Encryption::Starttls | Encryption::None, 465)
        ) {
            warn(
                "fallback.port",
                "unusual_port",
                "this port usually expects the other encryption: 465 is TLS, 587 and 25 are STARTTLS",
            );
        }
    }
    warnings
}
