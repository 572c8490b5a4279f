//! The settings form's reactive state: one signal per input ([`FormState`]) and what to show
//! beside each field ([`Feedback`]: client-side errors, the server's 422 errors, warnings).
//! Another form shows its errors with a [`Feedback`] of its own ([`Feedback::with`]).

use std::collections::BTreeSet;

use leptos::prelude::*;
use postamt_wire::{AuthMethod, Encryption, FieldError, OAuthFlow, OAuthProvider};

use crate::api::Versioned;
use crate::form::{fields, Draft, OAuthDraft};
use crate::i18n::Lang;
use crate::validate::{validate, Issue};

/// One signal per input, so typing in one field re-renders only that field.
#[derive(Clone, Copy)]
pub struct FormState {
    pub host: RwSignal<String>,
    pub port: RwSignal<String>,
    pub encryption: RwSignal<Encryption>,
    pub sender_name: RwSignal<String>,
    pub sender_address: RwSignal<String>,
    pub auth_enabled: RwSignal<bool>,
    pub auth_username: RwSignal<String>,
    pub auth_password: RwSignal<String>,
    pub auth_method: RwSignal<AuthMethod>,
    pub oauth: OAuthState,
    pub tls_trusted_ca_pem: RwSignal<String>,
    pub tls_accept_invalid_certificates: RwSignal<bool>,
    pub force_default_sender: RwSignal<bool>,
    pub reply_to_individual_sender: RwSignal<bool>,
    pub timeout_seconds: RwSignal<String>,
    /// The sending limits as typed, in the order of [`fields::LIMITS`].
    pub limits: [RwSignal<String>; 5],
    pub fallback: FallbackState,
}

mod fallback;

pub use fallback::FallbackState;

/// The OAuth 2.0 inputs, one signal each.
#[derive(Clone, Copy)]
pub struct OAuthState {
    pub provider: RwSignal<OAuthProvider>,
    pub flow: RwSignal<OAuthFlow>,
    pub tenant: RwSignal<String>,
    pub client_id: RwSignal<String>,
    pub client_secret: RwSignal<String>,
    pub service_account_key: RwSignal<String>,
    pub token_url: RwSignal<String>,
    pub authorization_url: RwSignal<String>,
    pub scope: RwSignal<String>,
}

impl OAuthState {
    fn new(d: &OAuthDraft) -> Self {
        OAuthState {
            provider: RwSignal::new(d.provider),
            flow: RwSignal::new(d.flow),
            tenant: RwSignal::new(d.tenant.clone()),
            client_id: RwSignal::new(d.client_id.clone()),
            client_secret: RwSignal::new(d.client_secret.clone()),
            service_account_key: RwSignal::new(d.service_account_key.clone()),
            token_url: RwSignal::new(d.token_url.clone()),
            authorization_url: RwSignal::new(d.authorization_url.clone()),
            scope: RwSignal::new(d.scope.clone()),
        }
    }

    fn load(&self, d: &OAuthDraft) {
        self.provider.set(d.provider);
        self.flow.set(d.flow);
        for (signal, value) in self.texts().into_iter().zip(d.texts()) {
            signal.set(value.clone());
        }
    }

    fn draft(&self) -> OAuthDraft {
        let [tenant, client_id, client_secret, service_account_key, token_url, authorization_url, scope] =
            self.texts().map(|s| s.get());
        OAuthDraft {
            provider: self.provider.get(),
            flow: self.flow.get(),
            tenant,
            client_id,
            client_secret,
            service_account_key,
            token_url,
            authorization_url,
            scope,
        }
    }

    /// The text inputs, in the order of [`OAuthDraft::texts`].
    fn texts(&self) -> [RwSignal<String>; 7] {
        [
            self.tenant,
            self.client_id,
            self.client_secret,
            self.service_account_key,
            self.token_url,
            self.authorization_url,
            self.scope,
        ]
    }
}

