//! The page's views.

pub mod login;
pub mod settings;
