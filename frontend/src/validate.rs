//! Client-side checks mirroring the server's, so most mistakes show up before a round trip.
//! The server stays the authority: whatever it still rejects comes back as a 422 and is shown
//! the same way. Codes are the server's field error codes.

use std::net::{Ipv4Addr, Ipv6Addr};

use postamt_wire::{
    AuthMethod, MailSettings, OAuthProvider, CONCURRENT_SESSIONS_MAX, LIMIT_MAX, TIMEOUT_SECONDS_MAX,
    TIMEOUT_SECONDS_MIN,
};

use crate::form::{fields, Draft, OAuthUses};

/// Field error codes (shared with the server's 422 answers).
pub mod codes {
    pub const REQUIRED: &str = "required";
    pub const OUT_OF_RANGE: &str = "out_of_range";
    pub const NOT_A_NUMBER: &str = "not_a_number";
    pub const INVALID_EMAIL: &str = "invalid_email";
    pub const INVALID_HOST: &str = "invalid_host";
    pub const CONTAINS_LINE_BREAK: &str = "contains_line_break";
    pub const PASSWORD_REQUIRED_AGAIN: &str = "password_required_again";
    pub const REQUIRES_FORCE_DEFAULT_SENDER: &str = "requires_force_default_sender";
    pub const TOO_LONG: &str = "too_long";
    pub const INVALID_PEM: &str = "invalid_pem";
    pub const SECRET_REQUIRED_AGAIN: &str = "secret_required_again";
    pub const INVALID_TENANT: &str = "invalid_tenant";
    #[cfg_attr(not(feature = "fallback"), allow(dead_code))]
    pub const SAME_AS_PRIMARY: &str = "same_as_primary";
    #[cfg(feature = "alerts")]
    pub const INVALID_URL: &str = "invalid_url";
    #[cfg(feature = "alerts")]
    pub const INVALID_LENGTH: &str = "invalid_length";
}

/// One problem with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issue {
    pub field: &'static str,
    pub code: &'static str,
}

/// Every problem of the form at once, in page order. `saved` is what the server holds (`None`
/// when not configured): it decides whether a password must be typed.
pub fn validate(d: &Draft, saved: Option<&MailSettings>) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut add = |field: &'static str, code: Option<&'static str>| {
        if let Some(code) = code {
            issues.push(Issue { field, code });
        }
    };

    add(fields::HOST, check_host(d.host.trim()));
    add(fields::PORT, check_integer(&d.port, 1, 65535, true));
    add(fields::SENDER_NAME, check_name(&d.sender_name));
    add(fields::SENDER_ADDRESS, check_mailbox(d.sender_address.trim(), true));
    if d.auth_enabled {
        add(fields::AUTH_USERNAME, check_username(d.auth_username.trim()));
        if d.auth_method == AuthMethod::Oauth2 {
            check_oauth(d, saved, &mut add);
        } else {
            add(fields::AUTH_PASSWORD, check_password(d, saved));
        }
    }
    add(fields::TLS_TRUSTED_CA_PEM, check_pem(d.tls_trusted_ca_pem.trim()));
    if d.reply_to_individual_sender && !d.force_default_sender {
        add(fields::REPLY_TO_INDIVIDUAL_SENDER, Some(codes::REQUIRES_FORCE_DEFAULT_SENDER));
    }
    add(
        fields::TIMEOUT_SECONDS,
        check_integer(&d.timeout_seconds, TIMEOUT_SECONDS_MIN.into(), TIMEOUT_SECONDS_MAX.into(), false),
    );
    for (i, field) in fields::LIMITS.into_iter().enumerate() {
        add(field, check_integer(&d.limits[i], 1, limit_max(i).into(), false));
    }
    // Without the fallback's inputs (see Cargo.toml) the server checks the saved fallback.
    #[cfg(feature = "fallback")]
    d.fallback.issues((&d.host, &d.port), saved, &mut issues);
    issues
}

/// The largest value the server takes for the limit at `index` of [`fields::LIMITS`] (the
/// smallest is 1; empty is no limit).
pub fn limit_max(index: usize) -> u32 {
    if index == 4 {
        CONCURRENT_SESSIONS_MAX
    } else {
        LIMIT_MAX
    }
}

fn has_line_break(s: &str) -> bool {
    s.contains(['\r', '\n'])
}

pub(crate) fn check_integer(raw: &str, min: i64, max: i64, required: bool) -> Option<&'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return required.then_some(codes::REQUIRED);
    }
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(codes::NOT_A_NUMBER);
    }
    // Digits that do not fit an i64 are far out of range too.
    match raw.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => None,
        _ => Some(codes::OUT_OF_RANGE),
    }
}

