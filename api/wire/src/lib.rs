//! Postamt's wire types.
//!
//! Every JSON body the API reads or writes is defined here, exactly once. The API server
//! uses them for (de)serialisation and, with the `openapi` feature, for the OpenAPI schemas;
//! the Leptos frontend compiles this crate to wasm32 and uses the very same types, so the
//! page, the server and the published spec cannot disagree about a field.
//!
//! The page does not use the serde derives, though: to stay within its size budget it reads
//! and writes these types field by field with the browser's JSON.parse and JSON.stringify
//! (`frontend/src/json.rs`), by the Rust field names. A new field does not compile there until
//! it is handled; a `#[serde(rename)]`, `default` or `skip_serializing_if` on a type the page
//! reads or sends has to be mirrored there by hand.
//!
//! Conventions: snake_case fields; request types reject unknown fields; timestamps are
//! RFC 3339 in UTC; secrets are write-only (requests carry them, responses never do).

pub mod alerts;
pub mod auth;
pub mod fallback;
pub mod limits;
pub mod mail_log;
pub mod mail_test;
pub mod messages;
pub mod oauth;
pub mod problem;
pub mod settings;
pub mod time;

pub use alerts::*;
pub use auth::*;
pub use fallback::*;
pub use limits::*;
pub use mail_log::*;
pub use mail_test::*;
pub use messages::*;
pub use oauth::*;
pub use problem::*;
pub use settings::*;
