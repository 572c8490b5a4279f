use super::FieldProblem;
use std::net::{IpAddr, Ipv6Addr};

/// An SMTP server: a DNS name or an IP literal. No scheme, no port, no whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpHost(String);

impl SmtpHost {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for SmtpHost {
    type Error = FieldProblem;

    fn try_from(raw: &str) -> Result<Self, FieldProblem> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(FieldProblem::new("required", "must not be empty"));
        }
        if value.contains("://") {
            return Err(FieldProblem::new(
                "invalid_host",
                "enter the host name only, without a scheme such as smtp://",
            ));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldProblem::new("invalid_host", "must not contain spaces or line breaks"));
        }
        // "[2001:db8::1]" and "2001:db8::1" are both accepted and stored without brackets.
        let unbracketed = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(value);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(Self(ip.to_string()));
        }
        if unbracketed.parse::<Ipv6Addr>().is_err() && value.contains(':') {
            return Err(FieldProblem::new("invalid_host", "enter the port in the port field, not after the host"));
        }
        if !value.is_ascii() {
            return Err(FieldProblem::new(
                "invalid_host",
                "international domain names must be entered in their ASCII form (xn--...)",
            ));
        }
        if !is_dns_name(value) {
            return Err(FieldProblem::new("invalid_host", "is not a valid host name or IP address"));
        }
        Ok(Self(value.to_ascii_lowercase()))
    }
}

/// RFC 1123 host name: labels of 1 to 63 letters, digits and inner hyphens; 253 at most.
pub(crate) fn is_dns_name(value: &str) -> bool {
    let name = value.strip_suffix('.').unwrap_or(value);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        // An all-numeric name that is not a valid IPv4 address is a typo, not a host.
        && !name.split('.').all(|label| label.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> &'static str {
        SmtpHost::try_from(raw).unwrap_err().code
    }

    #[test]
    fn accepts_names_and_ip_literals() {
        assert_eq!(SmtpHost::try_from(" SMTP.Example.org ").unwrap().as_str(), "smtp.example.org");
        assert_eq!(SmtpHost::try_from("localhost").unwrap().as_str(), "localhost");
        assert_eq!(SmtpHost::try_from("192.0.2.7").unwrap().as_str(), "192.0.2.7");
        assert_eq!(SmtpHost::try_from("[2001:db8::1]").unwrap().as_str(), "2001:db8::1");
        assert_eq!(SmtpHost::try_from("xn--mller-kva.de").unwrap().as_str(), "xn--mller-kva.de");
    }

    #[test]
    fn rejects_schemes_ports_spaces_and_garbage() {
        assert_eq!(code("smtp://mail.example.org"), "invalid_host");
        assert_eq!(code("mail.example.org:587"), "invalid_host");
        assert_eq!(code("mail example.org"), "invalid_host");
        assert_eq!(code("mail.example.org\r\nRCPT"), "invalid_host");
        assert_eq!(code("-bad.example"), "invalid_host");
        assert_eq!(code("a..b"), "invalid_host");
        assert_eq!(code("999.1.1.1"), "invalid_host");
        assert_eq!(code("müller.de"), "invalid_host");
        assert_eq!(code(""), "required");
    }
}
