//! [`FromJs`] and [`ToJs`] for the alerts: settings, incidents, test results (see `json`
//! for the rules).

#[cfg(test)]
use super::JsonName;
use super::{field, object, FromJs, ToJs};
use postamt_wire::{
    AlertChannel, AlertCondition, AlertConditions, AlertEmail, AlertIncident, AlertList, AlertSettings,
    AlertSettingsInput, AlertTestOutcome, AlertTestResult, ChannelNotifications, DailyQuotaCondition,
    FailuresCondition, FallbackInUseCondition, IncidentState, OAuthCondition, QueueStuckCondition, WebhookInput,
    WebhookView,
};
use wasm_bindgen::JsValue;

// The API always writes every field of the conditions, so they are read strictly.
from_js_struct! {
    WebhookView { url, secret_set }
    AlertEmail { recipients }
    FailuresCondition { enabled, count, ratio, window_minutes }
    QueueStuckCondition { enabled, minutes }
    OAuthCondition { enabled }
    DailyQuotaCondition { enabled, window_minutes }
    FallbackInUseCondition { enabled }
    AlertConditions { failures, queue_stuck, oauth, daily_quota, fallback_in_use }
    AlertSettings { webhook, email, conditions, version, updated_at, updated_by }
    ChannelNotifications { channel, delivered, pending, failed }
    AlertIncident { id, condition, state, opened_at, last_seen_at, resolved_at, detail, notifications }
    AlertList { incidents }
    AlertTestOutcome { channel, ok, status, error, message_id }
    AlertTestResult { results }
}

to_js_struct! {
    WebhookInput { url, secret }
    AlertEmail { recipients }
    FailuresCondition { enabled, count, ratio, window_minutes }
    QueueStuckCondition { enabled, minutes }
    OAuthCondition { enabled }
    DailyQuotaCondition { enabled, window_minutes }
    FallbackInUseCondition { enabled }
    AlertConditions { failures, queue_stuck, oauth, daily_quota, fallback_in_use }
    AlertSettingsInput { webhook, email, conditions }
}

/// A number (the failure ratio).
impl FromJs for f64 {
    fn from_js(v: &JsValue) -> Option<Self> {
        v.as_f64()
    }
}

impl ToJs for f64 {
    fn to_js(&self) -> JsValue {
        JsValue::from_f64(*self)
    }
}

impl<T: ToJs> ToJs for Vec<T> {
    fn to_js(&self) -> JsValue {
        let array = js_sys::Array::new();
        for item in self {
            array.push(&item.to_js());
        }
        array.into()
    }
}

impl FromJs for AlertCondition {
    fn from_js(v: &JsValue) -> Option<Self> {
        AlertCondition::parse(&v.as_string()?)
    }
}

impl FromJs for AlertChannel {
    fn from_js(v: &JsValue) -> Option<Self> {
        AlertChannel::parse(&v.as_string()?)
    }
}

from_js_enum! {
    IncidentState { Firing = "firing", Resolved = "resolved" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_serdes() {
        for s in [IncidentState::Firing, IncidentState::Resolved] {
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::Value::from(s.json_name()));
        }
        for c in AlertCondition::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::Value::from(c.as_str()));
        }
        for c in [AlertChannel::Webhook, AlertChannel::Email] {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::Value::from(c.as_str()));
        }
    }
}
