//! Security headers on every response: a strict Content-Security-Policy, a
//! Permissions-Policy that switches off what the page never uses, isolation headers,
//! `Strict-Transport-Security` when the request came over HTTPS, and `no-store` on API
//! answers.
//!
//! Postamt itself listens on plain HTTP; HTTPS means a reverse proxy in front of it that
//! says so in `X-Forwarded-Proto` (or `Forwarded: proto=https`). Anyone can send those
//! headers, so they are believed only with `--trust-forwarded-proto`.

use actix_web::body::MessageBody;
use actix_web::dev::{RequestHead, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

/// The settings page (and every API response): scripts, styles, images, fonts and
/// fetches from this origin only; the wasm module may be compiled (`'wasm-unsafe-eval'`,
/// which allows WebAssembly but not JavaScript `eval`); no inline script or style; no
/// framing; no `<base>`; forms post only here.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self'; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The API docs (Swagger UI): as the page, without wasm, with `data:` images, which Swagger
/// UI's stylesheet uses for its icons, and the one inline `<style>` its logo brings
/// ([`SWAGGER_LOGO_STYLE`]), allowed by its hash rather than by `'unsafe-inline'`.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The `<style>` element Swagger UI renders inside its SVG logo; [`DOCS_CSP`] names its hash.
pub const SWAGGER_LOGO_STYLE: &str = ".logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}";

/// Browser features the page never needs, switched off for it and anything it could load.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     geolocation=(), gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), payment=(), \
     publickey-credentials-get=(), screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()";

/// Two years, the value HSTS preload lists ask for.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Whether proxies' scheme headers are believed; handed to the app as `web::Data`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProxyTrust {
    pub forwarded_proto: bool,
}

impl ProxyTrust {
    /// Whether the client reached Postamt over HTTPS (as a trusted proxy says).
    pub fn is_https(&self, head: &RequestHead) -> bool {
        self.forwarded_proto && forwarded_https(head)
    }
}

/// The proxy's word on the original scheme: the first (client-side) entry of
/// `X-Forwarded-Proto`, else the first `proto=` of `Forwarded` (RFC 7239).
fn forwarded_https(head: &RequestHead) -> bool {
    let headers = &head.headers;
    if let Some(proto) = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        return proto.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    }
    let Some(forwarded) = headers.get("forwarded").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let first_hop = forwarded.split(',').next().unwrap_or("");
    first_hop.split(';').any(|pair| {
        pair.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("proto") && v.trim().trim_matches('"').eq_ignore_ascii_case("https")
        })
    })
}

/// Middleware: adds the headers to every response that does not set them itself.
pub async fn add(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let https = req.app_data::<web::Data<ProxyTrust>>().is_some_and(|t| t.is_https(req.head()));
    let csp = if req.path().starts_with("/api-docs") { DOCS_CSP } else { PAGE_CSP };
    // API answers hold settings, keys, sessions and logs: no cache may keep them, unless
    // a handler says otherwise.
    let api = req.path().starts_with("/api/");
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set("content-security-policy", csp);
    set("permissions-policy", PERMISSIONS_POLICY);
    set("cross-origin-opener-policy", "same-origin");
    set("cross-origin-resource-policy", "same-origin");
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "no-referrer");
    set("x-frame-options", "DENY");
    if https {
        set("strict-transport-security", HSTS);
    }
    if api {
        set("cache-control", "no-store");
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn https(trust: bool, headers: &[(&str, &str)]) -> bool {
        let mut req = TestRequest::default();
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        ProxyTrust { forwarded_proto: trust }.is_https(req.to_srv_request().head())
    }

    #[test]
    fn a_proxy_is_believed_only_when_trusted() {
        assert!(!https(false, &[("X-Forwarded-Proto", "https")]));
        assert!(https(true, &[("X-Forwarded-Proto", "https")]));
        assert!(https(true, &[("X-Forwarded-Proto", "HTTPS, http")]));
        assert!(!https(true, &[("X-Forwarded-Proto", "http, https")]));
        assert!(!https(true, &[]));
    }

    #[test]
    fn forwarded_header_is_read_when_there_is_no_x_forwarded_proto() {
        assert!(https(true, &[("Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43")]));
        assert!(https(true, &[("Forwarded", "proto=\"https\", proto=http")]));
        assert!(!https(true, &[("Forwarded", "for=192.0.2.60;proto=http")]));
    }

    #[test]
    fn the_policies_allow_no_inline_script_or_style() {
        for csp in [PAGE_CSP, DOCS_CSP] {
            assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{csp}");
            assert!(csp.starts_with("default-src 'none';"), "{csp}");
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("base-uri 'none'"), "{csp}");
        }
        assert!(PAGE_CSP.contains("'wasm-unsafe-eval'"));
    }

    #[test]
    fn the_docs_policy_names_the_hash_of_swagger_uis_logo_style() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SWAGGER_LOGO_STYLE));
        assert!(DOCS_CSP.contains(&format!("'sha256-{hash}'")), "{DOCS_CSP}");
        // A Swagger UI update that changes the logo's style shows here, not only in Chromium.
        let config = std::sync::Arc::new(utoipa_swagger_ui::Config::new(["/api-docs/openapi.json"]));
        let bundle = utoipa_swagger_ui::serve("swagger-ui-standalone-preset.js", config).unwrap().unwrap();
        let bundle = String::from_utf8_lossy(&bundle.bytes);
        assert!(bundle.contains(SWAGGER_LOGO_STYLE), "Swagger UI's logo style changed: update DOCS_CSP");
    }
}
