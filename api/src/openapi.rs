//! The OpenAPI document. Paths come from the handlers as they are registered on the router
//! (utoipa-actix-web), so the spec and the routes cannot drift apart.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Security scheme names used in `#[utoipa::path(security(...))]`.
pub const API_KEY: &str = "api_key";
pub const SESSION: &str = "session_cookie";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Postamt",
        description = "One place for an application's outgoing-mail settings.\n\n\
            Integrations authenticate with an API key (`Authorization: Bearer <key>`) whose scopes \
            limit what it may do. The admin page uses a session cookie; with it, every POST, PUT \
            and DELETE must carry the session's `X-CSRF-Token`.\n\n\
            Every error is `application/problem+json` (RFC 9457) with `errors` naming invalid fields.",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "mail-settings", description = "The shared SMTP settings"),
        (name = "messages", description = "Sending mail for every module"),
        (name = "mail-log", description = "Delivery attempts and tests, errors, export, metrics"),
        (name = "session", description = "Admin sign-in for the settings page"),
        (name = "api-keys", description = "Keys for integrations"),
        (name = "health", description = "Liveness and readiness"),
        (name = "alerts", description = "Alerts: channels, conditions, incidents")
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key created under /api/v1/api-keys. Scopes: settings:read, settings:write, mail:send, log:read.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                postamt_wire::SESSION_COOKIE,
                "Admin session from POST /api/v1/session; unsafe methods also need the X-CSRF-Token header.",
            ))),
        );
    }
}

/// The complete spec, built from the same route registration the server uses.
pub fn spec() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, spec) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::api(crate::routes::DEFAULT_MESSAGE_BODY_LIMIT))
        .split_for_parts();
    spec
}

/// The spec as committed in `openapi/openapi.json`.
pub fn spec_json() -> String {
    let mut json = spec().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
