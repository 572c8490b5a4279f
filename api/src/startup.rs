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
use std::time::Duration;
use tokio_util::sync::CancellationToken;
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
        category_priorities: crate::delivery::priority::CategoryPriorities::new(&config.category_priorities),
        primary_retry: seconds(config.primary_retry_seconds),
    }
}

pub struct Application {
    addr: SocketAddr,
    server: Server,
    /// Set when this start generated the admin password: show it once.
    pub generated_admin_password: Option<SecretString>,
    state: web::Data<AppState>,
    /// The delivery workers: at shutdown they finish the message in hand and say QUIT.
    workers: Vec<tokio::task::JoinHandle<()>>,
    /// The retention job, the OAuth check and the alert jobs: stopped at once, they hold
    /// nothing open.
    background: Vec<tokio::task::JoinHandle<()>>,
    /// Cancelled by [`AppHandle::shut_down`]: begins the graceful shutdown.
    stop_requested: CancellationToken,
    /// How long the shutdown waits for requests and messages in flight.
    grace: Duration,
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
            shutdown: CancellationToken::new(),
            pause: Default::default(),
            failover: Default::default(),
        });
        let released = delivery::release_stale_claims(&state).await?;
        if released > 0 {
            tracing::info!(released, "messages of an earlier run queued again");
        }
        let workers = delivery::spawn_workers(state.clone());
        let mut background = vec![delivery::spawn_retention(state.clone()), crate::oauth::watch::spawn(state.clone())];
        background
            .extend(crate::alerts::spawn(state.clone(), Duration::from_secs(u64::from(config.alert_check_seconds))));
        let app_state = state.clone();
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
        // Signals are handled by `crate::shutdown`, which stops the workers too.
        .disable_signals()
        .shutdown_timeout(u64::from(config.shutdown_grace_seconds))
        .listen(listener)?;
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        Ok(Application {
            addr,
            server: server.run(),
            generated_admin_password,
            state: app_state,
            workers,
            background,
            stop_requested: CancellationToken::new(),
            grace: Duration::from_secs(u64::from(config.shutdown_grace_seconds)),
        })
    }

    /// Stops the delivery workers and the HTTP server from elsewhere (tests, signals).
    pub fn handle(&self) -> AppHandle {
        AppHandle {
            server: self.server.handle(),
            tasks: self.workers.iter().chain(&self.background).map(|t| t.abort_handle()).collect(),
            shutdown: self.state.shutdown.clone(),
            stop_requested: self.stop_requested.clone(),
            grace: self.grace,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until [`AppHandle::shut_down`] (a signal, see `crate::shutdown`) or
    /// [`AppHandle::stop`], then shuts down: the HTTP server stops accepting and the
    /// workers stop taking messages; open requests and the messages being sent get the
    /// grace time to finish, the workers end their SMTP sessions with QUIT; then the claims
    /// of what was not sent go back to the queue for the next start.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application { server, state, workers, background, stop_requested, grace, .. } = self;
        let handle = server.handle();
        tokio::pin!(server);
        let ended = tokio::select! {
            result = &mut server => Some(result),
            () = stop_requested.cancelled() => None,
        };
        state.shutdown.cancel();
        let graceful = ended.is_none();
        let http = async {
            match ended {
                Some(result) => result,
                None => {
                    // Waits up to `shutdown_timeout` (the grace time) for open requests.
                    drop(handle.stop(true));
                    server.await
                }
            }
        };
        let (result, ()) = tokio::join!(http, finish_workers(workers, grace));
        for task in background {
            task.abort();
        }
        // Not after `AppHandle::stop`: a test's database may be gone by then; the next
        // start releases the claims anyway (`release_stale_claims`).
        if graceful {
            match delivery::release_own_claims(&state).await {
                Ok(0) => {}
                Ok(released) => tracing::info!(released, "unsent messages queued again for the next start"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "giving back the claims failed; they expire"),
            }
        }
        tracing::info!("stopped");
        result
    }
}

/// Waits up to `grace` for the workers to finish the messages in hand; the ones still
/// busy then are aborted (their messages are sent again after the restart: at-least-once).
async fn finish_workers(workers: Vec<tokio::task::JoinHandle<()>>, grace: Duration) {
    let aborts: Vec<_> = workers.iter().map(|w| w.abort_handle()).collect();
    if tokio::time::timeout(grace, futures_util::future::join_all(workers)).await.is_err() {
        let busy = aborts.iter().filter(|a| !a.is_finished()).count();
        tracing::warn!(busy, "delivery workers did not finish within the grace time; stopped");
        for abort in aborts {
            abort.abort();
        }
    }
}

/// See [`Application::handle`].
#[derive(Clone)]
pub struct AppHandle {
    server: actix_web::dev::ServerHandle,
    tasks: Vec<tokio::task::AbortHandle>,
    shutdown: CancellationToken,
    stop_requested: CancellationToken,
    grace: Duration,
}

impl AppHandle {
    /// Begins the graceful shutdown; [`Application::run_until_stopped`] returns when done.
    pub fn shut_down(&self) {
        self.stop_requested.cancel();
    }

    /// The grace time of [`Self::shut_down`].
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Stops the workers at once and the server without waiting for open requests (tests:
    /// before their database is dropped).
    pub fn stop(&self) {
        self.shutdown.cancel();
        for task in &self.tasks {
            task.abort();
        }
        let server = self.server.clone();
        // Stopping is async; nothing needs to wait for it.
        drop(tokio::spawn(async move { server.stop(false).await }));
    }
}
