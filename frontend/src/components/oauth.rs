//! OAuth 2.0 sign-in in the settings form: provider, flow and the app's fields
//! ([`OAuthFields`]), provider presets for the server, the set-up steps, and the connection's
//! state with "Connect account" / "Disconnect" ([`OAuthConnectionPanel`]).

use leptos::prelude::*;
use leptos::task::spawn_local;
use postamt_wire::{AuthMethod, Encryption, FailureClass, OAuth2View, OAuthConnectionStatus, OAuthFlow, OAuthProvider};

use crate::api::{self, ApiError, Versioned};
use crate::components::fields::{prose, tr, FieldNotes, SelectField, TextAreaField, TextField};
use crate::components::status::error_text;
use crate::form::{fields, flows_of, OAuthUses};
use crate::i18n::{I18n, Lang};
use crate::state::FormState;

/// The saved OAuth settings, while the saved method is OAuth 2.0.
fn saved_oauth(s: &Option<Versioned>) -> Option<&OAuth2View> {
    s.as_ref().map(|v| &v.settings.auth).filter(|a| a.enabled && a.method == AuthMethod::Oauth2)?.oauth2.as_ref()
}

/// Server and encryption of the providers with presets, and a new form's (empty server,
/// STARTTLS): a field still holding one of these was not typed by the admin.
const PRESETS: [(&str, Encryption); 3] =
    [("smtp.office365.com", Encryption::Starttls), ("smtp.gmail.com", Encryption::Tls), ("", Encryption::Starttls)];

/// What choosing `provider` changes: the server, and port and encryption with it, each only
/// while it holds nothing the admin typed (empty or still a preset). A server of one's own
/// keeps all three.
pub fn preset_for(
    provider: OAuthProvider,
    host: &str,
    port: &str,
    encryption: Encryption,
) -> Option<(&'static str, Option<Encryption>)> {
    let (new_host, new_enc) = match provider {
        OAuthProvider::Microsoft => PRESETS[0],
        OAuthProvider::Google => PRESETS[1],
        OAuthProvider::Generic => return None,
    };
    let (host, port) = (host.trim(), port.trim());
    if !PRESETS.iter().any(|p| p.0 == host) {
        return None;
    }
    let untyped = port.is_empty()
        || PRESETS.iter().any(|p| (p.1, p.1.default_port().to_string()) == (encryption, port.to_owned()));
    Some((new_host, untyped.then_some(new_enc)))
}

/// Applies [`preset_for`] to the form.
pub fn apply_preset(form: FormState, provider: OAuthProvider) {
    let found =
        preset_for(provider, &form.host.get_untracked(), &form.port.get_untracked(), form.encryption.get_untracked());
    if let Some((host, encryption)) = found {
        form.host.set(host.to_owned());
        if let Some(e) = encryption {
            form.encryption.set(e);
            form.port.set(e.default_port().to_string());
        }
    }
}

/// The absolute address of the page's `oauth/callback` (the redirect URI to register).
fn callback_uri() -> String {
    let base = web_sys::window().and_then(|w| w.document()).and_then(|d| d.base_uri().ok().flatten());
    let base = base.unwrap_or_default();
    let dir = base.rsplit_once('/').map_or(base.as_str(), |(dir, _)| dir);
    [dir, "/oauth/callback"].concat()
}

/// The set-up steps of every provider and flow in `lang`, from index.html's
/// `<template id="oauth-setup-de|en">` (the style sheet shows the list that applies). They
/// are static HTML rather than texts in the wasm: several KB of it, against the page's budget.
fn setup_steps(lang: Lang) -> String {
    let id = if lang == Lang::De { "oauth-setup-de" } else { "oauth-setup-en" };
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .map(|t| t.inner_html())
        .unwrap_or_default()
}

