//! The name the client gives in EHLO (RFC 5321 4.1.4): "the fully-qualified domain name of
//! the SMTP client (if one is available)", else an address literal. Servers that check it
//! (Exim's `helo_verify`, Postfix's `reject_non_fqdn_helo_hostname`) refuse a short host
//! name such as `vm`, so the default is never one.

use std::net::IpAddr;

/// A domain (`mail.example.org`) or an address literal (`[192.0.2.1]`, `[IPv6:…]`):
/// nothing that could end the command or add another. Looser than [`check_ehlo_name`]
/// (`localhost` passes): this is what the client will put on the wire at all.
pub fn is_valid_ehlo_name(name: &str) -> bool {
    if let Some(literal) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return parse_literal(literal).is_some();
    }
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Whether `name` may be configured as the EHLO name: a fully qualified domain name (at
/// least two labels, the last not numeric) or an address literal. The error says why not
/// and what to write instead.
pub fn check_ehlo_name(name: &str) -> Result<(), String> {
    if name.starts_with('[') {
        let ok = name.strip_suffix(']').and_then(|n| parse_literal(&n[1..])).is_some();
        return if ok {
            Ok(())
        } else {
            Err(format!("{name:?} is not an address literal; write [192.0.2.1] or [IPv6:2001:db8::1]"))
        };
    }
    if name.parse::<IpAddr>().is_ok() {
        return Err(format!("{name:?} is a bare IP address; write it as an address literal: {}", literal_of(name)));
    }
    if !is_valid_ehlo_name(name) {
        return Err(format!("{name:?} is not a domain name (letters, digits and hyphens in dot-separated labels)"));
    }
    let last = name.rsplit('.').next().unwrap_or_default();
    if !name.contains('.') || last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{name:?} is not fully qualified; give the full name (e.g. mail.example.org) or an address literal"
        ));
    }
    Ok(())
}

/// `[192.0.2.1]` for an IPv4 address (also one mapped into IPv6), `[IPv6:2001:db8::1]` for
/// IPv6 (RFC 5321 4.1.3).
pub fn address_literal(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// This machine's host name when it is a fully qualified domain name (has a dot), else
/// `None`: a short name is no FQDN, and guessing a domain for it would be worse than an
/// address literal.
pub fn machine_fqdn() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().trim_end_matches('.').to_owned())
        .find(|name| !name.is_empty())
        .filter(|name| check_ehlo_name(name).is_ok())
}

/// The EHLO name when none is configured: [`machine_fqdn`], else the address literal of
/// `local`, the address this end of the connection has.
pub fn default_ehlo_name(local: IpAddr) -> String {
    machine_fqdn().unwrap_or_else(|| address_literal(local))
}

/// The literal's address: `192.0.2.1` or `IPv6:2001:db8::1`.
fn parse_literal(literal: &str) -> Option<IpAddr> {
    match literal.strip_prefix("IPv6:") {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        None => literal.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

fn literal_of(bare: &str) -> String {
    bare.parse().map(address_literal).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_may_go_on_the_wire() {
        assert!(is_valid_ehlo_name("mail.example.org"));
        assert!(is_valid_ehlo_name("localhost"));
        assert!(is_valid_ehlo_name("[127.0.0.1]"));
        assert!(is_valid_ehlo_name("[IPv6:::1]"));
        assert!(!is_valid_ehlo_name("[::1]"), "IPv6 needs the IPv6: tag");
        assert!(!is_valid_ehlo_name("bad name"));
        assert!(!is_valid_ehlo_name("x\r\nMAIL FROM:<a@b>"));
        assert!(!is_valid_ehlo_name(""));
    }

    #[test]
    fn configured_names_must_be_fully_qualified_or_literals() {
        for good in ["mail.example.org", "postamt.test", "[192.0.2.1]", "[IPv6:2001:db8::1]"] {
            assert_eq!(check_ehlo_name(good), Ok(()), "{good}");
        }
        for bad in ["vm", "localhost", "", "bad name", "-x.example.org", "[192.0.2.1", "[::1]", "10.0.0.300"] {
            assert!(check_ehlo_name(bad).is_err(), "{bad} was accepted");
        }
        let bare = check_ehlo_name("192.0.2.1").unwrap_err();
        assert!(bare.contains("[192.0.2.1]"), "{bare}");
        let v6 = check_ehlo_name("2001:db8::1").unwrap_err();
        assert!(v6.contains("[IPv6:2001:db8::1]"), "{v6}");
    }

    #[test]
    fn the_default_is_an_fqdn_or_the_local_address() {
        assert_eq!(address_literal("192.0.2.1".parse().unwrap()), "[192.0.2.1]");
        assert_eq!(address_literal("::ffff:192.0.2.1".parse().unwrap()), "[192.0.2.1]");
        assert_eq!(address_literal("2001:db8::1".parse().unwrap()), "[IPv6:2001:db8::1]");
        let name = default_ehlo_name("127.0.0.1".parse().unwrap());
        assert_eq!(check_ehlo_name(&name), Ok(()), "{name}");
        match machine_fqdn() {
            Some(fqdn) => assert_eq!(name, fqdn),
            None => assert_eq!(name, "[127.0.0.1]"),
        }
    }
}
