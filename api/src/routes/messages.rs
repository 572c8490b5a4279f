//! The send API: every module's mail goes through here.

use crate::auth::{scopes, Authorized};
use crate::db::{self, messages::Inserted, messages::Recipients, messages::Resend};
use crate::delivery;
use crate::domain::outgoing::OutgoingMessage;
use crate::error::{ApiError, Context};
use crate::extract::{parse_json, JsonBody};
use crate::state::AppState;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use postamt_wire::{
    DeliveryAttempt, EffectiveSender, LimitHold, LimitReason, MessageAccepted, MessageStatus, MessageView,
    PolicyHeaders, Priority, Problem, SendMessageRequest, IDEMPOTENCY_KEY_HEADER,
};
use sha2::{Digest, Sha256};

/// Queue a message for delivery.
///
/// 202 means durable: the message is committed before the answer. The sender policy of
/// the settings decides From, Reply-To and the envelope sender. With `Idempotency-Key`,
/// the same key within 24 hours returns the first message instead of sending again.
#[utoipa::path(
    tag = "messages",
    request_body = SendMessageRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key within 24 h returns the first message"),
        ("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")
    ),
    responses(
        (status = 202, description = "Stored; will be delivered", body = MessageAccepted),
        (status = 200, description = "Replay of an earlier request with the same Idempotency-Key", body = MessageAccepted),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Mail settings are not configured", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The message is larger than allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["mail:send"]), ("session_cookie" = []))
)]
#[post("")]
pub async fn send_message(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authorized<scopes::MailSend>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let request: SendMessageRequest = parse_json(&body)?;
    let key = idempotency_key(&req)?;
    // What "the same request" means for a replay: the parsed request, serialised again, so
    // that a client that re-serialises its retry (other whitespace or key order) still gets
    // the first message back instead of a conflict.
    let request_hash = match &key {
        Some(_) => {
            let canonical = serde_json::to_vec(&request).internal("serialising the request")?;
            Some(crate::hex::lower(&Sha256::digest(&canonical)))
        }
        None => None,
    };
    let settings = state.settings.get_configured(&state.db).await.internal("loading mail settings")?;
    let settings = settings.ok_or(ApiError::SettingsMissing)?;
    let priority = request.priority.unwrap_or_else(|| state.delivery.category_priorities.of(&request.category));
    let message = OutgoingMessage::parse(request, state.limits, domain_of(&settings.sender_address))?;
    let sender = EffectiveSender::apply(
        &settings.sender_name,
        &settings.sender_address,
        settings.force_default_sender,
        settings.reply_to_individual_sender,
        message.acting_user.as_ref(),
    );
    let headers = PolicyHeaders {
        from: sender.from,
        reply_to: sender.reply_to.or_else(|| message.reply_to.clone()),
        envelope_from: sender.envelope_from,
        message_id: message.message_id.clone(),
        date: message.date,
    };
    let recipients = Recipients { to: message.to.clone(), cc: message.cc.clone(), bcc: message.bcc.clone() };
    let id = crate::ids::time_ordered().to_string();
    let content = crate::domain::outgoing::stored::encode(&message).internal("storing the message")?;
    let size = i64::try_from(message.size()).unwrap_or(i64::MAX);
    // Hand the message to this instance's workers at once when they have room (see
    // `delivery::handoff`): stored already claimed, under a lease like any claim. Not under
    // sending limits: there every message is granted its turn as it is claimed from the
    // outbox (`delivery::limits`).
    let slot = if settings.limits.any() { None } else { state.handoff.reserve(message.size(), priority) };
    let lease = delivery::lease(std::time::Duration::from_secs(u64::from(settings.timeout_seconds)));
    let claim = slot
        .as_ref()
        .map(|_| (format!("{}:{}", state.delivery.instance_id, delivery::handoff::CLAIM_SUFFIX), db::now() + lease));
    let lease_ends = std::time::Instant::now() + lease.to_std().unwrap_or_default();
    let new = std::sync::Arc::new(db::messages::NewMessage {
        id: id.clone(),
        created_by: auth.caller.actor.clone(),
        idempotency_key: key,
        request_hash,
        category: message.category.clone(),
        priority,
        recipients,
        headers,
        size_bytes: size,
        content,
        created_at: db::now(),
        claim,
    });
    let inserted = db::messages::accept(&state.db, new.clone()).await.internal("storing the message")?;
    let handed_over = slot.is_some();
    if let (Inserted::New, Some(slot)) = (&inserted, slot) {
        slot.send(db::messages::Claimed {
            id: new.id.clone(),
            category: new.category.clone(),
            priority,
            attempts: 0,
            created_at: new.created_at,
            content: Some(db::messages::Content::Parsed(Box::new(message))),
            lease_ends: Some(lease_ends),
        });
    }
    match inserted {
        Inserted::New => {
            state.metrics.accepted();
            if !handed_over {
                state.outbox_pending.store(true, std::sync::atomic::Ordering::Release);
            }
            // One worker per message (notify_waiters woke all of them, and all but one
            // then found nothing to do).
            state.delivery_notify.notify_one();
            Ok(HttpResponse::Accepted().json(MessageAccepted { id, status: MessageStatus::Queued }))
        }
        Inserted::Replay(existing) if existing.same_request => Ok(HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(MessageAccepted { id: existing.id, status: existing.status })),
        Inserted::Replay(_) => Err(ApiError::field(
            IDEMPOTENCY_KEY_HEADER,
            "reused_with_different_request",
            "this key was already used within 24 hours for a different message",
        )),
    }
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY_HEADER) else { return Ok(None) };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field(
            IDEMPOTENCY_KEY_HEADER,
            "invalid_value",
            "must be 1 to 255 visible ASCII characters (a UUID is a good choice)",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// The domain for generated Message-IDs: the default sender's.
fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("postamt.invalid", |(_, d)| d)
}

