//! The "Benachrichtigungen / Alerts" tab: the alert channels and conditions in a form of their
//! own (saved with their own version, `If-Match`), a test alert with each channel's answer,
//! and the incidents (`#incidents`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use postamt_wire::{AlertIncident, AlertList, AlertSettings, AlertTestResult};

use crate::api::{self, ApiError};
use crate::components::fields::{tr, CheckboxField, Text, TextAreaField, TextField};
use crate::components::status::{error_text, Status, StatusLine};
use crate::dom::focus_first;
use crate::form::alerts::{self as form, AlertsDraft, FLAG_FIELDS, TEXT_FIELDS};
use crate::i18n::{I18n, Lang};
use crate::state::Feedback;

/// A condition's switch, its help, and its thresholds (text input and label).
struct Condition {
    flag: usize,
    label: Text,
    help: Text,
    inputs: &'static [(usize, Text)],
}

const CONDITIONS: [Condition; 5] = [
    Condition {
        flag: form::FAILURES,
        label: |t| t.alerts.failures,
        help: |t| t.alerts.failures_help,
        inputs: &[
            (form::FAILURES_COUNT, |t| t.alerts.count_label),
            (form::FAILURES_PERCENT, |t| t.alerts.percent_label),
            (form::FAILURES_WINDOW, |t| t.alerts.window_label),
        ],
    },
    Condition {
        flag: form::QUEUE_STUCK,
        label: |t| t.alerts.queue_stuck,
        help: |t| t.alerts.queue_stuck_help,
        inputs: &[(form::STUCK_MINUTES, |t| t.alerts.minutes_label)],
    },
    Condition { flag: form::OAUTH, label: |t| t.alerts.oauth, help: |t| t.alerts.oauth_help, inputs: &[] },
    Condition {
        flag: form::DAILY_QUOTA,
        label: |t| t.alerts.daily_quota,
        help: |t| t.alerts.daily_quota_help,
        inputs: &[(form::QUOTA_WINDOW, |t| t.alerts.window_label)],
    },
    Condition {
        flag: form::FALLBACK_IN_USE,
        label: |t| t.alerts.fallback_in_use,
        help: |t| t.alerts.fallback_in_use_help,
        inputs: &[],
    },
];

/// The saved alert settings and their `ETag`.
type Saved = (AlertSettings, String);

#[component]
pub fn AlertsPage() -> impl IntoView {
    let i18n = I18n::get();
    let loaded = RwSignal::new(None::<Result<Saved, ApiError>>);
    let fetch = move || {
        loaded.set(None);
        spawn_local(async move {
            let result = api::alert_settings_get().await;
            let _ = loaded.try_set(Some(result));
        });
    };
    fetch();

    view! {
        <section class="settings" id="alerts" aria-labelledby="alerts-title">
            <h1 id="alerts-title">{i18n.text(|t| t.alerts.tab)}</h1>
            <p class="lead">{i18n.text(|t| t.alerts.intro)}</p>
            {move || match loaded.get() {
                None => {
                    view! { <p class="page-loading" aria-busy="true">{i18n.text(|t| t.alerts.loading)}</p> }.into_any()
                }
                Some(Err(error)) => {
                    view! {
                        <div class="panel notice notice-error" role="alert">
                            <p>{i18n.text(|t| t.alerts.load_failed)} " " {move || error_text(&error, i18n.lang())}</p>
                            <button type="button" class="button" on:click=move |_| fetch()>
                                {i18n.text(|t| t.retry)}
                            </button>
                        </div>
                    }
                        .into_any()
                }
                Some(Ok(saved)) => view! { <AlertsForm saved=RwSignal::new(saved) /> }.into_any(),
            }}
            <AlertTest />
            <Incidents />
        </section>
    }
}

