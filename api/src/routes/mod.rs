//! HTTP routes. Every API handler is registered in [`api`] through utoipa-actix-web, which
//! adds it to the router and to the OpenAPI document in one step.

mod api_keys;
mod etag;
mod health;
mod mail_settings;
mod mail_test;
mod sender_preview;
mod session;
pub mod static_files;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn api(cfg: &mut ServiceConfig) {
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
        .service(sender_preview::preview_mail_sender)
        .service(mail_test::test_mail_settings);
}
