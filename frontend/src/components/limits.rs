//! The sending limits in the settings form: five inputs (empty: no limit), presets that fill
//! them (an edit like any other: saved with the form, or discarded), and the use against each
//! limit from `GET /api/v1/mail-settings/usage`. The use is read when the form is shown and
//! whenever the saved settings change (saving, discarding), and every 10 s while the page is
//! visible.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use postamt_wire::{LimitReason, SendingLimits, SendingUsage};

use crate::api;
use crate::components::fields::{Prose, TextField};
use crate::form::fields::{dom_id, LIMITS};
use crate::form::limit_texts;
use crate::i18n::{I18n, Lang, Text};
use crate::state::FormState;

const POLL: Duration = Duration::from_secs(10);

/// The inputs' labels, in the order of [`LIMITS`].
const LABELS: [Text; 5] = [
    |t| t.limits.labels[0],
    |t| t.limits.labels[1],
    |t| t.limits.labels[2],
    |t| t.limits.labels[3],
    |t| t.limits.labels[4],
];

/// A preset button: its id, its label and the limits it fills in.
type Preset = (&'static str, Text, fn() -> SendingLimits);

const PRESETS: [Preset; 3] = [
    ("limits-preset-microsoft", |_| "Microsoft 365", SendingLimits::microsoft_365),
    ("limits-preset-google", |_| "Google Workspace", SendingLimits::google_workspace),
    ("limits-preset-none", |t| t.limits.none, SendingLimits::default),
];

fn page_hidden() -> bool {
    web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden())
}

/// Reads the use into `usage`; a failed read keeps the last figures (a 401 has sent the page
/// to the sign-in already). The settings form calls it whenever the saved settings change.
pub fn fetch_usage(usage: RwSignal<Option<SendingUsage>>) {
    spawn_local(async move {
        if let Ok(u) = api::usage_get().await {
            let _ = usage.try_set(Some(u));
        }
    });
}

/// What one line of the use says (`None`: nothing to say yet).
type UsageText = fn(&SendingUsage, Lang, usize) -> Option<String>;

/// "12 / 30 in the last minute" (without a limit: "12 in the last minute").
fn use_of(u: &SendingUsage, lang: Lang, i: usize) -> Option<String> {
    let l = u.limits.iter().find(|l| l.limit == LimitReason::ALL[i])?;
    let max = l.max.map(|m| [" / ", &m.to_string()].concat()).unwrap_or_default();
    Some([&l.used.to_string(), &max, " ", lang.texts().limits.windows[i]].concat())
}

/// "Waiting because of "Messages per minute" until 14:03:07", while messages wait (the
/// limiter's next free slot alone holds nothing back).
fn hold(u: &SendingUsage, lang: Lang, _: usize) -> Option<String> {
    let t = lang.texts().limits;
    let h = u.hold.as_ref().filter(|_| u.waiting_high + u.waiting_normal + u.waiting_low > 0)?;
    let until = h.until.to_rfc3339();
    let at = js_sys::Date::parse(&until);
    // Within the hour the time is enough; a daily limit may hold until tomorrow.
    let when = if at - js_sys::Date::now() < 3_600_000.0 { lang.time_of_day(at) } else { lang.date_time(&until) };
    Some([t.held_by, " ", &lang.limit_reason(h.reason), " ", t.until, " ", &when].concat())
}

/// "Waiting: 0 high, 3 normal, 120 low".
fn waiting(u: &SendingUsage, lang: Lang, _: usize) -> Option<String> {
    let t = lang.texts().limits;
    let mut text = t.waiting.to_owned();
    for (n, (count, name)) in [u.waiting_high, u.waiting_normal, u.waiting_low].iter().zip(t.priorities).enumerate() {
        text.push_str(if n == 0 { " " } else { ", " });
        text.push_str(&[&count.to_string(), " ", name].concat());
    }
    Some(text)
}

#[component]
pub fn LimitsFields(form: FormState, usage: RwSignal<Option<SendingUsage>>) -> impl IntoView {
    let i18n = I18n::get();
    let poll = set_interval_with_handle(
        move || {
            if !page_hidden() {
                fetch_usage(usage);
            }
        },
        POLL,
    );
    on_cleanup(move || {
        if let Ok(handle) = poll {
            handle.clear();
        }
    });
    // Every text of the use is this one closure type (less code in the page's wasm).
    let text = move |f: UsageText, i: usize| move || usage.with(|u| f(u.as_ref()?, i18n.lang(), i));

    let inputs = LIMITS
        .into_iter()
        .zip(LABELS)
        .enumerate()
        .map(|(i, (field, label))| {
            view! {
                <div class="limit">
                    <TextField field=field label=label value=form.limits[i] inputmode="numeric" />
                    <p class="limit-use" id=format!("use-{}", dom_id(field))>{text(use_of, i)}</p>
                </div>
            }
        })
        .collect_view();
    let presets = PRESETS
        .into_iter()
        .map(|(id, label, limits)| {
            view! {
                <button type="button" class="button" id=id on:click=move |_| form.set_limits(&limit_texts(&limits()))>
                    {i18n.text(label)}
                </button>
            }
        })
        .collect_view();

    view! {
        <Prose key="limits-help" class="section-help" />
        <div class="limit-presets">
            <span>{i18n.text(|t| t.limits.presets)}</span>
            {presets}
        </div>
        <div class="limits">{inputs}</div>
        <div class="limits-usage" aria-live="polite">
            <p id="limits-hold" class="notice notice-info">{text(hold, 0)}</p>
            <p id="limits-waiting">{text(waiting, 0)}</p>
        </div>
    }
}
