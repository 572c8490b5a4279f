//! `spawn_app` and one helper per endpoint.

use diesel::{Connection, PgConnection, RunQueryDsl};
use postamt::config::Config;
use postamt::startup::Application;
use postamt_wire::{ApiKeyCreated, MailSettingsInput, Problem, Scope, SessionInfo, CSRF_HEADER};
use reqwest::{Response, StatusCode};
use serde_json::Value;

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `<name>::sqlite` and `<name>::postgres` tests from `async fn <name>(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

/// A running application on a fresh database, dropped with the test.
pub struct TestApp {
    pub address: String,
    /// Client with a cookie store, for the admin session.
    pub client: reqwest::Client,
    pub csrf: Option<String>,
    pub data_dir: tempfile::TempDir,
    pub database: Option<PgDatabase>,
    handle: postamt::startup::AppHandle,
}

impl Drop for TestApp {
    /// Stops the workers before the database goes: otherwise a worker waiting for a
    /// connection to the dropped database would hold up the end of the test.
    fn drop(&mut self) {
        self.handle.stop();
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with changes to the test configuration (a static dir, a flag).
pub async fn spawn_app_with(backend: Backend, change: impl FnOnce(&mut Config)) -> TestApp {
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PgDatabase::create()),
    };
    let url = database.as_ref().map(|d| d.url.clone());
    start(url, database, change).await
}

/// A second instance on the database of `first` (PostgreSQL), as several instances behind
/// a load balancer run. Give both the same `secret_key`.
pub async fn spawn_sibling(first: &TestApp, change: impl FnOnce(&mut Config)) -> TestApp {
    let url = first.database.as_ref().expect("siblings share a PostgreSQL database").url.clone();
    start(Some(url), None, change).await
}

async fn start(url: Option<String>, database: Option<PgDatabase>, change: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_tests(data_dir.path().to_path_buf(), url, ADMIN_PASSWORD);
    change(&mut config);
    let app = Application::build(config).await.expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp { address, client, csrf: None, data_dir, database, handle }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A client without cookies: what an integration sees.
    pub fn anonymous(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    pub async fn sign_in_with(&self, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({ "password": password }))
            .send()
            .await
            .expect("request")
    }

    /// Signs in as admin and keeps the CSRF token for later changes.
    pub async fn sign_in(&mut self) -> SessionInfo {
        let response = self.sign_in_with(ADMIN_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let session: SessionInfo = response.json().await.expect("session body");
        self.csrf = Some(session.csrf_token.clone());
        session
    }

    fn with_csrf(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.csrf {
            Some(token) => builder.header(CSRF_HEADER, token),
            None => builder,
        }
    }

    pub async fn get_settings(&self) -> Response {
        self.client.get(self.url("/api/v1/mail-settings")).send().await.expect("request")
    }

    pub async fn put_settings(&self, body: &impl serde::Serialize, if_match: Option<&str>) -> Response {
        let mut request = self.with_csrf(self.client.put(self.url("/api/v1/mail-settings")).json(body));
        if let Some(etag) = if_match {
            request = request.header("If-Match", etag);
        }
        request.send().await.expect("request")
    }

    pub async fn delete_settings(&self, if_match: Option<&str>) -> Response {
        let mut request = self.with_csrf(self.client.delete(self.url("/api/v1/mail-settings")));
        if let Some(etag) = if_match {
            request = request.header("If-Match", etag);
        }
        request.send().await.expect("request")
    }

    pub async fn get_history(&self) -> Response {
        self.client.get(self.url("/api/v1/mail-settings/history")).send().await.expect("request")
    }

    pub async fn create_api_key(&self, name: &str, scopes: &[Scope]) -> ApiKeyCreated {
        let response = self
            .with_csrf(self.client.post(self.url("/api/v1/api-keys")))
            .json(&serde_json::json!({ "name": name, "scopes": scopes }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("key body")
    }

    pub async fn delete_api_key(&self, id: &str) -> Response {
        self.with_csrf(self.client.delete(self.url(&format!("/api/v1/api-keys/{id}")))).send().await.expect("request")
    }
}

/// Valid settings with authentication and a password.
pub fn valid_settings() -> MailSettingsInput {
    serde_json::from_value(serde_json::json!({
        "host": "smtp.example.org",
        "port": 587,
        "encryption": "starttls",
        "sender_name": "TEAMBOX",
        "sender_address": "teambox@example.org",
        "auth": { "enabled": true, "username": "teambox@example.org", "password": "pa55-Wörd:secret" },
        "force_default_sender": true,
        "reply_to_individual_sender": true,
        "timeout_seconds": 15
    }))
    .expect("valid input")
}

/// Reads a problem body, checking the content type.
pub async fn problem(response: Response) -> Problem {
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(content_type, "application/problem+json");
    response.json().await.expect("problem body")
}

pub fn fields(problem: &Problem) -> Vec<(&str, &str)> {
    problem.errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect()
}

pub async fn json(response: Response) -> Value {
    response.json().await.expect("json body")
}

/// A PostgreSQL database of its own, dropped with the test.
pub struct PgDatabase {
    pub url: String,
    name: String,
    server: String,
}

impl PgDatabase {
    fn create() -> PgDatabase {
        let server =
            std::env::var("POSTAMT_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let name = format!("postamt_test_{}", uuid::Uuid::new_v4().simple());
        postamt::db::libpq_tls::init();
        let mut admin = PgConnection::establish(&format!("{server}/postgres"))
            .unwrap_or_else(|e| panic!("PostgreSQL must run at {server} for the tests (POSTAMT_TEST_PG_URL): {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create database");
        PgDatabase { url: format!("{server}/{name}"), name, server }
    }

    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&format!("{}/postgres", self.server)) {
            // FORCE ends the connections of the still-running test server.
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}
