//! The committed spec must equal the generated one. `POSTAMT_UPDATE_OPENAPI=1` rewrites it.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

#[test]
fn committed_openapi_spec_is_current() {
    let generated = postamt::openapi::spec_json();
    let path = committed_path();
    if std::env::var_os("POSTAMT_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `POSTAMT_UPDATE_OPENAPI=1 cargo test -p postamt openapi` and commit it"
    );
}

#[test]
fn every_operation_has_a_tag_an_id_and_security_unless_public() {
    let spec = serde_json::to_value(postamt::openapi::spec()).unwrap();
    let public = ["/healthz", "/readyz"];
    let mut count = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            count += 1;
            let id = op["operationId"].as_str().unwrap_or_default();
            let verb = id.split('_').next().unwrap_or_default();
            assert!(
                ["get", "list", "create", "replace", "update", "delete", "send", "resend", "test", "preview", "export"]
                    .contains(&verb)
                    && id.contains('_'),
                "{method} {path}: operationId `{id}` is not verb_resource"
            );
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path}: no tag");
            let is_sign_in = path == "/api/v1/session" && method == "post";
            if !public.contains(&path.as_str()) && !is_sign_in {
                assert!(op["security"].as_array().is_some_and(|s| !s.is_empty()), "{method} {path}: no security");
            }
        }
    }
    assert!(count >= 21, "only {count} operations");
    let schemes = &spec["components"]["securitySchemes"];
    assert!(schemes["api_key"].is_object() && schemes["session_cookie"].is_object());
}
