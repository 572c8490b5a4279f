//! The fallback server's inputs, one signal each (see `form::fallback`).

use leptos::prelude::*;
use postamt_wire::{AuthMethod, Encryption, OAuth2Input};

use crate::form::fallback::fields;
use crate::form::FallbackDraft;

#[derive(Clone, Copy)]
pub struct FallbackState {
    pub enabled: RwSignal<bool>,
    pub host: RwSignal<String>,
    pub port: RwSignal<String>,
    pub encryption: RwSignal<Encryption>,
    pub auth_enabled: RwSignal<bool>,
    pub auth_method: RwSignal<AuthMethod>,
    pub auth_username: RwSignal<String>,
    pub auth_password: RwSignal<String>,
    /// The saved OAuth sign-in, carried through (no input of its own).
    pub oauth: RwSignal<Option<OAuth2Input>>,
    pub tls_trusted_ca_pem: RwSignal<String>,
    pub tls_accept_invalid_certificates: RwSignal<bool>,
    pub envelope_sender: RwSignal<String>,
}

impl FallbackState {
    pub fn new(d: &FallbackDraft) -> Self {
        let s = FallbackState {
            enabled: RwSignal::new(false),
            host: RwSignal::new(String::new()),
            port: RwSignal::new(String::new()),
            encryption: RwSignal::new(Encryption::Starttls),
            auth_enabled: RwSignal::new(false),
            auth_method: RwSignal::new(AuthMethod::Password),
            auth_username: RwSignal::new(String::new()),
            auth_password: RwSignal::new(String::new()),
            oauth: RwSignal::new(None),
            tls_trusted_ca_pem: RwSignal::new(String::new()),
            tls_accept_invalid_certificates: RwSignal::new(false),
            envelope_sender: RwSignal::new(String::new()),
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
        self.auth_method.set(d.auth_method);
        self.auth_username.set(d.auth_username.clone());
        self.auth_password.set(d.auth_password.clone());
        self.oauth.set(d.oauth.clone());
        self.tls_trusted_ca_pem.set(d.tls_trusted_ca_pem.clone());
        self.tls_accept_invalid_certificates.set(d.tls_accept_invalid_certificates);
        self.envelope_sender.set(d.envelope_sender.clone());
    }

    /// Tracked.
    pub fn draft(&self) -> FallbackDraft {
        FallbackDraft {
            enabled: self.enabled.get(),
            host: self.host.get(),
            port: self.port.get(),
            encryption: self.encryption.get(),
            auth_enabled: self.auth_enabled.get(),
            auth_method: self.auth_method.get(),
            auth_username: self.auth_username.get(),
            auth_password: self.auth_password.get(),
            oauth: self.oauth.get(),
            tls_trusted_ca_pem: self.tls_trusted_ca_pem.get(),
            tls_accept_invalid_certificates: self.tls_accept_invalid_certificates.get(),
            envelope_sender: self.envelope_sender.get(),
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
            fields::AUTH_METHOD => self.auth_method.get().as_str().to_owned(),
            fields::AUTH_USERNAME => self.auth_username.get(),
            fields::AUTH_PASSWORD => self.auth_password.get(),
            fields::TLS_TRUSTED_CA_PEM => self.tls_trusted_ca_pem.get(),
            fields::TLS_ACCEPT_INVALID_CERTIFICATES => flag(self.tls_accept_invalid_certificates),
            fields::ENVELOPE_SENDER => self.envelope_sender.get(),
            _ => return None,
        })
    }
}
