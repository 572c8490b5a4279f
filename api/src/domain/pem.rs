use super::FieldProblem;
use base64::Engine;

/// A PEM text with one or more `CERTIFICATE` blocks whose base64 decodes to DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertificatePem(String);

const MAX_PEM_BYTES: usize = 64 * 1024;
const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

impl CaCertificatePem {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for CaCertificatePem {
    type Error = FieldProblem;

    fn try_from(raw: &str) -> Result<Self, FieldProblem> {
        let invalid = |why: &str| FieldProblem::new("invalid_pem", format!("is not a PEM certificate: {why}"));
        let text = raw.trim();
        if text.len() > MAX_PEM_BYTES {
            return Err(FieldProblem::new("too_long", "must be at most 64 KiB"));
        }
        let mut rest = text;
        let mut count = 0;
        while let Some(start) = rest.find(BEGIN) {
            let after = &rest[start + BEGIN.len()..];
            let end = after.find(END).ok_or_else(|| invalid("a block has no END line"))?;
            let body: String = after[..end].chars().filter(|c| !c.is_whitespace()).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|_| invalid("the base64 inside a block does not decode"))?;
            // Every X.509 certificate is a DER SEQUENCE.
            if der.first() != Some(&0x30) || der.len() < 64 {
                return Err(invalid("a block does not contain a certificate"));
            }
            count += 1;
            rest = &after[end + END.len()..];
        }
        if count == 0 {
            return Err(invalid("no -----BEGIN CERTIFICATE----- block found"));
        }
        Ok(Self(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_pem() {
        assert_eq!(CaCertificatePem::try_from("hello").unwrap_err().code, "invalid_pem");
        let broken = format!("{BEGIN}\n!!!notbase64\n{END}");
        assert_eq!(CaCertificatePem::try_from(broken.as_str()).unwrap_err().code, "invalid_pem");
        let unterminated = format!("{BEGIN}\nMIIB");
        assert_eq!(CaCertificatePem::try_from(unterminated.as_str()).unwrap_err().code, "invalid_pem");
    }

    #[test]
    fn accepts_a_der_sequence() {
        let der = [vec![0x30, 0x82, 0x01, 0x00], vec![0u8; 256]].concat();
        let pem = format!("{BEGIN}\n{}\n{END}\n", base64::engine::general_purpose::STANDARD.encode(der));
        assert!(CaCertificatePem::try_from(pem.as_str()).is_ok());
    }
}
