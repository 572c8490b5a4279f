//! Choosing a response's content coding from the request's `Accept-Encoding` (RFC 9110
//! §12.5.3): Brotli, gzip or none, among the codings the server has at hand.

use actix_web::http::header::{HeaderMap, ACCEPT_ENCODING};

/// A content coding Postamt can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    /// The token in `Content-Encoding` (`None` for identity, which is never sent).
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Coding::Brotli => Some("br"),
            Coding::Gzip => Some("gzip"),
            Coding::Identity => None,
        }
    }

    /// The file name suffix of a precompressed copy (`app.js.br`).
    pub fn file_suffix(self) -> Option<&'static str> {
        match self {
            Coding::Brotli => Some(".br"),
            Coding::Gzip => Some(".gz"),
            Coding::Identity => None,
        }
    }

    fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
            Coding::Identity => "identity",
        }
    }
}

/// The best of `available` (in the server's order of preference, best first) that the
/// request accepts. Identity is always possible: when the client accepts none of the
/// others, or refuses everything, the plain representation is sent (RFC 9110 allows that,
/// and a client that refuses identity too is better served than with a 406).
///
/// Rules: no header means "anything", but only identity is chosen then, since a client
/// that sends no `Accept-Encoding` may not decode anything else; `q=0` refuses a coding;
/// `*` stands for every coding not named; `x-gzip` is gzip. Among accepted codings the
/// client's higher q wins, ties go to the server's order.
pub fn negotiate(headers: &HeaderMap, available: &[Coding]) -> Coding {
    let mut values = headers.get_all(ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).peekable();
    if values.peek().is_none() {
        return Coding::Identity;
    }
    let entries: Vec<(String, f32)> = values.flat_map(|v| v.split(',')).filter_map(parse_entry).collect();
    let q_of = |coding: Coding| -> f32 {
        let named =
            entries.iter().find(|(name, _)| name == coding.token() || (coding == Coding::Gzip && name == "x-gzip"));
        match named {
            Some((_, q)) => *q,
            None => entries.iter().find(|(name, _)| name == "*").map_or(0.0, |(_, q)| *q),
        }
    };
    let mut best = (Coding::Identity, 0.0_f32);
    for &coding in available.iter().filter(|c| **c != Coding::Identity) {
        let q = q_of(coding);
        if q > best.1 {
            best = (coding, q);
        }
    }
    best.0
}

/// `gzip;q=0.8` → ("gzip", 0.8). Malformed q-values count as 0 (refused), so a garbled
/// header never switches a coding on.
fn parse_entry(raw: &str) -> Option<(String, f32)> {
    let mut parts = raw.split(';');
    let name = parts.next()?.trim().to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    let mut q = 1.0;
    for param in parts {
        let Some((key, value)) = param.split_once('=') else { continue };
        if key.trim().eq_ignore_ascii_case("q") {
            q = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
        }
    }
    Some((name, q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    const ALL: [Coding; 3] = [Coding::Brotli, Coding::Gzip, Coding::Identity];

    fn pick(header: Option<&str>, available: &[Coding]) -> Coding {
        let mut headers = HeaderMap::new();
        if let Some(h) = header {
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(h).unwrap());
        }
        negotiate(&headers, available)
    }

    #[test]
    fn prefers_brotli_then_gzip_when_both_are_accepted() {
        assert_eq!(pick(Some("gzip, deflate, br, zstd"), &ALL), Coding::Brotli);
        assert_eq!(pick(Some("gzip, deflate"), &ALL), Coding::Gzip);
        assert_eq!(pick(Some("br"), &[Coding::Gzip, Coding::Identity]), Coding::Identity);
    }

    #[test]
    fn no_header_or_identity_only_gets_the_plain_file() {
        assert_eq!(pick(None, &ALL), Coding::Identity);
        assert_eq!(pick(Some("identity"), &ALL), Coding::Identity);
        assert_eq!(pick(Some(""), &ALL), Coding::Identity);
    }

    #[test]
    fn q_zero_refuses_and_higher_q_wins() {
        assert_eq!(pick(Some("br;q=0, gzip"), &ALL), Coding::Gzip);
        assert_eq!(pick(Some("br;q=0.5, gzip;q=0.9"), &ALL), Coding::Gzip);
        assert_eq!(pick(Some("br;q=0, gzip;q=0"), &ALL), Coding::Identity);
        assert_eq!(pick(Some("*;q=0"), &ALL), Coding::Identity);
        assert_eq!(pick(Some("GZIP;Q=1"), &ALL), Coding::Gzip);
    }

    #[test]
    fn star_covers_codings_not_named() {
        assert_eq!(pick(Some("*"), &ALL), Coding::Brotli);
        assert_eq!(pick(Some("br;q=0, *"), &ALL), Coding::Gzip);
        assert_eq!(pick(Some("x-gzip"), &ALL), Coding::Gzip);
    }

    #[test]
    fn malformed_q_values_refuse() {
        assert_eq!(pick(Some("br;q=high, gzip;q=2"), &ALL), Coding::Identity);
        assert_eq!(pick(Some(",,br;;q=1,"), &ALL), Coding::Brotli);
    }
}
