use super::smtp_host::is_dns_name;
use super::FieldProblem;
use std::net::IpAddr;

/// An RFC 5321 mailbox (`local@domain`) usable in `MAIL FROM`/`RCPT TO` and headers.
///
/// Accepted: a dot-atom local part (at most 64 octets) and a DNS domain or an address
/// literal (`[192.0.2.1]`); 254 octets in all. Quoted local parts and non-ASCII addresses
/// (SMTPUTF8) are rejected because many servers refuse them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: `j***@example.org`.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

impl TryFrom<&str> for EmailAddress {
    type Error = FieldProblem;

    fn try_from(raw: &str) -> Result<Self, FieldProblem> {
        let value = raw.trim();
        let invalid = |why: &str| FieldProblem::new("invalid_email", format!("is not a valid e-mail address: {why}"));
        if value.is_empty() {
            return Err(FieldProblem::new("required", "must not be empty"));
        }
        if value.contains(['\r', '\n']) {
            return Err(FieldProblem::new("contains_line_break", "must not contain line breaks"));
        }
        if !value.is_ascii() {
            return Err(invalid("only ASCII addresses are supported"));
        }
        if value.len() > 254 {
            return Err(invalid("longer than 254 characters"));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(invalid("the @ is missing"));
        };
        if local.is_empty() || local.len() > 64 || !is_dot_atom(local) {
            return Err(invalid("the part before the @ is not allowed"));
        }
        let domain_ok = match domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
            Some(literal) => literal
                .strip_prefix("IPv6:")
                .map_or_else(|| literal.parse::<std::net::Ipv4Addr>().is_ok(), |v6| v6.parse::<IpAddr>().is_ok()),
            None => !domain.ends_with('.') && is_dns_name(domain),
        };
        if !domain_ok {
            return Err(invalid("the domain after the @ is not valid"));
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }
}

fn is_dot_atom(local: &str) -> bool {
    const SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.bytes().all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in
            ["a@example.org", "first.last+tag@Sub.Example.ORG", "x@localhost", "o'brien@example.ie", "a@[192.0.2.1]"]
        {
            assert!(EmailAddress::try_from(ok).is_ok(), "{ok}");
        }
        assert_eq!(EmailAddress::try_from("Max@Example.ORG").unwrap().as_str(), "Max@example.org");
    }

    #[test]
    fn rejects_broken_addresses() {
        for bad in [
            "",
            "plain",
            "@example.org",
            "a@",
            "a..b@example.org",
            "a b@example.org",
            "a@exa mple.org",
            "a@-x.org",
            "jörg@example.org",
            "a@example.org.",
            "\"quoted\"@example.org",
            "a@b@c",
        ] {
            assert!(EmailAddress::try_from(bad).is_err(), "{bad}");
        }
        assert_eq!(EmailAddress::try_from("a@x.org\r\nBcc: v@x.org").unwrap_err().code, "contains_line_break");
    }

    #[test]
    fn masks_for_logs() {
        assert_eq!(EmailAddress::try_from("jane@example.org").unwrap().masked(), "j***@example.org");
    }
}
