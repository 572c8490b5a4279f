//! "Connect account": the delegated OAuth 2.0 sign-in (`authorization_code`) of the mailbox.
//!
//! 1. The page calls `POST /api/v1/mail-settings/oauth/authorize` (admin session only) and
//!    sends the browser to the returned provider URL. The `state` and the PKCE verifier are
//!    stored with a hash of that session, for ten minutes.
//! 2. The provider redirects to `GET /oauth/callback?code&state`. The session cookie is
//!    `SameSite=Strict`, so this cross-site navigation arrives without it: the answer is a
//!    tiny page that moves on, now from our own origin, to `/oauth/callback/complete` with
//!    the same query, where the cookie is sent.
//! 3. `/oauth/callback/complete` checks that the state is the one this session started,
//!    exchanges the code (with the verifier), stores the refresh token encrypted, and
//!    redirects to the page with `?oauth=connected` or `?oauth_error=<class>`.

use crate::auth::{scopes, Authorized, Via};
use crate::db::{self, now, oauth_connection as conn_db};
use crate::error::{ApiError, Context};
use crate::extract::ValidJson;
use crate::oauth::failure::TokenFailure;
use crate::oauth::{CLIENT_SECRET_PURPOSE, PKCE_VERIFIER_PURPOSE, REFRESH_TOKEN_PURPOSE};
use crate::state::AppState;
use actix_web::{delete, post, web, HttpRequest, HttpResponse};
use postamt_oauth::{parse_callback, random_state, AuthorizationRequest, PkceVerifier};
use postamt_wire::{OAuthAuthorization, OAuthAuthorizeRequest, OAuthFlow, Problem};
use secrecy::ExposeSecret;

/// How long the admin has to finish the sign-in at the provider.
const SIGN_IN_MINUTES: i64 = 10;
const CALLBACK_PATH: &str = "/oauth/callback";

/// Start "Connect account": the provider's sign-in URL for the saved settings.
///
/// Only for the signed-in admin (the sign-in is bound to this session) and saved settings
/// with `auth.method: oauth2` and `flow: authorization_code`. Send the browser to
/// `authorization_url`; the provider sends it back to `redirect_uri`, which must be
/// registered with the app exactly as returned (set `POSTAMT_PUBLIC_URL` behind a proxy).
#[utoipa::path(
    tag = "mail-settings",
    request_body = OAuthAuthorizeRequest,
    params(("X-CSRF-Token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, body = OAuthAuthorization),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Nothing saved yet", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The saved settings do not use authorization_code", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("session_cookie" = []))
)]
#[post("/api/v1/mail-settings/oauth/authorize")]
pub async fn create_mail_settings_oauth_authorization(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authorized<scopes::SettingsWrite>,
    body: ValidJson<OAuthAuthorizeRequest>,
) -> Result<HttpResponse, ApiError> {
    let Via::Session { token_hash, .. } = &auth.caller.via else { return Err(ApiError::AdminOnly) };
    let return_to = match body.0.return_to.as_deref() {
        None | Some("") => "/".to_owned(),
        // A path of this site only: never an open redirect.
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains(['\\', '\r', '\n']) && p.len() <= 512 => {
            p.to_owned()
        }
        Some(_) => return Err(ApiError::field("return_to", "invalid", "must be a path of this site, e.g. /")),
    };
    let loaded =
        state.db.run(db::settings::load).await.internal("loading mail settings")?.ok_or(ApiError::NotConfigured)?;
    let settings = &loaded.settings;
    let oauth = settings
        .oauth
        .as_ref()
        .filter(|o| settings.uses_oauth() && o.flow == OAuthFlow::AuthorizationCode)
        .ok_or_else(|| {
            ApiError::Conflict("the saved settings do not sign in with OAuth 2.0 authorization_code".to_owned())
        })?;
    let client_secret = loaded
        .secrets
        .client_secret
        .as_deref()
        .map(|b| state.cipher.decrypt(b, CLIENT_SECRET_PURPOSE))
        .transpose()
        .internal("decrypting the client secret")?;
    let app = oauth.app(client_secret);
    let redirect_uri = redirect_uri(&state, &req);
    let verifier = PkceVerifier::generate();
    let sign_in_state = random_state();
    let url = state
        .oauth
        .client
        .authorization_url(
            &app,
            &AuthorizationRequest {
                redirect_uri: &redirect_uri,
                state: &sign_in_state,
                pkce_challenge: &verifier.challenge(),
                login_hint: settings.auth_username.as_deref(),
            },
        )
        .map_err(|e| {
            let f = TokenFailure::from(&e);
            ApiError::field(f.field.map_or("auth.oauth2", |f| f.as_str()), f.class.as_str(), &e.to_string())
        })?;
    let expires_at = now() + chrono::Duration::minutes(SIGN_IN_MINUTES);
    let pending = conn_db::Pending {
        state: sign_in_state,
        verifier_enc: state.cipher.encrypt(verifier.secret(), PKCE_VERIFIER_PURPOSE).internal("encrypting")?,
        session: token_hash.clone(),
        redirect_uri: redirect_uri.clone(),
        return_to,
        expires_at,
    };
    let binding = settings.binding().as_str().to_owned();
    state.db.run(move |c| conn_db::begin_sign_in(c, &binding, &pending)).await.internal("storing the sign-in")?;
    tracing::info!(provider = oauth.provider.as_str(), "OAuth sign-in started");
    Ok(HttpResponse::Ok().json(OAuthAuthorization {
        authorization_url: url.to_string(),
        redirect_uri,
        expires_at: db::utc(expires_at),
    }))
}

