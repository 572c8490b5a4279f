//! Encryption at rest for stored secrets (the SMTP password).
//!
//! XChaCha20-Poly1305 with a random 192-bit nonce per value. A stored value is
//! `1 | key id (8) | nonce (24) | ciphertext+tag`; the key id (a hash of the key) turns a
//! wrong `POSTAMT_SECRET_KEY` into a clear error instead of a generic decryption failure.

use anyhow::{bail, Context};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{AeadCore, XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

const FORMAT_V1: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;

pub struct SecretCipher {
    cipher: XChaCha20Poly1305,
    key_id: [u8; KEY_ID_LEN],
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCipher").field("key_id", &crate::hex::lower(&self.key_id)).finish_non_exhaustive()
    }
}

impl SecretCipher {
    pub fn new(key: &SecretBox<[u8; 32]>) -> Self {
        let digest = Sha256::digest([b"postamt-key-id:".as_slice(), key.expose_secret()].concat());
        let mut key_id = [0u8; KEY_ID_LEN];
        key_id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self { cipher: XChaCha20Poly1305::new(key.expose_secret().into()), key_id }
    }

    /// The key from `POSTAMT_SECRET_KEY` (base64 of 32 bytes) if given, else from the key
    /// file, which is created with mode 0600 on first start.
    pub fn load_or_create(configured: Option<&SecretString>, key_file: &Path) -> anyhow::Result<(Self, KeySource)> {
        if let Some(encoded) = configured {
            let key = decode_key(encoded.expose_secret()).context(
                "POSTAMT_SECRET_KEY must be the base64 encoding of 32 random bytes (e.g. `openssl rand -base64 32`)",
            )?;
            return Ok((Self::new(&key), KeySource::Configured));
        }
        match std::fs::read_to_string(key_file) {
            Ok(text) => {
                let key = decode_key(text.trim())
                    .with_context(|| format!("the key file {} is damaged", key_file.display()))?;
                Ok((Self::new(&key), KeySource::File))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretBox::new(Box::new(rand::random::<[u8; 32]>()));
                write_new_key_file(key_file, &key)?;
                Ok((Self::new(&key), KeySource::Created))
            }
            Err(e) => Err(e).with_context(|| format!("reading the key file {}", key_file.display())),
        }
    }

    /// Encrypts `secret`; `purpose` is bound to the value (a password stored for one use
    /// cannot be replayed as another).
    pub fn encrypt(&self, secret: &SecretString, purpose: &str) -> anyhow::Result<Vec<u8>> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, Payload { msg: secret.expose_secret().as_bytes(), aad: purpose.as_bytes() })
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn decrypt(&self, blob: &[u8], purpose: &str) -> anyhow::Result<SecretString> {
        if blob.len() < 1 + KEY_ID_LEN + NONCE_LEN || blob[0] != FORMAT_V1 {
            bail!("the stored secret has an unknown format");
        }
        let (key_id, rest) = blob[1..].split_at(KEY_ID_LEN);
        if key_id != self.key_id {
            bail!("the stored secret was encrypted with another secret key; set the POSTAMT_SECRET_KEY that was used when it was saved, or save the password again");
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: purpose.as_bytes() })
            .map_err(|_| anyhow::anyhow!("the stored secret failed its integrity check"))?;
        let text = String::from_utf8(plain).context("the stored secret is not UTF-8")?;
        Ok(SecretString::from(text))
    }
}

/// Where the key came from, for the start-up log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Configured,
    File,
    Created,
}

fn decode_key(text: &str) -> anyhow::Result<SecretBox<[u8; 32]>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
        .context("not base64")?;
    let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| anyhow::anyhow!("{} bytes instead of 32", b.len()))?;
    Ok(SecretBox::new(Box::new(key)))
}

fn write_new_key_file(path: &Path, key: &SecretBox<[u8; 32]>) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the key file {}", path.display()))?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(key.expose_secret());
    file.write_all(encoded.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> SecretCipher {
        SecretCipher::new(&SecretBox::new(Box::new([byte; 32])))
    }

    #[test]
    fn round_trip_binds_purpose_and_key() {
        let c = cipher(7);
        let blob = c.encrypt(&SecretString::from("hunter2".to_owned()), "smtp").unwrap();
        assert!(!blob.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(c.decrypt(&blob, "smtp").unwrap().expose_secret(), "hunter2");
        assert!(c.decrypt(&blob, "other").is_err());
        let wrong = cipher(8).decrypt(&blob, "smtp").unwrap_err().to_string();
        assert!(wrong.contains("another secret key"), "{wrong}");
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let (first, source) = SecretCipher::load_or_create(None, &path).unwrap();
        assert_eq!(source, KeySource::Created);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let blob = first.encrypt(&SecretString::from("pw".to_owned()), "smtp").unwrap();
        let (second, source) = SecretCipher::load_or_create(None, &path).unwrap();
        assert_eq!(source, KeySource::File);
        assert_eq!(second.decrypt(&blob, "smtp").unwrap().expose_secret(), "pw");
    }

    #[test]
    fn configured_key_must_be_32_bytes() {
        let short = SecretString::from("c2hvcnQ=".to_owned());
        assert!(SecretCipher::load_or_create(Some(&short), Path::new("/nonexistent/x")).is_err());
    }
}
