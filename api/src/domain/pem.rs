use super::FieldProblem;

/// A PEM text with one or more X.509 `CERTIFICATE` blocks: the private CA an admin trusts
/// for the SMTP server. Parsed by the same code that later builds the TLS trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertificatePem(String);

const MAX_PEM_BYTES: usize = 64 * 1024;

impl CaCertificatePem {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for CaCertificatePem {
    type Error = FieldProblem;

    fn try_from(raw: &str) -> Result<Self, FieldProblem> {
        let text = raw.trim();
        if text.len() > MAX_PEM_BYTES {
            return Err(FieldProblem::new("too_long", "must be at most 64 KiB"));
        }
        postamt_smtp::validate_trusted_ca_pem(text)
            .map_err(|why| FieldProblem::new("invalid_pem", format!("is not a PEM certificate: {why}")))?;
        Ok(Self(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";

    #[test]
    fn rejects_non_pem_and_non_certificates() {
        assert_eq!(CaCertificatePem::try_from("hello").unwrap_err().code, "invalid_pem");
        let broken = format!("{BEGIN}\n!!!notbase64\n{END}");
        assert_eq!(CaCertificatePem::try_from(broken.as_str()).unwrap_err().code, "invalid_pem");
        // Valid base64, but not an X.509 certificate.
        let not_x509 = format!("{BEGIN}\nMIIBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n{END}");
        assert_eq!(CaCertificatePem::try_from(not_x509.as_str()).unwrap_err().code, "invalid_pem");
    }
}
