//! From a classified [`Fail`] to a [`DeliveryFailure`]: the hint from the shared table,
//! everything masked, and whether retrying can help.

use postamt_wire::{FailureClass, SettingsField, StageName, TlsInfo};

use super::{DeliveryConfig, DeliveryFailure};
use crate::classify::Fail;
use crate::hints::{self, HintContext, Purpose};
use crate::mask::Redactor;

/// What a hint may mention besides the failure itself.
pub(crate) struct Scene<'a> {
    pub cfg: &'a DeliveryConfig,
    pub redactor: &'a Redactor,
    /// The envelope sender of the message ("" at open).
    pub sender: &'a str,
    /// The recipient at fault, else the first one ("" at open).
    pub recipient: &'a str,
    pub tls: Option<&'a TlsInfo>,
    /// AUTH mechanisms the server offered.
    pub mechanisms: Option<&'a str>,
}

/// Whether retrying cannot help: a 5xx reply (except a quota reply: the quota comes back),
/// or an address that is not one.
pub(crate) fn is_permanent(fail: &Fail) -> bool {
    (fail.code.is_some_and(|code| (500..600).contains(&code)) && fail.class != FailureClass::QuotaExceeded)
        || (fail.class == FailureClass::InvalidSettings
            && matches!(fail.field, Some(SettingsField::Recipient | SettingsField::SenderAddress)))
}

pub(crate) fn build(scene: &Scene<'_>, stage: StageName, fail: Fail) -> DeliveryFailure {
    let redact = |s: String| scene.redactor.redact(&s);
    let permanent = is_permanent(&fail);
    let detail = fail.detail.map(redact);
    let quoted = fail.reply.map(redact);
    let cfg = scene.cfg;
    let cx = HintContext {
        purpose: Purpose::Delivery,
        stage,
        host: &cfg.host,
        port: cfg.port,
        encryption: cfg.encryption,
        timeout_secs: cfg.timeout.as_secs_f64().ceil() as u64,
        sender: scene.sender,
        recipient: scene.recipient,
        username: cfg.credentials.as_ref().map(|c| c.username.as_str()),
        oauth: cfg.credentials.as_ref().is_some_and(crate::config::Credentials::is_oauth),
        field: fail.field,
        reply: quoted.as_deref(),
        detail: detail.as_deref(),
        tls: scene.tls,
        mechanisms: scene.mechanisms,
    };
    let (hint_de, hint_en) = hints::hint(fail.class, &cx);
    DeliveryFailure {
        stage,
        class: fail.class,
        field: fail.field,
        reply_code: fail.code,
        reply: fail.full_reply.map(redact),
        permanent,
        hint_de: redact(hint_de),
        hint_en: redact(hint_en),
        detail,
    }
}
