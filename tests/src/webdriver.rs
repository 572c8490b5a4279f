//! A minimal W3C WebDriver client for Debian's Chromium through `/usr/bin/chromedriver`.
//!
//! Only what the browser tests use: navigate, find by CSS, click, type, read properties and
//! text, run a script, take a screenshot, send a DevTools command. Every interaction re-finds its element by selector
//! and retries while the page re-renders, so waiting is always for a condition, bounded.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{json, Value};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long an interaction waits for its element or condition by default.
pub const WAIT: Duration = Duration::from_secs(30);

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default))
}

/// An error answered by chromedriver.
#[derive(Debug)]
pub struct WdError {
    pub error: String,
    pub message: String,
}

impl WdError {
    /// Errors that a re-rendering page causes and that a retry can outlive.
    fn is_transient(&self) -> bool {
        matches!(
            self.error.as_str(),
            "no such element" | "stale element reference" | "element not interactable" | "element click intercepted"
        )
    }
}

/// A headless Chromium session; the browser and chromedriver are ended when it is dropped.
/// If the test is failing at that moment, a screenshot and the page's HTML are saved to a
/// temp folder first and their paths printed.
pub struct Browser {
    http: Client,
    /// `http://127.0.0.1:<port>/session/<id>`.
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, preferring `lang`
    /// (for example `de-DE`) as the browser language.
    pub fn start(lang: &str) -> Browser {
        let chromedriver = env_path("POSTAMT_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = env_path("POSTAMT_CHROMIUM", "/usr/bin/chromium");
        for (what, path) in [("chromedriver", &chromedriver), ("chromium", &chromium)] {
            assert!(
                path.is_file(),
                "{what} is missing at {} (Debian packages chromium and chromium-driver; scripts/test installs them)",
                path.display()
            );
        }
        let http = Client::builder().timeout(Duration::from_secs(90)).build().expect("HTTP client");
        let profile = tempfile::Builder::new().prefix("postamt-chromium-").tempdir().expect("temp dir");

        // A free port can be taken between our probe and chromedriver's bind: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut driver = Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
            let base = format!("http://127.0.0.1:{port}");
            if !wait_driver_ready(&http, &base, &mut driver) {
                let _ = driver.kill();
                let _ = driver.wait();
                last_error = format!("chromedriver on port {port} did not become ready");
                continue;
            }
            let caps = json!({
                "capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--disable-dev-shm-usage",
                            "--window-size=1280,1400",
                            format!("--lang={lang}"),
                            format!("--user-data-dir={}", profile.path().display()),
                        ],
                        "prefs": {"intl.accept_languages": lang},
                    }
                }}
            });
            let resp = http.post(format!("{base}/session")).json(&caps).send();
            let value = match resp.and_then(|r| r.json::<Value>()) {
                Ok(v) => v,
                Err(e) => {
                    let _ = driver.kill();
                    let _ = driver.wait();
                    last_error = format!("new session failed: {e}");
                    continue;
                }
            };
            let Some(id) = value["value"]["sessionId"].as_str() else {
                let _ = driver.kill();
                let _ = driver.wait();
                last_error = format!("new session failed: {value}");
                continue;
            };
            let browser = Browser { http, session: format!("{base}/session/{id}"), driver, _profile: profile };
            browser
                .call("POST", "/timeouts", json!({"pageLoad": 60_000, "script": 30_000, "implicit": 0}))
                .expect("set timeouts");
            return browser;
        }
        panic!("could not start Chromium through chromedriver: {last_error}");
    }

    /// One WebDriver command on this session; `Err` carries the driver's error.
    pub fn call(&self, method: &str, path: &str, body: Value) -> Result<Value, WdError> {
        let url = format!("{}{path}", self.session);
        let rb = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let resp = rb.send().map_err(|e| WdError { error: "transport".into(), message: e.to_string() })?;
        let ok = resp.status().is_success();
        let value: Value = resp.json().map_err(|e| WdError { error: "transport".into(), message: e.to_string() })?;
        let value = value.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(WdError {
                error: value["error"].as_str().unwrap_or("unknown error").to_string(),
                message: value["message"].as_str().unwrap_or("").lines().next().unwrap_or("").to_string(),
            })
        }
    }

    fn must(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} failed: {}: {}", e.error, e.message))
    }

    pub fn goto(&self, url: &str) {
        self.must("POST", "/url", json!({ "url": url }));
    }

    pub fn refresh(&self) {
        self.must("POST", "/refresh", json!({}));
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its value.
    pub fn exec(&self, script: &str, args: Vec<Value>) -> Value {
        self.must("POST", "/execute/sync", json!({ "script": script, "args": args }))
    }

    /// A Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`), e.g.
    /// `Emulation.setCPUThrottlingRate` or `Page.addScriptToEvaluateOnNewDocument`.
    pub fn cdp(&self, command: &str, params: Value) -> Value {
        self.must("POST", "/goog/cdp/execute", json!({ "cmd": command, "params": params }))
    }

    /// The ids of the elements matching `css` right now (possibly none).
    pub fn find_all(&self, css: &str) -> Vec<String> {
        match self.call("POST", "/elements", json!({"using": "css selector", "value": css})) {
            Ok(Value::Array(items)) => {
                items.iter().filter_map(|e| e[ELEMENT_KEY].as_str().map(str::to_string)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether an element matching `css` exists and is displayed.
    pub fn is_visible(&self, css: &str) -> bool {
        self.find_all(css).into_iter().any(|id| {
            matches!(self.call("GET", &format!("/element/{id}/displayed"), Value::Null), Ok(Value::Bool(true)))
        })
    }

    /// Waits until an element matching `css` is displayed.
    pub fn wait_visible(&self, css: &str) {
        crate::wait_for(WAIT, &format!("`{css}` to be visible"), || self.is_visible(css).then_some(()));
    }

    /// Waits until no element matching `css` is displayed.
    pub fn wait_gone(&self, css: &str) {
        crate::wait_for(WAIT, &format!("`{css}` to disappear"), || (!self.is_visible(css)).then_some(()));
    }

    /// Runs `action` on the first element matching `css`, retrying (bounded) while the element
    /// is missing, stale or not yet interactable.
    fn on_element<T>(&self, css: &str, what: &str, action: impl Fn(&str) -> Result<T, WdError>) -> T {
        let start = Instant::now();
        let mut last = String::from("no element matched");
        loop {
            if let Some(id) = self.find_all(css).into_iter().next() {
                match action(&id) {
                    Ok(v) => return v,
                    Err(e) if e.is_transient() => last = format!("{}: {}", e.error, e.message),
                    Err(e) => panic!("{what} `{css}` failed: {}: {}", e.error, e.message),
                }
            }
            if start.elapsed() > WAIT {
                panic!("{what} `{css}` did not succeed within {WAIT:?}: {last}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Scrolls the element to the middle of the window, as a user would before using it,
    /// so that sticky bars (the page's save bar) do not cover it.
    fn scroll_to(&self, id: &str) -> Result<Value, WdError> {
        self.call(
            "POST",
            "/execute/sync",
            json!({
                "script": "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});",
                "args": [{ ELEMENT_KEY: id }],
            }),
        )
    }

    pub fn click(&self, css: &str) {
        self.on_element(css, "click", |id| {
            self.scroll_to(id)?;
            self.call("POST", &format!("/element/{id}/click"), json!({}))
        });
    }

    /// Replaces the content of an input by typing `text` (real key events, so the page's
    /// input handlers run).
    pub fn fill(&self, css: &str, text: &str) {
        self.on_element(css, "fill", |id| {
            self.scroll_to(id)?;
            self.call("POST", &format!("/element/{id}/clear"), json!({}))?;
            self.call("POST", &format!("/element/{id}/value"), json!({ "text": text }))
        });
    }

    /// A DOM property of the first match (`value`, `checked`, …).
    pub fn property(&self, css: &str, name: &str) -> Value {
        self.on_element(css, "read property of", |id| {
            self.call("GET", &format!("/element/{id}/property/{name}"), Value::Null)
        })
    }

    /// The `value` of an input or select.
    pub fn value(&self, css: &str) -> String {
        match self.property(css, "value") {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    pub fn is_checked(&self, css: &str) -> bool {
        self.property(css, "checked") == Value::Bool(true)
    }

    /// Clicks the checkbox if its state differs from `checked`.
    pub fn set_checked(&self, css: &str, checked: bool) {
        if self.is_checked(css) != checked {
            self.click(css);
        }
        crate::wait_for(WAIT, &format!("`{css}` checked = {checked}"), || {
            (self.is_checked(css) == checked).then_some(())
        });
    }

    /// Chooses the option with `value` in a `<select>` by clicking it, as a user would.
    pub fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"));
        crate::wait_for(WAIT, &format!("`{css}` = {value}"), || (self.value(css) == value).then_some(()));
    }

    /// The rendered text of the first match.
    pub fn text(&self, css: &str) -> String {
        match self.on_element(css, "read text of", |id| self.call("GET", &format!("/element/{id}/text"), Value::Null)) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// Waits until `css`'s value is `expected`.
    pub fn wait_value(&self, css: &str, expected: &str) {
        let mut seen = String::new();
        let start = Instant::now();
        while start.elapsed() < WAIT {
            seen = self.value(css);
            if seen == expected {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("`{css}` kept the value {seen:?}, expected {expected:?}");
    }

    /// Saves a PNG screenshot to `path`.
    pub fn screenshot(&self, path: &std::path::Path) -> Result<(), String> {
        use base64::Engine as _;
        let value = self.call("GET", "/screenshot", Value::Null).map_err(|e| e.message)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap_or(""))
            .map_err(|e| e.to_string())?;
        std::fs::write(path, png).map_err(|e| e.to_string())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(dir) = tempfile::Builder::new().prefix("postamt-browser-failure-").tempdir() {
                let dir = dir.keep();
                let png = dir.join("screenshot.png");
                match self.screenshot(&png) {
                    Ok(()) => eprintln!("browser screenshot at the failure: {}", png.display()),
                    Err(e) => eprintln!("could not take a screenshot: {e}"),
                }
                if let Ok(Value::String(html)) = self.call(
                    "POST",
                    "/execute/sync",
                    json!({"script": "return document.documentElement.outerHTML", "args": []}),
                ) {
                    let page = dir.join("page.html");
                    if std::fs::write(&page, html).is_ok() {
                        eprintln!("page HTML at the failure: {}", page.display());
                    }
                }
            }
        }
        // Ending the session quits Chromium; then chromedriver can go.
        let _ = self.call("DELETE", "", Value::Null);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn wait_driver_ready(http: &Client, base: &str, driver: &mut Child) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(_)) = driver.try_wait() {
            return false;
        }
        if let Ok(resp) = http.get(format!("{base}/status")).send() {
            if let Ok(v) = resp.json::<Value>() {
                if v["value"]["ready"] == Value::Bool(true) {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
