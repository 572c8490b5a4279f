//! Postamt's OAuth 2.0 client for SMTP XOAUTH2 (Microsoft 365, Google, generic providers).
//!
//! # Flows
//!
//! | [`Flow`] | Providers | Call |
//! | --- | --- | --- |
//! | `client_credentials` | Microsoft (`{authority}/{tenant}/oauth2/v2.0/token`, scope `https://outlook.office365.com/.default`), generic (`token_url`, `scope`) | [`OAuthClient::client_credentials`] |
//! | `authorization_code` | Microsoft (`…/oauth2/v2.0/authorize`, scope `https://outlook.office.com/SMTP.Send offline_access`), Google (`access_type=offline`, `prompt=consent`, scope `https://mail.google.com/`), generic | [`OAuthClient::authorization_url`], [`parse_callback`], [`OAuthClient::exchange_code`], then [`OAuthClient::refresh`] |
//! | `service_account` | Google Workspace domain-wide delegation (RS256 JWT bearer) | [`ServiceAccountKey::from_json`], [`OAuthClient::service_account`] |
//!
//! ```no_run
//! # async fn demo() -> Result<(), postamt_oauth::OAuthError> {
//! use std::time::Duration;
//! use postamt_oauth::*;
//! use secrecy::SecretString;
//!
//! let client = OAuthClient::new(Endpoints::default(), Duration::from_secs(20))?;
//! let app = OAuthApp {
//!     provider: Provider::Microsoft { tenant: "contoso.onmicrosoft.com".into() },
//!     client_id: "00000000-0000-0000-0000-000000000000".into(),
//!     client_secret: Some(SecretString::from("…")),
//!     scope: None,
//! };
//! let cache = TokenCache::new();
//! let key = CacheKey::for_app(&app, None);
//! let token = cache.get_or_fetch(&key, || client.client_credentials(&app)).await?;
//! // … XOAUTH2 with token.access_token; on a 535 from the server:
//! cache.invalidate(&key);
//! # Ok(()) }
//! ```
//!
//! # Rotating refresh tokens
//!
//! Every [`TokenResponse`] from [`OAuthClient::refresh`] may carry a new `refresh_token`;
//! then the old one is revoked at the provider. Store the new one in the same step (the
//! fetch closure given to [`TokenCache::get_or_fetch`] is the place: it runs once per key at
//! a time in this process; across processes lock the row that holds the token).
//!
//! # Failures
//!
//! Every error is an [`OAuthError`] with a stable [`OAuthErrorClass`] (`as_str`, `ALL`),
//! the settings field most likely at fault ([`OAuthErrorClass::field`]) and a hint in German
//! and English ([`OAuthErrorClass::hint`]), plus the provider's code and a sanitised
//! description for the log.
//!
//! # Secrets
//!
//! Client secret, private key, codes, PKCE verifier, refresh and access tokens are
//! `secrecy::SecretString` (or held inside ring's key pair); `Debug` redacts them, and no
//! error, tracing event or URL contains them: they travel only in POST bodies.
//!
//! # Endpoints
//!
//! [`Endpoints`] defaults to the real providers. Every endpoint must be `https`, except on a
//! loopback host (127.0.0.0/8, ::1, `localhost`), which the tests' provider double uses.

mod app;
mod cache;
mod callback;
mod classify;
mod client;
mod endpoints;
mod error;
mod pkce;
mod service_account;
mod token;

pub use app::{Flow, OAuthApp, Provider, GOOGLE_MAIL_SCOPE, MICROSOFT_APP_SCOPE, MICROSOFT_DELEGATED_SCOPE};
pub use cache::{CacheKey, CachedToken, TokenCache};
pub use callback::parse_callback;
pub use client::{AuthorizationRequest, OAuthClient};
pub use endpoints::{validate_endpoint, Endpoints, GOOGLE_AUTHORIZATION_URL, GOOGLE_TOKEN_URL, MICROSOFT_AUTHORITY};
pub use error::{OAuthError, OAuthErrorClass};
pub use pkce::{random_state, PkceVerifier};
pub use secrecy::{ExposeSecret, SecretString};
pub use service_account::ServiceAccountKey;
pub use token::TokenResponse;