/// Disconnect the signed-in account: the stored refresh token is deleted (the provider's
/// grant stays; revoke it there if it should end too).
#[utoipa::path(
    tag = "mail-settings",
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with the session cookie")),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No account was connected", body = Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = ["settings:write"]), ("session_cookie" = []))
)]
#[delete("/api/v1/mail-settings/oauth/connection")]
pub async fn delete_mail_settings_oauth_connection(
    state: web::Data<AppState>,
    auth: Authorized<scopes::SettingsWrite>,
) -> Result<HttpResponse, ApiError> {
    let had = state.db.run(conn_db::disconnect).await.internal("disconnecting the account")?;
    if !had {
        return Err(ApiError::NotFound("no account is connected"));
    }
    tracing::info!(by = %auth.caller.actor, "OAuth account disconnected");
    Ok(HttpResponse::NoContent().finish())
}

/// `<public URL or this request's origin>/oauth/callback`.
fn redirect_uri(state: &AppState, req: &HttpRequest) -> String {
    match &state.oauth.options.public_url {
        Some(url) => format!("{}{CALLBACK_PATH}", url.as_str().trim_end_matches('/')),
        None => {
            let info = req.connection_info();
            format!("{}://{}{CALLBACK_PATH}", info.scheme(), info.host())
        }
    }
}

/// The provider's redirect (no cookie arrives with it): move on from our own origin.
async fn callback(req: HttpRequest) -> HttpResponse {
    let query = req.query_string();
    // The query is the provider's (code, state, error...): put it back verbatim, HTML-escaped.
    let target = format!("{CALLBACK_PATH}/complete?{query}")
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0;url={target}\"><title>Postamt</title></head>\
         <body><p><a href=\"{target}\">Weiter / Continue</a></p></body></html>"
    );
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).content_type("text/html; charset=utf-8").body(html)
}

/// The same query, now with the session cookie: finish the sign-in and go back to the page.
async fn complete(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Option<Authorized<scopes::SettingsWrite>>,
) -> HttpResponse {
    let back = |path: &str, outcome: &str| {
        let sep = if path.contains('?') { '&' } else { '?' };
        HttpResponse::SeeOther()
            .insert_header(("Location", format!("{path}{sep}{outcome}")))
            .insert_header(("Cache-Control", "no-store"))
            .finish()
    };
    let Some(Via::Session { token_hash, .. }) = auth.map(|a| a.caller.via) else {
        return back("/", "oauth_error=session");
    };
    let query = req.query_string().to_owned();
    let state_param = web::Query::<std::collections::HashMap<String, String>>::from_query(&query)
        .ok()
        .and_then(|q| q.get("state").cloned())
        .unwrap_or_default();
    let taken = state.db.run(move |c| conn_db::take_sign_in(c, &state_param, &token_hash)).await;
    let (binding, pending) = match taken {
        Ok(Some(found)) => found,
        Ok(_) => return back("/", "oauth_error=state"),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "OAuth callback failed");
            return back("/", "oauth_error=internal");
        }
    };
    match finish(&state, &query, &binding, &pending).await {
        Ok(()) => back(&pending.return_to, "oauth=connected"),
        Err(failure) => back(&pending.return_to, &format!("oauth_error={}", failure.class.as_str())),
    }
}

