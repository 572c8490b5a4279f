//! Labelled inputs with their help text, warnings and error, wired for screen readers:
//! `<label for>`, `aria-describedby` and `aria-invalid`. Element ids follow the field name
//! (`auth.password` → input `#auth_password`, error `#error-auth_password`). The field a failed
//! test mail points at gets the class `at-fault` and the server's hint beside it (`#test-hint`).

use leptos::prelude::*;

use crate::fault::TestFault;
use crate::form::fields::dom_id;
use crate::i18n::{I18n, Lang};
use crate::state::Feedback;

/// Id of the hint of a failed test mail beside the field at fault.
pub const TEST_HINT_ID: &str = "test-hint";

/// Picks a text from the current language's texts.
pub use crate::i18n::Text;

/// A text of the current language as a signal (`tr(|t| t.host_help)`).
pub fn tr(text: Text) -> Signal<&'static str> {
    let i18n = I18n::get();
    Signal::derive(move || text(i18n.t()))
}

fn ids(field: &str) -> (String, String, String, String) {
    let id = dom_id(field);
    (format!("help-{id}"), format!("warning-{id}"), format!("error-{id}"), id)
}

/// A long text from index.html (see [`crate::i18n::Lang::prose`]) in the current language,
/// for `inner_html` (every such closure is this one type: less code in the page's wasm).
pub fn prose(key: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let i18n = I18n::get();
    move || i18n.lang().prose(key)
}

/// A long text from index.html in a `<p>`.
#[component]
pub fn Prose(key: &'static str, #[prop(default = "field-help")] class: &'static str) -> impl IntoView {
    view! { <p class=class inner_html=prose(key)></p> }
}

/// Whether the field has a help text: given, or in index.html under its input's id.
fn has_help(field: &str, help: Option<Signal<&'static str>>) -> bool {
    help.is_some() || Lang::has_prose(&dom_id(field))
}

/// Whether a failed test mail points at `field` (tracked; false outside the settings form).
fn at_fault(field: &'static str) -> impl Fn() -> bool + Send + Sync + Copy + 'static {
    let fault = use_context::<TestFault>();
    move || fault.is_some_and(|f| f.is_at(field))
}

/// `aria-describedby` for a field: its help, its warnings and error while shown, and the hint
/// of a failed test mail.
fn described_by(
    field: &'static str,
    has_help: bool,
    i18n: I18n,
    feedback: Feedback,
) -> impl Fn() -> String + Send + Sync + Copy + 'static {
    let at_fault = at_fault(field);
    move || {
        let (help, warning, error, _) = ids(field);
        let mut parts = Vec::new();
        if has_help {
            parts.push(help);
        }
        if !feedback.warnings(field, i18n.lang()).is_empty() {
            parts.push(warning);
        }
        if feedback.error(field, i18n.lang()).is_some() {
            parts.push(error);
        }
        if at_fault() {
            parts.push(TEST_HINT_ID.to_owned());
        }
        parts.join(" ")
    }
}

fn invalid(
    field: &'static str,
    i18n: I18n,
    feedback: Feedback,
) -> impl Fn() -> &'static str + Send + Sync + Copy + 'static {
    move || {
        if feedback.error(field, i18n.lang()).is_some() {
            "true"
        } else {
            "false"
        }
    }
}

/// Help text (given, else index.html's for the field's input id, if any), server warnings and
/// the error of one field (the error element exists only while there is an error).
#[component]
pub fn FieldNotes(field: &'static str, #[prop(default = None)] help: Option<Signal<&'static str>>) -> impl IntoView {
    let i18n = I18n::get();
    let feedback = expect_context::<Feedback>();
    let fault = use_context::<TestFault>();
    let (help_id, warning_id, error_id, key) = ids(field);
    let prose = help.is_none() && Lang::has_prose(&key);
    view! {
        {help.map(|help| view! { <p class="field-help" id=help_id.clone()>{move || help.get()}</p> })}
        {prose.then(|| view! { <p class="field-help" id=help_id inner_html=move || i18n.lang().prose(&key)></p> })}
        {move || {
            let warnings = feedback.warnings(field, i18n.lang());
            (!warnings.is_empty())
                .then(|| {
                    view! {
                        <p class="field-warning" id=warning_id.clone()>
                            <strong>{i18n.t().warning_prefix}</strong>
                            " "
                            {warnings.join(" ")}
                        </p>
                    }
                })
        }}
        {move || {
            feedback
                .error(field, i18n.lang())
                .map(|text| view! { <p class="field-error" id=error_id.clone()>{text}</p> })
        }}
        {move || {
            fault
                .and_then(|f| f.hint(field, i18n.lang()))
                .map(|(hint, class)| {
                    view! {
                        <div class="test-hint" data-class=class.as_str()>
                            <p class="test-hint-title">{i18n.lang().failure_class(class)}</p>
                            <p id=TEST_HINT_ID>{hint}</p>
                        </div>
                    }
                })
        }}
    }
}

