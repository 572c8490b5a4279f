//! Building and running the application.

use crate::auth::admin_password::{self, Bootstrap};
use crate::config::Config;
use crate::crypto::{KeySource, SecretCipher};
use crate::db::{Db, Dialect};
use crate::delivery::handoff::Handoff;
use crate::delivery::{self, DeliveryOptions, RetryPolicy};
use crate::domain::outgoing::MessageLimits;
use crate::error::ApiError;
use crate::fresh_cache::FreshCache;
use crate::openapi::ApiDoc;
use crate::rate_limit::RateLimiter;
use crate::routes;
use crate::security_headers::ProxyTrust;
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use secrecy::SecretString;
use std::net::{SocketAddr, TcpListener};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

/// Test mails one caller may run per minute.
const TESTS_PER_MINUTE: usize = 10;

fn delivery_options(config: &Config) -> DeliveryOptions {
    let seconds = |s: f64| std::time::Duration::from_secs_f64(s.clamp(0.01, 86_400.0));
    DeliveryOptions {
        workers: config.delivery_workers as usize,
        retry: RetryPolicy {
            max_attempts: config.max_attempts,
            base: seconds(config.retry_base_seconds),
            cap: seconds(config.retry_max_seconds),
        },
        failed_retention: chrono::Duration::days(i64::from(config.failed_retention_days)),
        log_retention: chrono::Duration::days(i64::from(config.log_retention_days)),
        instance_id: config
            .instance_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()),
        instance_id_configured: config.instance_id.is_some(),
        poll_interval: std::time::Duration::from_secs(1),
    }
}

pub struct Application {
    addr: SocketAddr,
    server: Server,
    /// Set when this start generated the admin password: show it once.
    pub generated_admin_password: Option<SecretString>,
    /// Delivery workers and the retention job; stopped with the server.
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Opens the database (migrating it), loads the secret key, settles the admin password
    /// and binds the listener. Port 0 binds a free port; see [`Application::port`].
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let url = config.database_url();
        if Dialect::of(&url) == Dialect::Sqlite {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
        }
        let db = actix_web::rt::task::spawn_blocking(move || Db::connect(&url)).await??;
        let (cipher, key_source) = SecretCipher::load_or_create(config.secret_key.as_ref(), &config.secret_key_file())?;
        if key_source == KeySource::Created {
            tracing::info!(path = %config.secret_key_file().display(), "created a new secret key file");
        }
        if db.dialect == Dialect::Postgres && key_source != KeySource::Configured {
            tracing::warn!(
                "PostgreSQL without POSTAMT_SECRET_KEY: every instance sharing this database needs the same key"
            );
        }
        let configured_password = match (&config.admin_password, &config.admin_password_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(path)) => Some(admin_password::read_file(path)?),
            (None, None) => None,
        };
        let generated_admin_password = match admin_password::bootstrap(&db, configured_password).await? {
            Bootstrap::Generated(password) => Some(password),
            Bootstrap::Configured | Bootstrap::Existing => None,
        };

        let listener = TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
        let addr = listener.local_addr()?;
        let static_dir = config.static_dir();
        if static_dir.is_none() {
            tracing::warn!("the settings page is not built (frontend/dist missing); serving the API only");
        }
        let limits = MessageLimits {
            max_message_bytes: config.max_message_mib as usize * 1024 * 1024,
            max_recipients: config.max_recipients as usize,
        };
        let oauth = crate::oauth::OAuthService::new(config.oauth_options()?)?;
        let state = web::Data::new(AppState {
            db,
            cipher,
            session_hours: config.session_hours,
            test_limiter: RateLimiter::new(TESTS_PER_MINUTE, std::time::Duration::from_secs(60)),
            limits,
            delivery: delivery_options(&config),
            delivery_notify: tokio::sync::Notify::new(),
            outbox_pending: Default::default(),
            metrics: Default::default(),
            settings: Default::default(),
            api_keys: FreshCache::new(std::time::Duration::from_secs(1)),
            handoff: Handoff::new(config.delivery_workers as usize),
            oauth,
            ehlo_name: config.ehlo_name.clone(),
        });
        let released = delivery::release_stale_claims(&state).await?;
        if released > 0 {
            tracing::info!(released, "messages of an earlier run queued again");
        }
        let mut background = delivery::spawn_workers(state.clone());
        background.push(delivery::spawn_retention(state.clone()));
        background.push(crate::oauth::watch::spawn(state.clone()));
        // The JSON of a message with base64 attachments is about 4/3 of its size.
        let body_limit = limits.max_message_bytes / 3 * 4 + 1024 * 1024;
        let docs = web::Data::new(routes::api_docs::ApiDocs::new(&crate::openapi::spec())?);
        let proxy_trust = web::Data::new(ProxyTrust { forwarded_proto: config.trust_forwarded_proto });
        let mut server = HttpServer::new(move || {
            let (app, _spec) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .app_data(state.clone())
                .app_data(proxy_trust.clone())
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| ApiError::Malformed(format!("invalid query string: {e}")).into()),
                )
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|e, _| ApiError::Malformed(format!("invalid path: {e}")).into()),
                )
                .configure(routes::api(body_limit))
                .split_for_parts();
            app.wrap(from_fn(crate::telemetry::log_request))
                .wrap(from_fn(crate::security_headers::add))
                .configure(routes::api_docs::configure(docs.clone()))
                .configure(routes::oauth::configure)
                .configure(routes::static_files::configure(static_dir.clone()))
                .default_service(web::to(routes::static_files::not_found))
        })
        .listen(listener)?;
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        Ok(Application { addr, server: server.run(), generated_admin_password, background })
    }

    /// Stops the delivery workers and the HTTP server from elsewhere (tests, shutdown).
    pub fn handle(&self) -> AppHandle {
        AppHandle {
            server: self.server.handle(),
            background: self.background.iter().map(|t| t.abort_handle()).collect(),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in self.background {
            task.abort();
        }
        result
    }
}

/// See [`Application::handle`].
#[derive(Clone)]
pub struct AppHandle {
    server: actix_web::dev::ServerHandle,
    background: Vec<tokio::task::AbortHandle>,
}

impl AppHandle {
    /// Stops the workers at once and the server without waiting for open requests.
    pub fn stop(&self) {
        for task in &self.background {
            task.abort();
        }
        let server = self.server.clone();
        // Stopping is async; nothing needs to wait for it.
        drop(tokio::spawn(async move { server.stop(false).await }));
    }
}
