use crate::both_backends;
use crate::helpers::{spawn_app, valid_settings, Backend};
use diesel::RunQueryDsl;

both_backends!(the_smtp_password_is_stored_only_encrypted);

#[derive(diesel::QueryableByName)]
struct Dump {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

async fn the_smtp_password_is_stored_only_encrypted(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.sign_in().await;
    let mut settings = serde_json::to_value(valid_settings()).unwrap();
    settings["fallback"] = serde_json::json!({
        "host": "backup.example.org", "port": 587, "encryption": "starttls",
        "auth": { "enabled": true, "username": "relay@example.org", "password": "fallb4ck-Geheim" }
    });
    assert_eq!(app.put_settings(&settings, None).await.status(), 200);
    let password = "pa55-Wörd:secret";
    let fallback_password = "fallb4ck-Geheim";
    match &app.database {
        None => {
            // Every byte of the database files, WAL included.
            for entry in std::fs::read_dir(app.data_dir.path()).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                assert!(!bytes.windows(password.len()).any(|w| w == password.as_bytes()), "{}", path.display());
                assert!(!bytes.windows(9).any(|w| w == b"pa55-W\xc3\xb6r"), "{}", path.display());
                assert!(!bytes.windows(fallback_password.len()).any(|w| w == fallback_password.as_bytes()));
            }
        }
        Some(db) => {
            let mut conn = db.connect();
            // Every table, every row, as text (bytea shown as hex and as escaped text).
            let rows: Vec<Dump> = diesel::sql_query(
                "SELECT row_to_json(t)::text AS text FROM mail_settings t \
                 UNION ALL SELECT encode(auth_password_enc, 'escape') FROM mail_settings \
                 UNION ALL SELECT row_to_json(t)::text FROM settings_history t \
                 UNION ALL SELECT row_to_json(t)::text FROM fallback_connection t \
                 UNION ALL SELECT encode(auth_password_enc, 'escape') FROM fallback_connection \
                 UNION ALL SELECT row_to_json(t)::text FROM admin_account t",
            )
            .load(&mut conn)
            .unwrap();
            assert!(rows.len() >= 5);
            for row in rows {
                assert!(!row.text.contains("pa55"), "{}", row.text);
                assert!(!row.text.contains("fallb4ck"), "{}", row.text);
            }
        }
    }
}