/// Provider, flow, the flow's fields, the set-up steps and the connection. Fields the flow
/// does not use stay in the page but hidden (cheaper in the page's wasm than building them
/// anew on every change).
#[component]
pub fn OAuthFields(
    form: FormState,
    saved: RwSignal<Option<Versioned>>,
    dirty: Memo<bool>,
    notice: RwSignal<Option<Notice>>,
    /// Puts freshly loaded settings into the page.
    reload: Callback<Option<Versioned>>,
) -> impl IntoView {
    let i18n = I18n::get();
    let o = form.oauth;
    let uses = Memo::new(move |_| OAuthUses::of(o.provider.get(), o.flow.get()));
    let stored = move |pick: fn(&OAuth2View) -> bool| saved.with(|s| saved_oauth(s).is_some_and(pick));

    let on_provider = Callback::new(move |value: String| {
        let Some(new) = OAuthProvider::parse(&value) else { return };
        apply_preset(form, new);
        o.provider.set(new);
        let flows = flows_of(new);
        if !flows.contains(&o.flow.get_untracked()) {
            o.flow.set(flows[0]);
        }
    });
    let on_flow = Callback::new(move |value: String| {
        if let Some(flow) = OAuthFlow::parse(&value) {
            o.flow.set(flow);
        }
    });
    let flow_select = move || {
        let options = flows_of(o.provider.get())
            .iter()
            .map(|&f| (f.as_str(), Signal::derive(move || i18n.lang().oauth_flow(f))))
            .collect();
        view! {
            <SelectField
                field=fields::OAUTH_FLOW
                label=|t| t.oauth.flow_label
                options=options
                value=Signal::derive(move || o.flow.get().as_str().to_owned())
                on_change=on_flow
            />
        }
    };
    let secret_set = move || stored(|v| v.client_secret_set);
    let service_account = move || saved.with(|s| saved_oauth(s).and_then(|v| v.service_account.clone()));

    // Which fields show is up to the style sheet, by provider and flow (`.o-*` classes): two
    // reactive attributes instead of one per block keep the page's wasm smaller.
    view! {
        <div
            class="oauth"
            data-provider=move || o.provider.get().as_str()
            data-flow=move || o.flow.get().as_str()
        >
        <div class="row row-even">
            <SelectField
                field=fields::OAUTH_PROVIDER
                label=|t| t.oauth.provider_label
                options=vec![
                    ("microsoft", tr(|_| "Microsoft 365")),
                    ("google", tr(|_| "Google Workspace / Gmail")),
                    ("generic", tr(|t| t.oauth.provider_generic)),
                ]
                value=Signal::derive(move || o.provider.get().as_str().to_owned())
                on_change=on_provider
            />
            {flow_select}
        </div>
        <div class="o-tenant">
            <TextField
                field=fields::OAUTH_TENANT
                label=|t| t.oauth.tenant_label
                value=o.tenant
            />
        </div>
        <div class="row row-even o-client">
            <TextField field=fields::OAUTH_CLIENT_ID label=|t| t.oauth.client_id_label value=o.client_id />
            <TextField
                field=fields::OAUTH_CLIENT_SECRET
                label=|t| t.oauth.client_secret_label
                value=o.client_secret
                input_type="password"
                autocomplete="new-password"
                placeholder=Signal::derive(move || {
                    if secret_set() { i18n.t().oauth.stored_placeholder } else { "" }.to_owned()
                })
                help=Signal::derive(move || {
                    let t = i18n.t();
                    if secret_set() {
                        t.oauth.secret_help_stored
                    } else if uses.get().secret_required {
                        t.password_help_new
                    } else {
                        t.oauth.secret_help_optional
                    }
                })
            />
        </div>
        <div class="o-key">
            <TextAreaField
                field=fields::OAUTH_SERVICE_ACCOUNT_KEY
                label=|t| t.oauth.key_label
                value=o.service_account_key
                rows=4
                placeholder="{ \"type\": \"service_account\", … }"
            />
            <p class="field-help" id="oauth-service-account" hidden=move || service_account().is_none()>
                {i18n.text(|t| t.oauth.key_stored)}
                " "
                <code>{service_account}</code>
            </p>
        </div>
        <div class="o-generic">
            <TextField field=fields::OAUTH_TOKEN_URL label=|t| t.oauth.token_url_label value=o.token_url inputmode="url" />
            <div class="o-delegated">
                <TextField
                    field=fields::OAUTH_AUTHORIZATION_URL
                    label=|t| t.oauth.authorization_url_label
                    value=o.authorization_url
                    inputmode="url"
                />
            </div>
            <TextField field=fields::OAUTH_SCOPE label=|t| t.oauth.scope_label value=o.scope />
        </div>
        <details class="oauth-setup">
            <summary>{i18n.text(|t| t.oauth.setup_title)}</summary>
            <div id="oauth-setup-steps" inner_html=move || setup_steps(i18n.lang())></div>
            <p class="o-delegated">
                {i18n.text(|t| t.oauth.redirect_uri)}
                " "
                <code id="oauth-redirect-uri">{callback_uri()}</code>
            </p>
        </details>
        <OAuthConnectionPanel saved=saved dirty=dirty notice=notice reload=reload />
        </div>
    }
}

