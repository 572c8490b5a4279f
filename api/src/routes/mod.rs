//! HTTP routes. Every API handler is registered in [`api`] through utoipa-actix-web, which
//! adds it to the router and to the OpenAPI document in one step.

mod alerts;
pub mod api_docs;
mod api_keys;
mod etag;
mod health;
mod mail_log;
mod mail_settings;
mod mail_test;
mod messages;
pub mod oauth;
mod sender_preview;
mod sending_usage;
mod session;
pub mod static_files;

use actix_web::web;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Body limit used when the spec is generated (it does not appear in the spec).
pub const DEFAULT_MESSAGE_BODY_LIMIT: usize = 35 * 1024 * 1024;

/// All API routes; `message_body_limit` is the largest `POST /api/v1/messages` body.
pub fn api(message_body_limit: usize) -> impl FnOnce(&mut ServiceConfig) {
    move |cfg| register(cfg, message_body_limit)
}

fn register(cfg: &mut ServiceConfig, message_body_limit: usize) {
    cfg.service(health::get_health)
        .service(health::get_readiness)
        .service(session::create_session)
        .service(session::get_session)
        .service(session::delete_session)
        .service(api_keys::list_api_keys)
        .service(api_keys::create_api_key)
        .service(api_keys::delete_api_key)
        .service(mail_settings::get_mail_settings)
        .service(mail_settings::replace_mail_settings)
        .service(mail_settings::delete_mail_settings)
        .service(mail_settings::list_mail_settings_history)
        .service(sending_usage::get_mail_settings_usage)
        .service(sender_preview::preview_mail_sender)
        .service(mail_test::test_mail_settings)
        .service(oauth::create_mail_settings_oauth_authorization)
        .service(oauth::delete_mail_settings_oauth_connection)
        .service(
            scope::scope("/api/v1/messages")
                .app_data(web::PayloadConfig::new(message_body_limit))
                .service(messages::send_message)
                .service(messages::get_message)
                .service(messages::resend_message),
        )
        .service(mail_log::list_mail_log)
        .service(mail_log::list_mail_errors)
        .service(mail_log::export_mail_log)
        .service(mail_log::get_metrics)
        .service(alerts::get_alert_settings)
        .service(alerts::replace_alert_settings)
        .service(alerts::list_alerts)
        .service(alerts::send_alert_test);
}
