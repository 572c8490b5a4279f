//! [`FromJs`] and [`ToJs`] for the OAuth 2.0 part of the settings (see `json` for the rules).

#[cfg(test)]
use super::JsonName;
use super::{field, object, FromJs, ToJs};
use postamt_wire::{
    AuthMethod, OAuth2Input, OAuth2View, OAuthAuthorization, OAuthAuthorizeRequest, OAuthConnection,
    OAuthConnectionError, OAuthConnectionStatus, OAuthFlow, OAuthProvider,
};
use wasm_bindgen::JsValue;

/// Enums with `as_str` and `parse`: one name table, in the wire crate.
macro_rules! named_enum {
    ($($ty:ident)*) => {$(
        impl FromJs for $ty {
            fn from_js(v: &JsValue) -> Option<Self> {
                $ty::parse(&v.as_string()?)
            }
        }

        impl ToJs for $ty {
            fn to_js(&self) -> JsValue {
                JsValue::from_str(self.as_str())
            }
        }
    )*};
}

named_enum!(AuthMethod OAuthProvider OAuthFlow);

from_js_enum! {
    OAuthConnectionStatus { Unknown = "unknown", Ok = "ok", Failing = "failing", NeedsConnect = "needs_connect" }
}

from_js_struct! {
    OAuth2View {
        provider, flow, tenant, client_id, token_url, authorization_url, scope, client_secret_set,
        service_account_key_set, service_account, connection,
    }
    OAuthConnection {
        status, account, refresh_token_set, connected_at, token_issued_at, token_expires_at,
        refresh_token_used_at, last_error,
    }
    OAuthConnectionError { at, class, hint_de, hint_en }
    OAuthAuthorization { authorization_url, redirect_uri, expires_at }
}

to_js_struct! {
    OAuth2Input {
        provider, flow, tenant, client_id, client_secret, service_account_key, token_url,
        authorization_url, scope,
    }
    OAuthAuthorizeRequest { return_to }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_serdes() {
        use OAuthConnectionStatus as S;
        for s in [S::Unknown, S::Ok, S::Failing, S::NeedsConnect] {
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::Value::from(s.json_name()));
        }
        for m in [AuthMethod::Password, AuthMethod::Oauth2] {
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::Value::from(m.as_str()));
        }
        for p in [OAuthProvider::Microsoft, OAuthProvider::Google, OAuthProvider::Generic] {
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::Value::from(p.as_str()));
        }
        for f in [OAuthFlow::ClientCredentials, OAuthFlow::AuthorizationCode, OAuthFlow::ServiceAccount] {
            assert_eq!(serde_json::to_value(f).unwrap(), serde_json::Value::from(f.as_str()));
        }
    }
}
