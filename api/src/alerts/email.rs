//! The e-mail channel: an ordinary message in the outbox (category `alert`) to the admins,
//! with the saved settings' sender policy, delivered and retried like every message. The
//! idempotency key (one per notification) keeps a notification sent twice (its claim's
//! lease ended mid-way) from queuing two messages.

use super::text::About;
use crate::db::{self, messages::Inserted, messages::Recipients};
use crate::domain::outgoing::OutgoingMessage;
use crate::state::AppState;
use anyhow::Context;
use postamt_wire::{EffectiveSender, MailboxInput, PolicyHeaders, SendMessageRequest};

/// Who the alert messages are created by (the mail log's and the idempotency key's caller).
const CREATED_BY: &str = "alerts";

/// Queues the message; its id.
pub async fn queue(
    state: &AppState,
    recipients: &[String],
    about: &About<'_>,
    idempotency_key: Option<String>,
) -> anyhow::Result<String> {
    let settings = state.settings.get_configured(&state.db).await?.context("the mail settings are not configured")?;
    let request = SendMessageRequest {
        category: super::EMAIL_CATEGORY.to_owned(),
        to: recipients.iter().cloned().map(MailboxInput::Text).collect(),
        subject: about.subject(),
        text: Some(about.body()),
        headers: about.headers(),
        ..Default::default()
    };
    let domain = settings.sender_address.rsplit_once('@').map_or("postamt.invalid", |(_, d)| d);
    let message = OutgoingMessage::parse(request, state.limits, domain)
        .map_err(|e| anyhow::anyhow!("the alert message is invalid: {e}"))?;
    let sender = EffectiveSender::apply(
        &settings.sender_name,
        &settings.sender_address,
        settings.force_default_sender,
        settings.reply_to_individual_sender,
        None,
    );
    let headers = PolicyHeaders {
        from: sender.from,
        reply_to: sender.reply_to,
        envelope_from: sender.envelope_from,
        message_id: message.message_id.clone(),
        date: message.date,
    };
    let id = crate::ids::time_ordered().to_string();
    let new = std::sync::Arc::new(db::messages::NewMessage {
        id: id.clone(),
        created_by: CREATED_BY.to_owned(),
        request_hash: idempotency_key.clone(),
        idempotency_key,
        category: message.category.clone(),
        // Alerts go ahead of every waiting message (category `alert` is high by default).
        priority: postamt_wire::Priority::High,
        recipients: Recipients { to: message.to.clone(), cc: Vec::new(), bcc: Vec::new() },
        headers,
        size_bytes: i64::try_from(message.size()).unwrap_or(i64::MAX),
        content: crate::domain::outgoing::stored::encode(&message).context("storing the alert message")?,
        created_at: db::now(),
        claim: None,
    });
    let id = match db::messages::accept(&state.db, new).await? {
        Inserted::New => {
            state.metrics.accepted();
            id
        }
        Inserted::Replay(existing) => existing.id,
    };
    state.outbox_pending.store(true, std::sync::atomic::Ordering::Release);
    state.delivery_notify.notify_one();
    Ok(id)
}
