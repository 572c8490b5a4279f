//! API keys for integrations. Managing keys is for the signed-in admin only: a key cannot
//! mint other keys.

use crate::auth::{tokens, AdminSession};
use crate::db;
use crate::domain::{SingleLine, Violations};
use crate::error::{ApiError, Context};
use crate::extract::ValidJson;
use crate::state::AppState;
use actix_web::{delete, get, post, web, HttpResponse};
use postamt_wire::{ApiKey, ApiKeyCreate, ApiKeyCreated, Problem};

const KEY_PREFIX: &str = "pa_";
/// `pa_` and the first 8 characters of the random part: enough to recognise a key.
const SHOWN_PREFIX_LEN: usize = KEY_PREFIX.len() + 8;

/// List API keys (never their secrets).
#[utoipa::path(
    tag = "api-keys",
    responses(
        (status = 200, body = Vec<ApiKey>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys cannot manage keys", body = Problem, content_type = "application/problem+json")
    ),
    security(("session_cookie" = []))
)]
#[get("/api/v1/api-keys")]
pub async fn list_api_keys(state: web::Data<AppState>, _admin: AdminSession) -> Result<HttpResponse, ApiError> {
    let keys = state.db.run(db::api_keys::list).await.internal("listing API keys")?;
    Ok(HttpResponse::Ok().json(keys))
}

/// Create an API key. Its `secret` is in this response only; just a hash is stored.
#[utoipa::path(
    tag = "api-keys",
    request_body = ApiKeyCreate,
    params(("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 201, body = ApiKeyCreated),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("session_cookie" = []))
)]
#[post("/api/v1/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    admin: AdminSession,
    body: ValidJson<ApiKeyCreate>,
) -> Result<HttpResponse, ApiError> {
    let ApiKeyCreate { name, scopes } = body.0;
    let mut v = Violations::default();
    let name = v.check("name", SingleLine::parse(&name, 100));
    if scopes.is_empty() {
        v.add("scopes", "required", "at least one scope is required");
    }
    v.into_result()?;
    let name = name.map(|n| n.as_str().to_owned()).unwrap_or_default();
    let mut scopes = scopes;
    scopes.sort();
    scopes.dedup();

    let secret = tokens::random_token(KEY_PREFIX);
    let prefix = secret[..SHOWN_PREFIX_LEN].to_owned();
    let id = uuid::Uuid::new_v4().to_string();
    let hash = tokens::token_hash(&secret);
    let actor = admin.0.actor;
    let key = state
        .db
        .run(move |conn| {
            db::api_keys::insert(
                conn,
                &db::api_keys::NewKey {
                    id: &id,
                    name: &name,
                    prefix: &prefix,
                    key_hash: &hash,
                    scopes: &scopes,
                    created_by: &actor,
                },
            )
        })
        .await
        .internal("creating an API key")?;
    tracing::info!(key_id = %key.id, name = %key.name, "API key created");
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(ApiKeyCreated { key, secret }))
}

/// Delete an API key; it stops working at once on every instance.
#[utoipa::path(
    tag = "api-keys",
    params(
        ("id" = String, Path, description = "The key's id"),
        ("X-CSRF-Token" = String, Header, description = "The session's CSRF token")
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ),
    security(("session_cookie" = []))
)]
#[delete("/api/v1/api-keys/{id}")]
pub async fn delete_api_key(
    state: web::Data<AppState>,
    _admin: AdminSession,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let deleted = state.db.run(move |conn| db::api_keys::delete(conn, &id)).await.internal("deleting an API key")?;
    // After the commit: a lookup that raced with the delete is discarded, not kept.
    state.api_keys.invalidate();
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("API key"))
    }
}
