//! The "E-Mail" tab: loads the shared SMTP settings, edits them with client-side checks,
//! saves them with the version they were loaded at, and explains what the server answered.

use leptos::prelude::*;
use leptos::task::spawn_local;
use postamt_wire::AuthMethod;

use crate::api::{self, ApiError, Versioned};
#[cfg(feature = "fallback")]
use crate::components::fallback::FallbackFields;
use crate::components::fallback::{encryption_options, on_encryption};
use crate::components::fields::{prose, tr, CheckboxField, Prose, SelectField, TextAreaField, TextField};
use crate::components::history::History;
use crate::components::limits::{fetch_usage, LimitsFields};
use crate::components::oauth::{apply_preset, take_return, OAuthFields, OAuthNotice};
use crate::components::sender_preview::SenderPreview;
use crate::components::status::{error_text, Status, StatusLine};
use crate::components::test_panel::TestPanel;
use crate::dom::focus_first;
use crate::fault::TestFault;
use crate::form::fallback::fields as fallback_fields;
use crate::form::{fields, Draft};
use crate::i18n::{I18n, Text};
use crate::state::{Feedback, FormState};

#[derive(Debug, Clone, PartialEq)]
enum Load {
    Loading,
    Failed(ApiError),
    Ready,
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let i18n = I18n::get();
    let load = RwSignal::new(Load::Loading);
    let saved = RwSignal::new(None::<Versioned>);