/// A message's status, its attempts and the headers the policy produced.
#[utoipa::path(
    tag = "messages",
    params(("id" = String, Path, description = "The message id from the 202 answer")),
    responses(
        (status = 200, body = MessageView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["mail:send"]), ("api_key" = ["log:read"]), ("session_cookie" = []))
)]
#[get("/{id}")]
pub async fn get_message(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::MessageRead>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let found = state
        .db
        .run(move |conn| {
            let Some((row, has_body)) = db::messages::get(conn, &id)? else { return Ok(None) };
            let attempts = db::mail_log::for_message(conn, &row.id)?;
            let waiting = matches!(row.status.as_str(), "queued" | "retrying");
            let hold = if waiting { db::send_limits::current_hold(conn)? } else { None };
            Ok(Some((row, has_body, attempts, hold)))
        })
        .await
        .internal("loading the message")?;
    let (row, has_body, attempts, hold) = found.ok_or(ApiError::NotFound("message"))?;
    let status = MessageStatus::parse(&row.status).unwrap_or(MessageStatus::Queued);
    let waiting = matches!(status, MessageStatus::Queued | MessageStatus::Retrying);
    // The server's throttling pauses sending too (`delivery::pause`).
    let held = hold.or_else(|| {
        let left = state.pause.remaining().filter(|_| waiting)?;
        Some(LimitHold {
            reason: LimitReason::ServerThrottled,
            until: chrono::Utc::now() + chrono::Duration::from_std(left).ok()?,
        })
    });
    let recipients: Recipients = serde_json::from_str(&row.recipients).internal("reading recipients")?;
    let headers: PolicyHeaders = serde_json::from_str(&row.headers).internal("reading headers")?;
    let delivered_via = attempts.iter().rev().find(|a| a.status == MessageStatus::Sent).and_then(|a| a.connection);
    let view = MessageView {
        id: row.id.clone(),
        category: row.category.clone(),
        status,
        priority: Priority::from_rank(row.priority),
        held,
        to: recipients.to,
        cc: recipients.cc,
        bcc: recipients.bcc,
        headers,
        created_at: db::messages::row_created_at(&row),
        sent_at: row.sent_at.map(db::utc),
        next_attempt_at: matches!(status, MessageStatus::Queued | MessageStatus::Retrying)
            .then(|| db::utc(row.next_attempt_at)),
        attempts: attempts
            .into_iter()
            .map(|e| DeliveryAttempt {
                at: e.at,
                attempt: e.attempt.unwrap_or(0),
                outcome: e.status,
                stage: e.stage,
                class: e.class,
                smtp_reply: e.smtp_reply,
                duration_ms: e.duration_ms,
                connection: e.connection,
            })
            .collect(),
        delivered_via,
        resendable: status == MessageStatus::Failed && has_body,
    };
    Ok(HttpResponse::Ok().json(view))
}

/// Queue a failed message again (while its content is kept).
#[utoipa::path(
    tag = "messages",
    params(
        ("id" = String, Path, description = "The message id"),
        ("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")
    ),
    responses(
        (status = 202, description = "Queued again", body = MessageAccepted),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not failed, or its content was already deleted", body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["mail:send"]), ("session_cookie" = []))
)]
#[post("/{id}/resend")]
pub async fn resend_message(
    state: web::Data<AppState>,
    _auth: Authorized<scopes::MailSend>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let lookup = id.clone();
    match state.db.run(move |conn| db::messages::resend(conn, &lookup)).await.internal("re-queueing")? {
        Resend::Queued => {
            state.outbox_pending.store(true, std::sync::atomic::Ordering::Release);
            state.delivery_notify.notify_one();
            Ok(HttpResponse::Accepted().json(MessageAccepted { id, status: MessageStatus::Queued }))
        }
        Resend::NotFound => Err(ApiError::NotFound("message")),
        Resend::NotResendable(status) => Err(ApiError::Conflict(format!(
            "only failed messages whose content is still kept can be resent; this one is {}",
            status.as_str()
        ))),
    }
}
