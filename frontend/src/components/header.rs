//! The app header: name, section tabs ("E-Mail" settings, error log, alerts), language switch,
//! sign-out.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::app::Tab;
use crate::i18n::{I18n, Lang, Texts};

/// Opens `which` and records it in the address bar (without scrolling to the fragment).
fn open_tab(tab: RwSignal<Tab>, which: Tab) {
    if tab.get_untracked() == which {
        return;
    }
    tab.set(which);
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(which.hash()));
    }
}

#[component]
pub fn Header(signed_in: Signal<bool>, on_signed_out: Callback<()>, tab: RwSignal<Tab>) -> impl IntoView {
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

    let tab_link = move |which: Tab, id: &'static str, label: fn(&'static Texts) -> &'static str| {
        view! {
            <a
                class="tab"
                id=id
                href=which.hash()
                aria-current=move || (tab.get() == which).then_some("page")
                on:click=move |ev| {
                    ev.prevent_default();
                    open_tab(tab, which);
                }
            >
                {move || label(i18n.t())}
            </a>
        }
    };

    view! {
        <header class="topbar">
            <div class="topbar-inner">
                <span class="brand">{i18n.text(|t| t.app_name)}</span>
                <Show when=move || signed_in.get()>
                    <nav class="tabs" aria-label=i18n.text(|t| t.nav_label)>
                        {tab_link(Tab::Settings, "tab-settings", |t| t.tab_email)}
                        {tab_link(Tab::Errors, "tab-errors", |t| t.tab_errors)}
                        {#[cfg(feature = "alerts")]
                        tab_link(Tab::Alerts, "tab-alerts", |t| t.alerts.tab)}
                    </nav>
                </Show>
                <div class="topbar-tools">
                    <div class="lang-switch" role="group" aria-label=i18n.text(|t| t.language)>
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
                            {i18n.text(|t| t.logout)}
                        </button>
                    </Show>
                </div>
            </div>
            <Show when=move || failed.get() && signed_in.get()>
                <p class="topbar-error" role="alert">{i18n.text(|t| t.logout_failed)}</p>
            </Show>
        </header>
    }
}
