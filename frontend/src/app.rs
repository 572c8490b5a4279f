//! The application shell: finds out whether the admin is signed in, then shows the sign-in view
//! or the header with the tabs ("E-Mail" settings, error log, alerts). The open tab is kept in
//! the URL's fragment (`#email`, `#errors`, `#alerts`), so reloading and the browser's back
//! button keep it.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiError};
use crate::components::header::Header;
use crate::i18n::I18n;
#[cfg(feature = "alerts")]
use crate::pages::alerts::AlertsPage;
use crate::pages::error_log::ErrorLogPage;
use crate::pages::login::LoginPage;
use crate::pages::settings::SettingsPage;

/// The tabs of the signed-in page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Settings,
    Errors,
    #[cfg(feature = "alerts")]
    Alerts,
}

impl Tab {
    /// The URL fragment of the tab.
    pub fn hash(self) -> &'static str {
        match self {
            Tab::Settings => "#email",
            Tab::Errors => "#errors",
            #[cfg(feature = "alerts")]
            Tab::Alerts => "#alerts",
        }
    }

    fn from_hash(hash: &str) -> Tab {
        match hash {
            "#errors" => Tab::Errors,
            #[cfg(feature = "alerts")]
            "#alerts" => Tab::Alerts,
            _ => Tab::Settings,
        }
    }

    /// The tab the address bar names.
    fn current() -> Tab {
        let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
        Tab::from_hash(&hash)
    }
}

/// Where the page is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Asking the server who is signed in.
    Checking,
    /// That question could not be answered.
    CheckFailed(ApiError),
    /// Sign-in view; `expired` when a signed-in request got 401.
    SignedOut {
        expired: bool,
    },
    SignedIn,
}

#[component]
pub fn App() -> impl IntoView {
    let i18n = I18n::provide();
    let phase = RwSignal::new(Phase::Checking);
    let tab = RwSignal::new(Tab::current());
    // Back and forward buttons, or a fragment typed into the address bar.
    let _ = window_event_listener(leptos::ev::popstate, move |_| tab.set(Tab::current()));

    // Any 401 on a signed-in request: back to the sign-in view.
    api::on_unauthorized(move || {
        if phase.try_get_untracked() == Some(Phase::SignedIn) {
            phase.set(Phase::SignedOut { expired: true });
        }
    });

    let check_session = move || {
        phase.set(Phase::Checking);
        spawn_local(async move {
            phase.set(match api::session_get().await {
                Ok(_) => Phase::SignedIn,
                Err(e) if e.status() == Some(401) => Phase::SignedOut { expired: false },
                Err(e) => Phase::CheckFailed(e),
            });
        });
    };
    check_session();

    let on_signed_in = Callback::new(move |()| phase.set(Phase::SignedIn));
    let on_signed_out = Callback::new(move |()| phase.set(Phase::SignedOut { expired: false }));
    let signed_in = Signal::derive(move || phase.get() == Phase::SignedIn);

    view! {
        <a class="skip-link" href="#main">{i18n.text(|t| t.skip_to_content)}</a>
        <Header signed_in=signed_in on_signed_out=on_signed_out tab=tab />
        <main id="main" tabindex="-1">
            {move || match phase.get() {
                Phase::Checking => {
                    view! { <p class="page-loading" aria-busy="true">{i18n.text(|t| t.loading)}</p> }.into_any()
                }
                Phase::CheckFailed(error) => {
                    let detail = match &error {
                        ApiError::Network(_) => None,
                        other => other.status(),
                    };
                    view! {
                        <div class="panel notice notice-error" role="alert">
                            <p>
                                {i18n.text(|t| t.server_unreachable)}
                                {move || detail.map(|s| format!(" ({})", i18n.lang().problem_title(s)))}
                            </p>
                            <button type="button" class="button" on:click=move |_| check_session()>
                                {i18n.text(|t| t.retry)}
                            </button>
                        </div>
                    }
                        .into_any()
                }
                Phase::SignedOut { expired } => view! { <LoginPage expired=expired on_signed_in=on_signed_in /> }.into_any(),
                Phase::SignedIn => {
                    match tab.get() {
                        Tab::Settings => view! { <SettingsPage /> }.into_any(),
                        Tab::Errors => view! { <ErrorLogPage /> }.into_any(),
                        #[cfg(feature = "alerts")]
                        Tab::Alerts => view! { <AlertsPage /> }.into_any(),
                    }
                }
            }}
        </main>
    }
}