    let fetch = move || {
        load.set(Load::Loading);
        spawn_local(async move {
            match api::settings_get().await {
                Ok(settings) => {
                    saved.set(settings);
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e)),
            }
        });
    };
    fetch();

    view! {
        <section class="settings" id="email" aria-labelledby="settings-title">
            <h1 id="settings-title">{i18n.text(|t| t.settings_title)}</h1>
            <Prose key="settings-intro" class="lead" />
            <Prose key="settings-shared" class="notice notice-info" />
            {move || match load.get() {
                Load::Loading => {
                    view! { <p class="page-loading" aria-busy="true">{i18n.text(|t| t.settings_loading)}</p> }
                        .into_any()
                }
                Load::Failed(error) => {
                    view! {
                        <div class="panel notice notice-error" role="alert">
                            <p>{i18n.text(|t| t.settings_load_failed)} " " {move || error_text(&error, i18n.lang())}</p>
                            <button type="button" class="button" on:click=move |_| fetch()>
                                {i18n.text(|t| t.retry)}
                            </button>
                        </div>
                    }
                        .into_any()
                }
                Load::Ready => view! { <SettingsForm saved=saved /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn SettingsForm(saved: RwSignal<Option<Versioned>>) -> impl IntoView {
    let i18n = I18n::get();
    let saved_draft = Memo::new(move |_| saved.with(|s| Draft::for_saved(s.as_ref().map(|v| &v.settings))));
    let form = FormState::new(&saved_draft.get_untracked());
    let feedback = Feedback::new(form, saved);
    provide_context(feedback);
    let fault = TestFault::new(form);
    provide_context(fault);

    let status = RwSignal::new(None::<Status>);
    let busy = RwSignal::new(false);
    let confirm_remove = RwSignal::new(false);
    let dirty = Memo::new(move |_| form.draft() != saved_draft.get());
    let configured = Signal::derive(move || saved.with(Option::is_some));
    let password_set = Signal::derive(move || saved.with(|s| s.as_ref().is_some_and(|v| v.settings.auth.password_set)));

    // `?oauth=connected` / `?oauth_error=…` after "Connect account".
    let oauth_notice = RwSignal::new(take_return());
    let oauth = Signal::derive(move || form.auth_method.get() == AuthMethod::Oauth2);

    // The sending limits' use (read again whenever the saved settings change).
    let usage = RwSignal::new(None);
    fetch_usage(usage);

    // Shows `v` as the saved state and puts it into the form.
    let apply_saved = move |v: Option<Versioned>| {
        let draft = Draft::for_saved(v.as_ref().map(|v| &v.settings));
        saved.set(v);
        form.load(&draft);
        feedback.reset();
        fault.clear();
        confirm_remove.set(false);
        fetch_usage(usage);
    };
    let report = move |e: ApiError| match e.status() {
        // The app has already gone back to the sign-in view.
        Some(401) => {}
        Some(412) => status.set(Some(Status::Conflict)),
        _ => status.set(Some(Status::Failed(e))),
    };

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let draft = form.draft_untracked();
        let issues = feedback.current_issues();
        if !issues.is_empty() {
            feedback.mark_submitted();
            status.set(Some(Status::FixFields));
            focus_first(issues.iter().map(|i| i.field));
            return;
        }
        let input = draft.to_input();
        let etag = saved.with_untracked(|s| s.as_ref().map(|v| v.etag.clone()));
        busy.set(true);
        status.set(Some(Status::Saving));
        spawn_local(async move {
            let result = api::settings_put(&input, etag.as_deref()).await;
            busy.set(false);
            match result {
                Ok(v) => {
                    let version = v.settings.version;
                    apply_saved(Some(v));
                    status.set(Some(Status::Saved(version)));
                }
                Err(ApiError::Api { problem, .. }) if problem.status == 422 && !problem.errors.is_empty() => {
                    let order: Vec<&str> = fields::ALL
                        .into_iter()
                        .chain(fallback_fields::ALL)
                        .filter(|f| problem.errors.iter().any(|e| e.field == *f))
                        .collect();
                    feedback.set_server_errors(|f| draft.field_value(f), problem.errors);
                    status.set(Some(Status::ServerRejected));
                    focus_first(order);
                }
                Err(e) => report(e),
            }
        });
    };

    let discard = move |_| {
        apply_saved(saved.get_untracked());
        status.set(Some(Status::Discarded));
    };

    let reload = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = api::settings_get().await;
            busy.set(false);
            match result {
                Ok(v) => {
                    apply_saved(v);
                    status.set(Some(Status::Reloaded));
                }
                Err(e) => report(e),
            }
        });
    };

    let remove = move |_| {
        let Some(etag) = saved.with_untracked(|s| s.as_ref().map(|v| v.etag.clone())) else { return };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        status.set(Some(Status::Removing));
        spawn_local(async move {
            let result = api::settings_delete(&etag).await;
            busy.set(false);
            confirm_remove.set(false);
            match result {
                Ok(()) => {
                    apply_saved(None);
                    status.set(Some(Status::Removed));
                }
                Err(e) => report(e),
            }
        });
    };

    // Changing the encryption suggests its usual port, unless a port of one's own was entered.
    let on_encryption = on_encryption(form.port, form.encryption);
    // Choosing OAuth 2.0 fills in the provider's server where nothing of one's own was typed.
    let on_method = Callback::new(move |value: String| {
        let Some(method) = AuthMethod::parse(&value) else { return };
        if method == AuthMethod::Oauth2 && !oauth.get_untracked() {
            apply_preset(form, form.oauth.provider.get_untracked());
        }
        form.auth_method.set(method);
    });
    let reload_saved = Callback::new(apply_saved);
    // Reply-To needs "force default sender": unticking force unticks it too.
    let on_force = Callback::new(move |on: bool| {
        if !on {
            form.reply_to_individual_sender.set(false);
        }
    });

    let saved_line = move || {
        let lang = i18n.lang();
        saved.with(|s| match s {
            Some(v) => view! {
                <p class="saved-info">
                    {lang.last_saved(
                        v.settings.version,
                        &lang.date_time(&v.settings.updated_at.to_rfc3339()),
                        &v.settings.updated_by,
                    )}
                </p>
            }
            .into_any(),
            None => view! { <p class="notice notice-info" id="not-configured" inner_html=prose("not-configured")></p> }
                .into_any(),
        })
    };

    let other_messages = move || {
        let lang = i18n.lang();
        let errors = feedback.other_server_errors(lang);
        let warnings = feedback.other_warnings(lang);
        (!errors.is_empty() || !warnings.is_empty()).then(|| {
            view! {
                <ul class="other-messages">
                    {errors.into_iter().map(|e| view! { <li class="field-error">{e}</li> }).collect_view()}
                    {warnings
                        .into_iter()
                        .map(|w| view! { <li class="field-warning">{w}</li> })
                        .collect_view()}
                </ul>
            }
        })
    };

    view! {
        {saved_line}
        <OAuthNotice notice=oauth_notice saved=saved />
        <form class="settings-form" novalidate on:submit=save>
            <fieldset class="panel">
                <legend>{i18n.text(|t| t.section_connection)}</legend>
                <Prose key="settings-source" class="section-help" />
                <TextField field=fields::HOST label=|t| t.host_label value=form.host />
                <div class="row">
                    <SelectField
                        field=fields::ENCRYPTION
                        label=|t| t.encryption_label
                        options=encryption_options()
                        value=Signal::derive(move || form.encryption.get().as_str().to_owned())
                        on_change=on_encryption
                    />
                    <TextField
                        field=fields::PORT
                        label=|t| t.port_label
                        value=form.port
                        inputmode="numeric"
                        extra_class="field-short"
                    />
                    <TextField
                        field=fields::TIMEOUT_SECONDS
                        label=|t| t.timeout_label
                        value=form.timeout_seconds
                        inputmode="numeric"
                        extra_class="field-short"
                    />
                </div>
            </fieldset>

            <fieldset class="panel">
                <legend>{i18n.text(|t| t.section_sender)}</legend>
                <TextField
                    field=fields::SENDER_NAME
                    label=|t| t.sender_name_label
                    value=form.sender_name
                />
                <TextField
                    field=fields::SENDER_ADDRESS
                    label=|t| t.sender_address_label
                    value=form.sender_address
                    inputmode="email"
                />
            </fieldset>

            <fieldset class="panel">
                <legend>{i18n.text(|t| t.section_auth)}</legend>
                <CheckboxField
                    field=fields::AUTH_ENABLED
                    label=|t| t.auth_enabled_label
                    checked=form.auth_enabled
                />
                <Show when=move || form.auth_enabled.get()>
                    <SelectField
                        field=fields::AUTH_METHOD
                        label=|t| t.oauth.method_label
                        options=vec![("password", tr(|t| t.oauth.method_password)), ("oauth2", tr(|_| "OAuth 2.0"))]
                        value=Signal::derive(move || form.auth_method.get().as_str().to_owned())
                        on_change=on_method
                    />
                    <div class="row row-even">
                        {move || {
                            let (label, help): (Text, Text) = if oauth.get() {
                                (|t| t.oauth.mailbox_label, |t| t.oauth.mailbox_help)
                            } else {
                                (|t| t.auth_username_label, |t| t.auth_username_help)
                            };
                            view! {
                                <TextField
                                    field=fields::AUTH_USERNAME
                                    label=label
                                    value=form.auth_username
                                    autocomplete="username"
                                    help=tr(help)
                                />
                            }
                        }}
                        <div hidden=move || oauth.get()>
                            <TextField
                                field=fields::AUTH_PASSWORD
                                label=|t| t.auth_password_label
                                value=form.auth_password
                                input_type="password"
                                autocomplete="new-password"
                                placeholder=Signal::derive(move || {
                                    if password_set.get() {
                                        i18n.t().password_stored_placeholder.to_owned()
                                    } else {
                                        String::new()
                                    }
                                })
                                help=Signal::derive(move || {
                                    if password_set.get() {
                                        i18n.t().password_help_stored
                                    } else {
                                        i18n.t().password_help_new
                                    }
                                })
                            />
                        </div>
                    </div>
                    <Show when=move || oauth.get()>
                        <OAuthFields form=form saved=saved dirty=dirty notice=oauth_notice reload=reload_saved />
                    </Show>
                </Show>
            </fieldset>

            <fieldset class="panel">
                <legend>{i18n.text(|t| t.section_tls)}</legend>
                <TextAreaField
                    field=fields::TLS_TRUSTED_CA_PEM
                    label=|t| t.tls_ca_label
                    value=form.tls_trusted_ca_pem
                    placeholder="-----BEGIN CERTIFICATE-----"
                />
                <CheckboxField
                    field=fields::TLS_ACCEPT_INVALID_CERTIFICATES
                    label=|t| t.tls_accept_invalid_label
                    checked=form.tls_accept_invalid_certificates
                />
            </fieldset>

            <fieldset class="panel">
                <legend>{i18n.text(|t| t.section_more)}</legend>
                <div class="sender-options">
                    <div class="sender-options-fields">
                        <CheckboxField
                            field=fields::FORCE_DEFAULT_SENDER
                            label=|t| t.force_label
                            checked=form.force_default_sender
                            on_change=on_force
                        />
                        <CheckboxField
                            field=fields::REPLY_TO_INDIVIDUAL_SENDER
                            label=|t| t.reply_to_label
                            checked=form.reply_to_individual_sender
                            disabled=Signal::derive(move || !form.force_default_sender.get())
                        />
                    </div>
                    <SenderPreview form=form />
                </div>
            </fieldset>

            <fieldset class="panel" id="limits">
                <legend>{i18n.text(|t| t.limits.title)}</legend>
                <LimitsFields form=form usage=usage />
            </fieldset>

            {#[cfg(feature = "fallback")]
            view! { <FallbackFields form=form saved=saved /> }}

            <div class="actions">
                <div class="action-buttons">
                    <button type="submit" id="save" class="button button-primary" disabled=move || busy.get()>
                        {move || if busy.get() { i18n.t().saving } else { i18n.t().save }}
                    </button>
                    <button
                        type="button"
                        id="discard"
                        class="button"
                        disabled=move || !dirty.get() || busy.get()
                        on:click=discard
                    >
                        {i18n.text(|t| t.discard)}
                    </button>
                    <Show when=move || dirty.get()>
                        <span class="dirty-flag">{i18n.text(|t| t.unsaved_changes)}</span>
                    </Show>
                </div>
                <div class="action-status">
                    <StatusLine status=status />
                    <Show when=move || status.with(|s| s == &Some(Status::Conflict))>
                        <button
                            type="button"
                            id="reload"
                            class="button"
                            disabled=move || busy.get()
                            on:click=reload
                        >
                            {i18n.text(|t| t.reload)}
                        </button>
                    </Show>
                </div>
                {other_messages}
            </div>
        </form>

        <TestPanel form=form />

        <Show when=move || configured.get()>
            <div class="panel remove">
                <Show
                    when=move || confirm_remove.get()
                    fallback=move || {
                        view! {
                            <button
                                type="button"
                                id="remove"
                                class="button button-danger-quiet"
                                disabled=move || busy.get()
                                on:click=move |_| confirm_remove.set(true)
                            >
                                {i18n.text(|t| t.remove)}
                            </button>
                        }
                    }
                >
                    <p role="alert" inner_html=prose("remove-question")></p>
                    <div class="action-buttons">
                        <button
                            type="button"
                            id="remove-confirm"
                            class="button button-danger"
                            disabled=move || busy.get()
                            on:click=remove
                        >
                            {i18n.text(|t| t.remove_confirm)}
                        </button>
                        <button type="button" class="button" on:click=move |_| confirm_remove.set(false)>
                            {i18n.text(|t| t.cancel)}
                        </button>
                    </div>
                </Show>
            </div>
        </Show>

        <History version=Signal::derive(move || saved.with(|s| s.as_ref().map(|v| v.settings.version))) />
    }
}
