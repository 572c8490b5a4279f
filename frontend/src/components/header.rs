//! The app header: name, section tabs (only "E-Mail" so far), language switch, sign-out.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::i18n::{I18n, Lang};

#[component]
pub fn Header(signed_in: Signal<bool>, on_signed_out: Callback<()>) -> impl IntoView {
    let i18n = I18n::get();
    let signing_out = RwSignal::new(false);
    let failed = RwSignal::new(false);

    let sign_out = move |_| {
        if signing_out.get_untracked() {
            return;
        }
        signing_out.set(true);
        failed.set(false);
        spawn_local(async move {
            let result = api::session_delete().await;
            signing_out.set(false);
            match result {
                Ok(()) => on_signed_out.run(()),
                Err(_) => failed.set(true),
            }
        });
    };

    let lang_button = move |lang: Lang, id: &'static str, label: &'static str| {
        view! {
            <button
                type="button"
                id=id
                class="lang-button"
                lang=lang.code()
                aria-pressed=move || if i18n.lang() == lang { "true" } else { "false" }
                on:click=move |_| i18n.set(lang)
            >
                {label}
            </button>
        }
    };

    view! {
        <header class="topbar">
            <div class="topbar-inner">
                <span class="brand">{move || i18n.t().app_name}</span>
                <Show when=move || signed_in.get()>
                    <nav class="tabs" aria-label=move || i18n.t().nav_label>
                        // Later sections (error log, API keys) become further tabs here.
                        <a class="tab" href="#email" aria-current="page">
                            {move || i18n.t().tab_email}
                        </a>
                    </nav>
                </Show>
                <div class="topbar-tools">
                    <div class="lang-switch" role="group" aria-label=move || i18n.t().language>
                        {lang_button(Lang::De, "lang-de", "Deutsch")}
                        {lang_button(Lang::En, "lang-en", "English")}
                    </div>
                    <Show when=move || signed_in.get()>
                        <button
                            type="button"
                            id="logout"
                            class="button button-quiet"
                            disabled=move || signing_out.get()
                            on:click=sign_out
                        >
                            {move || i18n.t().logout}
                        </button>
                    </Show>
                </div>
            </div>
            <Show when=move || failed.get() && signed_in.get()>
                <p class="topbar-error" role="alert">{move || i18n.t().logout_failed}</p>
            </Show>
        </header>
    }
}
