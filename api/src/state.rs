//! Shared application state, handed to handlers as `web::Data<AppState>`.

use crate::crypto::SecretCipher;
use crate::db::Db;

pub struct AppState {
    pub db: Db,
    pub cipher: SecretCipher,
    pub session_hours: u32,
}

/// Purpose string bound to the encrypted SMTP password.
pub const SMTP_PASSWORD_PURPOSE: &str = "postamt:mail_settings:auth_password";