#[component]
fn AlertsForm(saved: RwSignal<Saved>) -> impl IntoView {
    let i18n = I18n::get();
    let saved_draft = Memo::new(move |_| saved.with(|s| AlertsDraft::from_saved(&s.0)));
    let first = saved_draft.get_untracked();
    let texts = first.texts.map(RwSignal::new);
    let flags = first.flags.map(RwSignal::new);
    let draft = move || AlertsDraft { texts: texts.map(|s| s.get()), flags: flags.map(|s| s.get()) };
    let value_of = move |field: &str| {
        if let Some(i) = TEXT_FIELDS.iter().position(|f| *f == field) {
            return texts[i].get();
        }
        FLAG_FIELDS.iter().position(|f| *f == field).map(|i| flags[i].get().to_string()).unwrap_or_default()
    };
    let issues = Memo::new(move |_| {
        let d = draft();
        saved.with(|s| d.issues(&s.0))
    });
    let feedback = Feedback::with(value_of, form::on_page, RwSignal::new(None), issues);
    provide_context(feedback);

    let status = RwSignal::new(None::<Status>);
    let busy = RwSignal::new(false);
    let dirty = Memo::new(move |_| draft() != saved_draft.get());
    let secret_set = Signal::derive(move || saved.with(|s| s.0.webhook.as_ref().is_some_and(|w| w.secret_set)));

    let apply = move |s: Saved| {
        let d = AlertsDraft::from_saved(&s.0);
        saved.set(s);
        for (signal, value) in texts.iter().zip(d.texts) {
            signal.set(value);
        }
        for (signal, value) in flags.iter().zip(d.flags) {
            signal.set(value);
        }
        feedback.reset();
    };
    let report = move |e: ApiError| match e.status() {
        Some(401) => {}
        Some(412) => status.set(Some(Status::Conflict)),
        _ => status.set(Some(Status::Failed(e))),
    };

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let draft = untrack(draft);
        let problems = feedback.current_issues();
        if !problems.is_empty() {
            feedback.mark_submitted();
            status.set(Some(Status::FixFields));
            focus_first(problems.iter().map(|i| i.field));
            return;
        }
        let input = draft.to_input();
        let etag = saved.with_untracked(|s| s.1.clone());
        busy.set(true);
        status.set(Some(Status::Saving));
        spawn_local(async move {
            let result = api::alert_settings_put(&input, &etag).await;
            busy.set(false);
            match result {
                Ok(s) => {
                    let version = s.0.version;
                    apply(s);
                    status.set(Some(Status::Saved(version)));
                }
                Err(ApiError::Api { mut problem, .. }) if problem.status == 422 && !problem.errors.is_empty() => {
                    for e in &mut problem.errors {
                        e.field = form::error_field(&e.field).to_owned();
                    }
                    let order: Vec<&str> =
                        form::ALL.into_iter().filter(|f| problem.errors.iter().any(|e| e.field == *f)).collect();
                    feedback.set_server_errors(|f| draft.field_value(f), problem.errors);
                    status.set(Some(Status::ServerRejected));
                    focus_first(order);
                }
                Err(e) => report(e),
            }
        });
    };
    let discard = move |_| {
        apply(saved.get_untracked());
        status.set(Some(Status::Discarded));
    };
    let reload = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = api::alert_settings_get().await;
            busy.set(false);
            match result {
                Ok(s) => {
                    apply(s);
                    status.set(Some(Status::Reloaded));
                }
                Err(e) => report(e),
            }
        });
    };

    let conditions = CONDITIONS
        .iter()
        .map(|c| {
            let inputs = c
                .inputs
                .iter()
                .map(|&(i, label)| {
                    view! {
                        <TextField
                            field=TEXT_FIELDS[i]
                            label=label
                            value=texts[i]
                            inputmode="decimal"
                            extra_class="field-short"
                        />
                    }
                })
                .collect_view();
            view! {
                <div class="condition">
                    <CheckboxField
                        field=FLAG_FIELDS[c.flag]
                        label=c.label
                        checked=flags[c.flag]
                        help=tr(c.help)
                    />
                    <div class="row">{inputs}</div>
                </div>
            }
        })
        .collect_view();

    let other_errors = move || {
        let errors = feedback.other_server_errors(i18n.lang());
        (!errors.is_empty()).then(|| {
            view! {
                <ul class="other-messages">
                    {errors.into_iter().map(|e| view! { <li class="field-error">{e}</li> }).collect_view()}
                </ul>
            }
        })
    };

    view! {
        <form class="settings-form" id="alerts-form" novalidate on:submit=save>
            <fieldset class="panel">
                <legend>{i18n.text(|t| t.alerts.channels)}</legend>
                <CheckboxField
                    field=FLAG_FIELDS[form::WEBHOOK]
                    label=|t| t.alerts.webhook_label
                    checked=flags[form::WEBHOOK]
                    help=tr(|t| t.alerts.webhook_help)
                />
                <div class="row row-even" hidden=move || !flags[form::WEBHOOK].get()>
                    <TextField
                        field=TEXT_FIELDS[form::URL]
                        label=|t| t.alerts.url_label
                        value=texts[form::URL]
                        inputmode="url"
                        placeholder="https://"
                    />
                    <TextField
                        field=TEXT_FIELDS[form::SECRET]
                        label=|t| t.alerts.secret_label
                        value=texts[form::SECRET]
                        input_type="password"
                        autocomplete="new-password"
                        placeholder=Signal::derive(move || {
                            if secret_set.get() { i18n.t().password_stored_placeholder.to_owned() } else { String::new() }
                        })
                        help=Signal::derive(move || {
                            if secret_set.get() { i18n.t().alerts.secret_help_stored } else { i18n.t().alerts.secret_help_new }
                        })
                    />
                </div>
                <CheckboxField
                    field=FLAG_FIELDS[form::EMAIL]
                    label=|t| t.alerts.email_label
                    checked=flags[form::EMAIL]
                    help=tr(|t| t.alerts.email_help)
                />
                <div hidden=move || !flags[form::EMAIL].get()>
                    <TextAreaField
                        field=TEXT_FIELDS[form::RECIPIENTS]
                        label=|t| t.alerts.recipients_label
                        value=texts[form::RECIPIENTS]
                        rows=3
                        help=tr(|t| t.alerts.recipients_help)
                    />
                </div>
            </fieldset>
            <fieldset class="panel">
                <legend>{i18n.text(|t| t.alerts.conditions)}</legend>
                {conditions}
            </fieldset>
            <div class="actions">
                <div class="action-buttons">
                    <button type="submit" id="alerts-save" class="button button-primary" disabled=move || busy.get()>
                        {move || if busy.get() { i18n.t().saving } else { i18n.t().save }}
                    </button>
                    <button
                        type="button"
                        id="alerts-discard"
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
                        <button type="button" id="reload" class="button" disabled=move || busy.get() on:click=reload>
                            {i18n.text(|t| t.reload)}
                        </button>
                    </Show>
                </div>
                {other_errors}
            </div>
        </form>
    }
}

