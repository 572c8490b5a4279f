//! The page's views.

#[cfg(feature = "alerts")]
pub mod alerts;
pub mod error_log;
pub mod login;
pub mod settings;
