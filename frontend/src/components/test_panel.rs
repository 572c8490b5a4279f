//! "Testmail senden / Send test mail": tests the form's current, unsaved values against the real
//! server. While a test runs the page shows the seconds passed and a cancel button that aborts
//! the request; afterwards the result, and the field at fault highlighted with its hint.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use postamt_wire::{FieldError, MailConnection, MailTestMode, MailTestResult};
use web_sys::AbortController;

use crate::api::{self, ApiError};
use crate::components::fields::{prose, Prose};
use crate::components::status::error_text;
use crate::components::test_result::TestResultView;
use crate::dom;
use crate::fault::TestFault;
use crate::form::fallback::fields as fallback_fields;
use crate::form::{fields, Draft};
use crate::i18n::{I18n, Lang, TestTexts};
use crate::mail_test::{self, input_id, parse_mode, test_fields, TestInputs};
use crate::state::{Feedback, FormState};
use crate::validate::codes;

/// Where the panel is.
#[derive(Debug, Clone, PartialEq)]
enum Run {
    Idle,
    Running {
        max_s: u64,
    },
    Done(Box<MailTestResult>),
    Cancelled,
    /// Not started: fields to correct first (client-side checks).
    FixFields,
    /// Not started: the server rejected some inputs (422).
    Rejected,
    /// 429, with the seconds from `Retry-After`.
    Throttled(Option<u64>),
    Failed(ApiError),
}

impl Run {
    fn running(&self) -> bool {
        matches!(self, Run::Running { .. })
    }

    /// `data-state` of the status line.
    fn state(&self) -> Option<&'static str> {
        match self {
            Run::Idle | Run::Done(_) => None,
            Run::Running { .. } => Some("busy"),
            Run::Cancelled => Some("info"),
            Run::FixFields | Run::Rejected | Run::Throttled(_) | Run::Failed(_) => Some("error"),
        }
    }

    fn text(&self, lang: Lang, elapsed_s: u64) -> Option<String> {
        let t = lang.texts().test;
        Some(match self {
            Run::Idle | Run::Done(_) => return None,
            Run::Running { max_s } => lang.test_running(elapsed_s, *max_s),
            Run::Cancelled => t.cancelled.to_owned(),
            Run::FixFields => t.fix_fields.to_owned(),
            Run::Rejected => t.server_rejected.to_owned(),
            Run::Throttled(retry_after) => lang.test_throttled(*retry_after),
            Run::Failed(e) => error_text(e, lang),
        })
    }
}

