//! "Ersatzserver / Fallback server" in the settings form: a switch, then the second server's
//! connection, sign-in (password, write-only like the primary's) and envelope sender.
//! Inputs stay in the page while hidden (cheaper in the page's wasm than building them anew).

use leptos::prelude::*;
use postamt_wire::Encryption;

use crate::components::fields::tr;
#[cfg(feature = "fallback")]
use crate::{
    api::Versioned,
    components::fields::{CheckboxField, Prose, SelectField, TextField},
    form::fallback::fields,
    i18n::I18n,
    state::FormState,
};

/// Sets the encryption chosen in a select and suggests its usual port, unless a port of one's
/// own was entered (the primary's and the fallback's).
pub fn on_encryption(port: RwSignal<String>, encryption: RwSignal<Encryption>) -> Callback<String> {
    Callback::new(move |value: String| {
        let Some(new) = Encryption::parse(&value) else { return };
        let old = encryption.get_untracked();
        let typed = port.get_untracked();
        if typed.trim().is_empty() || typed.trim() == old.default_port().to_string() {
            port.set(new.default_port().to_string());
        }
        encryption.set(new);
    })
}

/// The encryption choices, as the primary's select has them.
pub fn encryption_options() -> Vec<(&'static str, Signal<&'static str>)> {
    vec![
        ("none", tr(|t| t.encryption_none)),
        ("starttls", tr(|t| t.encryption_starttls)),
        ("tls", tr(|t| t.encryption_tls)),
    ]
}

#[cfg(feature = "fallback")]
#[component]
pub fn FallbackFields(form: FormState, saved: RwSignal<Option<Versioned>>) -> impl IntoView {
    let i18n = I18n::get();
    let f = form.fallback;
    let off = move || !f.enabled.get();
    let password_set = Signal::derive(move || {
        saved.with(|s| s.as_ref().and_then(|v| v.settings.fallback.as_ref()).is_some_and(|f| f.auth.password_set))
    });
    // A fallback saved with OAuth 2.0 (over the API) keeps it.
    let oauth = move || f.auth_enabled.get() && f.oauth();

    view! {
        <fieldset class="panel" id="fallback-server">
            <legend>{i18n.text(|t| t.fallback.title)}</legend>
            <Prose key="fallback-intro" class="section-help" />
            <CheckboxField field=fields::ENABLED label=|t| t.fallback.enabled_label checked=f.enabled />
            <div hidden=off>
                <TextField field=fields::HOST label=|t| t.host_label value=f.host />
                <div class="row">
                    <SelectField
                        field=fields::ENCRYPTION
                        label=|t| t.encryption_label
                        options=encryption_options()
                        value=Signal::derive(move || f.encryption.get().as_str().to_owned())
                        on_change=on_encryption(f.port, f.encryption)
                    />
                    <TextField
                        field=fields::PORT
                        label=|t| t.port_label
                        value=f.port
                        inputmode="numeric"
                        extra_class="field-short"
                    />
                </div>
                <CheckboxField field=fields::AUTH_ENABLED label=|t| t.auth_enabled_label checked=f.auth_enabled />
                <div class="row row-even" hidden=move || !f.auth_enabled.get()>
                    <TextField
                        field=fields::AUTH_USERNAME
                        label=|t| t.auth_username_label
                        value=f.auth_username
                        autocomplete="username"
                    />
                    <div hidden=oauth>
                        <TextField
                            field=fields::AUTH_PASSWORD
                            label=|t| t.auth_password_label
                            value=f.auth_password
                            input_type="password"
                            autocomplete="new-password"
                            placeholder=Signal::derive(move || {
                                if password_set.get() { i18n.t().password_stored_placeholder.to_owned() } else { String::new() }
                            })
                            help=Signal::derive(move || {
                                if password_set.get() { i18n.t().password_help_stored } else { i18n.t().password_help_new }
                            })
                        />
                    </div>
                    <div hidden=move || !oauth()>
                        <Prose key="fallback-oauth" />
                    </div>
                </div>
                <TextField
                    field=fields::ENVELOPE_SENDER
                    label=|t| t.fallback.envelope_label
                    value=f.envelope_sender
                    inputmode="email"
                />
            </div>
        </fieldset>
    }
}