/// "Testbenachrichtigung senden": a test to every saved channel, each channel's answer.
#[component]
fn AlertTest() -> impl IntoView {
    let i18n = I18n::get();
    // None: not run; Some(None): running.
    let run = RwSignal::new(None::<Option<Result<AlertTestResult, ApiError>>>);
    let start = move |_| {
        if run.with_untracked(|r| matches!(r, Some(None))) {
            return;
        }
        run.set(Some(None));
        spawn_local(async move {
            let result = api::alerts_test().await;
            let _ = run.try_set(Some(Some(result)));
        });
    };
    let outcome = move || {
        let lang = i18n.lang();
        run.with(|r| match r {
            None => ().into_any(),
            Some(None) => view! { <p class="status" data-state="busy">{lang.texts().alerts.test_busy}</p> }.into_any(),
            Some(Some(Ok(result))) => {
                let items = result
                    .results
                    .iter()
                    .map(|o| {
                        let text = lang.alert_test_outcome(
                            o.channel,
                            o.ok,
                            o.status,
                            o.error.as_deref(),
                            o.message_id.as_deref(),
                        );
                        let state = if o.ok { "ok" } else { "error" };
                        view! {
                            <li class="status" data-channel=o.channel.as_str() data-ok=o.ok.to_string() data-state=state>
                                {text}
                            </li>
                        }
                    })
                    .collect_view();
                view! { <ul id="alert-test-result" class="plain-list">{items}</ul> }.into_any()
            }
            Some(Some(Err(e))) => {
                let text = match e.status() {
                    Some(409) => lang.texts().alerts.test_no_channel.to_owned(),
                    _ => error_text(e, lang),
                };
                view! { <p id="alert-test-result" class="status" data-state="error">{text}</p> }.into_any()
            }
        })
    };
    view! {
        <div class="panel">
            <h2>{i18n.text(|t| t.alerts.test_title)}</h2>
            <p class="section-help">{i18n.text(|t| t.alerts.test_help)}</p>
            <button
                type="button"
                id="alert-test"
                class="button"
                disabled=move || run.with(|r| matches!(r, Some(None)))
                on:click=start
            >
                {i18n.text(|t| t.alerts.test_run)}
            </button>
            {outcome}
        </div>
    }
}