impl FormState {
    pub fn new(d: &Draft) -> Self {
        FormState {
            host: RwSignal::new(d.host.clone()),
            port: RwSignal::new(d.port.clone()),
            encryption: RwSignal::new(d.encryption),
            sender_name: RwSignal::new(d.sender_name.clone()),
            sender_address: RwSignal::new(d.sender_address.clone()),
            auth_enabled: RwSignal::new(d.auth_enabled),
            auth_username: RwSignal::new(d.auth_username.clone()),
            auth_password: RwSignal::new(d.auth_password.clone()),
            auth_method: RwSignal::new(d.auth_method),
            oauth: OAuthState::new(&d.oauth),
            tls_trusted_ca_pem: RwSignal::new(d.tls_trusted_ca_pem.clone()),
            tls_accept_invalid_certificates: RwSignal::new(d.tls_accept_invalid_certificates),
            force_default_sender: RwSignal::new(d.force_default_sender),
            reply_to_individual_sender: RwSignal::new(d.reply_to_individual_sender),
            timeout_seconds: RwSignal::new(d.timeout_seconds.clone()),
            limits: d.limits.clone().map(RwSignal::new),
            fallback: FallbackState::new(&d.fallback),
        }
    }

    /// Puts `d` into every input (saved values after loading, saving or discarding).
    pub fn load(&self, d: &Draft) {
        self.host.set(d.host.clone());
        self.port.set(d.port.clone());
        self.encryption.set(d.encryption);
        self.sender_name.set(d.sender_name.clone());
        self.sender_address.set(d.sender_address.clone());
        self.auth_enabled.set(d.auth_enabled);
        self.auth_username.set(d.auth_username.clone());
        self.auth_password.set(d.auth_password.clone());
        self.auth_method.set(d.auth_method);
        self.oauth.load(&d.oauth);
        self.tls_trusted_ca_pem.set(d.tls_trusted_ca_pem.clone());
        self.tls_accept_invalid_certificates.set(d.tls_accept_invalid_certificates);
        self.force_default_sender.set(d.force_default_sender);
        self.reply_to_individual_sender.set(d.reply_to_individual_sender);
        self.timeout_seconds.set(d.timeout_seconds.clone());
        self.set_limits(&d.limits);
        self.fallback.load(&d.fallback);
    }

    /// The whole form (tracked: re-runs the caller on any change).
    pub fn draft(&self) -> Draft {
        Draft {
            host: self.host.get(),
            port: self.port.get(),
            encryption: self.encryption.get(),
            sender_name: self.sender_name.get(),
            sender_address: self.sender_address.get(),
            auth_enabled: self.auth_enabled.get(),
            auth_username: self.auth_username.get(),
            auth_password: self.auth_password.get(),
            auth_method: self.auth_method.get(),
            oauth: self.oauth.draft(),
            tls_trusted_ca_pem: self.tls_trusted_ca_pem.get(),
            tls_accept_invalid_certificates: self.tls_accept_invalid_certificates.get(),
            force_default_sender: self.force_default_sender.get(),
            reply_to_individual_sender: self.reply_to_individual_sender.get(),
            timeout_seconds: self.timeout_seconds.get(),
            limits: self.limits.map(|s| s.get()),
            fallback: self.fallback.draft(),
        }
    }

    /// The whole form, untracked (for event handlers).
    pub fn draft_untracked(&self) -> Draft {
        untrack(|| self.draft())
    }