fn check_name(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some(codes::REQUIRED)
    } else if has_line_break(name) {
        Some(codes::CONTAINS_LINE_BREAK)
    } else {
        None
    }
}

pub(crate) fn check_username(username: &str) -> Option<&'static str> {
    if username.is_empty() {
        Some(codes::REQUIRED)
    } else if has_line_break(username) {
        Some(codes::CONTAINS_LINE_BREAK)
    } else {
        None
    }
}

fn check_password(d: &Draft, saved: Option<&MailSettings>) -> Option<&'static str> {
    if !d.auth_password.is_empty() {
        return has_line_break(&d.auth_password).then_some(codes::CONTAINS_LINE_BREAK);
    }
    match saved {
        Some(s) if s.auth.password_set => d.connection_changed(s).then_some(codes::PASSWORD_REQUIRED_AGAIN),
        _ => Some(codes::REQUIRED),
    }
}

/// The fields the provider and flow need; a secret left empty only while the stored one is
/// kept (see [`Draft::oauth_secrets_reusable`]).
fn check_oauth(d: &Draft, saved: Option<&MailSettings>, add: &mut impl FnMut(&'static str, Option<&'static str>)) {
    let o = &d.oauth;
    let uses = OAuthUses::of(o.provider, o.flow);
    let required = |applies: bool, s: &str| (applies && s.trim().is_empty()).then_some(codes::REQUIRED);
    if uses.tenant {
        let tenant = o.tenant.trim();
        let bad = !tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        add(fields::OAUTH_TENANT, required(true, tenant).or(bad.then_some(codes::INVALID_TENANT)));
    }
    add(fields::OAUTH_CLIENT_ID, required(uses.client, &o.client_id));
    let stored = saved.and_then(|s| s.auth.oauth2.as_ref());
    let reusable = saved.is_some_and(|s| d.oauth_secrets_reusable(s));
    // Empty secret: fine when the stored one is kept (or, for a secret the flow may go
    // without, when none is needed); "again" when one is stored but cannot be kept.
    let secret = |needed: bool, typed: &str, set: bool| {
        (needed && typed.trim().is_empty() && !(reusable && set)).then_some(if set {
            codes::SECRET_REQUIRED_AGAIN
        } else {
            codes::REQUIRED
        })
    };
    let secret_set = stored.is_some_and(|s| s.client_secret_set);
    add(fields::OAUTH_CLIENT_SECRET, secret(uses.secret_required, &o.client_secret, secret_set));
    let key_set = stored.is_some_and(|s| s.service_account_key_set);
    add(fields::OAUTH_SERVICE_ACCOUNT_KEY, secret(uses.key, &o.service_account_key, key_set));
    add(fields::OAUTH_TOKEN_URL, required(uses.generic, &o.token_url));
    add(fields::OAUTH_AUTHORIZATION_URL, required(uses.authorization_url, &o.authorization_url));
    add(fields::OAUTH_SCOPE, required(o.provider == OAuthProvider::Generic, &o.scope));
}

pub(crate) fn check_pem(pem: &str) -> Option<&'static str> {
    if pem.is_empty() {
        return None;
    }
    let begin = "-----BEGIN CERTIFICATE-----";
    let end = "-----END CERTIFICATE-----";
    match (pem.find(begin), pem.rfind(end)) {
        (Some(b), Some(e)) if b + begin.len() < e => None,
        _ => Some(codes::INVALID_PEM),
    }
}

/// A DNS name or an IP literal; no scheme, port, path, spaces or line breaks.
pub fn check_host(host: &str) -> Option<&'static str> {
    if host.is_empty() {
        Some(codes::REQUIRED)
    } else if has_line_break(host) {
        Some(codes::CONTAINS_LINE_BREAK)
    } else if host.len() > 253 {
        Some(codes::TOO_LONG)
    } else if is_ip_literal(host) || is_dns_name(host) {
        None
    } else {
        Some(codes::INVALID_HOST)
    }
}

fn is_ip_literal(s: &str) -> bool {
    let inner = s.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
    match inner {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => s.parse::<Ipv4Addr>().is_ok() || s.parse::<Ipv6Addr>().is_ok(),
    }
}