/// What the page says about the last connect or disconnect.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Connected,
    Disconnected,
    /// `?oauth_error=<class>` after the provider sent the admin back.
    Failed(String),
    Error(ApiError),
}

/// Reads `?oauth=connected` / `?oauth_error=…` that the server appends after "Connect account"
/// and removes it from the address, so a reload does not show it again.
pub fn take_return() -> Option<Notice> {
    let window = web_sys::window()?;
    let location = window.location();
    let search = location.search().ok()?;
    let notice = search.trim_start_matches('?').split('&').find_map(|pair| match pair.split_once('=') {
        Some(("oauth", "connected")) => Some(Notice::Connected),
        Some(("oauth_error", class)) => Some(Notice::Failed(class.to_owned())),
        _ => None,
    })?;
    if let (Ok(path), Ok(history)) = (location.pathname(), window.history()) {
        let hash = location.hash().unwrap_or_default();
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&[path, hash].concat()));
    }
    Some(notice)
}

fn failure_name(lang: Lang, class: &str) -> String {
    let t = lang.texts().oauth;
    match class {
        "state" => t.return_state.to_owned(),
        "session" => t.return_session.to_owned(),
        "internal" => t.return_internal.to_owned(),
        _ => FailureClass::ALL
            .into_iter()
            .find(|c| c.as_str() == class)
            .map_or_else(|| class.to_owned(), |c| lang.failure_class(c)),
    }
}

/// The notice line (`#oauth-notice`, `data-state="ok" | "error"`); after a failed connect it
/// adds the connection's last hint from the saved settings.
#[component]
pub fn OAuthNotice(notice: RwSignal<Option<Notice>>, saved: RwSignal<Option<Versioned>>) -> impl IntoView {
    let i18n = I18n::get();
    move || {
        let lang = i18n.lang();
        let t = lang.texts().oauth;
        let (ok, text) = match notice.get()? {
            Notice::Connected => (true, t.connected.to_owned()),
            Notice::Disconnected => (true, t.disconnected.to_owned()),
            Notice::Error(e) => (false, error_text(&e, lang)),
            Notice::Failed(class) => {
                let hint = saved.with(|s| {
                    saved_oauth(s)
                        .and_then(|v| v.connection.last_error.as_ref())
                        .map(|e| lang.pick(&e.hint_de, &e.hint_en).to_owned())
                });
                let text = [t.connect_failed, " ", &failure_name(lang, &class), " ", hint.as_deref().unwrap_or("")];
                (false, text.concat().trim_end().to_owned())
            }
        };
        Some(view! {
            <p
                id="oauth-notice"
                class=if ok { "notice notice-info" } else { "notice notice-error" }
                role=if ok { "status" } else { "alert" }
                data-state=if ok { "ok" } else { "error" }
            >
                {text}
            </p>
        })
    }
}

/// The status as the API names it (for `data-status`; `Debug` prints nothing in the page).
fn status_name(s: OAuthConnectionStatus) -> &'static str {
    match s {
        OAuthConnectionStatus::Unknown => "unknown",
        OAuthConnectionStatus::Ok => "ok",
        OAuthConnectionStatus::Failing => "failing",
        OAuthConnectionStatus::NeedsConnect => "needs_connect",
    }
}

