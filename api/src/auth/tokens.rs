//! Random tokens and their stored hashes.

use base64::Engine;
use sha2::{Digest, Sha256};

/// 256 random bits, base64url without padding, behind `prefix`.
pub fn random_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored instead of a token. Tokens carry 256 random bits, so a fast hash is
/// enough (unlike passwords, they cannot be guessed from a dictionary).
pub fn token_hash(token: &str) -> String {
    crate::hex::lower(&Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison for tokens presented by clients.
pub fn same_token(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
