//! Certificate details for the result: subject, issuer, SANs, validity, fingerprint, and
//! a readable reason when verification failed.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use postamt_wire::TlsInfo;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, CommonState};
use x509_parser::extensions::GeneralName;

use crate::tls::{protocol_name, Captured};

/// The parts of a certificate shown to the admin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CertDetails {
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub sans: Vec<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    pub sha256_fingerprint: String,
}

pub(crate) fn describe(der: &CertificateDer<'_>) -> CertDetails {
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    let sha256_fingerprint = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":");
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else {
        return CertDetails { sha256_fingerprint, ..CertDetails::default() };
    };
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.iter().filter_map(general_name).collect(),
        _ => Vec::new(),
    };
    let time = |t: &x509_parser::time::ASN1Time| DateTime::<Utc>::from_timestamp(t.timestamp(), 0);
    CertDetails {
        subject: Some(cert.subject().to_string()),
        issuer: Some(cert.issuer().to_string()),
        sans,
        not_before: time(&cert.validity().not_before),
        not_after: time(&cert.validity().not_after),
        sha256_fingerprint,
    }
}

fn general_name(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::DNSName(dns) => Some(format!("DNS:{dns}")),
        GeneralName::IPAddress(bytes) => {
            let ip = match bytes.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(*bytes).ok()?),
                16 => IpAddr::from(<[u8; 16]>::try_from(*bytes).ok()?),
                _ => return None,
            };
            Some(format!("IP:{ip}"))
        }
        GeneralName::RFC822Name(mail) => Some(format!("email:{mail}")),
        GeneralName::URI(uri) => Some(format!("URI:{uri}")),
        _ => None,
    }
}

/// The names a certificate is valid for, without their `DNS:`/`IP:` prefix.
pub(crate) fn host_names(sans: &[String]) -> Vec<String> {
    sans.iter()
        .filter_map(|san| san.strip_prefix("DNS:").or_else(|| san.strip_prefix("IP:")))
        .map(str::to_owned)
        .collect()
}

/// The TLS part of the result: what the verifier captured, and the negotiated protocol when
/// the handshake completed. `None` when the server sent no certificate.
pub(crate) fn tls_info(captured: &Captured, session: Option<&CommonState>) -> Option<TlsInfo> {
    let leaf = captured.chain.first()?;
    let details = describe(leaf);
    Some(TlsInfo {
        protocol: session.and_then(CommonState::protocol_version).map(protocol_name),
        cipher_suite: session.and_then(CommonState::negotiated_cipher_suite).map(|s| format!("{:?}", s.suite())),
        subject: details.subject,
        issuer: details.issuer,
        sans: details.sans,
        not_before: details.not_before,
        not_after: details.not_after,
        sha256_fingerprint: Some(details.sha256_fingerprint),
        chain_length: captured.chain.len() as u32,
        verified: captured.verify_error.is_none(),
        verify_error: captured.verify_error.as_ref().map(verify_error_text),
    })
}

/// A readable reason for a failed verification.
pub(crate) fn verify_error_text(err: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(cert_error) = err else {
        return err.to_string();
    };
    let at = |t: &rustls::pki_types::UnixTime| {
        DateTime::<Utc>::from_timestamp(t.as_secs() as i64, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    };
    match cert_error {
        CertificateError::UnknownIssuer => {
            "issued by a certificate authority that is not trusted (self-signed or private CA)".to_owned()
        }
        CertificateError::Expired => "the certificate has expired".to_owned(),
        CertificateError::ExpiredContext { not_after, .. } => {
            format!("the certificate expired on {}", at(not_after))
        }
        CertificateError::NotValidYet => "the certificate is not valid yet".to_owned(),
        CertificateError::NotValidYetContext { not_before, .. } => {
            format!("the certificate is valid only from {}", at(not_before))
        }
        CertificateError::NotValidForName => "the certificate is for another host name".to_owned(),
        CertificateError::NotValidForNameContext { expected, presented } => {
            format!("the certificate is valid for {}, not for {}", presented.join(", "), expected.to_str())
        }
        CertificateError::Revoked => "the certificate has been revoked".to_owned(),
        CertificateError::BadSignature => "the certificate's signature is invalid".to_owned(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the certificate is not for TLS servers".to_owned()
        }
        CertificateError::BadEncoding => "the certificate cannot be parsed".to_owned(),
        other => format!("the certificate is invalid: {other:?}"),
    }
}
