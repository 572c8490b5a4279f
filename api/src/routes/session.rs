//! Admin sign-in for the settings page.

use crate::auth::{admin_password, client_key, throttle, tokens, AdminSession, Via};
use crate::db::{self, now, utc};
use crate::error::{ApiError, Context};
use crate::extract::ValidJson;
use crate::security_headers::ProxyTrust;
use crate::state::AppState;
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use postamt_wire::{Problem, SessionCreate, SessionInfo, SESSION_COOKIE};

/// Sign in with the admin password.
///
/// Sets the HttpOnly session cookie. After five wrong passwords from one address within
/// 15 minutes, further attempts get 429 with `Retry-After`.
#[utoipa::path(
    tag = "session",
    request_body = SessionCreate,
    responses(
        (status = 201, description = "Signed in; the session cookie is set", body = SessionInfo),
        (status = 401, description = "Wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/session")]
pub async fn create_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<SessionCreate>,
) -> Result<HttpResponse, ApiError> {
    let client = client_key(&req);
    throttle::check(&state.db, client.clone()).await?;
    let stored = state.db.run(db::admin::password_hash).await.internal("loading the admin password hash")?;
    let candidate = body.0.password;
    // argon2 is CPU-heavy on purpose: keep it off the async workers.
    let valid = actix_web::rt::task::spawn_blocking(move || {
        stored.as_deref().is_some_and(|hash| admin_password::verify(hash, &candidate))
    })
    .await
    .internal("verifying the admin password")?;
    if !valid {
        throttle::record_failure(&state.db, client).await?;
        tracing::warn!(client = %client_key(&req), "failed admin sign-in");
        return Err(ApiError::Unauthorized("the password is wrong"));
    }
    throttle::clear(&state.db, client).await?;

    let token = tokens::random_token("");
    let csrf_token = tokens::random_token("");
    let hours = i64::from(state.session_hours);
    let expires_at = now() + chrono::Duration::hours(hours);
    let (hash, csrf) = (tokens::token_hash(&token), csrf_token.clone());
    state
        .db
        .run(move |conn| db::sessions::create(conn, &hash, &csrf, expires_at))
        .await
        .internal("creating the session")?;
    tracing::info!("admin signed in");

    // Postamt speaks plain HTTP; only a trusted proxy can say the client used HTTPS.
    let secure = req.app_data::<web::Data<ProxyTrust>>().is_some_and(|trust| trust.is_https(req.head()));
    let cookie = Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(time::Duration::hours(hours))
        .finish();
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).cookie(cookie).json(SessionInfo {
        subject: "admin".to_owned(),
        csrf_token,
        expires_at: utc(expires_at),
    }))
}

/// The signed-in session, with the CSRF token the page must send on changes.
#[utoipa::path(
    tag = "session",
    responses(
        (status = 200, body = SessionInfo),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json")
    ),
    security(("session_cookie" = []))
)]
#[get("/api/v1/session")]
pub async fn get_session(session: AdminSession) -> Result<HttpResponse, ApiError> {
    let Via::Session { csrf_token, expires_at, .. } = session.0.via else {
        return Err(ApiError::Unauthorized("sign in first"));
    };
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(SessionInfo {
        subject: "admin".to_owned(),
        csrf_token,
        expires_at: utc(expires_at),
    }))
}

/// Sign out.
#[utoipa::path(
    tag = "session",
    params(("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong", body = Problem, content_type = "application/problem+json")
    ),
    security(("session_cookie" = []))
)]
#[delete("/api/v1/session")]
pub async fn delete_session(state: web::Data<AppState>, session: AdminSession) -> Result<HttpResponse, ApiError> {
    if let Via::Session { token_hash, .. } = session.0.via {
        state.db.run(move |conn| db::sessions::delete(conn, &token_hash)).await.internal("deleting the session")?;
    }
    let mut expired = Cookie::build(SESSION_COOKIE, "").path("/").http_only(true).same_site(SameSite::Strict).finish();
    expired.make_removal();
    Ok(HttpResponse::NoContent().cookie(expired).finish())
}
