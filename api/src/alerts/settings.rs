//! `PUT /api/v1/alert-settings`: every field checked, all violations reported at once, and
//! the webhook secret's rule: left out, the stored one is kept only for the same URL, so a
//! secret never follows the alerts to another receiver.

use super::WEBHOOK_SECRET_PURPOSE;
use crate::crypto::SecretCipher;
use crate::db::alerts::settings::StoredAlerts;
use crate::db::utc;
use crate::domain::{EmailAddress, Violations};
use crate::error::{ApiError, Context};
use postamt_wire::{AlertEmail, AlertSettings, AlertSettingsInput, WebhookView};
use secrecy::SecretString;

const MAX_RECIPIENTS: usize = 10;
const SECRET_LENGTH: std::ops::RangeInclusive<usize> = 16..=256;

/// The settings to store for `input`, given the `current` ones.
pub fn parse(
    input: AlertSettingsInput,
    current: &StoredAlerts,
    cipher: &SecretCipher,
) -> Result<StoredAlerts, ApiError> {
    let mut v = Violations::default();
    let (mut webhook_url, mut webhook_secret_enc) = (None, None);
    if let Some(webhook) = &input.webhook {
        let url = match postamt_oauth::validate_endpoint(&webhook.url) {
            Ok(url) => Some(url.to_string()),
            Err(e) => {
                v.add("webhook.url", "invalid_url", e.description.unwrap_or_else(|| "is not a valid URL".to_owned()));
                None
            }
        };
        match &webhook.secret {
            Some(secret) if !SECRET_LENGTH.contains(&secret.chars().count()) => {
                v.add("webhook.secret", "invalid_length", "must be 16 to 256 characters");
            }
            Some(secret) => {
                let secret = SecretString::from(secret.clone());
                webhook_secret_enc =
                    Some(cipher.encrypt(&secret, WEBHOOK_SECRET_PURPOSE).internal("encrypting the webhook secret")?);
            }
            None if current.webhook_secret_enc.is_none() => {
                v.add("webhook.secret", "required", "a secret is required to sign the notifications");
            }
            None if url.is_some() && url != current.webhook_url => {
                v.add("webhook.secret", "required", "the URL changed: send the secret again");
            }
            None => webhook_secret_enc = current.webhook_secret_enc.clone(),
        }
        webhook_url = url;
    }
    let email_recipients = input.email.as_ref().map(|email| {
        if email.recipients.is_empty() || email.recipients.len() > MAX_RECIPIENTS {
            v.add("email.recipients", "out_of_range", "1 to 10 addresses");
        }
        email
            .recipients
            .iter()
            .enumerate()
            .filter_map(|(i, r)| v.check(&format!("email.recipients[{i}]"), EmailAddress::try_from(r.as_str())))
            .map(|a| a.as_str().to_owned())
            .collect::<Vec<_>>()
    });
    let c = &input.conditions;
    let mut range = |field: &str, value: u32, max: u32| {
        if !(1..=max).contains(&value) {
            v.add(field, "out_of_range", format!("must be between 1 and {max}"));
        }
    };
    range("conditions.failures.count", c.failures.count, 100_000);
    range("conditions.failures.window_minutes", c.failures.window_minutes, 1440);
    range("conditions.queue_stuck.minutes", c.queue_stuck.minutes, 1440);
    range("conditions.daily_quota.window_minutes", c.daily_quota.window_minutes, 1440);
    if !(c.failures.ratio > 0.0 && c.failures.ratio <= 1.0) {
        v.add("conditions.failures.ratio", "out_of_range", "must be above 0 and at most 1");
    }
    v.into_result()?;
    Ok(StoredAlerts {
        webhook_url,
        webhook_secret_enc,
        email_recipients,
        conditions: input.conditions,
        ..StoredAlerts::default()
    })
}

/// The settings as returned: the secret only as `secret_set`.
pub fn view(stored: &StoredAlerts) -> AlertSettings {
    AlertSettings {
        webhook: stored
            .webhook_url
            .as_ref()
            .map(|url| WebhookView { url: url.clone(), secret_set: stored.webhook_secret_enc.is_some() }),
        email: stored.email_recipients.as_ref().map(|r| AlertEmail { recipients: r.clone() }),
        conditions: stored.conditions.clone(),
        version: stored.version,
        updated_at: stored.updated_at.map(utc),
        updated_by: stored.updated_by.clone(),
    }
}
