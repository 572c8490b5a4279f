//! The fallback server's inputs, one signal each (see `form::fallback`).

use leptos::prelude::*;
use postamt_wire::{Encryption, OAuth2Input, TlsSettings};

use crate::form::fallback::fields;
use crate::form::FallbackDraft;

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
    /// Carried through from the saved fallback (no inputs).
    pub oauth: RwSignal<Option<OAuth2Input>>,
    pub tls: RwSignal<TlsSettings>,
}

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
            oauth: RwSignal::new(None),
            tls: RwSignal::new(TlsSettings::default()),
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
        self.oauth.set(d.oauth.clone());
        self.tls.set(d.tls.clone());
    }

    /// Tracked.
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
            oauth: self.oauth.get(),
            tls: self.tls.get(),
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
