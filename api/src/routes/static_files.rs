//! The settings page (the built Leptos app) and fallbacks for unknown paths.

use crate::error::ApiError;
use actix_web::{web, HttpRequest, HttpResponse};
use std::path::PathBuf;

/// Serves the page from `dir`, or, when the page was not built, a short explanation.
pub fn configure(dir: Option<PathBuf>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| match dir {
        Some(dir) => {
            cfg.service(
                actix_files::Files::new("/", dir)
                    .index_file("index.html")
                    .prefer_utf8(true)
                    .default_handler(web::to(not_found)),
            );
        }
        None => {
            cfg.route("/", web::get().to(page_not_built));
        }
    }
}

/// Unknown paths: the problem format for API clients, whatever the path.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let what: &'static str = if req.path().starts_with("/api/") { "API endpoint" } else { "page" };
    Err(ApiError::NotFound(what))
}

async fn page_not_built() -> HttpResponse {
    HttpResponse::ServiceUnavailable().content_type("text/html; charset=utf-8").body(
        "<!doctype html><meta charset=utf-8><title>Postamt</title>\
             <h1>Postamt</h1><p>The settings page has not been built. Run <code>scripts/build-frontend</code> \
             (or start with <code>scripts/run</code>), or point <code>--static-dir</code> at a built \
             <code>frontend/dist</code>. The API works without it: see <a href=\"/api-docs/\">/api-docs/</a>.</p>",
    )
}
