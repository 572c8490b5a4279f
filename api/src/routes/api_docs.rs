//! The interactive API docs (Swagger UI, embedded in the binary: no CDN) and the spec at
//! `/api-docs/openapi.json`.
//!
//! utoipa-swagger-ui's own service sends its 1.4 MB bundle uncompressed and without
//! validators; here each file is gzipped once, on its first request, and kept with a
//! strong `ETag`, so a repeat visit costs a 304 per file and a first one about a quarter of
//! the bytes. (Brotli would save a little more, but would need a Brotli encoder in the
//! server for these few files; the page's own assets are precompressed with both at build
//! time.)

use crate::content_coding::{self, Coding};
use crate::error::ApiError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use utoipa_swagger_ui::Config;

/// Where the spec is served; Swagger UI loads it from there.
pub const SPEC_PATH: &str = "/api-docs/openapi.json";

/// One file, ready in both codings.
struct Asset {
    content_type: String,
    etag: String,
    identity: web::Bytes,
    gzip: web::Bytes,
}

impl Asset {
    fn new(content_type: String, bytes: Vec<u8>) -> std::io::Result<Asset> {
        let etag = format!("\"{}\"", &crate::hex::lower(&Sha256::digest(&bytes))[..32]);
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 3), flate2::Compression::best());
        encoder.write_all(&bytes)?;
        let gzip = encoder.finish()?;
        Ok(Asset { content_type, etag, identity: bytes.into(), gzip: gzip.into() })
    }
}

/// The docs' files by path, each built on first use.
pub struct ApiDocs {
    config: Arc<Config<'static>>,
    spec_json: String,
    built: Mutex<HashMap<String, Arc<Asset>>>,
}

impl ApiDocs {
    pub fn new(spec: &utoipa::openapi::OpenApi) -> anyhow::Result<ApiDocs> {
        Ok(ApiDocs {
            // "none": no badge that would ask swagger.io to validate our spec.
            config: Arc::new(Config::new([SPEC_PATH]).validator_url("none")),
            spec_json: spec.to_json()?,
            built: Mutex::default(),
        })
    }

    /// The asset at `path` (relative to `/api-docs/`; empty for the index), if there is one.
    fn asset(&self, path: &str) -> anyhow::Result<Option<Arc<Asset>>> {
        if let Some(asset) = self.built.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
            return Ok(Some(asset.clone()));
        }
        let (content_type, bytes) = if path == "openapi.json" {
            ("application/json".to_owned(), self.spec_json.clone().into_bytes())
        } else {
            match utoipa_swagger_ui::serve(path, self.config.clone()).map_err(|e| anyhow::anyhow!("{e}"))? {
                Some(file) => (with_charset(file.content_type), file.bytes.into_owned()),
                None => return Ok(None),
            }
        };
        let asset = Arc::new(Asset::new(content_type, bytes)?);
        self.built.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_owned(), asset.clone());
        Ok(Some(asset))
    }
}

/// Text types are UTF-8; say so, as the page's files do.
fn with_charset(content_type: String) -> String {
    let textual = content_type.starts_with("text/") || content_type == "application/javascript";
    if textual && !content_type.contains("charset") {
        format!("{content_type}; charset=utf-8")
    } else {
        content_type
    }
}

/// The routes: `/api-docs` (redirect), `/api-docs/` and every file below it.
pub fn configure(docs: web::Data<ApiDocs>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.route(
            "/api-docs",
            web::get()
                .to(|| async { HttpResponse::PermanentRedirect().insert_header(("Location", "/api-docs/")).finish() }),
        )
        .service(
            web::resource("/api-docs/{path:.*}")
                .app_data(docs)
                .route(web::route().guard(guard::Any(guard::Get()).or(guard::Head())).to(serve)),
        );
    }
}

async fn serve(req: HttpRequest, docs: web::Data<ApiDocs>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let found = web::block(move || docs.asset(&path))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("building a docs asset: {e}")))??;
    let Some(asset) = found else {
        return Err(ApiError::NotFound("page"));
    };
    let etag_matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let mut response = if etag_matches { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::ETAG, asset.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(super::static_files::REVALIDATE)))
        .insert_header((header::VARY, "Accept-Encoding"));
    if etag_matches {
        return Ok(response.finish());
    }
    response.insert_header((header::CONTENT_TYPE, asset.content_type.as_str()));
    Ok(match content_coding::negotiate(req.headers(), &[Coding::Gzip]) {
        Coding::Gzip => response.insert_header((header::CONTENT_ENCODING, "gzip")).body(asset.gzip.clone()),
        _ => response.body(asset.identity.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn assets_are_gzipped_once_with_a_strong_etag() {
        let docs = ApiDocs::new(&utoipa::openapi::OpenApi::default()).unwrap();
        let index = docs.asset("").unwrap().expect("the index exists");
        assert!(index.content_type.starts_with("text/html"), "{}", index.content_type);
        assert!(index.etag.starts_with('"') && index.etag.len() == 34, "{}", index.etag);
        let mut unzipped = vec![];
        flate2::read::GzDecoder::new(&index.gzip[..]).read_to_end(&mut unzipped).unwrap();
        assert_eq!(unzipped, index.identity);
        let again = docs.asset("").unwrap().unwrap();
        assert!(Arc::ptr_eq(&index, &again), "the second request reuses the first one's work");
        assert!(docs.asset("no-such-file.js").unwrap().is_none());
        let spec = docs.asset("openapi.json").unwrap().unwrap();
        assert_eq!(spec.content_type, "application/json");
    }

    #[test]
    fn the_initializer_names_our_spec_and_no_validator() {
        let docs = ApiDocs::new(&utoipa::openapi::OpenApi::default()).unwrap();
        let init = docs.asset("swagger-initializer.js").unwrap().unwrap();
        let text = String::from_utf8(init.identity.to_vec()).unwrap();
        assert!(text.contains(SPEC_PATH), "{text}");
        assert!(text.contains("\"validatorUrl\": \"none\""), "{text}");
    }
}
