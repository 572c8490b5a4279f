//! PKCE (RFC 7636, S256) and the `state` value of the authorization request, from the
//! operating system's CSPRNG (ring's `SystemRandom`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};

/// The code verifier: kept secret until the code exchange. `Debug` is redacted.
#[derive(Debug, Clone)]
pub struct PkceVerifier(SecretString);

impl PkceVerifier {
    /// A new verifier of 64 characters (48 random bytes, base64url) — within RFC 7636's
    /// 43–128 and from the unreserved alphabet.
    pub fn generate() -> Self {
        PkceVerifier(SecretString::from(random_b64(48)))
    }

    /// Takes a verifier stored between the authorize redirect and the callback.
    /// Returns `None` unless it is 43–128 characters of `[A-Za-z0-9-._~]`.
    pub fn from_stored(verifier: SecretString) -> Option<Self> {
        let v = verifier.expose_secret();
        let ok = (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        ok.then_some(PkceVerifier(verifier))
    }

    /// The verifier itself, to store it server-side with the `state` until the callback.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    /// `code_challenge` for `code_challenge_method=S256`: base64url(SHA-256(verifier)).
    pub fn challenge(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.0.expose_secret().as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    }
}

/// A fresh `state` value (32 random bytes, base64url) that binds the callback to the request.
pub fn random_state() -> String {
    random_b64(32)
}

pub(crate) fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // SystemRandom only fails when the OS has no randomness at all; nothing sensible can
    // continue then.
    SystemRandom::new().fill(&mut buf).expect("the operating system's random source failed");
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_shape_and_challenge() {
        let v = PkceVerifier::generate();
        let s = v.secret().expose_secret().to_owned();
        assert_eq!(s.len(), 64);
        assert!(PkceVerifier::from_stored(SecretString::from(s.clone())).is_some());
        assert_ne!(s, PkceVerifier::generate().secret().expose_secret());
        // RFC 7636 appendix B.
        let rfc = PkceVerifier::from_stored(SecretString::from("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).unwrap();
        assert_eq!(rfc.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(PkceVerifier::from_stored(SecretString::from("short")).is_none());
        assert!(!format!("{v:?}").contains(&s));
    }
}
