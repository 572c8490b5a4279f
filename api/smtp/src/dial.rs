//! Before SMTP: the DNS lookup and the TCP connection.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use postamt_wire::{FailureClass, SettingsField};
use tokio::net::TcpStream;

use crate::classify::{self, Fail};
use crate::session::Run;

pub(crate) async fn resolve(st: &mut Run<'_>) -> Result<Vec<SocketAddr>, Fail> {
    let (host, port) = (st.ep.host.trim(), st.ep.port);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        st.book.said(
            format!("{ip} ist eine IP-Adresse; keine Namensauflösung nötig"),
            format!("{ip} is an IP address; no lookup needed"),
        );
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let not_found = |detail: String| Fail::new(FailureClass::DnsNotFound, Some(SettingsField::Host)).detail(detail);
    if host.is_empty() {
        return Err(not_found("no server name given".to_owned()));
    }
    st.transcript.info(format!("Looking up {host} …"));
    let mut addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => addrs.collect(),
        Err(e) => return Err(not_found(format!("{host}: {e}"))),
    };
    let mut seen = std::collections::HashSet::new();
    addrs.retain(|a| seen.insert(*a));
    if addrs.is_empty() {
        return Err(not_found(format!("{host} has no address")));
    }
    let list = addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
    st.transcript.info(format!("{host} is {list}"));
    st.book.detail(list);
    Ok(addrs)
}

/// Tries each address in turn, giving each an equal share of the time left.
pub(crate) async fn connect(st: &mut Run<'_>, addrs: &[SocketAddr]) -> Result<(TcpStream, SocketAddr), Fail> {
    let mut last_error = io::Error::from(io::ErrorKind::TimedOut);
    for (i, addr) in addrs.iter().enumerate() {
        let remaining = st.deadline.saturating_duration_since(Instant::now());
        let share = remaining / (addrs.len() - i) as u32;
        st.transcript.info(format!("Connecting to {addr} …"));
        match tokio::time::timeout(share, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => {
                let _ = tcp.set_nodelay(true);
                st.transcript.info(format!("Connected to {addr}"));
                return Ok((tcp, *addr));
            }
            Ok(Err(e)) => {
                st.transcript.info(format!("{addr}: {e}"));
                last_error = e;
            }
            Err(_) => {
                st.transcript.info(format!("{addr}: no answer within {} ms", share.as_millis()));
                last_error = io::Error::from(io::ErrorKind::TimedOut);
            }
        }
    }
    Err(classify::connect_failure(&last_error))
}
