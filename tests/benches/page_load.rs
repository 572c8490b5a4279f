//! How fast the settings page becomes usable, in headless Chromium with the CPU slowed
//! four times (DevTools `Emulation.setCPUThrottlingRate`), as on a modest office laptop:
//!
//! - "sign-in ready": from the start of navigation until the password field can be typed
//!   into;
//! - "settings shown": from the click on "Anmelden" until the settings form shows;
//!
//! each for a first visit (a fresh browser profile: empty cache) and a repeat visit (the
//! same browser after signing out: assets cached). Also what each visit transferred. Times
//! are taken inside the page (`performance.now()` from a MutationObserver installed before
//! any script), so WebDriver's own round trips do not count.
//!
//! Run: `cargo bench -p postamt-e2e --bench page_load` (needs `frontend/dist` and the
//! `postamt` binary: `scripts/build-frontend`, `cargo build -p postamt`; `POSTAMT_BIN`
//! picks another build). `POSTAMT_BENCH_PAGE_RUNS` sets the number of fresh browsers
//! (default 5), `POSTAMT_BENCH_PAGE_CPU_SLOWDOWN` the slowdown (default 4, which the
//! targets are for); the median and the worst run are printed. Figures, not a test: it always
//! exits 0 and marks each figure PASS or MISS against its target.

use postamt_e2e::{frontend_dist, Browser, Launch};
use serde_json::json;
use std::time::Duration;

/// Records when the password field and the settings form first become usable.
const MARKS: &str = "window.__marks = {}; new MutationObserver(() => { const m = window.__marks; \
     const ready = id => { const el = document.getElementById(id); \
       return el && !el.disabled && el.getClientRects().length > 0; }; \
     if (m.login === undefined && ready('login-password')) m.login = performance.now(); \
     if (m.settings === undefined && ready('host')) m.settings = performance.now(); \
   }).observe(document, { childList: true, subtree: true, attributes: true });";

/// The slowdown the targets are for; `POSTAMT_BENCH_PAGE_CPU_SLOWDOWN` overrides it.
const CPU_SLOWDOWN: f64 = 4.0;
const TARGET_SIGN_IN_MS: f64 = 1500.0;
const TARGET_SETTINGS_MS: f64 = 500.0;

/// One visit's figures, in milliseconds and bytes.
#[derive(Debug, Clone, Copy)]
struct Visit {
    sign_in_ready: f64,
    settings_shown: f64,
    transferred: u64,
}

/// Picks one figure out of a visit.
type Figure = fn(&Visit) -> f64;

fn mark(browser: &Browser, name: &str) -> Option<f64> {
    browser.exec(&format!("return (window.__marks || {{}}).{name} ?? null;"), vec![]).as_f64()
}

fn wait_mark(browser: &Browser, name: &str) -> f64 {
    postamt_e2e::wait_for(Duration::from_secs(60), &format!("the page mark `{name}`"), || mark(browser, name))
}

fn transferred(browser: &Browser) -> u64 {
    browser
        .exec(
            "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))\
             .reduce((sum, e) => sum + e.transferSize, 0);",
            vec![],
        )
        .as_f64()
        .unwrap_or(0.0) as u64
}

/// Loads the page, waits for the sign-in form, signs in and waits for the settings form.
fn visit(browser: &Browser, url: &str, password: &str) -> Visit {
    browser.goto(&format!("{url}/"));
    let sign_in_ready = wait_mark(browser, "login");
    browser.fill("#login-password", password);
    browser.exec("window.__marks.click = performance.now(); document.getElementById('login-submit').click();", vec![]);
    let shown = wait_mark(browser, "settings");
    let clicked = mark(browser, "click").unwrap_or(shown);
    // Everything of this document, including the sign-in's API calls.
    let transferred = transferred(browser);
    Visit { sign_in_ready, settings_shown: shown - clicked, transferred }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn worst(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(0.0, f64::max)
}

fn main() {
    let runs: usize = std::env::var("POSTAMT_BENCH_PAGE_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let slowdown: f64 =
        std::env::var("POSTAMT_BENCH_PAGE_CPU_SLOWDOWN").ok().and_then(|v| v.parse().ok()).unwrap_or(CPU_SLOWDOWN);
    let dist = frontend_dist();
    let dir = tempfile::Builder::new().prefix("postamt-bench-page-").tempdir().expect("temp dir");
    let admin = format!("admin-{}", postamt_e2e::unique());
    let app = Launch::new(dir.path()).admin_password(&admin).static_dir(&dist).start();
    println!(
        "page load: {runs} fresh browsers, CPU slowed {CPU_SLOWDOWN}x, server {}",
        postamt_e2e::postamt_bin().display()
    );

    let (mut first, mut repeat) = (vec![], vec![]);
    for run in 1..=runs {
        let browser = Browser::start("de-DE");
        browser.cdp("Emulation.setCPUThrottlingRate", json!({ "rate": slowdown }));
        browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": MARKS }));
        let a = visit(&browser, &app.url, &admin);
        browser.click("#logout");
        browser.wait_visible("#login-password");
        let b = visit(&browser, &app.url, &admin);
        println!(
            "  run {run}: first visit {:6.0} ms sign-in ready, {:5.0} ms settings, {:7} B | repeat {:6.0} ms, {:5.0} ms, {:7} B",
            a.sign_in_ready, a.settings_shown, a.transferred, b.sign_in_ready, b.settings_shown, b.transferred
        );
        first.push(a);
        repeat.push(b);
    }

    let col = |visits: &[Visit], f: Figure| visits.iter().map(f).collect::<Vec<_>>();
    println!();
    println!("| Figure | median | worst | target | |");
    println!("| --- | --- | --- | --- | --- |");
    let rows: [(&str, &[Visit], Figure, Option<f64>); 4] = [
        ("First visit: sign-in ready (ms)", &first, |v| v.sign_in_ready, Some(TARGET_SIGN_IN_MS)),
        ("First visit: settings shown after sign-in (ms)", &first, |v| v.settings_shown, Some(TARGET_SETTINGS_MS)),
        ("Repeat visit: sign-in ready (ms)", &repeat, |v| v.sign_in_ready, None),
        ("Repeat visit: settings shown after sign-in (ms)", &repeat, |v| v.settings_shown, None),
    ];
    for (name, visits, f, target) in rows {
        let xs = col(visits, f);
        let (m, w) = (median(xs.clone()), worst(&xs));
        let (target, verdict) = match target {
            Some(t) => (format!("< {t:.0}"), if m < t { "PASS" } else { "MISS" }),
            None => ("–".to_owned(), ""),
        };
        println!("| {name} | {m:.0} | {w:.0} | {target} | {verdict} |");
    }
    let bytes = |visits: &[Visit]| median(visits.iter().map(|v| v.transferred as f64).collect());
    println!(
        "| First visit: transferred (bytes) | {:.0} | | < 250000 | {} |",
        bytes(&first),
        pass(bytes(&first) < 250_000.0)
    );
    println!("| Repeat visit: transferred (bytes) | {:.0} | | – | |", bytes(&repeat));
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}
