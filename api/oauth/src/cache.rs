//! In-memory access-token cache, one per process (or per `OAuthClient` user).
//!
//! Keyed by a fingerprint of everything that determines the token (provider, tenant,
//! client, mailbox, scope, secret's hash), so a changed setting never gets an old token.
//! A cached token is handed out until it is close to expiry: refresh ahead by
//! min(5 minutes, 10 % of its lifetime). Fetching is single-flight per key: concurrent
//! callers wait for the one request in flight and share its result — its error too, so a
//! provider outage costs one request per key, not one per waiting caller.
//!
//! How to get a token is the caller's closure, so delivery can plug in the refresh step that
//! locks the database row holding the (rotating) refresh token.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use crate::app::{OAuthApp, Provider};
use crate::service_account::ServiceAccountKey;

use crate::error::OAuthError;
use crate::token::TokenResponse;

/// Refresh at most this long before expiry.
const MAX_REFRESH_AHEAD: Duration = Duration::from_secs(300);

/// A cache key: SHA-256 of the parts, so no secret part is kept in memory in clear.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// Fingerprint of the parts (unambiguous: each part is length-prefixed).
    pub fn from_parts(parts: &[&str]) -> Self {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for p in parts {
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p.as_bytes());
        }
        let hex: String = ctx.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect();
        CacheKey(hex)
    }

    /// The key of an app's token: provider, tenant or token URL, scope, client id, the
    /// secret (hashed with the rest, so a new secret never gets the old secret's token) and
    /// the mailbox the token is for (`None` for app-only tokens).
    pub fn for_app(app: &OAuthApp, mailbox: Option<&str>) -> Self {
        let (place, scope) = match &app.provider {
            Provider::Microsoft { tenant } => (tenant.as_str(), ""),
            Provider::Google => ("", ""),
            Provider::Generic { token_url, scope, .. } => (token_url.as_str(), scope.as_str()),
        };
        let secret = app.client_secret.as_ref().map(|s| s.expose_secret()).unwrap_or("");
        Self::from_parts(&[
            app.provider.name(),
            place,
            scope,
            app.scope.as_deref().unwrap_or(""),
            &app.client_id,
            secret,
            mailbox.unwrap_or(""),
        ])
    }

    /// The key of a service account's token for one mailbox and scope.
    pub fn for_service_account(key: &ServiceAccountKey, mailbox: &str, scope: Option<&str>) -> Self {
        Self::from_parts(&[
            "google-service-account",
            &key.client_email,
            &key.private_key_id,
            &key.token_uri,
            mailbox,
            scope.unwrap_or(""),
        ])
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An access token out of the cache.
#[derive(Debug, Clone)]
pub struct CachedToken {
    pub access_token: SecretString,
    pub expires_at: Instant,
    /// When the cache stops handing it out and fetches a new one.
    pub refresh_at: Instant,
}

impl CachedToken {
    fn from_response(t: &TokenResponse) -> Self {
        let ahead = MAX_REFRESH_AHEAD.min(t.expires_in / 10);
        let expires_at = t.expires_at_instant();
        CachedToken { access_token: t.access_token.clone(), expires_at, refresh_at: expires_at - ahead }
    }

    fn fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }
}

#[derive(Default)]
struct SlotState {
    token: Option<CachedToken>,
    /// Fetches finished so far; a waiter that sees it moved knows a fetch finished while it
    /// waited, so that fetch's outcome is the answer to its own request too.
    completed: u64,
    last_error: Option<OAuthError>,
}

#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    /// Held while one fetch for this key runs.
    fetching: tokio::sync::Mutex<()>,
}

/// The cache. Clone it freely (shared state).
#[derive(Clone, Default)]
pub struct TokenCache {
    slots: Arc<Mutex<HashMap<CacheKey, Arc<Slot>>>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.slots.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("TokenCache").field("keys", &n).finish()
    }
}

impl TokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh cached token for `key`, or the result of `fetch` (run by exactly one of the
    /// concurrent callers). `fetch` must persist a rotated refresh token itself before it
    /// returns: the cache keeps only the access token.
    pub async fn get_or_fetch<F, Fut>(&self, key: &CacheKey, fetch: F) -> Result<CachedToken, OAuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenResponse, OAuthError>>,
    {
        let slot = self.slot(key);
        let seen = {
            let state = lock(&slot.state);
            if let Some(t) = state.token.as_ref().filter(|t| t.fresh(Instant::now())) {
                return Ok(t.clone());
            }
            state.completed
        };
        let _guard = slot.fetching.lock().await;
        {
            let state = lock(&slot.state);
            if let Some(t) = state.token.as_ref().filter(|t| t.fresh(Instant::now())) {
                return Ok(t.clone());
            }
            if state.completed != seen {
                if let Some(e) = &state.last_error {
                    // The fetch we waited for failed: share its answer instead of asking again.
                    return Err(e.clone());
                }
            }
        }
        let result = fetch().await;
        let mut state = lock(&slot.state);
        state.completed += 1;
        match result {
            Ok(t) => {
                let cached = CachedToken::from_response(&t);
                state.token = Some(cached.clone());
                state.last_error = None;
                Ok(cached)
            }
            Err(e) => {
                state.token = None;
                state.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Forgets the token of `key` (the SMTP server refused it); the next call fetches anew.
    pub fn invalidate(&self, key: &CacheKey) {
        if let Some(slot) = lock(&self.slots).get(key) {
            let mut state = lock(&slot.state);
            state.token = None;
            state.last_error = None;
        }
    }

    /// The cached token if it is still fresh, without fetching.
    pub fn peek(&self, key: &CacheKey) -> Option<CachedToken> {
        let slot = lock(&self.slots).get(key).cloned()?;
        let state = lock(&slot.state);
        state.token.clone().filter(|t| t.fresh(Instant::now()))
    }

    fn slot(&self, key: &CacheKey) -> Arc<Slot> {
        lock(&self.slots).entry(key.clone()).or_default().clone()
    }
}

/// A poisoned lock only means another caller panicked mid-update of plain data; the data
/// is still consistent enough for a cache (worst case one extra fetch).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn refresh_ahead_is_the_smaller_of_five_minutes_and_a_tenth() {
        let now = Instant::now();
        let mk = |secs| TokenResponse {
            access_token: SecretString::from("x"),
            token_type: "Bearer".into(),
            expires_in: Duration::from_secs(secs),
            obtained_at: now,
            expires_at: SystemTime::now(),
            refresh_token: None,
            id_token: None,
            scope: None,
        };
        assert_eq!(CachedToken::from_response(&mk(3600)).refresh_at, now + Duration::from_secs(3300));
        assert_eq!(CachedToken::from_response(&mk(100)).refresh_at, now + Duration::from_secs(90));
        assert_ne!(CacheKey::from_parts(&["ab", "c"]), CacheKey::from_parts(&["a", "bc"]));
        let app = |secret: &str| OAuthApp {
            provider: Provider::Microsoft { tenant: "t".into() },
            client_id: "c".into(),
            client_secret: Some(SecretString::from(secret.to_owned())),
            scope: None,
        };
        assert_eq!(CacheKey::for_app(&app("a"), None), CacheKey::for_app(&app("a"), None));
        assert_ne!(CacheKey::for_app(&app("a"), None), CacheKey::for_app(&app("b"), None));
        assert_ne!(CacheKey::for_app(&app("a"), None), CacheKey::for_app(&app("a"), Some("m@x")));
        assert!(!CacheKey::for_app(&app("secret-value"), None).as_str().contains("secret"));
    }
}
