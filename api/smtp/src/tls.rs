//! TLS with rustls and the `ring` provider: trust roots (system, else Mozilla's, plus the
//! configured private CA) and a verifier wrapper that keeps the server's certificate chain
//! and the verification error, so the result can show the certificate even when it fails.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::TlsConnector;

/// What the verifier saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct Captured {
    /// The server's certificate first, then the intermediates it sent.
    pub chain: Vec<CertificateDer<'static>>,
    /// Why the chain did not verify (also recorded when invalid certificates are accepted).
    pub verify_error: Option<rustls::Error>,
}

#[derive(Debug)]
struct CapturingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    accept_invalid: bool,
    captured: Arc<Mutex<Captured>>,
}

impl ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        {
            let mut captured = self.captured.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            captured.chain = std::iter::once(end_entity).chain(intermediates).map(|c| c.clone().into_owned()).collect();
            captured.verify_error = result.as_ref().err().cloned();
        }
        match result {
            Err(_) if self.accept_invalid => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    // The handshake signature is always checked: even an accepted invalid certificate must
    // belong to the server we talk to.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Why TLS could not be set up from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsSetupError {
    /// `tls.trusted_ca_pem` holds no usable certificate.
    InvalidCaPem(String),
    /// The host is neither a valid DNS name nor an IP address.
    InvalidServerName(String),
    Other(String),
}

/// A TLS client for one test, with the capture of what the server presented.
pub(crate) struct TlsClient {
    pub connector: TlsConnector,
    pub server_name: ServerName<'static>,
    pub captured: Arc<Mutex<Captured>>,
}

impl TlsClient {
    pub(crate) fn new(host: &str, trusted_ca_pem: Option<&str>, accept_invalid: bool) -> Result<Self, TlsSetupError> {
        let server_name = server_name(host)?;
        let mut roots = RootCertStore::empty();
        roots.extend(system_roots().roots.iter().cloned());
        if let Some(pem) = trusted_ca_pem.filter(|p| !p.trim().is_empty()) {
            for cert in parse_ca_pem(pem)? {
                roots.add(cert).map_err(|e| TlsSetupError::InvalidCaPem(e.to_string()))?;
            }
        }
        let provider = provider();
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TlsSetupError::Other(e.to_string()))?;
        let captured = Arc::new(Mutex::new(Captured::default()));
        let verifier = CapturingVerifier { inner, accept_invalid, captured: captured.clone() };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError::Other(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(TlsClient { connector: TlsConnector::from(Arc::new(config)), server_name, captured })
    }

    pub(crate) fn captured(&self) -> Captured {
        self.captured.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

/// The certificates in a PEM text; an error if there is none or one does not parse.
pub(crate) fn parse_ca_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::InvalidCaPem(format!("the PEM does not parse: {e}")))?;
    if certs.is_empty() {
        return Err(TlsSetupError::InvalidCaPem("the PEM contains no CERTIFICATE block".into()));
    }
    for cert in &certs {
        if x509_parser::parse_x509_certificate(cert.as_ref()).is_err() {
            return Err(TlsSetupError::InvalidCaPem("a CERTIFICATE block is not an X.509 certificate".into()));
        }
    }
    Ok(certs)
}

/// The name to verify the certificate against: an IP address (with or without brackets)
/// or a DNS name.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, TlsSetupError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_owned()).map_err(|_| TlsSetupError::InvalidServerName(host.to_owned()))
}

fn provider() -> Arc<CryptoProvider> {
    // Always `ring`, named explicitly: another crate in the process may enable aws-lc-rs,
    // and then rustls could not pick a default provider by itself.
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

pub(crate) struct SystemRoots {
    pub roots: Vec<rustls::pki_types::TrustAnchor<'static>>,
    /// `system` or `mozilla` (built-in, when the system has none).
    pub source: &'static str,
}

/// The system's trusted roots, loaded once; Mozilla's built-in list when the system has
/// none (a slim container without ca-certificates).
pub(crate) fn system_roots() -> &'static SystemRoots {
    static ROOTS: OnceLock<SystemRoots> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(loaded.certs);
        if added > 0 {
            SystemRoots { roots: store.roots, source: "system" }
        } else {
            SystemRoots { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(), source: "mozilla" }
        }
    })
}

/// `TLSv1.3` for rustls's `TLSv1_3`.
pub(crate) fn protocol_name(version: rustls::ProtocolVersion) -> String {
    match version {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        other => format!("{other:?}"),
    }
}

/// The rustls error inside an I/O error from tokio-rustls, if any.
pub(crate) fn rustls_error(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        assert!(matches!(server_name("127.0.0.1"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("mail.example.org"), Ok(ServerName::DnsName(_))));
        assert!(server_name("bad name").is_err());
    }

    #[test]
    fn ca_pem_must_hold_a_certificate() {
        assert!(matches!(parse_ca_pem("hello"), Err(TlsSetupError::InvalidCaPem(_))));
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(parse_ca_pem(garbage), Err(TlsSetupError::InvalidCaPem(_))));
    }

    #[test]
    fn system_roots_are_never_empty() {
        assert!(!system_roots().roots.is_empty());
    }
}