/// Letters, digits and hyphens in labels of 1 to 63 characters (no hyphen at either end),
/// an optional final dot, and not all digits and dots (that would be a broken IPv4 address).
fn is_dns_name(s: &str) -> bool {
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    labels_ok && !name.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A plausible RFC 5321 mailbox: `local@domain`, local part a dot-atom of at most 64
/// characters, domain a DNS name or a bracketed IP literal; at most 254 characters.
pub fn check_mailbox(addr: &str, required: bool) -> Option<&'static str> {
    if addr.is_empty() {
        return required.then_some(codes::REQUIRED);
    }
    if has_line_break(addr) {
        return Some(codes::CONTAINS_LINE_BREAK);
    }
    if addr.len() > 254 {
        return Some(codes::TOO_LONG);
    }
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Some(codes::INVALID_EMAIL);
    };
    const ATEXT: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || ATEXT.contains(&b) || b >= 0x80);
    let domain_ok = match domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        Some(literal) => {
            literal.parse::<Ipv4Addr>().is_ok()
                || literal.strip_prefix("IPv6:").is_some_and(|v6| v6.parse::<Ipv6Addr>().is_ok())
        }
        None => is_dns_name(domain),
    };
    (!(local_ok && domain_ok)).then_some(codes::INVALID_EMAIL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use postamt_wire::time::DateTime;
    use postamt_wire::{AuthView, Encryption, TlsSettings};

    fn filled() -> Draft {
        let mut d = Draft::new_defaults();
        d.host = "smtp.example.org".into();
        d.sender_name = "TEAMBOX".into();
        d.sender_address = "teambox@example.org".into();
        d
    }

    fn saved(password_set: bool) -> MailSettings {
        MailSettings {
            host: "smtp.example.org".into(),
            port: 587,
            encryption: Encryption::Starttls,
            sender_name: "TEAMBOX".into(),
            sender_address: "teambox@example.org".into(),
            auth: AuthView {
                enabled: true,
                method: postamt_wire::AuthMethod::Password,
                username: Some("teambox@example.org".into()),
                password_set,
                oauth2: None,
            },
            tls: TlsSettings::default(),
            force_default_sender: false,
            reply_to_individual_sender: false,
            timeout_seconds: 20,
            limits: postamt_wire::SendingLimits::default(),
            fallback: None,
            version: 1,
            updated_at: DateTime::from_rfc3339_text("1970-01-01T00:00:00Z"),
            updated_by: "admin".into(),
            warnings: vec![],
        }
    }

    fn codes_of(d: &Draft, s: Option<&MailSettings>) -> Vec<(&'static str, &'static str)> {
        validate(d, s).into_iter().map(|i| (i.field, i.code)).collect()
    }

    #[test]
    fn defaults_need_host_and_sender() {
        assert_eq!(
            codes_of(&Draft::new_defaults(), None),
            vec![("host", "required"), ("sender_name", "required"), ("sender_address", "required")]
        );
        assert!(codes_of(&filled(), None).is_empty());
    }

    #[test]
    fn hosts() {
        for ok in ["smtp.example.org", "localhost", "127.0.0.1", "::1", "[2001:db8::1]", "mail-1.example.org."] {
            assert_eq!(check_host(ok), None, "{ok}");
        }
        for bad in ["smtp://example.org", "smtp.example.org:587", "a b", "-x.org", "999.1.1.1", "x..org", "mail_1.org"]
        {
            assert_eq!(check_host(bad), Some(codes::INVALID_HOST), "{bad}");
        }
        assert_eq!(check_host("a\r\nb"), Some(codes::CONTAINS_LINE_BREAK));
    }

    #[test]
    fn mailboxes() {
        for ok in ["a@b.org", "first.last+tag@example.org", "admin@localhost", "x@[127.0.0.1]"] {
            assert_eq!(check_mailbox(ok, true), None, "{ok}");
        }
        for bad in ["a", "@b.org", "a@", "a b@c.org", "a..b@c.org", "a@b..org", "<a@b.org>"] {
            assert_eq!(check_mailbox(bad, true), Some(codes::INVALID_EMAIL), "{bad}");
        }
        assert_eq!(check_mailbox("a@b.org\nBcc: x@y.org", true), Some(codes::CONTAINS_LINE_BREAK));
    }

    #[test]
    fn numbers() {
        let mut d = filled();
        d.port = "0".into();
        d.timeout_seconds = "121".into();
        assert_eq!(codes_of(&d, None), vec![("port", "out_of_range"), ("timeout_seconds", "out_of_range")]);
        d.port = "abc".into();
        d.timeout_seconds = "".into();
        assert_eq!(codes_of(&d, None), vec![("port", "not_a_number")]);
        d.port = "-5".into();
        assert_eq!(codes_of(&d, None), vec![("port", "out_of_range")]);
        d.port = "65535".into();
        d.timeout_seconds = "120".into();
        assert!(codes_of(&d, None).is_empty());
    }

    #[test]
    fn limits_are_optional_whole_numbers_within_the_servers_bounds() {
        let mut d = filled();
        d.limits = ["30", "", " 2000 ", "10000000", "100"].map(String::from);
        assert!(codes_of(&d, None).is_empty());
        d.limits = ["0", "10000001", "abc", "1.5", "101"].map(String::from);
        assert_eq!(
            codes_of(&d, None),
            vec![
                ("limits.messages_per_minute", "out_of_range"),
                ("limits.messages_per_hour", "out_of_range"),
                ("limits.messages_per_day", "not_a_number"),
                ("limits.recipients_per_day", "not_a_number"),
                ("limits.concurrent_sessions", "out_of_range"),
            ]
        );
        assert_eq!((limit_max(0), limit_max(4)), (LIMIT_MAX, CONCURRENT_SESSIONS_MAX));
    }

    #[test]
    fn password_rules() {
        let mut d = filled();
        d.auth_enabled = true;
        d.auth_username = "teambox@example.org".into();
        // Nothing stored yet: required.
        assert_eq!(codes_of(&d, None), vec![("auth.password", "required")]);
        assert_eq!(codes_of(&d, Some(&saved(false))), vec![("auth.password", "required")]);
        // Stored and the connection unchanged: may stay empty.
        assert!(codes_of(&d, Some(&saved(true))).is_empty());
        // Stored but the server changed: must be typed again.
        d.port = "465".into();
        assert_eq!(codes_of(&d, Some(&saved(true))), vec![("auth.password", "password_required_again")]);
        d.auth_password = "new".into();
        assert!(codes_of(&d, Some(&saved(true))).is_empty());
        // Username is required with auth.
        d.auth_username = " ".into();
        assert_eq!(codes_of(&d, Some(&saved(true))), vec![("auth.username", "required")]);
    }

    #[test]
    fn reply_to_needs_force_and_pem_is_checked() {
        let mut d = filled();
        d.reply_to_individual_sender = true;
        d.tls_trusted_ca_pem = "not a certificate".into();
        assert_eq!(
            codes_of(&d, None),
            vec![
                ("tls.trusted_ca_pem", "invalid_pem"),
                ("reply_to_individual_sender", "requires_force_default_sender")
            ]
        );
        d.force_default_sender = true;
        d.tls_trusted_ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into();
        assert!(codes_of(&d, None).is_empty());
    }

    #[test]
    fn oauth_rules() {
        use crate::form::OAuthDraft;
        use postamt_wire::{OAuth2View, OAuthConnection, OAuthFlow};
        let mut d = filled();
        d.auth_enabled = true;
        d.auth_username = "teambox@example.org".into();
        d.auth_method = AuthMethod::Oauth2;
        assert_eq!(
            codes_of(&d, None),
            vec![
                ("auth.oauth2.tenant", "required"),
                ("auth.oauth2.client_id", "required"),
                ("auth.oauth2.client_secret", "required")
            ]
        );
        d.oauth =
            OAuthDraft { tenant: "contoso.onmicrosoft.com".into(), client_id: "app".into(), ..OAuthDraft::default() };
        let mut s = saved(false);
        s.auth.method = AuthMethod::Oauth2;
        s.auth.oauth2 = Some(OAuth2View {
            provider: OAuthProvider::Microsoft,
            flow: OAuthFlow::ClientCredentials,
            tenant: Some("contoso.onmicrosoft.com".into()),
            client_id: Some("app".into()),
            token_url: None,
            authorization_url: None,
            scope: None,
            client_secret_set: true,
            service_account_key_set: false,
            service_account: None,
            connection: OAuthConnection::unknown(),
        });
        // The stored secret is kept for the same app, mailbox and server.
        assert!(codes_of(&d, Some(&s)).is_empty());
        d.oauth.client_id = "other".into();
        assert_eq!(codes_of(&d, Some(&s)), vec![("auth.oauth2.client_secret", "secret_required_again")]);
        // Microsoft delegated needs no secret; Google's service account needs its key.
        d.oauth.flow = OAuthFlow::AuthorizationCode;
        assert!(codes_of(&d, Some(&s)).is_empty());
        d.oauth.provider = OAuthProvider::Google;
        d.oauth.flow = OAuthFlow::ServiceAccount;
        assert_eq!(codes_of(&d, Some(&s)), vec![("auth.oauth2.service_account_key", "required")]);
        d.oauth.provider = OAuthProvider::Generic;
        d.oauth.flow = OAuthFlow::AuthorizationCode;
        assert_eq!(
            codes_of(&d, None),
            vec![
                ("auth.oauth2.token_url", "required"),
                ("auth.oauth2.authorization_url", "required"),
                ("auth.oauth2.scope", "required")
            ]
        );
    }
}