/// The saved connection's state and, for `authorization_code`, the buttons to connect and
/// disconnect (they work on the saved settings, so they wait while the form has changes).
#[component]
pub fn OAuthConnectionPanel(
    saved: RwSignal<Option<Versioned>>,
    dirty: Memo<bool>,
    notice: RwSignal<Option<Notice>>,
    /// Puts freshly loaded settings into the page.
    reload: Callback<Option<Versioned>>,
) -> impl IntoView {
    let i18n = I18n::get();
    let busy = RwSignal::new(false);
    let saved_delegated =
        move || saved.with(|s| saved_oauth(s).is_some_and(|v| v.flow == OAuthFlow::AuthorizationCode));
    let ready = move || saved_delegated() && !dirty.get();
    let has_account = move || {
        saved.with(|s| {
            saved_oauth(s).is_some_and(|v| {
                v.connection.account.is_some() || v.connection.refresh_token_set || v.connection.connected_at.is_some()
            })
        })
    };

    let connect = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let here = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_else(|| "/".to_owned());
        spawn_local(async move {
            match api::oauth_authorize(here).await {
                Ok(a) => {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().set_href(&a.authorization_url);
                    }
                }
                Err(e) => {
                    busy.set(false);
                    notice.set(Some(Notice::Error(e)));
                }
            }
        });
    };
    let disconnect = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = api::oauth_disconnect().await;
            let reloaded = api::settings_get().await;
            busy.set(false);
            if let Ok(v) = reloaded {
                reload.run(v);
            }
            notice.set(Some(match result {
                Ok(()) => Notice::Disconnected,
                Err(e) => Notice::Error(e),
            }));
        });
    };

    let facts = move || {
        let lang = i18n.lang();
        let t = lang.texts().oauth;
        let when = |d: &Option<postamt_wire::time::DateTime<postamt_wire::time::Utc>>| {
            d.as_ref().map(|d| lang.date_time(&d.to_rfc3339()))
        };
        saved.with(|s| {
            let c = &saved_oauth(s)?.connection;
            let error = c.last_error.as_ref().map(|e| {
                let at = lang.date_time(&e.at.to_rfc3339());
                [&lang.failure_class(e.class), " (", &at, "): ", lang.pick(&e.hint_de, &e.hint_en)].concat()
            });
            let rows = [
                (t.status, Some(lang.oauth_status(c.status).to_owned())),
                (t.account, c.account.clone()),
                (t.connected_at, when(&c.connected_at)),
                (t.token_issued_at, when(&c.token_issued_at)),
                (t.token_expires_at, when(&c.token_expires_at)),
                (t.refresh_used_at, when(&c.refresh_token_used_at)),
                (t.last_error, error),
            ];
            let rows = rows
                .into_iter()
                .filter_map(|(label, value)| Some(view! { <dt>{label}</dt> <dd>{value?}</dd> }))
                .collect_view();
            Some(view! {
                <dl class="facts" id="oauth-connection" data-status=status_name(c.status)>
                    {rows}
                </dl>
            })
        })
    };

    view! {
        <div class="oauth-connection">
            <h3>{i18n.text(|t| t.oauth.connection_title)}</h3>
            {facts}
            <FieldNotes field=fields::OAUTH_CONNECTION />
            <div class="o-delegated">
                <div class="action-buttons">
                    <button
                        type="button"
                        id="oauth-connect"
                        class="button"
                        disabled=move || busy.get() || !ready()
                        on:click=connect
                    >
                        {move || if has_account() { i18n.t().oauth.reconnect } else { i18n.t().oauth.connect }}
                    </button>
                    <button
                        type="button"
                        id="oauth-disconnect"
                        class="button button-danger-quiet"
                        hidden=move || !has_account()
                        disabled=move || busy.get() || !ready()
                        on:click=disconnect
                    >
                        {i18n.text(|t| t.oauth.disconnect)}
                    </button>
                </div>
                <p class="field-help" id="oauth-save-first" hidden=ready inner_html=prose("oauth-save-first")></p>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_fill_only_what_was_not_typed() {
        use Encryption::{Starttls, Tls};
        let ms = OAuthProvider::Microsoft;
        let google = OAuthProvider::Google;
        assert_eq!(preset_for(ms, "", "587", Starttls), Some(("smtp.office365.com", Some(Starttls))));
        assert_eq!(preset_for(google, "smtp.office365.com", "587", Starttls), Some(("smtp.gmail.com", Some(Tls))));
        assert_eq!(preset_for(ms, "smtp.gmail.com", "465", Tls), Some(("smtp.office365.com", Some(Starttls))));
        // A port of one's own stays, a server of one's own keeps everything.
        assert_eq!(preset_for(google, "", "2525", Starttls), Some(("smtp.gmail.com", None)));
        assert_eq!(preset_for(google, "mail.example.org", "587", Starttls), None);
        assert_eq!(preset_for(OAuthProvider::Generic, "", "587", Starttls), None);
    }
}
