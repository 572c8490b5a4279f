//! The page's views.

pub mod error_log;
pub mod login;
pub mod settings;
