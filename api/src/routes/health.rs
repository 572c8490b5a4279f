use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use postamt_wire::HealthStatus;

fn status(status: &str) -> HealthStatus {
    HealthStatus { status: status.to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() }
}

/// Liveness: the process is up.
#[utoipa::path(tag = "health", responses((status = 200, body = HealthStatus)))]
#[get("/healthz")]
pub async fn get_health() -> HttpResponse {
    HttpResponse::Ok().json(status("ok"))
}

/// Readiness: the database answers.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, body = HealthStatus),
        (status = 503, description = "The database does not answer", body = HealthStatus)
    )
)]
#[get("/readyz")]
pub async fn get_readiness(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(status("ok")),
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "readiness check failed");
            HttpResponse::ServiceUnavailable().json(status("unavailable"))
        }
    }
}
