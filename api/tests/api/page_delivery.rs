//! How the page and the docs are delivered: the precompressed copy each request accepts,
//! cache lifetimes by file name, and the security headers on every response.

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};
use postamt::security_headers::{DOCS_CSP, HSTS, PAGE_CSP};
use reqwest::Response;
use std::io::Read;
use std::path::Path;

const WASM: &str = "app_bg.0123456789ab.wasm";
const JS: &str = "app.0123456789ab.js";

/// A built page in miniature: each copy holds a different text, so a test sees which one
/// was sent. The JS file has a gzip copy only.
fn write_page(dir: &Path) {
    let files: [(String, &[u8]); 8] = [
        ("index.html".into(), b"<!doctype html><title>plain index</title>"),
        ("index.html.br".into(), b"brotli index"),
        ("index.html.gz".into(), b"gzip index"),
        (WASM.into(), b"\0asm plain"),
        (format!("{WASM}.br"), b"brotli wasm"),
        (format!("{WASM}.gz"), b"gzip wasm"),
        (JS.into(), b"export default 1;"),
        (format!("{JS}.gz"), b"gzip js"),
    ];
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    std::fs::write(dir.join(".build-stamp"), b"").unwrap();
}

async fn app_with_page(trust_forwarded_proto: bool) -> (TestApp, tempfile::TempDir) {
    let page = tempfile::tempdir().unwrap();
    write_page(page.path());
    let dir = page.path().to_path_buf();
    let app = spawn_app_with(Backend::Sqlite, move |config| {
        config.static_dir = Some(dir);
        config.trust_forwarded_proto = trust_forwarded_proto;
    })
    .await;
    (app, page)
}