    /// One field's value as text (tracked, only that field).
    pub fn value_of(&self, field: &str) -> String {
        fn flag(s: RwSignal<bool>) -> String {
            s.get().to_string()
        }
        match field {
            fields::HOST => self.host.get(),
            fields::PORT => self.port.get(),
            fields::ENCRYPTION => self.encryption.get().as_str().to_owned(),
            fields::SENDER_NAME => self.sender_name.get(),
            fields::SENDER_ADDRESS => self.sender_address.get(),
            fields::AUTH_ENABLED => flag(self.auth_enabled),
            fields::AUTH_USERNAME => self.auth_username.get(),
            fields::AUTH_PASSWORD => self.auth_password.get(),
            fields::AUTH_METHOD => self.auth_method.get().as_str().to_owned(),
            fields::OAUTH_PROVIDER => self.oauth.provider.get().as_str().to_owned(),
            fields::OAUTH_FLOW => self.oauth.flow.get().as_str().to_owned(),
            fields::OAUTH_TENANT => self.oauth.tenant.get(),
            fields::OAUTH_CLIENT_ID => self.oauth.client_id.get(),
            fields::OAUTH_CLIENT_SECRET => self.oauth.client_secret.get(),
            fields::OAUTH_SERVICE_ACCOUNT_KEY => self.oauth.service_account_key.get(),
            fields::OAUTH_TOKEN_URL => self.oauth.token_url.get(),
            fields::OAUTH_AUTHORIZATION_URL => self.oauth.authorization_url.get(),
            fields::OAUTH_SCOPE => self.oauth.scope.get(),
            fields::TLS_TRUSTED_CA_PEM => self.tls_trusted_ca_pem.get(),
            fields::TLS_ACCEPT_INVALID_CERTIFICATES => flag(self.tls_accept_invalid_certificates),
            fields::FORCE_DEFAULT_SENDER => flag(self.force_default_sender),
            fields::REPLY_TO_INDIVIDUAL_SENDER => flag(self.reply_to_individual_sender),
            fields::TIMEOUT_SECONDS => self.timeout_seconds.get(),
            #[cfg(feature = "fallback")]
            _ => fields::limit_index(field)
                .map(|i| self.limits[i].get())
                .or_else(|| self.fallback.value_of(field))
                .unwrap_or_default(),
            #[cfg(not(feature = "fallback"))]
            _ => fields::limit_index(field).map(|i| self.limits[i].get()).unwrap_or_default(),
        }
    }

    /// Puts limits into their inputs (saved ones, or a preset's).
    pub fn set_limits(&self, texts: &[String; 5]) {
        for (signal, text) in self.limits.iter().zip(texts) {
            signal.set(text.clone());
        }
    }
}

/// The server's 422 answer, each error with its field's value as submitted: an error stays
/// beside its field until that field is edited.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerErrors {
    pub errors: Vec<(FieldError, String)>,
}

/// A form field's current value as text (tracked).
type ValueOf = dyn Fn(&str) -> String + Send + Sync;

/// What to show beside the fields. Client-side errors appear once a field was left (blur) or
/// after a save attempt, so an empty new form is not covered in red.
#[derive(Clone, Copy)]
pub struct Feedback {
    /// A field's current value as text (tracked). Behind a `dyn`, which also keeps the
    /// settings form's long `value_of` from being inlined into every method (measured: a
    /// `FormState` field instead costs 1.5 KiB gzip).
    value_of: StoredValue<Box<ValueOf>>,
    /// Which fields have an input (the others' errors are listed by the buttons).
    on_page: fn(&str) -> bool,
    /// The saved settings, for their warnings (none in another form).
    saved: RwSignal<Option<Versioned>>,
    issues: Memo<Vec<Issue>>,
    touched: RwSignal<BTreeSet<&'static str>>,
    submitted: RwSignal<bool>,
    server: RwSignal<Option<ServerErrors>>,
}

impl Feedback {
    pub fn new(form: FormState, saved: RwSignal<Option<Versioned>>) -> Self {
        let issues = Memo::new(move |_| {
            let draft = form.draft();
            saved.with(|s| validate(&draft, s.as_ref().map(|v| &v.settings)))
        });
        Feedback::with(move |field| form.value_of(field), fields::on_page, saved, issues)
    }

    /// Feedback for another form: `value_of` gives a field's value as text (tracked),
    /// `issues` its client-side problems.
    pub fn with(
        value_of: impl Fn(&str) -> String + Send + Sync + 'static,
        on_page: fn(&str) -> bool,
        saved: RwSignal<Option<Versioned>>,
        issues: Memo<Vec<Issue>>,
    ) -> Self {
        Feedback {
            value_of: StoredValue::new(Box::new(value_of)),
            on_page,
            saved,
            issues,
            touched: RwSignal::new(BTreeSet::new()),
            submitted: RwSignal::new(false),
            server: RwSignal::new(None),
        }
    }

    /// The client-side problems right now (untracked).
    pub fn current_issues(&self) -> Vec<Issue> {
        self.issues.get_untracked()
    }

