//! The greeting (racing a TLS probe when a plaintext port stays silent) and EHLO/HELO.

use std::net::SocketAddr;
use std::time::Duration;

use postamt_wire::{Encryption, FailureClass, SettingsField, StageName};

use crate::classify::{self, Fail, ReplyContext};
use crate::conn::{Conn, ReadError};
use crate::mask::Outgoing;
use crate::probe::{self, TlsProbe};
use crate::reply::{Capabilities, Reply};
use crate::session::{command, Run};
use crate::transcript::Transcript;

/// How long a plaintext connection may stay silent before a second connection checks
/// whether the port expects TLS from the first byte.
const PROBE_AFTER: Duration = Duration::from_millis(1_500);

/// The 220 greeting. On a plaintext connection that stays silent, a second connection
/// checks meanwhile whether the port expects TLS from the first byte (465): then waiting
/// on is pointless and the answer is "choose TLS".
pub(crate) async fn greeting(st: &mut Run<'_>, conn: &mut Conn, addr: SocketAddr) -> Result<Reply, Fail> {
    let fail = |e: ReadError| classify::read_failure(StageName::Greeting, &e);
    let transcript = &st.transcript;
    let cfg = st.ep;
    if cfg.encryption == Encryption::Tls {
        return conn.read_reply(transcript).await.map_err(fail);
    }
    let read = conn.read_reply(transcript);
    tokio::pin!(read);
    let probe_after = PROBE_AFTER.min(cfg.timeout / 3);
    if let Ok(result) = tokio::time::timeout(probe_after, &mut read).await {
        return result.map_err(fail);
    }
    transcript.info(format!(
        "No greeting after {} ms. Checking on a second connection whether port {} expects TLS from the first byte …",
        probe_after.as_millis(),
        cfg.port
    ));
    let probe = probe::implicit_tls(addr, cfg.host);
    tokio::pin!(probe);
    tokio::select! {
        result = &mut read => result.map_err(fail),
        outcome = &mut probe => match outcome {
            TlsProbe::Tls(how) => {
                transcript.info(format!("Second connection: {how}. Port {} expects TLS from the first byte.", cfg.port));
                Err(Fail::new(FailureClass::StarttlsOnImplicitTlsPort, Some(SettingsField::Encryption)).detail(format!(
                    "no greeting in plaintext, but port {} answers a TLS handshake ({how})",
                    cfg.port
                )))
            }
            TlsProbe::Plaintext(line) => {
                transcript.info(format!("Second connection got a plaintext greeting (\"{line}\"); waiting on."));
                read.await.map_err(fail)
            }
            TlsProbe::Inconclusive(why) => {
                transcript.info(format!("Second connection: no TLS answer either ({why}); waiting on."));
                read.await.map_err(fail)
            }
        },
    }
}

/// The name for EHLO on a connection whose local address is `local`: the configured one if
/// it may go on the wire (else `localhost`, noted in the transcript), or the default: the
/// machine's FQDN, else the address literal of `local`.
pub(crate) fn choose_ehlo_name(configured: Option<&str>, transcript: &Transcript, local: Option<SocketAddr>) -> String {
    match configured {
        Some(name) if crate::ehlo::is_valid_ehlo_name(name) => name.to_owned(),
        Some(name) => {
            transcript.info(format!("EHLO name “{name}” is not a domain or address literal; using localhost."));
            "localhost".to_owned()
        }
        None => match local {
            Some(local) => crate::ehlo::default_ehlo_name(local.ip()),
            None => crate::ehlo::machine_fqdn().unwrap_or_else(|| "localhost".to_owned()),
        },
    }
}

/// EHLO, or HELO when the server does not know EHLO (then it offers no extensions).
pub(crate) async fn ehlo(st: &mut Run<'_>, conn: &mut Conn, ctx: ReplyContext) -> Result<Capabilities, Fail> {
    let stage = st.book.running().unwrap_or(StageName::Ehlo);
    let reply = command(st, conn, Outgoing::public(format!("EHLO {}", st.ehlo_name))).await?;
    if stage == StageName::Ehlo {
        st.book.reply(&reply);
    }
    if reply.code == 250 {
        return Ok(Capabilities::from_ehlo(&reply));
    }
    if !reply.is_permanent() {
        return Err(classify::reply_failure(stage, &reply, ctx));
    }
    st.transcript.info("The server does not accept EHLO; trying HELO (no extensions: no STARTTLS, no AUTH).");
    let helo = command(st, conn, Outgoing::public(format!("HELO {}", st.ehlo_name))).await?;
    if stage == StageName::Ehlo {
        st.book.reply(&helo);
    }
    if helo.code == 250 {
        Ok(Capabilities::default())
    } else {
        Err(classify::reply_failure(stage, &helo, ctx).said(
            format!("EHLO und HELO {} wurden abgelehnt: {}", st.ehlo_name, helo.summary()),
            format!("EHLO and HELO {} were rejected: {}", st.ehlo_name, helo.summary()),
        ))
    }
}
