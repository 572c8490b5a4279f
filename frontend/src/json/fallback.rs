//! [`FromJs`] and [`ToJs`] for the fallback server (see `json` for the rules).

use super::{field, object, FromJs, ToJs};
use postamt_wire::{FallbackAuthInput, FallbackAuthView, FallbackInput, FallbackView, MailConnection};
use wasm_bindgen::JsValue;

from_js_struct! {
    FallbackView { host, port, encryption, auth, tls, envelope_sender }
    FallbackAuthView { enabled, method, username, password_set, oauth2 }
}

to_js_struct! {
    FallbackInput { host, port, encryption, auth, tls, envelope_sender }
    FallbackAuthInput { enabled, method, username, password, oauth2 }
}

impl FromJs for MailConnection {
    fn from_js(v: &JsValue) -> Option<Self> {
        MailConnection::parse(&v.as_string()?)
    }
}

impl ToJs for MailConnection {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(self.as_str())
    }
}
