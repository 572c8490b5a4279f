//! The second connection that tells a silent implicit-TLS port (465) from a slow plaintext
//! server: it sends a TLS ClientHello and looks at what comes back.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::conn::Recorder;
use crate::reply::looks_like_smtp;
use crate::tls::{protocol_name, rustls_error, TlsClient};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsProbe {
    /// The port completed (or answered) a TLS handshake.
    Tls(String),
    /// The port greeted in plaintext on the second connection.
    Plaintext(String),
    /// Nothing conclusive (no answer, connection refused, …).
    Inconclusive(String),
}

/// Opens a second connection to `addr` and starts TLS on it, accepting any certificate
/// (only the protocol matters here). Runs until it knows, or until the caller's deadline.
pub(crate) async fn implicit_tls(addr: SocketAddr, host: &str) -> TlsProbe {
    let client = match TlsClient::new(host, None, true).or_else(|_| TlsClient::new(&addr.ip().to_string(), None, true))
    {
        Ok(client) => client,
        Err(e) => return TlsProbe::Inconclusive(format!("{e:?}")),
    };
    let tcp = match TcpStream::connect(addr).await {
        Ok(tcp) => tcp,
        Err(e) => return TlsProbe::Inconclusive(e.to_string()),
    };
    match client.connector.connect(client.server_name.clone(), Recorder::new(tcp)).into_fallible().await {
        Ok(stream) => {
            let version = stream.get_ref().1.protocol_version().map(protocol_name);
            TlsProbe::Tls(format!("handshake completed, {}", version.unwrap_or_else(|| "TLS".to_owned())))
        }
        Err((err, io)) => {
            let first = io.first_bytes();
            if looks_like_smtp(first) {
                let text = String::from_utf8_lossy(first);
                TlsProbe::Plaintext(text.lines().next().unwrap_or("").to_owned())
            } else if matches!(first.first(), Some(0x15 | 0x16)) {
                // A TLS record (alert or handshake) came back.
                TlsProbe::Tls(format!("the server answered with TLS ({err})"))
            } else if matches!(rustls_error(&err), Some(rustls::Error::AlertReceived(_))) {
                TlsProbe::Tls(format!("the server answered with a TLS alert ({err})"))
            } else {
                TlsProbe::Inconclusive(err.to_string())
            }
        }
    }
}
