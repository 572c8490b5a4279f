//! Reads the API's JSON answers into the wire types: the browser's `JSON.parse` does the
//! parsing, and [`FromJs`] picks the fields out of the parsed object. Requests go the other
//! way: [`ToJs`] builds an object that `JSON.stringify` writes.
//!
//! Why not `serde_json::from_str` with the derived `Deserialize`: the derived deserializers
//! (field visitors, map and sequence visitors, error texts), one per wire type, and
//! serde_json's parser were the largest part of the page's wasm after the views, against a
//! 200 KiB budget. Reading the fields of an object JSON.parse made takes a few calls per
//! field. Measured: wasm + JS 199.8 -> 174.8 KiB gzip (-25.0 KiB), raw wasm 544 -> 465 KiB.
//!
//! It follows serde's rules for these types: a missing or `null` `Option` field is `None`,
//! `#[serde(default)]` fields ([`field_or_default`]) may be missing, every other field must be
//! there with the right type, unknown fields are ignored. Integers must be whole numbers in
//! the type's range (JSON.parse reads numbers as f64; the API's integers are far below 2^53).
//!
//! Writing a struct literal per type keeps it honest: a new field in a wire type does not
//! compile here until it is read.

use js_sys::Reflect;
use postamt_wire::time::{DateTime, Utc};
use postamt_wire::{ActingUser, AuthInput, MailSettingsInput, MailTestRequest, SenderPreviewRequest, SessionCreate};
use postamt_wire::{
    AuthView, EffectiveSender, Encryption, ErrorGroup, Failure, FailureClass, FieldChange, FieldError, LocalizedText,
    LogKind, MailAddress, MailErrors, MailLogEntry, MailSettings, MailTestMode, MailTestResult, MessageStatus, Problem,
    SessionInfo, SettingsAction, SettingsField, SettingsHistory, SettingsHistoryEntry, SettingsWarning, Stage,
    StageName, StageStatus, TlsInfo, TlsSettings, TranscriptDirection, TranscriptLine,
};
use wasm_bindgen::JsValue;

/// A value that can be read from parsed JSON; `None` when it has another shape.
pub trait FromJs: Sized {
    fn from_js(v: &JsValue) -> Option<Self>;
}

/// Parses `text` as JSON and reads a `T` from it.
pub fn parse<T: FromJs>(text: &str) -> Option<T> {
    T::from_js(&js_sys::JSON::parse(text).ok()?)
}

/// A field that must be present (an `Option` may be missing or `null`).
pub fn field<T: FromJs>(obj: &JsValue, name: &str) -> Option<T> {
    T::from_js(&get(obj, name)?)
}

/// Not inlined into every field read (measured: −0.3 KiB gzip; `field` itself not inlined
/// costs 0.5 KiB more).
#[inline(never)]
fn get(obj: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(name)).ok()
}

/// A `#[serde(default)]` field: missing or `null` gives the default.
pub fn field_or_default<T: FromJs + Default>(obj: &JsValue, name: &str) -> Option<T> {
    field::<Option<T>>(obj, name).map(Option::unwrap_or_default)
}

impl FromJs for String {
    fn from_js(v: &JsValue) -> Option<Self> {
        v.as_string()
    }
}

impl FromJs for bool {
    fn from_js(v: &JsValue) -> Option<Self> {
        v.as_bool()
    }
}

/// A whole number from `min` to `max`.
fn whole(v: &JsValue, min: f64, max: f64) -> Option<f64> {
    v.as_f64().filter(|n| n.trunc() == *n && (min..=max).contains(n))
}

impl FromJs for u16 {
    fn from_js(v: &JsValue) -> Option<Self> {
        whole(v, 0.0, 65_535.0).map(|n| n as u16)
    }
}

impl FromJs for u32 {
    fn from_js(v: &JsValue) -> Option<Self> {
        whole(v, 0.0, 4_294_967_295.0).map(|n| n as u32)
    }
}