/// A one-line input of the panel with its label, help, error and the hint of a failed test.
#[component]
fn PanelInput(
    field: &'static str,
    label: fn(&'static TestTexts) -> &'static str,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] help: Option<fn(&'static TestTexts) -> &'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    /// Runs with the new text on every keystroke.
    on_input: Callback<String>,
) -> impl IntoView {
    let i18n = I18n::get();
    let fault = expect_context::<TestFault>();
    let id = input_id(field);
    let (help_id, error_id) = (format!("help-{id}"), format!("error-{id}"));
    let described_by = {
        let (help_id, error_id) = (help_id.clone(), error_id.clone());
        move || {
            let mut parts = Vec::new();
            if help.is_some() {
                parts.push(help_id.clone());
            }
            if error.with(Option::is_some) {
                parts.push(error_id.clone());
            }
            if fault.is_at(field) {
                parts.push(crate::components::fields::TEST_HINT_ID.to_owned());
            }
            parts.join(" ")
        }
    };
    view! {
        <div class="field">
            <label for=id.clone()>{move || label(i18n.t().test)}</label>
            <input
                type="text"
                id=id
                inputmode=inputmode
                autocomplete="off"
                spellcheck="false"
                class=("at-fault", move || fault.is_at(field))
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=described_by
                prop:value=move || value.get()
                on:input=move |ev| on_input.run(event_target_value(&ev))
            />
            {help.map(|help| view! { <p class="field-help" id=help_id>{move || help(i18n.t().test)}</p> })}
            {move || error.get().map(|text| view! { <p class="field-error" id=error_id.clone()>{text}</p> })}
            {move || {
                fault
                    .hint(field, i18n.lang())
                    .map(|(hint, class)| {
                        view! {
                            <div class="test-hint" data-class=class.as_str()>
                                <p class="test-hint-title">{i18n.lang().failure_class(class)}</p>
                                <p id=crate::components::fields::TEST_HINT_ID>{hint}</p>
                            </div>
                        }
                    })
            }}
        </div>
    }
}

#[component]
pub fn TestPanel(form: FormState) -> impl IntoView {
    let i18n = I18n::get();
    let t = move || i18n.t().test;
    let feedback = expect_context::<Feedback>();
    let fault = expect_context::<TestFault>();

    let recipient = RwSignal::new(form.sender_address.get_untracked().trim().to_owned());
    // The recipient follows the sender address until the admin types one of their own.
    let recipient_own = RwSignal::new(false);
    Effect::new(move |_| {
        let sender = form.sender_address.get();
        if !recipient_own.get_untracked() {
            recipient.set(sender.trim().to_owned());
        }
    });
    let mode = RwSignal::new(MailTestMode::Send);
    let acting_name = RwSignal::new(String::new());
    let acting_address = RwSignal::new(String::new());
    // "Ersatzserver" chosen (a bool: cheaper in the page's wasm than a signal of its own type).
    #[cfg(feature = "fallback")]
    let over_fallback = RwSignal::new(false);
    #[cfg(feature = "fallback")]
    let connection = move || if over_fallback.get() { MailConnection::Fallback } else { MailConnection::Primary };
    #[cfg(not(feature = "fallback"))]
    let connection = || MailConnection::Primary;

    let run = RwSignal::new(Run::Idle);
    let elapsed = RwSignal::new(0u64);
    // The panel's own errors show after the first attempt to run.
    let attempted = RwSignal::new(false);
    // 422 errors about the panel's inputs, each until that input is edited.
    let server_errors = RwSignal::new(Vec::<FieldError>::new());
    let controller = StoredValue::new_local(None::<AbortController>);
    let ticker = StoredValue::new(None::<IntervalHandle>);
    // Tells a finished request whether it is still the one the panel waits for.
    let generation = StoredValue::new(0u64);

    let inputs = move || TestInputs {
        recipient: recipient.get(),
        mode: mode.get(),
        acting_name: acting_name.get(),
        acting_address: acting_address.get(),
        connection: connection(),
    };

    let error_of = move |field: &'static str| {
        Signal::derive(move || {
            let lang = i18n.lang();
            if attempted.get() {
                if let Some(issue) = inputs().issues().into_iter().find(|i| i.field == field) {
                    return Some(if field == test_fields::ACTING_ADDRESS && issue.code == codes::REQUIRED {
                        lang.texts().test.acting_address_missing.to_owned()
                    } else {
                        lang.field_error(field, issue.code, None)
                    });
                }
            }
            server_errors.with(|errors| {
                errors.iter().find(|e| e.field == field).map(|e| lang.field_error(field, &e.code, Some(&e.message)))
            })
        })
    };
    // Editing an input ends what the last test or the server said about it.
    let edited = move |field: &'static str| {
        fault.clear_field(field);
        if server_errors.with_untracked(|errors| errors.iter().any(|e| e.field == field)) {
            server_errors.update(|errors| errors.retain(|e| e.field != field));
        }
    };

    // Stops the clock and forgets the request (after the answer, on cancel, when the page goes).
    let stop = move || {
        if let Some(Some(handle)) = ticker.try_update_value(Option::take) {
            handle.clear();
        }
        controller.try_update_value(Option::take).flatten()
    };
    on_cleanup(move || {
        let _ = generation.try_update_value(|g| *g += 1);
        if let Some(request) = stop() {
            request.abort();
        }
    });

    let finish = move |result: Result<MailTestResult, ApiError>, draft: Draft, over: MailConnection| match result {
        Ok(result) => {
            fault.set(result.failure.as_ref(), over == MailConnection::Fallback);
            let at = untrack(|| fault.shown_at());
            run.set(Run::Done(Box::new(result)));
            // Once drawn: bring the field at fault into view, else the result.
            request_animation_frame(move || {
                if !at.is_some_and(|field| dom::reveal(&input_id(field))) {
                    dom::reveal("test-result");
                }
            });
        }
        Err(ApiError::Api { problem, .. }) if problem.status == 422 && !problem.errors.is_empty() => {
            let (own, settings): (Vec<_>, Vec<_>) =
                problem.errors.into_iter().partition(|e| test_fields::ALL.contains(&e.field.as_str()));
            let order: Vec<&str> = fields::ALL
                .into_iter()
                .chain(fallback_fields::ALL)
                .filter(|f| settings.iter().any(|e| e.field == *f))
                .chain(test_fields::ALL.into_iter().filter(|f| own.iter().any(|e| e.field == *f)))
                .collect();
            if !settings.is_empty() {
                feedback.set_server_errors(|f| draft.field_value(f), settings);
            }
            server_errors.set(own);
            run.set(Run::Rejected);
            dom::focus_first(order);
        }
        Err(ApiError::Api { problem, retry_after }) if problem.status == 429 => run.set(Run::Throttled(retry_after)),
        // The app has already gone back to the sign-in view.
        Err(e) if e.status() == Some(401) => run.set(Run::Idle),
        Err(e) => run.set(Run::Failed(e)),
    };

    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if run.with_untracked(Run::running) {
            return;
        }
        fault.clear();
        server_errors.set(Vec::new());
        attempted.set(true);
        let draft = form.draft_untracked();
        let panel = untrack(inputs);
        let form_issues = feedback.current_issues();
        let panel_issues = panel.issues();
        if !form_issues.is_empty() || !panel_issues.is_empty() {
            if !form_issues.is_empty() {
                feedback.mark_submitted();
            }
            run.set(Run::FixFields);
            dom::focus_first(form_issues.iter().chain(&panel_issues).map(|i| i.field));
            return;
        }
        let abort = match AbortController::new() {
            Ok(abort) => abort,
            Err(e) => {
                run.set(Run::Failed(ApiError::Network(crate::api::js_error_text(&e))));
                return;
            }
        };
        let signal = abort.signal();
        controller.set_value(Some(abort));
        let request = panel.request(&draft);
        let over = request.connection;
        let wait_ms = mail_test::wait_ms(&draft);
        let mine = generation.get_value() + 1;
        generation.set_value(mine);

        elapsed.set(0);
        run.set(Run::Running { max_s: mail_test::max_seconds(&draft) });
        let started = js_sys::Date::now();
        let tick = move || {
            let seconds = ((js_sys::Date::now() - started) / 1000.0).max(0.0);
            let _ = elapsed.try_set(seconds as u64);
        };
        ticker.set_value(set_interval_with_handle(tick, Duration::from_millis(250)).ok());
        request_animation_frame(|| {
            dom::focus("test-cancel");
        });

        spawn_local(async move {
            let result = api::mail_test(&request, &signal, wait_ms).await;
            // Cancelled, a newer test, or the panel is gone.
            if generation.try_get_value() != Some(mine) {
                return;
            }
            stop();
            finish(result, draft, over);
        });
    };

    let cancel = move |_| {
        if !run.with_untracked(Run::running) {
            return;
        }
        generation.update_value(|g| *g += 1);
        if let Some(request) = stop() {
            request.abort();
        }
        run.set(Run::Cancelled);
        request_animation_frame(|| {
            dom::focus("test-run");
        });
    };

    let running = Signal::derive(move || run.with(Run::running));
    let max_s = move || match run.get() {
        Run::Running { max_s } => max_s,
        _ => 0,
    };

    view! {
        <section class="panel test-panel" id="test" aria-labelledby="test-title">
            <h2 id="test-title">{i18n.text(|t| t.test.title)}</h2>
            <Prose key="test-intro" class="section-help" />
            // A form of its own, so Enter in its inputs runs the test (and never saves the settings).
            <form class="test-form" novalidate on:submit=start>
                <div class="row row-even">
                    <PanelInput
                        field=test_fields::RECIPIENT
                        label=|t| t.recipient_label
                        value=recipient
                        error=error_of(test_fields::RECIPIENT)
                        help=|t| t.recipient_help
                        inputmode="email"
                        on_input=Callback::new(move |text: String| {
                            recipient_own.set(!text.trim().is_empty());
                            recipient.set(text);
                            edited(test_fields::RECIPIENT);
                        })
                    />
                    <div class="field">
                        <label for="test-mode">{i18n.text(|t| t.test.mode_label)}</label>
                        <select
                            id="test-mode"
                            aria-describedby="help-test-mode"
                            on:change=move |ev| mode.set(parse_mode(&event_target_value(&ev)))
                        >
                            <option value="send" prop:selected=move || mode.get() == MailTestMode::Send>
                                {i18n.text(|t| t.test.mode_send)}
                            </option>
                            <option value="probe" prop:selected=move || mode.get() == MailTestMode::Probe>
                                {i18n.text(|t| t.test.mode_probe)}
                            </option>
                        </select>
                        <p class="field-help" id="help-test-mode" inner_html=prose("test-mode")></p>
                    </div>
                    {#[cfg(feature = "fallback")]
                    view! {
                    <div class="field" hidden=move || !form.fallback.enabled.get()>
                        <label for="test-connection">{i18n.text(|t| t.fallback.test_connection)}</label>
                        <select
                            id="test-connection"
                            on:change=move |ev| over_fallback.set(event_target_value(&ev) == "fallback")
                        >
                            <option value="primary" prop:selected=move || !over_fallback.get()>
                                {i18n.text(|t| t.fallback.test_primary)}
                            </option>
                            <option value="fallback" prop:selected=move || over_fallback.get()>
                                {i18n.text(|t| t.fallback.test_fallback)}
                            </option>
                        </select>
                    </div>
                    }}
                </div>
                <fieldset class="subgroup">
                    <legend>{i18n.text(|t| t.test.acting_legend)}</legend>
                    <Prose key="test-acting" />
                    <div class="row row-even">
                        <PanelInput
                            field=test_fields::ACTING_NAME
                            label=|t| t.acting_name_label
                            value=acting_name
                            error=error_of(test_fields::ACTING_NAME)
                            on_input=Callback::new(move |text: String| {
                                acting_name.set(text);
                                edited(test_fields::ACTING_NAME);
                            })
                        />
                        <PanelInput
                            field=test_fields::ACTING_ADDRESS
                            label=|t| t.acting_address_label
                            value=acting_address
                            error=error_of(test_fields::ACTING_ADDRESS)
                            inputmode="email"
                            on_input=Callback::new(move |text: String| {
                                acting_address.set(text);
                                edited(test_fields::ACTING_ADDRESS);
                            })
                        />
                    </div>
                </fieldset>

                <div class="test-actions">
                    <button type="submit" id="test-run" class="button button-primary" disabled=move || running.get()>
                        {move || if mode.get() == MailTestMode::Probe { t().run_probe } else { t().run_send }}
                    </button>
                    <Show when=move || running.get()>
                        <button type="button" id="test-cancel" class="button" on:click=cancel>
                            {i18n.text(|t| t.test.cancel)}
                        </button>
                        <progress
                            class="test-progress"
                            max=move || max_s().to_string()
                            value=move || elapsed.get().min(max_s()).to_string()
                            aria-hidden="true"
                        ></progress>
                    </Show>
                    <p
                        id="test-status"
                        class="status"
                        role="status"
                        aria-live="polite"
                        data-state=move || run.with(Run::state)
                    >
                        {move || run.with(|r| r.text(i18n.lang(), elapsed.get()))}
                    </p>
                </div>
            </form>
            {move || match run.get() {
                Run::Done(result) => Some(view! { <TestResultView result=*result /> }),
                _ => None,
            }}
        </section>
    }
}
