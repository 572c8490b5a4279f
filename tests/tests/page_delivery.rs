//! The page as Chromium receives it from the real binary: every view (sign-in, settings, a
//! test result, the error log, the API docs) runs under the Content-Security-Policy without
//! a single violation; the wasm arrives compressed; a first visit stays within its transfer
//! budget; a repeat visit takes every asset from the browser's cache; a trap of the wasm
//! module shows the "please reload" notice. Also the size budget of the built page itself.

use postamt_e2e::smtp::free_port;
use postamt_e2e::{frontend_dist, Browser, Launch};
use serde_json::json;
use std::path::Path;

/// Installed before any script of each document: records every CSP violation.
const CSP_WATCH: &str = "window.__csp = []; document.addEventListener('securitypolicyviolation', \
     e => window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)') + \
     ' at ' + (e.sourceFile || '?') + ':' + e.lineNumber));";

/// The issue's budget: wasm plus JS of the page, gzip.
const WASM_AND_JS_GZIP_BUDGET: u64 = 200 * 1024;
/// A first visit's whole transfer: page, assets and the first API calls.
const FIRST_VISIT_BUDGET: u64 = 250_000;

/// What the browser fetched for this document: (url, transferSize, encodedBodySize,
/// decodedBodySize), the document itself first.
fn fetched(browser: &Browser) -> Vec<(String, u64, u64, u64)> {
    let entries = browser.exec(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))\
         .map(e => [e.name, e.transferSize, e.encodedBodySize, e.decodedBodySize]);",
        vec![],
    );
    entries
        .as_array()
        .expect("performance entries")
        .iter()
        .map(|e| {
            let n = |i: usize| e[i].as_f64().unwrap_or(0.0) as u64;
            (e[0].as_str().unwrap_or("").to_owned(), n(1), n(2), n(3))
        })
        .collect()
}

fn assert_no_csp_violation(browser: &Browser, view: &str) {
    let seen = browser.exec("return window.__csp || null;", vec![]);
    assert_eq!(seen, json!([]), "CSP violations on {view} (null: the watcher was not installed)");
}

#[test]
fn every_view_loads_under_the_csp_compressed_and_cached() {
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-e2e-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let app = Launch::new(dir.path()).admin_password(&admin).static_dir(&dist).start();
    let browser = Browser::start("de-DE");
    browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": CSP_WATCH }));

    // First visit: the sign-in form.
    browser.goto(&format!("{}/", app.url));
    browser.wait_visible("#login-password");
    assert_no_csp_violation(&browser, "the sign-in form");
    let first = fetched(&browser);
    let wasm = first.iter().filter(|e| e.0.ends_with(".wasm")).collect::<Vec<_>>();
    assert_eq!(wasm.len(), 1, "the wasm is fetched once (the preload is used): {first:?}");
    let (_, _, encoded, decoded) = wasm[0];
    assert!(encoded * 2 < *decoded, "the wasm arrived uncompressed: {encoded} of {decoded} bytes");
    let total: u64 = first.iter().map(|e| e.1).sum();
    assert!(total < FIRST_VISIT_BUDGET, "first visit transferred {total} bytes: {first:?}");

    // Settings, a test result and the error log.
    browser.fill("#login-password", &admin);
    browser.click("#login-submit");
    browser.wait_visible("#host");
    assert_no_csp_violation(&browser, "the settings form");
    browser.fill("#host", "127.0.0.1");
    browser.select("#encryption", "none");
    browser.fill("#port", &free_port().to_string());
    browser.fill("#sender_name", "TEAMBOX");
    browser.fill("#sender_address", "teambox@example.org");
    browser.fill("#test-recipient", "admin@example.org");
    browser.click("#test-run");
    browser.wait_visible(r#"#test-result[data-ok="false"]"#);
    assert_no_csp_violation(&browser, "a test result");
    browser.click("#tab-errors");
    browser.wait_visible("#errors-title");
    assert_no_csp_violation(&browser, "the error log");

    // Repeat visit: the document is revalidated, every asset comes from the cache.
    browser.goto(&format!("{}/", app.url));
    browser.wait_visible("#host");
    assert_no_csp_violation(&browser, "the settings form on a repeat visit");
    let again = fetched(&browser);
    let assets: Vec<_> = again.iter().filter(|e| !e.0.contains("/api/") && !e.0.ends_with('/')).collect();
    assert!(assets.len() >= 4, "the repeat visit used the page's assets: {again:?}");
    for (url, transfer, ..) in &assets {
        assert_eq!(*transfer, 0, "{url} was fetched again on a repeat visit");
    }

    // A panic traps the wasm module (panic=immediate-abort): boot.js tells the admin to reload.
    assert!(!browser.is_visible(".fatal"));
    browser.exec(
        "window.dispatchEvent(new ErrorEvent('error', { error: new WebAssembly.RuntimeError('unreachable') }));",
        vec![],
    );
    browser.wait_visible(".fatal");
    assert!(browser.text(".fatal").contains("Seite neu"), "{}", browser.text(".fatal"));

    // The API docs, under their own policy.
    browser.goto(&format!("{}/api-docs/", app.url));
    browser.wait_visible(".swagger-ui .info .title");
    browser.wait_visible(".opblock-tag");
    assert_no_csp_violation(&browser, "the API docs");
}

fn gzip_size(path: &Path) -> u64 {
    std::fs::metadata(format!("{}.gz", path.display()))
        .unwrap_or_else(|e| panic!("{}.gz: {e} (scripts/build-frontend writes it)", path.display()))
        .len()
}

#[test]
fn the_built_page_keeps_its_size_budget() {
    let dist = frontend_dist();
    let index = std::fs::read_to_string(dist.join("index.html")).unwrap();
    let mut code = 0;
    let mut names = vec![];
    for entry in std::fs::read_dir(&dist).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".wasm") || name.ends_with(".js") {
            let hashed = name.split('.').any(|p| p.len() == 12 && p.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(hashed, "{name} is not named by its content");
            code += gzip_size(&dist.join(&name));
            names.push(name);
        }
    }
    assert!(names.iter().any(|n| n.ends_with(".wasm")), "no wasm in {}", dist.display());
    assert!(
        code <= WASM_AND_JS_GZIP_BUDGET,
        "wasm + JS are {} KiB gzip, over the budget of {} KiB: {names:?}",
        code / 1024,
        WASM_AND_JS_GZIP_BUDGET / 1024
    );
    for name in names.iter().filter(|n| n.starts_with("boot.")) {
        assert!(index.contains(&format!("src=\"./{name}\"")), "index.html does not start {name}");
    }
}