/// Whole numbers beyond 2^53 have lost digits in JSON.parse already; none of the API's do.
const SAFE: f64 = 9_007_199_254_740_991.0;

impl FromJs for u64 {
    fn from_js(v: &JsValue) -> Option<Self> {
        whole(v, 0.0, SAFE).map(|n| n as u64)
    }
}

impl FromJs for i64 {
    fn from_js(v: &JsValue) -> Option<Self> {
        whole(v, -SAFE, SAFE).map(|n| n as i64)
    }
}

impl FromJs for DateTime<Utc> {
    fn from_js(v: &JsValue) -> Option<Self> {
        v.as_string().map(DateTime::from_rfc3339_text)
    }
}

impl<T: FromJs> FromJs for Option<T> {
    fn from_js(v: &JsValue) -> Option<Self> {
        if v.is_null() || v.is_undefined() {
            Some(None)
        } else {
            T::from_js(v).map(Some)
        }
    }
}

impl<T: FromJs> FromJs for Vec<T> {
    fn from_js(v: &JsValue) -> Option<Self> {
        if !js_sys::Array::is_array(v) {
            return None;
        }
        // A plain loop, not `iter().map().collect()`: that costs a GenericShunt per element
        // type (measured: −0.9 KiB gzip).
        let array = js_sys::Array::from(v);
        let mut items = Vec::with_capacity(array.length() as usize);
        for i in 0..array.length() {
            items.push(T::from_js(&array.get(i))?);
        }
        Some(items)
    }
}

/// Structs whose fields are all read by their own names, with serde's rules.
macro_rules! from_js_struct {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {$(
        impl FromJs for $ty {
            fn from_js(v: &JsValue) -> Option<Self> {
                Some($ty { $($field: field(v, stringify!($field))?),* })
            }
        }
    )*};
}

/// Unit enums spelled as strings (their `#[serde(rename...)]` names).
macro_rules! from_js_enum {
    ($($ty:ident { $($variant:ident = $name:literal),* $(,)? })*) => {$(
        impl FromJs for $ty {
            fn from_js(v: &JsValue) -> Option<Self> {
                match v.as_string()?.as_str() {
                    $($name => Some($ty::$variant),)*
                    _ => None,
                }
            }
        }

        // An exhaustive match: a new variant does not compile until it has its name here,
        // and the test below checks the names against serde's.
        #[cfg(test)]
        impl JsonName for $ty {
            fn json_name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)*
                }
            }
        }
    )*};
}

#[cfg(test)]
trait JsonName: serde::Serialize + Copy {
    fn json_name(self) -> &'static str;
}

from_js_struct! {
    SessionInfo { subject, csrf_token, expires_at }
    AuthView { enabled, method, username, password_set, oauth2 }
    SettingsWarning { field, code, message }
    MailSettings {
        host, port, encryption, sender_name, sender_address, auth, tls, force_default_sender,
        reply_to_individual_sender, timeout_seconds, limits, fallback, version, updated_at, updated_by, warnings,
    }
    SettingsHistory { entries }
    SettingsHistoryEntry { version, action, changed_at, changed_by, changes }
    MailAddress { name, address }
    EffectiveSender { from, reply_to, envelope_from }
    Stage { name, status, duration_ms, reply_code, enhanced_code, server_text, detail, detail_de }
    Failure { stage, class, field, hint_de, hint_en, detail, detail_de }
    TranscriptLine { direction, at_ms, text }
    TlsInfo {
        protocol, cipher_suite, subject, issuer, sans, not_before, not_after, sha256_fingerprint,
        chain_length, verified, verify_error,
    }
    LocalizedText { de, en }
    MailTestResult {
        ok, mode, duration_ms, stages, failure, transcript, tls, peer, sender, recipient, message_id,
        probe_note,
    }
    MailLogEntry {
        id, at, kind, message_id, category, status, recipients, sender, attempt, stage, class, field,
        smtp_reply, hint_de, hint_en, server, connection, duration_ms,
    }
    ErrorGroup { class, count, first_seen, last_seen, latest }
    MailErrors { since, entries, groups, total }
    FieldError { field, code, message }
}

