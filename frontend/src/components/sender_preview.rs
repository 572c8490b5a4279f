//! The sender preview beside the two sender options: From, Reply-To and envelope sender of an
//! e-mail an example user sends, from the form's unsaved values (`POST mail-settings/preview`,
//! debounced). Hidden while the server cannot answer (e.g. 422 for a half-typed form).

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use postamt_wire::{EffectiveSender, MailAddress, SenderPreviewRequest};

use crate::api;
use crate::components::fields::Prose;
use crate::i18n::I18n;
use crate::mail_test::acting_user;
use crate::state::FormState;

/// Wait after the last change before asking the server.
const DEBOUNCE: Duration = Duration::from_millis(350);

const EXAMPLE_NAME: &str = "Erika Mustermann";
const EXAMPLE_ADDRESS: &str = "erika@example.org";

/// "Name <address>", or the address alone.
pub fn mailbox(m: &MailAddress) -> String {
    match m.name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(name) => format!("{name} <{}>", m.address),
        None => m.address.clone(),
    }
}

/// Stops the Enter key in the preview's inputs from submitting (saving) the settings form.
fn no_submit(ev: leptos::ev::KeyboardEvent) {
    if ev.key() == "Enter" {
        ev.prevent_default();
    }
}

#[component]
pub fn SenderPreview(form: FormState) -> impl IntoView {
    let i18n = I18n::get();
    let t = move || i18n.t().test;
    let name = RwSignal::new(EXAMPLE_NAME.to_owned());
    let address = RwSignal::new(EXAMPLE_ADDRESS.to_owned());
    let shown = RwSignal::new(None::<EffectiveSender>);

    // The password plays no part in who the sender is: it is never sent along.
    let request = Memo::new(move |_| {
        let mut settings = form.draft().to_input();
        settings.auth.password = None;
        SenderPreviewRequest { settings: Some(settings), acting_user: acting_user(&name.get(), &address.get()) }
    });

    let timer = StoredValue::new(None::<TimeoutHandle>);
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let request = request.get();
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(
            move || {
                let Some(mine) = generation.try_update_value(|g| {
                    *g += 1;
                    *g
                }) else {
                    return;
                };
                spawn_local(async move {
                    let answer = api::sender_preview(&request).await;
                    // A newer request is on its way, or the form is gone.
                    if generation.try_get_value() != Some(mine) {
                        return;
                    }
                    shown.set(answer.ok());
                });
            },
            DEBOUNCE,
        );
        timer.set_value(handle.ok());
    });
    on_cleanup(move || {
        if let Some(Some(handle)) = timer.try_get_value() {
            handle.clear();
        }
    });

    let values = move || {
        shown.get().map(|s| {
            let reply_to = s.reply_to.as_ref().map(mailbox);
            let has_reply_to = reply_to.is_some();
            view! {
                <dl class="facts preview-values">
                    <dt>{i18n.text(|t| t.test.preview_from)}</dt>
                    <dd id="preview-from">{mailbox(&s.from)}</dd>
                    <dt>{i18n.text(|t| t.test.preview_reply_to)}</dt>
                    <dd id="preview-reply-to" class:muted=!has_reply_to>
                        {move || reply_to.clone().unwrap_or_else(|| t().preview_none.to_owned())}
                    </dd>
                    <dt>{i18n.text(|t| t.test.preview_envelope)}</dt>
                    <dd id="preview-envelope">{s.envelope_from.clone()}</dd>
                </dl>
            }
        })
    };

    view! {
        <aside class="sender-preview" aria-labelledby="preview-title">
            <p class="preview-title" id="preview-title">{i18n.text(|t| t.test.preview_title)}</p>
            <Prose key="preview-intro" />
            <div class="row row-even preview-user">
                <div class="field">
                    <label for="preview-acting-name">{i18n.text(|t| t.test.acting_name_label)}</label>
                    <input
                        type="text"
                        id="preview-acting-name"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                        on:keydown=no_submit
                    />
                </div>
                <div class="field">
                    <label for="preview-acting-address">{i18n.text(|t| t.test.acting_address_label)}</label>
                    <input
                        type="text"
                        id="preview-acting-address"
                        inputmode="email"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=move || address.get()
                        on:input=move |ev| address.set(event_target_value(&ev))
                        on:keydown=no_submit
                    />
                </div>
            </div>
            <div aria-live="polite">{values}</div>
        </aside>
    }
}
