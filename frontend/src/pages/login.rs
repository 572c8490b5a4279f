//! The sign-in view: the admin password, nothing else.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiError};
use crate::components::fields::Prose;
use crate::i18n::{I18n, Lang};

/// Why signing in did not work.
#[derive(Debug, Clone, PartialEq)]
enum LoginError {
    Empty,
    Failed(ApiError),
}

impl LoginError {
    fn text(&self, lang: Lang) -> String {
        let t = lang.texts();
        match self {
            LoginError::Empty => t.login_empty.to_owned(),
            LoginError::Failed(ApiError::Network(_)) => t.server_unreachable.to_owned(),
            LoginError::Failed(e) => match e.status() {
                Some(401) => t.login_wrong.to_owned(),
                Some(429) => {
                    let retry_after = match e {
                        ApiError::Api { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    lang.login_throttled(retry_after)
                }
                Some(status) => lang.problem_title(status),
                None => t.server_unreachable.to_owned(),
            },
        }
    }
}

#[component]
pub fn LoginPage(expired: bool, on_signed_in: Callback<()>) -> impl IntoView {
    let i18n = I18n::get();
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<LoginError>);
    let input: NodeRef<leptos::html::Input> = NodeRef::new();

    let focus_password = move || {
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };
    // Focus the password field once it is in the page.
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let typed = password.get_untracked();
        if typed.is_empty() {
            error.set(Some(LoginError::Empty));
            focus_password();
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = api::session_create(typed).await;
            busy.set(false);
            match result {
                Ok(_) => {
                    password.set(String::new());
                    on_signed_in.run(());
                }
                Err(e) => {
                    error.set(Some(LoginError::Failed(e)));
                    password.set(String::new());
                    focus_password();
                }
            }
        });
    };

    view! {
        <section class="panel login" aria-labelledby="login-title">
            <h1 id="login-title">{i18n.text(|t| t.login_title)}</h1>
            <Show when=move || expired>
                <p class="notice notice-info" role="status">{i18n.text(|t| t.session_expired)}</p>
            </Show>
            <Prose key="login-intro" class="lead" />
            <form on:submit=submit novalidate>
                // There is one admin account; naming it lets password managers file the password.
                <input type="text" name="username" value="admin" autocomplete="username" hidden readonly />
                <div class="field">
                    <label for="login-password">{i18n.text(|t| t.login_password)}</label>
                    <input
                        type="password"
                        id="login-password"
                        name="password"
                        autocomplete="current-password"
                        required
                        node_ref=input
                        aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                        aria-describedby=move || error.with(|e| e.as_ref().map(|_| "login-error"))
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                    {move || {
                        error
                            .get()
                            .map(|e| {
                                view! {
                                    <p id="login-error" class="field-error" role="alert">
                                        {move || e.text(i18n.lang())}
                                    </p>
                                }
                            })
                    }}
                </div>
                <button type="submit" id="login-submit" class="button button-primary" disabled=move || busy.get()>
                    {move || if busy.get() { i18n.t().login_busy } else { i18n.t().login_submit }}
                </button>
            </form>
        </section>
    }
}