/// `#[serde(default)]` on both fields.
impl FromJs for TlsSettings {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(TlsSettings {
            trusted_ca_pem: field(v, "trusted_ca_pem")?,
            accept_invalid_certificates: field_or_default(v, "accept_invalid_certificates")?,
        })
    }
}

/// `secret` is `#[serde(default)]`.
impl FromJs for FieldChange {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(FieldChange {
            field: field(v, "field")?,
            old: field(v, "old")?,
            new: field(v, "new")?,
            secret: field_or_default(v, "secret")?,
        })
    }
}

/// `type` is `problem_type`; `errors` is `#[serde(default)]`.
impl FromJs for Problem {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Problem {
            problem_type: field(v, "type")?,
            title: field(v, "title")?,
            status: field(v, "status")?,
            detail: field(v, "detail")?,
            errors: field_or_default(v, "errors")?,
        })
    }
}

/// The classes' names are [`FailureClass::as_str`], the page's texts use them too.
impl FromJs for FailureClass {
    fn from_js(v: &JsValue) -> Option<Self> {
        let name = v.as_string()?;
        FailureClass::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl FromJs for Encryption {
    fn from_js(v: &JsValue) -> Option<Self> {
        Encryption::parse(&v.as_string()?)
    }
}

impl FromJs for MessageStatus {
    fn from_js(v: &JsValue) -> Option<Self> {
        MessageStatus::parse(&v.as_string()?)
    }
}

from_js_enum! {
    SettingsAction { Created = "created", Updated = "updated", Deleted = "deleted" }
    MailTestMode { Send = "send", Probe = "probe" }
    StageStatus { Ok = "ok", Failed = "failed", Skipped = "skipped" }
    TranscriptDirection { Client = "client", Server = "server", Info = "info" }
    LogKind { Delivery = "delivery", Test = "test", Connection = "connection" }
    StageName {
        Token = "token", Resolve = "resolve", Connect = "connect", Tls = "tls", Greeting = "greeting", Ehlo = "ehlo",
        Auth = "auth", MailFrom = "mail_from", RcptTo = "rcpt_to", Data = "data",
    }
    SettingsField {
        Host = "host", Port = "port", Encryption = "encryption", SenderName = "sender_name",
        SenderAddress = "sender_address", AuthEnabled = "auth.enabled", AuthUsername = "auth.username",
        AuthPassword = "auth.password", AuthMethod = "auth.method", Oauth2Provider = "auth.oauth2.provider",
        Oauth2Flow = "auth.oauth2.flow", Oauth2Tenant = "auth.oauth2.tenant", Oauth2ClientId = "auth.oauth2.client_id",
        Oauth2ClientSecret = "auth.oauth2.client_secret", Oauth2ServiceAccountKey = "auth.oauth2.service_account_key",
        Oauth2TokenUrl = "auth.oauth2.token_url", Oauth2AuthorizationUrl = "auth.oauth2.authorization_url",
        Oauth2Scope = "auth.oauth2.scope", Oauth2Connection = "auth.oauth2.connection", TlsTrustedCaPem = "tls.trusted_ca_pem",
        TlsAcceptInvalidCertificates = "tls.accept_invalid_certificates", TimeoutSeconds = "timeout_seconds",
        Recipient = "recipient", ActingUserAddress = "acting_user.address",
    }
}

/// A request body: builds the JavaScript object that `JSON.stringify` writes, with the
/// fields serde would write, in the same order (no field of a request type is skipped, `None`
/// is `null`). Instead of serde_json's serializer, measured: −0.6 KiB gzip.
pub trait ToJs {
    fn to_js(&self) -> JsValue;
}

/// `value` as JSON text.
pub fn stringify<T: ToJs>(value: &T) -> Option<String> {
    js_sys::JSON::stringify(&value.to_js()).ok().map(String::from)
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

impl ToJs for String {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(self)
    }
}

impl ToJs for bool {
    fn to_js(&self) -> JsValue {
        JsValue::from_bool(*self)
    }
}

impl ToJs for u32 {
    fn to_js(&self) -> JsValue {
        JsValue::from_f64(f64::from(*self))
    }
}

/// The form's numbers (port, timeout) are far below 2^53.
impl ToJs for i64 {
    fn to_js(&self) -> JsValue {
        JsValue::from_f64(*self as f64)
    }
}

impl ToJs for Encryption {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(self.as_str())
    }
}

impl ToJs for MailTestMode {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(self.as_str())
    }
}