fn incident_view(lang: Lang, i: &AlertIncident) -> impl IntoView {
    let t = lang.texts().alerts;
    let when =
        |label: &'static str, at: Option<String>| at.map(|at| view! { <dt>{label}</dt><dd>{lang.date_time(&at)}</dd> });
    let deliveries = i
        .notifications
        .iter()
        .map(|n| view! { <li>{lang.alert_deliveries(n.channel, n.delivered, n.pending, n.failed)}</li> })
        .collect_view();
    view! {
        <li class="error-entry incident" data-state=lang_state(i) data-condition=i.condition.as_str()>
            <p class="entry-head">
                <span class="group-title">{lang.alert_condition(i.condition)}</span>
                <span class="badge">{lang.incident_state(i.state)}</span>
                <code class="class-code">{format!("#{}", i.id)}</code>
            </p>
            <p>{i.detail.clone()}</p>
            <dl class="facts">
                {when(t.opened_at, Some(i.opened_at.to_rfc3339()))}
                {when(t.last_seen_at, Some(i.last_seen_at.to_rfc3339()))}
                {when(t.resolved_at, i.resolved_at.as_ref().map(|r| r.to_rfc3339()))}
                <dt>{t.notifications}</dt>
                <dd>
                    <ul class="plain-list">{deliveries}</ul>
                </dd>
            </dl>
        </li>
    }
}

/// `data-state` of an incident: `firing` or `resolved`.
fn lang_state(i: &AlertIncident) -> &'static str {
    match i.state {
        postamt_wire::IncidentState::Firing => "firing",
        postamt_wire::IncidentState::Resolved => "resolved",
    }
}

/// The incidents, newest first, loaded when the tab opens and on "Aktualisieren".
#[component]
fn Incidents() -> impl IntoView {
    let i18n = I18n::get();
    let list = RwSignal::new(None::<Result<AlertList, ApiError>>);
    let fetch = move || {
        spawn_local(async move {
            let result = api::alerts_list().await;
            let _ = list.try_set(Some(result));
        });
    };
    fetch();
    let body = move || {
        let lang = i18n.lang();
        list.with(|l| match l {
            None => view! { <p class="page-loading" aria-busy="true">{lang.texts().loading}</p> }.into_any(),
            Some(Err(e)) => view! {
                <p class="status" data-state="error">{lang.texts().alerts.incidents_failed} " " {error_text(e, lang)}</p>
            }
            .into_any(),
            Some(Ok(l)) if l.incidents.is_empty() => {
                view! { <p class="empty-state">{lang.texts().alerts.incidents_empty}</p> }.into_any()
            }
            Some(Ok(l)) => {
                let items = l.incidents.iter().map(|i| incident_view(lang, i)).collect_view();
                view! { <ol class="plain-list">{items}</ol> }.into_any()
            }
        })
    };
    view! {
        <div class="panel" id="incidents">
            <div class="log-toolbar">
                <h2>{i18n.text(|t| t.alerts.incidents)}</h2>
                <button type="button" id="incidents-refresh" class="button button-quiet" on:click=move |_| fetch()>
                    {i18n.text(|t| t.alerts.refresh)}
                </button>
            </div>
            {body}
        </div>
    }
}
