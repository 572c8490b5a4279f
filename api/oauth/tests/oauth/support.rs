//! The provider double (`servers/oauth_provider.py`, spawned by `postamt_e2e::oauth_provider`,
//! which the API's tests use too), its configs for these tests, and its token format.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use postamt_oauth::Endpoints;
use serde_json::{json, Value};

pub use postamt_e2e::oauth_provider::{ProviderDouble, TENANT, TOKEN_SECRET};
pub const USER: &str = "erika@contoso.example";

/// The provider double's endpoints as the OAuth client takes them.
pub trait EndpointsOf {
    fn endpoints(&self) -> Endpoints;
}

impl EndpointsOf for ProviderDouble {
    fn endpoints(&self) -> Endpoints {
        Endpoints {
            microsoft_authority: self.base(),
            google_token_url: format!("{}/token", self.base()),
            google_authorization_url: format!("{}/o/oauth2/v2/auth", self.base()),
        }
    }
}

/// Checks the double's access-token format (the one the test SMTP server verifies) and
/// returns its claims.
pub fn verify_access_token(token: &str) -> Value {
    let (signed, mac) = token.rsplit_once('.').expect("three parts");
    let body = signed.strip_prefix("pa-at.").expect("pa-at. prefix");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, TOKEN_SECRET.as_bytes());
    ring::hmac::verify(&key, signed.as_bytes(), &URL_SAFE_NO_PAD.decode(mac).unwrap()).expect("HMAC verifies");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap()
}

/// A Microsoft tenant with one confidential client allowed every flow.
pub fn microsoft_config() -> Value {
    json!({
        "tenants": [TENANT],
        "users": [USER],
        "authorize": {"user": USER},
        "clients": [
            {"id": "ms-app", "secret": "ms-secret-value", "provider": "microsoft", "tenant": TENANT,
             "flows": ["client_credentials", "authorization_code", "refresh_token"],
             "mailbox": "noreply@contoso.example"},
            {"id": "ms-no-consent", "secret": "other-secret", "provider": "microsoft", "tenant": TENANT,
             "consented": false, "flows": ["client_credentials"]}
        ]
    })
}
