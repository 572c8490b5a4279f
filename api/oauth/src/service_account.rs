//! Google service accounts with domain-wide delegation: the JSON key and the signed JWT
//! (RFC 7523) exchanged for an access token of the impersonated mailbox.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::{OAuthError, OAuthErrorClass};

/// How long the assertion is valid; Google accepts at most one hour.
const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// A parsed service account key (the JSON file Google's console downloads). Holds the
/// private key only as a parsed `RsaKeyPair`; `Debug` shows the e-mail and key id, no key.
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key_id: String,
    /// Where to exchange the assertion; it is also the JWT's `aud`.
    pub token_uri: String,
    key_pair: RsaKeyPair,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .field("private_key", &"[REDACTED]")
            .finish()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: String,
    #[serde(default)]
    token_uri: Option<String>,
}

impl ServiceAccountKey {
    /// Parses the key file's JSON. Errors are [`OAuthErrorClass::ServiceAccountKeyInvalid`]
    /// and never quote the input (it holds the private key).
    pub fn from_json(json: &SecretString) -> Result<Self, OAuthError> {
        let bad = |what: &str| OAuthError::new(OAuthErrorClass::ServiceAccountKeyInvalid, what);
        let file: KeyFile = serde_json::from_str(json.expose_secret())
            .map_err(|_| bad("the service account key is not a Google JSON key file"))?;
        let file = ZeroizingKeyFile(file);
        if file.0.kind.as_deref().is_some_and(|k| k != "service_account") {
            return Err(bad("the key file is not of type service_account"));
        }
        let der = pem_to_der(&file.0.private_key).ok_or_else(|| bad("private_key is not a PEM private key"))?;
        let key_pair = RsaKeyPair::from_pkcs8(&der)
            .map_err(|_| bad("private_key is not a usable RSA key (PKCS#8, 2048 bits or more)"))?;
        Ok(ServiceAccountKey {
            client_email: file.0.client_email.clone(),
            private_key_id: file.0.private_key_id.clone(),
            token_uri: file.0.token_uri.clone().unwrap_or_else(|| crate::endpoints::GOOGLE_TOKEN_URL.to_owned()),
            key_pair,
        })
    }

    /// The signed JWT asking for `scope` on behalf of `subject` (the mailbox), for `audience`
    /// (the token URL). Valid from now for an hour.
    pub(crate) fn assertion(&self, subject: &str, scope: &str, audience: &str) -> Result<SecretString, OAuthError> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.private_key_id});
        let claims = serde_json::json!({
            "iss": self.client_email,
            "sub": subject,
            "scope": scope,
            "aud": audience,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME_SECS,
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| OAuthError::new(OAuthErrorClass::ServiceAccountKeyInvalid, "signing with the key failed"))?;
        Ok(SecretString::from(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))))
    }
}

/// Clears the PEM text when the parsed file is dropped.
struct ZeroizingKeyFile(KeyFile);

impl Drop for ZeroizingKeyFile {
    fn drop(&mut self) {
        // serde gives a plain String; wipe it before its memory is freed.
        self.0.private_key.zeroize();
    }
}

/// Base64 body of a `-----BEGIN PRIVATE KEY-----` block.
fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let begin = "-----BEGIN PRIVATE KEY-----";
    let end = "-----END PRIVATE KEY-----";
    let start = pem.find(begin)? + begin.len();
    let stop = start + pem[start..].find(end)?;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_keys_are_classified_without_echoing_them() {
        for json in [
            "not json",
            r#"{"client_email":"a@b","private_key":"nope"}"#,
            r#"{"client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#,
            r#"{"type":"authorized_user","client_email":"a@b","private_key":"x"}"#,
        ] {
            let e = ServiceAccountKey::from_json(&SecretString::from(json)).unwrap_err();
            assert_eq!(e.class, OAuthErrorClass::ServiceAccountKeyInvalid);
            assert!(!e.to_string().contains("AAAA") && !e.to_string().contains("nope"));
        }
    }
}
