//! OAuth 2.0 sign-in to the SMTP server (XOAUTH2): where a token comes from, and how the
//! connection's state reaches the page, the error log and the metrics.
//!
//! A map of the path, for a newcomer:
//! - settings: `domain::oauth` parses `auth.oauth2` (and the rule that a stored secret keeps
//!   only for the same binding); `db::settings` stores it, secrets encrypted; saving another
//!   binding deletes the connection row (`db::oauth_connection`) in the same transaction.
//! - tokens: [`obtain::access_token`] is the one way to a token, for the test mail and for
//!   delivery. It asks the per-instance cache (`postamt_oauth::TokenCache`); on a miss it
//!   runs the flow: client credentials, the service account's JWT, or a refresh under the
//!   database's refresh lease that stores a rotated refresh token before it returns. Each
//!   outcome is recorded on the connection row; a failure also as a metric and, once per
//!   class and hour, in the 24 h error log.
//! - delivery: `delivery::worker` asks for a token when it opens an SMTP session; when the
//!   server refuses the token (`oauth_token_rejected`) it drops it and tries once more with
//!   a fresh one.
//! - sign-in: `routes::oauth` starts "Connect account" (PKCE, state bound to the admin's
//!   session), takes the provider's redirect and stores the refresh token.
//! - watch: [`watch::spawn`] checks the connection every few minutes, so a revoked grant or
//!   an expired secret shows up without any mail being sent, and the refresh token is used
//!   often enough never to expire for inactivity.

pub mod failure;
pub mod obtain;
pub mod view;
pub mod watch;

use postamt_oauth::{Endpoints, OAuthClient, TokenCache};
use std::time::Duration;

/// Purposes bound to the encrypted values (see `crypto::SecretCipher::encrypt`).
pub const CLIENT_SECRET_PURPOSE: &str = "postamt:mail_settings:oauth_client_secret";
pub const SERVICE_ACCOUNT_KEY_PURPOSE: &str = "postamt:mail_settings:oauth_service_account_key";
pub const REFRESH_TOKEN_PURPOSE: &str = "postamt:oauth_connection:refresh_token";
pub const PKCE_VERIFIER_PURPOSE: &str = "postamt:oauth_connection:pkce_verifier";

/// How long a token request may take.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(20);

/// OAuth settings from the command line.
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    pub endpoints: Endpoints,
    /// The address admins reach Postamt at (scheme, host, port, path prefix), for the
    /// redirect URI; `None`: taken from each request.
    pub public_url: Option<url::Url>,
    /// How often the connection is checked (and a delegated token refreshed).
    pub check_interval: Duration,
}

pub struct OAuthService {
    pub client: OAuthClient,
    pub cache: TokenCache,
    pub options: OAuthOptions,
}

impl OAuthService {
    pub fn new(options: OAuthOptions) -> anyhow::Result<Self> {
        options.endpoints.validate().map_err(|e| anyhow::anyhow!("OAuth endpoint: {e}"))?;
        let client = OAuthClient::new(options.endpoints.clone(), TOKEN_TIMEOUT)
            .map_err(|e| anyhow::anyhow!("creating the OAuth client: {e}"))?;
        Ok(OAuthService { client, cache: TokenCache::new(), options })
    }
}
