//! The fallback server's inputs, one signal each (see `form::fallback`).

use leptos::prelude::*;
#[cfg(feature = "fallback")]
use postamt_wire::{Encryption, OAuth2Input, TlsSettings};

#[cfg(feature = "fallback")]
use crate::form::fallback::fields;
use crate::form::FallbackDraft;

#[cfg(feature = "fallback")]
#[derive(Clone, Copy)]
pub struct FallbackState {
    pub enabled: RwSignal<bool>,
    pub host: RwSignal<String>,
    pub port: RwSignal<String>,
    pub encryption: RwSignal<Encryption>,
    pub auth_enabled: RwSignal<bool>,
    pub auth_username: RwSignal<String>,
    pub auth_password: RwSignal<String>,
    pub envelope_sender: RwSignal<String>,
    /// The saved OAuth sign-in and TLS settings, carried through (no inputs; they change
    /// only when saved settings are loaded, so they need no signal).
    pub carried: StoredValue<(Option<OAuth2Input>, TlsSettings)>,
}

#[cfg(feature = "fallback")]
impl FallbackState {
    pub fn new(d: &FallbackDraft) -> Self {
        let s = FallbackState {
            enabled: RwSignal::new(false),
            host: RwSignal::new(String::new()),
            port: RwSignal::new(String::new()),
            encryption: RwSignal::new(Encryption::Starttls),
            auth_enabled: RwSignal::new(false),
            auth_username: RwSignal::new(String::new()),
            auth_password: RwSignal::new(String::new()),
            envelope_sender: RwSignal::new(String::new()),
            carried: StoredValue::new((None, TlsSettings::default())),
        };
        s.load(d);
        s
    }

    pub fn load(&self, d: &FallbackDraft) {
        self.enabled.set(d.enabled);
        self.host.set(d.host.clone());
        self.port.set(d.port.clone());
        self.encryption.set(d.encryption);
        self.auth_enabled.set(d.auth_enabled);
        self.auth_username.set(d.auth_username.clone());
        self.auth_password.set(d.auth_password.clone());
        self.envelope_sender.set(d.envelope_sender.clone());
        self.carried.set_value((d.oauth.clone(), d.tls.clone()));
    }

    /// Whether the saved fallback signs in with OAuth 2.0.
    pub fn oauth(&self) -> bool {
        self.carried.with_value(|c| c.0.is_some())
    }

    /// Tracked (but for the carried settings).
    pub fn draft(&self) -> FallbackDraft {
        FallbackDraft {
            enabled: self.enabled.get(),
            host: self.host.get(),
            port: self.port.get(),
            encryption: self.encryption.get(),
            auth_enabled: self.auth_enabled.get(),
            auth_username: self.auth_username.get(),
            auth_password: self.auth_password.get(),
            envelope_sender: self.envelope_sender.get(),
            oauth: self.carried.with_value(|c| c.0.clone()),
            tls: self.carried.with_value(|c| c.1.clone()),
        }
    }

    /// One field's value as text (tracked, only that field); `None` for other fields.
    pub fn value_of(&self, field: &str) -> Option<String> {
        let flag = |s: RwSignal<bool>| s.get().to_string();
        Some(match field {
            fields::ENABLED => flag(self.enabled),
            fields::HOST => self.host.get(),
            fields::PORT => self.port.get(),
            fields::ENCRYPTION => self.encryption.get().as_str().to_owned(),
            fields::AUTH_ENABLED => flag(self.auth_enabled),
            fields::AUTH_USERNAME => self.auth_username.get(),
            fields::AUTH_PASSWORD => self.auth_password.get(),
            fields::ENVELOPE_SENDER => self.envelope_sender.get(),
            _ => return None,
        })
    }
}

/// Without the fallback's inputs (see Cargo.toml) the saved fallback is only carried
/// through: no signals (less code in the page's wasm).
#[cfg(not(feature = "fallback"))]
#[derive(Clone, Copy)]
pub struct FallbackState {
    saved: StoredValue<FallbackDraft>,
}

#[cfg(not(feature = "fallback"))]
impl FallbackState {
    pub fn new(d: &FallbackDraft) -> Self {
        FallbackState { saved: StoredValue::new(d.clone()) }
    }

    pub fn load(&self, d: &FallbackDraft) {
        self.saved.set_value(d.clone());
    }

    pub fn draft(&self) -> FallbackDraft {
        self.saved.get_value()
    }
}
