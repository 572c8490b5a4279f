//! Who is calling, and may they?
//!
//! Two kinds of callers: the admin, signed in on the page with a session cookie (all
//! scopes; changes need the session's CSRF token in `X-CSRF-Token`), and integrations with an
//! API key in `Authorization: Bearer` (only the key's scopes). Handlers state the scope they
//! need in their signature: `Authorized<scopes::SettingsWrite>`.

pub mod admin_password;
pub mod throttle;
pub mod tokens;

use crate::db;
use crate::error::{ApiError, Context};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use postamt_wire::{Scope, CSRF_HEADER, SESSION_COOKIE};
use std::marker::PhantomData;
use std::sync::Arc;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Recorded as "who" in the history: `admin` or `api-key:<name>`.
    pub actor: String,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    Session { token_hash: String, csrf_token: String, expires_at: chrono::NaiveDateTime },
    ApiKey { scopes: Vec<Scope> },
}

impl Caller {
    pub fn has(&self, scope: Scope) -> bool {
        match &self.via {
            Via::Session { .. } => true,
            Via::ApiKey { scopes } => scopes.contains(&scope),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self.via, Via::Session { .. })
    }
}

/// The scopes a handler accepts (any one of them suffices), as a type.
pub trait RequiredScope {
    const SCOPES: &'static [Scope];
}

pub mod scopes {
    use super::{RequiredScope, Scope};

    macro_rules! scope_marker {
        ($name:ident) => {
            #[derive(Debug)]
            pub struct $name;
            impl RequiredScope for $name {
                const SCOPES: &'static [Scope] = &[Scope::$name];
            }
        };
    }

    /// Reading a message's status: the module that sent it, or whoever reads the log.
    #[derive(Debug)]
    pub struct MessageRead;
    impl RequiredScope for MessageRead {
        const SCOPES: &'static [Scope] = &[Scope::MailSend, Scope::LogRead];
    }
    scope_marker!(SettingsRead);
    scope_marker!(SettingsWrite);
    scope_marker!(MailSend);
    scope_marker!(LogRead);
}

/// Extractor: a caller holding scope `S`. 401 without credentials, 403 without the scope.
#[derive(Debug)]
pub struct Authorized<S> {
    pub caller: Caller,
    scope: PhantomData<S>,
}

impl<S: RequiredScope + 'static> FromRequest for Authorized<S> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(&req).await?;
            if !S::SCOPES.iter().any(|scope| caller.has(*scope)) {
                return Err(ApiError::MissingScope(S::SCOPES[0]));
            }
            Ok(Authorized { caller, scope: PhantomData })
        })
    }
}

/// Extractor: the signed-in admin session (API keys are not sessions). CSRF is checked
/// for unsafe methods as everywhere.
#[derive(Debug)]
pub struct AdminSession(pub Caller);

impl FromRequest for AdminSession {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(caller) = session_caller(&req).await? {
                return Ok(AdminSession(caller));
            }
            // A valid API key is a known caller without the right: 403, not 401.
            if req.headers().contains_key(header::AUTHORIZATION) {
                authenticate(&req).await?;
                return Err(ApiError::AdminOnly);
            }
            Err(ApiError::Unauthorized("sign in first"))
        })
    }
}

async fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let key = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(ApiError::Unauthorized("the Authorization header must be `Bearer <api key>`"))?;
        let hash = tokens::token_hash(key);
        let state = app_state(req)?;
        let key = match state.api_keys.lookup(&hash) {
            Ok(key) => key,
            Err(generation) => {
                let lookup = hash.clone();
                let found = state
                    .db
                    .run(move |conn| db::api_keys::authenticate(conn, &lookup))
                    .await
                    .internal("authenticating an API key")?;
                // Only known keys are kept: unknown ones cannot fill the cache.
                let key = Arc::new(found.ok_or(ApiError::Unauthorized("the API key is unknown or was deleted"))?);
                state.api_keys.store(hash, generation, key.clone());
                key
            }
        };
        return Ok(Caller { actor: format!("api-key:{}", key.name), via: Via::ApiKey { scopes: key.scopes.clone() } });
    }
    session_caller(req)
        .await?
        .ok_or(ApiError::Unauthorized("sign in, or send an API key as `Authorization: Bearer <key>`"))
}

/// The caller of a valid session cookie, if there is one. Unsafe methods must echo the
/// session's CSRF token: SameSite=Strict already keeps other sites' requests from carrying
/// the cookie, the token also covers older browsers and same-site subdomains.
async fn session_caller(req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else { return Ok(None) };
    let token_hash = tokens::token_hash(cookie.value());
    let state = app_state(req)?;
    let lookup = token_hash.clone();
    let Some(session) =
        state.db.run(move |conn| db::sessions::find(conn, &lookup)).await.internal("loading the session")?
    else {
        return Err(ApiError::Unauthorized("the session has expired; sign in again"));
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let presented = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !tokens::same_token(presented, &session.csrf_token) {
            return Err(ApiError::Csrf);
        }
    }
    Ok(Some(Caller {
        actor: "admin".to_owned(),
        via: Via::Session { token_hash, csrf_token: session.csrf_token, expires_at: session.expires_at },
    }))
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))
}

/// The client address used for throttling: the TCP peer. Forwarded headers are not
/// trusted, since any client can send them.
pub fn client_key(req: &HttpRequest) -> String {
    req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".to_owned())
}
