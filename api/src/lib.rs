//! Postamt: one place for an application's outgoing-mail settings.
//!
//! Layout: `config` (flags), `startup` (building the app), `routes` (HTTP handlers),
//! `auth` (sessions, API keys, scopes), `domain` (validated types), `db` (diesel over
//! SQLite and PostgreSQL), `crypto` (secrets at rest), `error` (the problem envelope),
//! `delivery` (the outbox's workers), `oauth` (OAuth 2.0 tokens for XOAUTH2), `alerts`
//! (incidents and their notifications).

pub mod alerts;
pub mod auth;
pub mod config;
pub mod content_coding;
pub mod crypto;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod extract;
pub mod fresh_cache;
pub mod hex;
pub mod ids;
pub mod oauth;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod security_headers;
pub mod settings_snapshot;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod telemetry;
