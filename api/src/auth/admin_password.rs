//! The admin password: configured, or generated on first start and printed once.
//! Only its argon2id hash is stored, in the database, so every instance shares it.

use crate::db::{self, Db};
use anyhow::Context;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};
use secrecy::{ExposeSecret, SecretString};

/// What start-up did about the admin password.
pub enum Bootstrap {
    /// The configured password is in force.
    Configured,
    /// A password was set earlier; nothing to announce.
    Existing,
    /// This start generated a password: print it once.
    Generated(SecretString),
}

pub fn hash(password: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the admin password: {e}"))
}

pub fn verify(stored_hash: &str, candidate: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

pub async fn bootstrap(db: &Db, configured: Option<SecretString>) -> anyhow::Result<Bootstrap> {
    db.run(move |conn| {
        let existing = db::admin::password_hash(conn)?;
        match configured {
            Some(password) => {
                let current = existing.as_deref().is_some_and(|h| verify(h, password.expose_secret()));
                if !current {
                    db::admin::set(conn, &hash(&password)?)?;
                    if existing.is_some() {
                        // A changed password ends every session signed in with the old one.
                        db::sessions::delete_all(conn)?;
                    }
                }
                Ok(Bootstrap::Configured)
            }
            None if existing.is_some() => Ok(Bootstrap::Existing),
            None => {
                let password = SecretString::from(Alphanumeric.sample_string(&mut rand::thread_rng(), 24));
                if db::admin::insert_if_absent(conn, &hash(&password)?)? {
                    Ok(Bootstrap::Generated(password))
                } else {
                    Ok(Bootstrap::Existing)
                }
            }
        }
    })
    .await
}

/// Reads the first line of the admin password file.
pub fn read_file(path: &std::path::Path) -> anyhow::Result<SecretString> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_owned();
    anyhow::ensure!(!line.is_empty(), "{} is empty", path.display());
    Ok(SecretString::from(line))
}
