//! End-to-end tests of postamt-oauth against the loopback provider double
//! (`tests/servers/oauth_provider.py`). One binary, so the crate links once.

mod cache;
mod failures;
mod flows;
mod secrets;
mod support;
