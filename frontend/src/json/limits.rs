//! [`FromJs`] and [`ToJs`] for the sending limits and their use (see `json` for the rules).

use super::{field, object, FromJs, ToJs};
use postamt_wire::{LimitHold, LimitReason, LimitUse, SendingLimits, SendingUsage};
use wasm_bindgen::JsValue;

// Every field of SendingLimits is `#[serde(default)]` and an `Option`: missing reads as `None`.
from_js_struct! {
    SendingLimits { messages_per_minute, messages_per_hour, messages_per_day, recipients_per_day, concurrent_sessions }
    LimitHold { reason, until }
    LimitUse { limit, max, used }
    SendingUsage { limits, hold, waiting_high, waiting_normal, waiting_low }
}

to_js_struct! {
    SendingLimits { messages_per_minute, messages_per_hour, messages_per_day, recipients_per_day, concurrent_sessions }
}

impl FromJs for LimitReason {
    fn from_js(v: &JsValue) -> Option<Self> {
        LimitReason::parse(&v.as_string()?)
    }
}
