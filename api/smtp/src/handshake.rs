//! The TLS handshake of a test (implicit or after STARTTLS), recording the server's
//! certificate whether or not it verifies.

use postamt_wire::{Encryption, FailureClass, SettingsField};

use crate::certs;
use crate::classify::{self, Fail};
use crate::config::Endpoint;
use crate::conn::{PlainStream, SecureStream};
use crate::reply::looks_like_smtp;
use crate::session::Run;
use crate::tls::{TlsClient, TlsSetupError};

fn tls_client(cfg: &Endpoint<'_>) -> Result<TlsClient, Fail> {
    TlsClient::new(cfg.host, cfg.trusted_ca_pem, cfg.accept_invalid_certificates).map_err(|e| match e {
        TlsSetupError::InvalidCaPem(why) => {
            Fail::new(FailureClass::InvalidSettings, Some(SettingsField::TlsTrustedCaPem)).detail(why)
        }
        TlsSetupError::InvalidServerName(host) => Fail::new(FailureClass::InvalidSettings, Some(SettingsField::Host))
            .detail(format!("“{host}” is neither a host name nor an IP address")),
        TlsSetupError::Other(why) => {
            Fail::new(FailureClass::TlsHandshakeFailed, Some(SettingsField::Encryption)).detail(why)
        }
    })
}

/// The TLS handshake on `io`; records the certificate whether or not it verifies.
pub(crate) async fn handshake(st: &mut Run<'_>, io: PlainStream) -> Result<SecureStream, Fail> {
    let client = tls_client(&st.ep)?;
    let roots = match crate::tls::system_roots().source {
        "system" => "the system's trusted roots",
        _ => "Mozilla's trusted roots (the system has none)",
    };
    let private_ca =
        if st.ep.trusted_ca_pem.is_some_and(|p| !p.trim().is_empty()) { " and the configured private CA" } else { "" };
    st.transcript.info(format!("Starting TLS, trusting {roots}{private_ca} …"));
    let result = client.connector.connect(client.server_name.clone(), io).into_fallible().await;
    let captured = client.captured();
    match result {
        Ok(stream) => {
            let info = certs::tls_info(&captured, Some(stream.get_ref().1));
            if let Some(info) = &info {
                let verified = match (&info.verify_error, info.verified) {
                    (_, true) => "verified".to_owned(),
                    (Some(why), false) => format!("NOT verified ({why}), accepted as configured"),
                    (None, false) => "NOT verified, accepted as configured".to_owned(),
                };
                let summary = format!(
                    "{}, {}",
                    info.protocol.as_deref().unwrap_or("TLS"),
                    info.cipher_suite.as_deref().unwrap_or("?")
                );
                st.transcript.info(format!(
                    "TLS established: {summary}; certificate {} issued by {}, {verified}",
                    info.subject.as_deref().unwrap_or("?"),
                    info.issuer.as_deref().unwrap_or("?")
                ));
                st.book.detail(summary);
            }
            st.tls = info;
            Ok(stream)
        }
        Err((err, io)) => {
            st.tls = certs::tls_info(&captured, None);
            let first = io.first_bytes();
            if looks_like_smtp(first) {
                for line in String::from_utf8_lossy(first).lines().take(5) {
                    st.transcript.server(line);
                }
            }
            let verify_error = if st.ep.accept_invalid_certificates { None } else { captured.verify_error.as_ref() };
            let implicit = st.ep.encryption == Encryption::Tls;
            Err(classify::handshake_failure(&err, first, verify_error, implicit))
        }
    }
}
