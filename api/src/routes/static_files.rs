//! The settings page (the built Leptos app in `frontend/dist`) and fallbacks for unknown
//! paths.
//!
//! `scripts/build-frontend` names every asset after its content (`app.3f2a9c1b7e4d.wasm`)
//! and writes a Brotli (`.br`) and a gzip (`.gz`) copy beside it. Here each request gets
//! the best copy its `Accept-Encoding` allows (`Vary: Accept-Encoding`); hashed assets are
//! cacheable for a year (`immutable`: a new build has new names), while `index.html`, which
//! names them, is revalidated on every visit (`no-cache`), so a new build is seen at once.
//! Files are read from disk per request, so a rebuild needs no restart.

use crate::content_coding::{self, Coding};
use crate::error::ApiError;
use actix_files::NamedFile;
use actix_web::http::header::{ContentEncoding, HeaderValue, CACHE_CONTROL, VARY};
use actix_web::{guard, web, HttpRequest, HttpResponse};
use std::path::{Path, PathBuf};

/// Cache-Control of content-named assets.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of everything else the page serves (`index.html`): always revalidate.
pub const REVALIDATE: &str = "no-cache";

/// Where the built page lives; app data of the page's routes.
struct PageDir(PathBuf);

/// Serves the page from `dir`, or, when the page was not built, a short explanation.
pub fn configure(dir: Option<PathBuf>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| match dir {
        Some(dir) => {
            let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
            cfg.service(
                web::resource("/").app_data(web::Data::new(PageDir(dir.clone()))).route(get_or_head().to(index)),
            )
            .service(web::resource("/{file}").app_data(web::Data::new(PageDir(dir))).route(get_or_head().to(asset)));
        }
        None => {
            cfg.route("/", web::get().to(page_not_built));
        }
    }
}

async fn index(req: HttpRequest, dir: web::Data<PageDir>) -> Result<HttpResponse, ApiError> {
    serve(&req, &dir.0, "index.html").await
}

async fn asset(req: HttpRequest, dir: web::Data<PageDir>, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = file.into_inner();
    if !is_servable_name(&name) {
        return Err(not_found_for(&req));
    }
    serve(&req, &dir.0, &name).await
}

async fn serve(req: &HttpRequest, dir: &Path, name: &str) -> Result<HttpResponse, ApiError> {
    let plain = dir.join(name);
    let (dir, name_owned) = (dir.to_owned(), name.to_owned());
    let headers = req.headers().clone();
    // Three stats and an open: cheap, but blocking file system calls.
    let opened = web::block(move || -> std::io::Result<Option<(NamedFile, Coding)>> {
        if !plain.is_file() {
            return Ok(None);
        }
        let mut available = vec![];
        for coding in [Coding::Brotli, Coding::Gzip] {
            if dir.join(compressed_name(&name_owned, coding)).is_file() {
                available.push(coding);
            }
        }
        let coding = content_coding::negotiate(&headers, &available);
        let file = NamedFile::open(dir.join(compressed_name(&name_owned, coding)))?;
        Ok(Some((file, coding)))
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("serving {name}: {e}")))?
    .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context(format!("opening {name}"))))?;
    let Some((file, coding)) = opened else {
        return Err(not_found_for(req));
    };
    let extension = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("");
    let mut file = file
        .set_content_type(actix_files::file_extension_to_mime(extension))
        .prefer_utf8(true)
        .disable_content_disposition();
    file = match coding {
        Coding::Brotli => file.set_content_encoding(ContentEncoding::Brotli),
        Coding::Gzip => file.set_content_encoding(ContentEncoding::Gzip),
        Coding::Identity => file,
    };
    let mut response = file.into_response(req);
    let cache = if is_content_named(name) { IMMUTABLE } else { REVALIDATE };
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response.headers_mut().insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    Ok(response)
}

/// `app.js` → `app.js.br` for Brotli, itself for identity.
fn compressed_name(name: &str, coding: Coding) -> String {
    format!("{name}{}", coding.file_suffix().unwrap_or(""))
}

/// One path segment of plain characters, not hidden (`.build-stamp`): nothing outside the
/// folder can be named.
fn is_servable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Named after its content: a dot-separated part of at least 12 hex digits
/// (`app_bg.3f2a9c1b7e4d.wasm`), as `scripts/build-frontend` writes them.
pub fn is_content_named(name: &str) -> bool {
    let mut parts = name.split('.');
    parts.next();
    let inner: Vec<&str> = parts.collect();
    inner.len() >= 2
        && inner[..inner.len() - 1].iter().any(|p| p.len() >= 12 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn not_found_for(req: &HttpRequest) -> ApiError {
    ApiError::NotFound(if req.path().starts_with("/api/") { "API endpoint" } else { "page" })
}

/// Unknown paths: the problem format for API clients, whatever the path.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(not_found_for(&req))
}

async fn page_not_built() -> HttpResponse {
    HttpResponse::ServiceUnavailable().content_type("text/html; charset=utf-8").body(
        "<!doctype html><meta charset=utf-8><title>Postamt</title>\
             <h1>Postamt</h1><p>The settings page has not been built. Run <code>scripts/build-frontend</code> \
             (or start with <code>scripts/run</code>), or point <code>--static-dir</code> at a built \
             <code>frontend/dist</code>. The API works without it: see <a href=\"/api-docs/\">/api-docs/</a>.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_named_assets_are_recognised() {
        assert!(is_content_named("app.3f2a9c1b7e4d.js"));
        assert!(is_content_named("app_bg.3f2a9c1b7e4d.wasm"));
        assert!(is_content_named("app.3f2a9c1b7e4d.js.br"));
        assert!(!is_content_named("index.html"));
        assert!(!is_content_named("app.js"));
        assert!(!is_content_named("3f2a9c1b7e4d.js"));
        assert!(!is_content_named("app.3f2a9c1b7e4.js"), "11 hex digits are not a hash");
        assert!(!is_content_named("app.3f2a9c1b7e4g.js"));
    }

    #[test]
    fn only_plain_visible_names_are_served() {
        assert!(is_servable_name("app.3f2a9c1b7e4d.js"));
        assert!(!is_servable_name(".build-stamp"));
        assert!(!is_servable_name(".."));
        assert!(!is_servable_name("a/b"));
        assert!(!is_servable_name("a%2Fb"));
        assert!(!is_servable_name(""));
    }
}