async fn finish(state: &AppState, query: &str, binding: &str, pending: &conn_db::Pending) -> Result<(), TokenFailure> {
    let internal = |e: anyhow::Error| {
        tracing::error!(error = format!("{e:#}"), "OAuth sign-in failed internally");
        TokenFailure::not_connected()
    };
    let loaded = state.db.run(db::settings::load).await.map_err(internal)?.ok_or_else(TokenFailure::not_connected)?;
    let settings = &loaded.settings;
    let oauth = settings
        .oauth
        .as_ref()
        .filter(|_| settings.binding().as_str() == binding)
        .ok_or_else(TokenFailure::not_connected)?;
    let outcome = async {
        let code = parse_callback(query, &pending.state)?;
        let client_secret = loaded
            .secrets
            .client_secret
            .as_deref()
            .map(|b| state.cipher.decrypt(b, CLIENT_SECRET_PURPOSE))
            .transpose()
            .map_err(|_| {
                postamt_oauth::OAuthError::new(
                    postamt_oauth::OAuthErrorClass::InvalidClientSecret,
                    "stored secret unreadable",
                )
            })?;
        let verifier = state
            .cipher
            .decrypt(&pending.verifier_enc, PKCE_VERIFIER_PURPOSE)
            .ok()
            .and_then(PkceVerifier::from_stored)
            .ok_or_else(|| {
                postamt_oauth::OAuthError::new(
                    postamt_oauth::OAuthErrorClass::AuthorizationCodeInvalid,
                    "PKCE verifier unreadable",
                )
            })?;
        state.oauth.client.exchange_code(&oauth.app(client_secret), &code, &verifier, &pending.redirect_uri).await
    }
    .await;
    let tokens = match outcome {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "OAuth sign-in failed");
            let failure = TokenFailure::from(&e);
            crate::oauth::obtain::record_failure(state, settings, &failure).await;
            return Err(failure);
        }
    };
    let Some(refresh_token) = tokens.refresh_token.as_ref() else {
        let failure = TokenFailure::from(&postamt_oauth::OAuthError::new(
            postamt_oauth::OAuthErrorClass::InvalidScope,
            "the provider sent no refresh token (offline access not granted)",
        ));
        crate::oauth::obtain::record_failure(state, settings, &failure).await;
        return Err(failure);
    };
    let account = tokens
        .id_token
        .as_ref()
        .and_then(|t| account_of_id_token(t.expose_secret()))
        .or_else(|| settings.auth_username.clone())
        .unwrap_or_default();
    let enc = state.cipher.encrypt(refresh_token, REFRESH_TOKEN_PURPOSE).map_err(internal)?;
    let issued = now();
    let expires = chrono::DateTime::<chrono::Utc>::from(tokens.expires_at).naive_utc();
    let binding = binding.to_owned();
    let stored = state
        .db
        .run(move |c| conn_db::connect(c, &binding, &account, &enc, issued, expires))
        .await
        .map_err(internal)?;
    if !stored {
        return Err(TokenFailure::not_connected());
    }
    state.metrics.oauth_token();
    tracing::info!(provider = oauth.provider.as_str(), "OAuth account connected");
    Ok(())
}

/// The signed-in account from an OpenID Connect ID token (received straight from the token
/// endpoint over TLS, so its claims are read without checking the signature, as OIDC Core
/// 3.1.3.7 allows).
fn account_of_id_token(jwt: &str) -> Option<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["email", "preferred_username", "upn"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(str::to_owned))
}

/// The callback routes (browser navigations, not part of the API spec).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(CALLBACK_PATH, web::get().to(callback)).route("/oauth/callback/complete", web::get().to(complete));
}
