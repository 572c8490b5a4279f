//! Where the last test mail puts the fault: the field to highlight (class `at-fault`) and the
//! server's hint to show beside it (`#test-hint`). Like a server error, it stays until that
//! field is edited or the next test starts.

use leptos::prelude::*;
use postamt_wire::{Failure, FailureClass};

#[cfg(feature = "fallback")]
use crate::form::fallback;
use crate::form::fields;
use crate::i18n::Lang;
use crate::state::FormState;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Fault {
    /// The field on the page (a fallback test's `host` is `fallback.host`).
    field: &'static str,
    class: FailureClass,
    hint_de: String,
    hint_en: String,
    /// The field's value when the test ran (empty for the test panel's own inputs, which clear
    /// the fault themselves when edited).
    value: String,
}

#[derive(Clone, Copy)]
pub struct TestFault {
    form: FormState,
    fault: RwSignal<Option<Fault>>,
}

impl TestFault {
    pub fn new(form: FormState) -> Self {
        TestFault { form, fault: RwSignal::new(None) }
    }

    /// Remembers the field a failed test points at (none for a test that worked or a failure
    /// that no field explains). `fallback`: the test was over the fallback server, whose
    /// fields the failure names as the primary's.
    pub fn set(&self, failure: Option<&Failure>, fallback: bool) {
        let fault = failure.and_then(|f| {
            let field = f.field?.as_str();
            #[cfg(feature = "fallback")]
            let field = if fallback { fallback::fields::of_primary(field).unwrap_or(field) } else { field };
            #[cfg(not(feature = "fallback"))]
            let _ = fallback;
            Some(Fault {
                field,
                class: f.class,
                hint_de: f.hint_de.clone(),
                hint_en: f.hint_en.clone(),
                value: untrack(|| self.form.value_of(field)),
            })
        });
        self.fault.set(fault);
    }

    pub fn clear(&self) {
        if self.fault.with_untracked(Option::is_some) {
            self.fault.set(None);
        }
    }

    /// Forgets the fault when it is about `field` (the test panel's inputs call this on input).
    pub fn clear_field(&self, field: &str) {
        if self.fault.with_untracked(|f| f.as_ref().is_some_and(|f| f.field == field)) {
            self.fault.set(None);
        }
    }

    /// Whether `field` is on the page right now (the account fields only with authentication
    /// on, the password and the OAuth fields only with their method).
    fn visible(&self, field: &str) -> bool {
        use postamt_wire::AuthMethod;
        let oauth = self.form.auth_method.get() == AuthMethod::Oauth2;
        #[cfg(feature = "fallback")]
        let fb = self.form.fallback;
        match field {
            #[cfg(feature = "fallback")]
            fallback::fields::AUTH_USERNAME => fb.enabled.get() && fb.auth_enabled.get(),
            #[cfg(feature = "fallback")]
            fallback::fields::AUTH_PASSWORD => fb.enabled.get() && fb.auth_enabled.get() && !fb.oauth(),
            #[cfg(feature = "fallback")]
            f if f.starts_with("fallback.") => fb.enabled.get() && fallback::fields::ALL.contains(&f),
            // Without the fallback's inputs (see Cargo.toml) none of its fields is on the page.
            #[cfg(not(feature = "fallback"))]
            f if f.starts_with("fallback.") => false,
            fields::AUTH_USERNAME | fields::AUTH_METHOD => self.form.auth_enabled.get(),
            fields::AUTH_PASSWORD => self.form.auth_enabled.get() && !oauth,
            f if f.starts_with("auth.oauth2.") => self.form.auth_enabled.get() && oauth,
            _ => true,
        }
    }

    /// The field the hint is shown beside (tracked): the one at fault while it still holds the
    /// tested value and is on the page.
    pub fn shown_at(&self) -> Option<&'static str> {
        let (field, value) = self.fault.with(|f| f.as_ref().map(|f| (f.field, f.value.clone())))?;
        (self.visible(field) && self.form.value_of(field) == value).then_some(field)
    }

    /// Whether `field` is the one highlighted (tracked).
    pub fn is_at(&self, field: &str) -> bool {
        self.shown_at() == Some(field)
    }

    /// The hint beside `field` in `lang`, with the failure class (tracked).
    pub fn hint(&self, field: &str, lang: Lang) -> Option<(String, FailureClass)> {
        if !self.is_at(field) {
            return None;
        }
        self.fault.with(|f| f.as_ref().map(|f| (lang.pick(&f.hint_de, &f.hint_en).to_owned(), f.class)))
    }
}
