//! A small HTTP client for Postamt's API, as an integration or the page would use it.

use std::time::Duration;

use postamt_wire::{
    ApiKeyCreate, ApiKeyCreated, Problem, Scope, SessionCreate, SessionInfo, CSRF_HEADER, SESSION_COOKIE,
};
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A signed-in admin: the session cookie and the CSRF token that goes with it.
#[derive(Clone, Debug)]
pub struct Session {
    /// The cookie's value (without the name).
    pub cookie: String,
    /// The whole `Set-Cookie` header it came with, to check its attributes.
    pub set_cookie: String,
    pub info: SessionInfo,
}

/// How a request authenticates.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    None,
    /// The session cookie, plus `X-CSRF-Token` on POST/PUT/DELETE as the page sends it.
    Session(&'a Session),
    /// The session cookie without the CSRF header (to check that it is required).
    SessionWithoutCsrf(&'a Session),
    /// `Authorization: Bearer <secret>`.
    Bearer(&'a str),
}

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// The body as `T`; panics with the body when it is not.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response ({}) is not the expected JSON ({e}): {}", self.status, self.body))
    }

    /// Asserts the status, with the body in the message.
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        self
    }

    /// Asserts an `application/problem+json` error with `status` and returns it.
    pub fn problem(&self, status: u16) -> Problem {
        self.expect(status);
        assert!(
            self.content_type().starts_with(postamt_wire::PROBLEM_CONTENT_TYPE),
            "a {status} must be {}, got `{}`: {}",
            postamt_wire::PROBLEM_CONTENT_TYPE,
            self.content_type(),
            self.body
        );
        let problem: Problem = self.json();
        assert_eq!(problem.status, status, "problem.status differs from the HTTP status: {}", self.body);
        problem
    }

    /// The `ETag` header; panics when there is none.
    pub fn etag(&self) -> String {
        self.header("etag")
            .unwrap_or_else(|| panic!("no ETag on a {} response: {}", self.status, self.body))
            .to_string()
    }
}

/// HTTP client bound to one instance's base URL.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    client: Client,
}

impl Api {
    pub fn new(base: &str) -> Api {
        let client = Client::builder().timeout(Duration::from_secs(60)).build().expect("HTTP client");
        Api { base: base.trim_end_matches('/').to_string(), client }
    }

    /// A request builder with the authentication applied.
    pub fn request(&self, method: Method, path: &str, auth: Auth<'_>) -> RequestBuilder {
        let state_changing = method != Method::GET && method != Method::HEAD;
        let mut rb = self.client.request(method, format!("{}{}", self.base, path));
        match auth {
            Auth::None => {}
            Auth::Session(s) => {
                rb = rb.header("cookie", format!("{SESSION_COOKIE}={}", s.cookie));
                if state_changing {
                    rb = rb.header(CSRF_HEADER, &s.info.csrf_token);
                }
            }
            Auth::SessionWithoutCsrf(s) => {
                rb = rb.header("cookie", format!("{SESSION_COOKIE}={}", s.cookie));
            }
            Auth::Bearer(secret) => rb = rb.bearer_auth(secret),
        }
        rb
    }

    /// Sends and reads the whole response; panics on transport errors.
    pub fn send(&self, rb: RequestBuilder) -> Reply {
        let resp = rb.send().unwrap_or_else(|e| panic!("request to {} failed: {e}", self.base));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().expect("response body");
        Reply { status, headers, body }
    }

    pub fn get(&self, path: &str, auth: Auth<'_>) -> Reply {
        self.send(self.request(Method::GET, path, auth))
    }

    pub fn delete(&self, path: &str, auth: Auth<'_>) -> Reply {
        self.send(self.request(Method::DELETE, path, auth))
    }

    pub fn post_json(&self, path: &str, auth: Auth<'_>, body: &impl Serialize) -> Reply {
        self.send(self.request(Method::POST, path, auth).json(body))
    }

    /// PUT with a JSON body and, if given, `If-Match`.
    pub fn put_json(&self, path: &str, auth: Auth<'_>, if_match: Option<&str>, body: &impl Serialize) -> Reply {
        let mut rb = self.request(Method::PUT, path, auth).json(body);
        if let Some(etag) = if_match {
            rb = rb.header("if-match", etag);
        }
        self.send(rb)
    }

    /// `POST /api/v1/session` with `password`.
    pub fn try_sign_in(&self, password: &str) -> Reply {
        self.post_json("/api/v1/session", Auth::None, &SessionCreate { password: password.to_string() })
    }

    /// Signs in; panics unless the answer is 201 with a session cookie.
    pub fn sign_in(&self, password: &str) -> Session {
        let reply = self.try_sign_in(password);
        reply.expect(201);
        let info: SessionInfo = reply.json();
        let prefix = format!("{SESSION_COOKIE}=");
        let set_cookie = reply
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&prefix))
            .unwrap_or_else(|| panic!("sign-in set no {SESSION_COOKIE} cookie: {:?}", reply.headers))
            .to_string();
        let cookie = set_cookie[prefix.len()..].split(';').next().unwrap_or("").to_string();
        assert!(!cookie.is_empty(), "empty session cookie: {set_cookie}");
        Session { cookie, set_cookie, info }
    }

    /// Creates an API key through the session (with the CSRF header); panics unless 201.
    pub fn create_api_key(&self, session: &Session, name: &str, scopes: &[Scope]) -> ApiKeyCreated {
        let reply = self.post_json(
            "/api/v1/api-keys",
            Auth::Session(session),
            &ApiKeyCreate { name: name.to_string(), scopes: scopes.to_vec() },
        );
        reply.expect(201);
        reply.json()
    }
}
