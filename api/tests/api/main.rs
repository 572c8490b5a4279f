//! API integration tests: one binary, a fresh database per test, every test on SQLite and
//! on PostgreSQL (see `both_backends!`).

mod helpers;

mod alerts;
mod api_keys;
mod auth;
mod ehlo;
mod expiry;
mod fallback;
mod health;
mod limits;
mod mail_log;
mod mail_settings;
mod mail_test;
mod messages;
mod oauth;
mod openapi;
mod page_delivery;
mod rate_limits;
mod secrets_at_rest;
mod sender_preview;
mod session;
mod smtp_server;
