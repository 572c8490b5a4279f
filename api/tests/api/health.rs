use crate::both_backends;
use crate::helpers::{spawn_app, Backend};

both_backends!(health_and_readiness_answer_without_credentials);

async fn health_and_readiness_answer_without_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/healthz", "/readyz"] {
        let response = app.anonymous().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body: postamt_wire::HealthStatus = response.json().await.unwrap();
        assert_eq!(body.status, "ok");
    }
}

#[tokio::test]
async fn unknown_paths_get_a_problem_body() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.anonymous().get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let problem = crate::helpers::problem(response).await;
    assert_eq!(problem.status, 404);
}

#[tokio::test]
async fn api_docs_are_served_without_internet() {
    let app = spawn_app(Backend::Sqlite).await;
    let page = app.anonymous().get(app.url("/api-docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "Swagger UI page expected");
    assert!(!html.contains("https://"), "no CDN references");
    let spec = app.anonymous().get(app.url("/api-docs/openapi.json")).send().await.unwrap();
    assert_eq!(spec.status(), 200);
    let spec: serde_json::Value = spec.json().await.unwrap();
    assert!(spec["paths"]["/api/v1/mail-settings"].is_object());
}