    pub fn touch(&self, field: &'static str) {
        if !self.touched.with_untracked(|t| t.contains(field)) {
            self.touched.update(|t| {
                t.insert(field);
            });
        }
    }

    /// After a save attempt every client-side error shows.
    pub fn mark_submitted(&self) {
        self.submitted.set(true);
    }

    /// The server's 422 errors about the form as it was submitted (`value_of` gives its
    /// fields' values).
    pub fn set_server_errors(&self, value_of: impl Fn(&str) -> String, errors: Vec<FieldError>) {
        let errors = errors
            .into_iter()
            .map(|e| {
                let value = value_of(&e.field);
                (e, value)
            })
            .collect();
        self.server.set(Some(ServerErrors { errors }));
    }

    /// A field's current value (tracked).
    fn value_of(&self, field: &str) -> String {
        self.value_of.with_value(|f| f(field))
    }

    /// Fresh start (after saving, discarding or loading).
    pub fn reset(&self) {
        self.touched.set(BTreeSet::new());
        self.submitted.set(false);
        self.server.set(None);
    }

    /// The error text for `field`, translated (tracked); `None` when the field is fine.
    pub fn error(&self, field: &str, lang: Lang) -> Option<String> {
        let show_client = self.submitted.get() || self.touched.with(|t| t.contains(field));
        if show_client {
            let texts: Vec<String> = self.issues.with(|issues| {
                issues.iter().filter(|i| i.field == field).map(|i| lang.field_error(field, i.code, None)).collect()
            });
            if !texts.is_empty() {
                return Some(texts.join(" "));
            }
        }
        let current = self.value_of(field);
        let texts: Vec<String> = self.server.with(|server| {
            let Some(server) = server else { return Vec::new() };
            server
                .errors
                .iter()
                .filter(|(e, value)| e.field == field && *value == current)
                .map(|(e, _)| lang.field_error(field, &e.code, Some(&e.message)))
                .collect()
        });
        (!texts.is_empty()).then(|| texts.join(" "))
    }

    /// Server errors about fields that are not on the page (shown in a list by the buttons).
    pub fn other_server_errors(&self, lang: Lang) -> Vec<String> {
        self.server.with(|server| {
            let Some(server) = server else { return Vec::new() };
            server
                .errors
                .iter()
                .map(|(e, _)| e)
                .filter(|e| !(self.on_page)(&e.field))
                .map(|e| {
                    let field =
                        if e.field.is_empty() { String::new() } else { format!("{}: ", lang.field_label(&e.field)) };
                    format!("{field}{}", lang.field_error(&e.field, &e.code, Some(&e.message)))
                })
                .collect()
        })
    }

    /// Warnings about `field`, translated (tracked): the saved settings' warnings, each only while
    /// the field still holds the saved value it was about, and the page's own about accepting
    /// invalid certificates.
    pub fn warnings(&self, field: &str, lang: Lang) -> Vec<String> {
        let current = self.value_of(field);
        let mut out = Vec::new();
        // Shown the moment the box is ticked, not only after saving.
        if field == fields::TLS_ACCEPT_INVALID_CERTIFICATES && current == "true" {
            out.push(lang.prose_text("tls-accept-invalid-warning"));
        }
        self.saved.with(|saved| {
            let Some(saved) = saved else { return };
            if Draft::from_saved(&saved.settings).field_value(field) != current {
                return;
            }
            let server = saved
                .settings
                .warnings
                .iter()
                .filter(|w| w.field == field)
                // Covered by the stronger warning above.
                .filter(|w| w.code != "certificate_checks_disabled")
                .map(|w| lang.warning(&w.code, &w.message));
            out.extend(server);
        });
        out
    }

    /// Warnings about fields that are not on the page.
    pub fn other_warnings(&self, lang: Lang) -> Vec<String> {
        self.saved.with(|saved| {
            let Some(saved) = saved else { return Vec::new() };
            saved
                .settings
                .warnings
                .iter()
                .filter(|w| !(self.on_page)(&w.field))
                .map(|w| lang.warning(&w.code, &w.message))
                .collect()
        })
    }
}