async fn get(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> Response {
    let mut request = app.anonymous().get(app.url(path));
    if let Some(accept) = accept_encoding {
        request = request.header("Accept-Encoding", accept);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn each_request_gets_the_best_copy_it_accepts() {
    let (app, _page) = app_with_page(false).await;
    let cases: [(&str, Option<&str>, Option<&str>, &str); 10] = [
        (WASM, Some("gzip, deflate, br"), Some("br"), "brotli wasm"),
        (WASM, Some("gzip, deflate"), Some("gzip"), "gzip wasm"),
        (WASM, Some("br;q=0, gzip"), Some("gzip"), "gzip wasm"),
        (WASM, Some("br;q=0.4, gzip;q=0.8"), Some("gzip"), "gzip wasm"),
        (WASM, Some("gzip;q=0, br;q=0"), None, "\0asm plain"),
        (WASM, Some("identity"), None, "\0asm plain"),
        (WASM, None, None, "\0asm plain"),
        (JS, Some("br, gzip"), Some("gzip"), "gzip js"),
        (JS, Some("br"), None, "export default 1;"),
        ("/", Some("br"), Some("br"), "brotli index"),
    ];
    for (file, accept, encoding, body) in cases {
        let path = if file.starts_with('/') { file.to_owned() } else { format!("/{file}") };
        let response = get(&app, &path, accept).await;
        assert_eq!(response.status(), 200, "{path} {accept:?}");
        assert_eq!(header(&response, "content-encoding"), encoding, "{path} with {accept:?}");
        assert_eq!(header(&response, "vary"), Some("Accept-Encoding"), "{path}");
        assert!(header(&response, "content-disposition").is_none(), "{path}: no file name of the copy");
        assert_eq!(response.text().await.unwrap(), body, "{path} with {accept:?}");
    }
    let wasm = get(&app, &format!("/{WASM}"), Some("br")).await;
    assert_eq!(header(&wasm, "content-type"), Some("application/wasm"));
    let js = get(&app, &format!("/{JS}"), None).await;
    assert!(header(&js, "content-type").unwrap().contains("javascript"), "{:?}", header(&js, "content-type"));
    let index = get(&app, "/index.html", None).await;
    assert_eq!(header(&index, "content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(index.text().await.unwrap(), "<!doctype html><title>plain index</title>");
}

#[tokio::test]
async fn content_named_files_are_cached_for_good_and_the_index_is_revalidated() {
    let (app, _page) = app_with_page(false).await;
    for path in [format!("/{WASM}"), format!("/{JS}")] {
        let response = get(&app, &path, Some("gzip")).await;
        assert_eq!(header(&response, "cache-control"), Some("public, max-age=31536000, immutable"), "{path}");
    }
    for path in ["/", "/index.html"] {
        let response = get(&app, path, Some("gzip")).await;
        assert_eq!(header(&response, "cache-control"), Some("no-cache"), "{path}");
        let etag = header(&response, "etag").expect("an ETag to revalidate with").to_owned();
        let again = app
            .anonymous()
            .get(app.url(path))
            .header("Accept-Encoding", "gzip")
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}: unchanged index revalidates without a body");
    }
    // API answers are never stored, whatever they hold.
    let mut app = app;
    app.sign_in().await;
    for path in ["/api/v1/mail-settings", "/api/v1/session", "/api/v1/api-keys", "/api/v1/mail-log", "/api/v1/nope"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(header(&response, "cache-control"), Some("no-store"), "{path}: {}", response.status());
    }
}

#[tokio::test]
async fn hidden_and_unknown_files_are_not_served() {
    let (app, _page) = app_with_page(false).await;
    for path in ["/.build-stamp", "/nope.js", "/..%2FCargo.toml", "/%2e%2e/etc/passwd"] {
        let response = get(&app, path, None).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(header(&response, "content-type"), Some("application/problem+json"), "{path}");
    }
    let head = app.anonymous().head(app.url(&format!("/{WASM}"))).header("Accept-Encoding", "br").send().await;
    let head = head.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-encoding"), Some("br"));
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (app, _page) = app_with_page(false).await;
    let expect = |response: &Response, csp: &str, what: &str| {
        assert_eq!(header(response, "content-security-policy"), Some(csp), "{what}");
        assert!(header(response, "permissions-policy").unwrap().contains("camera=()"), "{what}");
        assert_eq!(header(response, "x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(header(response, "x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(header(response, "referrer-policy"), Some("no-referrer"), "{what}");
        assert_eq!(header(response, "cross-origin-opener-policy"), Some("same-origin"), "{what}");
        assert!(header(response, "strict-transport-security").is_none(), "{what}: no HSTS over plain HTTP");
    };
    expect(&get(&app, "/", None).await, PAGE_CSP, "the page");
    expect(&get(&app, &format!("/{WASM}"), None).await, PAGE_CSP, "an asset");
    expect(&get(&app, "/api/v1/mail-settings", None).await, PAGE_CSP, "a 401");
    expect(&get(&app, "/healthz", None).await, PAGE_CSP, "health");
    expect(&get(&app, "/api-docs/", None).await, DOCS_CSP, "the docs");
    expect(&get(&app, "/api-docs/openapi.json", None).await, DOCS_CSP, "the spec");

    // A client can claim HTTPS; without the flag nobody believes it.
    let claimed = app.anonymous().get(app.url("/")).header("X-Forwarded-Proto", "https").send().await.unwrap();
    assert!(header(&claimed, "strict-transport-security").is_none());
}

#[tokio::test]
async fn behind_a_trusted_https_proxy_hsts_is_sent_and_the_cookie_is_secure() {
    let (app, _page) = app_with_page(true).await;
    let via_proxy = |path: &str, proto: &str| app.anonymous().get(app.url(path)).header("X-Forwarded-Proto", proto);
    let page = via_proxy("/", "https").send().await.unwrap();
    assert_eq!(header(&page, "strict-transport-security"), Some(HSTS));
    let plain = via_proxy("/", "http").send().await.unwrap();
    assert!(header(&plain, "strict-transport-security").is_none(), "the proxy says http");

    let sign_in = |proto: &'static str| {
        app.anonymous()
            .post(app.url("/api/v1/session"))
            .header("X-Forwarded-Proto", proto)
            .json(&serde_json::json!({ "password": crate::helpers::ADMIN_PASSWORD }))
            .send()
    };
    let secure = sign_in("https").await.unwrap();
    let cookie = header(&secure, "set-cookie").unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let insecure = sign_in("http").await.unwrap();
    assert!(!header(&insecure, "set-cookie").unwrap().contains("Secure"));
}

#[tokio::test]
async fn an_untrusted_forwarded_proto_does_not_make_the_cookie_secure() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app
        .anonymous()
        .post(app.url("/api/v1/session"))
        .header("X-Forwarded-Proto", "https")
        .json(&serde_json::json!({ "password": crate::helpers::ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(!header(&response, "set-cookie").unwrap().contains("Secure"));
}

#[tokio::test]
async fn the_docs_are_gzipped_and_revalidated_by_etag() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/api-docs/swagger-ui-bundle.js", "/api-docs/swagger-ui.css", "/api-docs/openapi.json"] {
        let plain = get(&app, path, None).await;
        assert_eq!(plain.status(), 200, "{path}");
        assert!(header(&plain, "content-encoding").is_none(), "{path}");
        let etag = header(&plain, "etag").expect("ETag").to_owned();
        let plain = plain.bytes().await.unwrap();

        let zipped = get(&app, path, Some("gzip, deflate, br")).await;
        assert_eq!(header(&zipped, "content-encoding"), Some("gzip"), "{path}");
        assert_eq!(header(&zipped, "cache-control"), Some("no-cache"), "{path}");
        let zipped = zipped.bytes().await.unwrap();
        assert!(zipped.len() * 2 < plain.len(), "{path}: {} of {} bytes", zipped.len(), plain.len());
        let mut unzipped = vec![];
        flate2::read::GzDecoder::new(&zipped[..]).read_to_end(&mut unzipped).unwrap();
        assert!(unzipped == plain, "{path}: gzip copy differs");

        let again = app.anonymous().get(app.url(path)).header("If-None-Match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.bytes().await.unwrap().is_empty());
        let head = app.anonymous().head(app.url(path)).header("Accept-Encoding", "gzip").send().await.unwrap();
        assert_eq!((head.status().as_u16(), header(&head, "content-encoding")), (200, Some("gzip")), "HEAD {path}");
    }
    let init = get(&app, "/api-docs/swagger-initializer.js", None).await.text().await.unwrap();
    assert!(init.contains("\"validatorUrl\": \"none\""), "no request to swagger.io's validator: {init}");
    assert_eq!(get(&app, "/api-docs/no-such.js", None).await.status(), 404);
}
