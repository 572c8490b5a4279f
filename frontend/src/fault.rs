//! Where the last test mail puts the fault: the field to highlight (class `at-fault`) and the
//! server's hint to show beside it (`#test-hint`). Like a server error, it stays until that
//! field is edited or the next test starts.

use leptos::prelude::*;
use postamt_wire::{Failure, FailureClass, SettingsField};

use crate::form::fields;
use crate::i18n::Lang;
use crate::state::FormState;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Fault {
    field: SettingsField,
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
    /// that no field explains).
    pub fn set(&self, failure: Option<&Failure>) {
        let fault = failure.and_then(|f| {
            let field = f.field?;
            Some(Fault {
                field,
                class: f.class,
                hint_de: f.hint_de.clone(),
                hint_en: f.hint_en.clone(),
                value: untrack(|| self.form.value_of(field.as_str())),
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
        if self.fault.with_untracked(|f| f.as_ref().is_some_and(|f| f.field.as_str() == field)) {
            self.fault.set(None);
        }
    }

    /// Whether `field` is on the page right now (the account fields only with authentication
    /// on, the password and the OAuth fields only with their method).
    fn visible(&self, field: &str) -> bool {
        let oauth = self.form.auth_method.get() == postamt_wire::AuthMethod::Oauth2;
        match field {
            fields::AUTH_USERNAME | fields::AUTH_METHOD => self.form.auth_enabled.get(),
            fields::AUTH_PASSWORD => self.form.auth_enabled.get() && !oauth,
            f if f.starts_with("auth.oauth2.") => self.form.auth_enabled.get() && oauth,
            _ => true,
        }
    }

    /// The field the hint is shown beside (tracked): the one at fault while it still holds the
    /// tested value and is on the page.
    pub fn shown_at(&self) -> Option<SettingsField> {
        let (field, value) = self.fault.with(|f| f.as_ref().map(|f| (f.field, f.value.clone())))?;
        let name = field.as_str();
        (self.visible(name) && self.form.value_of(name) == value).then_some(field)
    }

    /// Whether `field` is the one highlighted (tracked).
    pub fn is_at(&self, field: &str) -> bool {
        self.shown_at().is_some_and(|f| f.as_str() == field)
    }

    /// The hint beside `field` in `lang`, with the failure class (tracked).
    pub fn hint(&self, field: &str, lang: Lang) -> Option<(String, FailureClass)> {
        if !self.is_at(field) {
            return None;
        }
        self.fault.with(|f| f.as_ref().map(|f| (lang.pick(&f.hint_de, &f.hint_en).to_owned(), f.class)))
    }
}