impl<T: ToJs> ToJs for Option<T> {
    fn to_js(&self) -> JsValue {
        self.as_ref().map_or(JsValue::NULL, ToJs::to_js)
    }
}

/// Structs written field by field; the pattern names every field, so a new field in a
/// request type does not compile here until it is written.
macro_rules! to_js_struct {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {$(
        impl ToJs for $ty {
            fn to_js(&self) -> JsValue {
                let $ty { $($field),* } = self;
                object(&[$((stringify!($field), $field.to_js())),*])
            }
        }
    )*};
}

to_js_struct! {
    SessionCreate { password }
    AuthInput { enabled, method, username, password, oauth2 }
    TlsSettings { trusted_ca_pem, accept_invalid_certificates }
    MailSettingsInput {
        host, port, encryption, sender_name, sender_address, auth, tls, force_default_sender,
        reply_to_individual_sender, timeout_seconds, limits, fallback,
    }
    ActingUser { name, address }
    MailTestRequest { settings, recipient, mode, acting_user, connection }
    SenderPreviewRequest { settings, acting_user }
}

/// The alerts.
#[cfg(feature = "alerts")]
mod alerts;
/// The fallback server.
mod fallback;
/// The sending limits and their use.
mod limits;
/// The OAuth 2.0 types (after the macros, which it uses).
mod oauth;

#[cfg(test)]
mod tests {
    use super::*;

    fn names_agree<T: JsonName>(all: &[T]) {
        for v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(v.json_name()));
        }
    }

    #[test]
    fn enum_names_are_serdes() {
        use SettingsField as F;
        names_agree(&[SettingsAction::Created, SettingsAction::Updated, SettingsAction::Deleted]);
        names_agree(&[MailTestMode::Send, MailTestMode::Probe]);
        names_agree(&[StageStatus::Ok, StageStatus::Failed, StageStatus::Skipped]);
        names_agree(&[TranscriptDirection::Client, TranscriptDirection::Server, TranscriptDirection::Info]);
        names_agree(&[LogKind::Delivery, LogKind::Test, LogKind::Connection]);
        names_agree(&[
            StageName::Token,
            StageName::Resolve,
            StageName::Connect,
            StageName::Tls,
            StageName::Greeting,
            StageName::Ehlo,
            StageName::Auth,
            StageName::MailFrom,
            StageName::RcptTo,
            StageName::Data,
        ]);
        names_agree(&[
            F::Host,
            F::Port,
            F::Encryption,
            F::SenderName,
            F::SenderAddress,
            F::AuthEnabled,
            F::AuthUsername,
            F::AuthPassword,
            F::AuthMethod,
            F::Oauth2Provider,
            F::Oauth2Flow,
            F::Oauth2Tenant,
            F::Oauth2ClientId,
            F::Oauth2ClientSecret,
            F::Oauth2ServiceAccountKey,
            F::Oauth2TokenUrl,
            F::Oauth2AuthorizationUrl,
            F::Oauth2Scope,
            F::Oauth2Connection,
            F::TlsTrustedCaPem,
            F::TlsAcceptInvalidCertificates,
            F::TimeoutSeconds,
            F::Recipient,
            F::ActingUserAddress,
        ]);
    }
}