/// A one-line text input.
#[component]
pub fn TextField(
    field: &'static str,
    label: Text,
    value: RwSignal<String>,
    #[prop(optional, into)] help: Option<Signal<&'static str>>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional, into)] placeholder: Option<Signal<String>>,
    /// Extra class on the wrapper (`field-short` for numbers).
    #[prop(optional)]
    extra_class: Option<&'static str>,
) -> impl IntoView {
    let i18n = I18n::get();
    let feedback = expect_context::<Feedback>();
    let id = dom_id(field);
    view! {
        <div class=format!("field {}", extra_class.unwrap_or("")).trim_end().to_owned()>
            <label for=id.clone()>{move || label(i18n.t())}</label>
            <input
                type=input_type
                id=id.clone()
                name=id
                inputmode=inputmode
                autocomplete=autocomplete
                spellcheck="false"
                placeholder=move || placeholder.map(|p| p.get())
                class=("at-fault", at_fault(field))
                aria-invalid=invalid(field, i18n, feedback)
                aria-describedby=described_by(field, has_help(field, help), i18n, feedback)
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                on:blur=move |_| feedback.touch(field)
            />
            <FieldNotes field=field help=help />
        </div>
    }
}

/// A checkbox with its label to the right.
#[component]
pub fn CheckboxField(
    field: &'static str,
    label: Text,
    checked: RwSignal<bool>,
    #[prop(optional, into)] help: Option<Signal<&'static str>>,
    #[prop(optional, into)] disabled: Option<Signal<bool>>,
    /// Runs after the box was ticked or unticked (with the new state).
    #[prop(optional)]
    on_change: Option<Callback<bool>>,
) -> impl IntoView {
    let i18n = I18n::get();
    let feedback = expect_context::<Feedback>();
    let id = dom_id(field);
    view! {
        <div class="field field-check">
            <div class="check-row">
                <input
                    type="checkbox"
                    id=id.clone()
                    name=id.clone()
                    disabled=move || disabled.map(|d| d.get()).unwrap_or(false)
                    class=("at-fault", at_fault(field))
                    aria-invalid=invalid(field, i18n, feedback)
                    aria-describedby=described_by(field, has_help(field, help), i18n, feedback)
                    prop:checked=move || checked.get()
                    on:change=move |ev| {
                        let now = event_target_checked(&ev);
                        checked.set(now);
                        feedback.touch(field);
                        if let Some(cb) = on_change {
                            cb.run(now);
                        }
                    }
                />
                <label for=id>{move || label(i18n.t())}</label>
            </div>
            <FieldNotes field=field help=help />
        </div>
    }
}

/// A drop-down list; `options` are (value, label) pairs.
#[component]
pub fn SelectField(
    field: &'static str,
    label: Text,
    options: Vec<(&'static str, Signal<&'static str>)>,
    #[prop(into)] value: Signal<String>,
    /// Runs with the chosen option's value.
    on_change: Callback<String>,
    #[prop(optional, into)] help: Option<Signal<&'static str>>,
) -> impl IntoView {
    let i18n = I18n::get();
    let feedback = expect_context::<Feedback>();
    let id = dom_id(field);
    let options = options
        .into_iter()
        .map(|(option, text)| {
            view! {
                <option value=option prop:selected=move || value.get() == option>
                    {move || text.get()}
                </option>
            }
        })
        .collect_view();
    view! {
        <div class="field">
            <label for=id.clone()>{move || label(i18n.t())}</label>
            <select
                id=id.clone()
                name=id
                class=("at-fault", at_fault(field))
                aria-invalid=invalid(field, i18n, feedback)
                aria-describedby=described_by(field, has_help(field, help), i18n, feedback)
                on:change=move |ev| on_change.run(event_target_value(&ev))
                on:blur=move |_| feedback.touch(field)
            >
                {options}
            </select>
            <FieldNotes field=field help=help />
        </div>
    }
}

/// A multi-line text input (monospace, for PEM).
#[component]
pub fn TextAreaField(
    field: &'static str,
    label: Text,
    value: RwSignal<String>,
    #[prop(optional, into)] help: Option<Signal<&'static str>>,
    #[prop(default = 6)] rows: u32,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    let i18n = I18n::get();
    let feedback = expect_context::<Feedback>();
    let id = dom_id(field);
    view! {
        <div class="field">
            <label for=id.clone()>{move || label(i18n.t())}</label>
            <textarea
                id=id.clone()
                name=id
                class="mono"
                rows=rows
                spellcheck="false"
                autocomplete="off"
                placeholder=placeholder
                class=("at-fault", at_fault(field))
                aria-invalid=invalid(field, i18n, feedback)
                aria-describedby=described_by(field, has_help(field, help), i18n, feedback)
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                on:blur=move |_| feedback.touch(field)
            ></textarea>
            <FieldNotes field=field help=help />
        </div>
    }
}
