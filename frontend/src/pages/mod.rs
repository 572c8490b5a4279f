//! The page's views.

pub mod alerts;
pub mod error_log;
pub mod login;
pub mod settings;
