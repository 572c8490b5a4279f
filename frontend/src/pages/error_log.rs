//! The "Fehlerprotokoll / Error log" tab: the failures of the last 24 hours grouped by class
//! (`#errors-groups`) and one by one (`#errors-list`), refreshed every 30 seconds while the tab
//! is open (and the browser tab visible), plus the mail-log download.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use postamt_wire::{ErrorGroup, MailLogEntry};

use crate::api::{self, ApiError};
use crate::components::fields::Prose;
use crate::components::log_export::LogExport;
use crate::components::status::error_text;
use crate::form::fields;
use crate::i18n::{I18n, Lang};

const REFRESH: Duration = Duration::from_secs(30);
/// Failures listed one by one (the groups count all of them).
const LIST_LIMIT: u32 = 100;

#[derive(Debug, Clone, PartialEq)]
struct Loaded {
    groups: Vec<ErrorGroup>,
    entries: Vec<MailLogEntry>,
    total: u64,
    /// When it was loaded (ms since the epoch).
    at_ms: f64,
}

fn hint(lang: Lang, entry: &MailLogEntry) -> Option<String> {
    match (&entry.hint_de, &entry.hint_en) {
        (Some(de), Some(en)) => Some(lang.pick(de, en).to_owned()),
        (de, en) => de.clone().or_else(|| en.clone()),
    }
}

/// The settings field at fault, labelled; none for the message's own recipient (not a setting).
fn setting(lang: Lang, entry: &MailLogEntry) -> Option<String> {
    entry.field.map(|f| f.as_str()).filter(|f| fields::ALL.contains(f)).map(|f| lang.field_label(f))
}

fn class_title(lang: Lang, entry: &MailLogEntry) -> String {
    match entry.class {
        Some(class) => lang.failure_class(class),
        None => lang.texts().log.no_class.to_owned(),
    }
}

fn group_view(lang: Lang, group: ErrorGroup) -> impl IntoView {
    let t = lang.texts().log;
    let times = format!(
        "{} {} · {} {}",
        t.first_seen,
        lang.date_time(&group.first_seen.to_rfc3339()),
        t.last_seen,
        lang.date_time(&group.last_seen.to_rfc3339())
    );
    let field = setting(lang, &group.latest);
    view! {
        <li class="error-group" data-class=group.class.as_str()>
            <p class="group-head">
                <span class="group-title">{lang.failure_class(group.class)}</span>
                <span class="group-count">{lang.error_count(group.count)}</span>
                <code class="class-code">{group.class.as_str()}</code>
            </p>
            <p class="group-times">{times}</p>
            {field.map(|f| view! { <p class="group-field">{t.field} ": " {f}</p> })}
            {hint(lang, &group.latest).map(|h| view! { <p class="group-hint">{h}</p> })}
        </li>
    }
}

fn entry_view(lang: Lang, entry: MailLogEntry) -> impl IntoView {
    let t = lang.texts().log;
    let mut status = lang.message_status(entry.status).to_owned();
    if let Some(n) = entry.attempt {
        status.push_str(&format!(" · {}", lang.attempt(n)));
    }
    let row = |label: &'static str, value: Option<String>, class: &'static str| {
        value.map(|v| view! { <dt>{label}</dt><dd class=class>{v}</dd> })
    };
    view! {
        <li class="error-entry" data-class=entry.class.map(|c| c.as_str()) data-id=entry.id>
            <p class="entry-head">
                <time datetime=entry.at.to_rfc3339()>{lang.date_time(&entry.at.to_rfc3339())}</time>
                <span class="badge">{lang.category(&entry.category)}</span>
                <span class="entry-class">{class_title(lang, &entry)}</span>
                <span class="entry-status">{status}</span>
            </p>
            <dl class="facts">
                {row(t.recipients, Some(entry.recipients.join(", ")).filter(|r| !r.is_empty()), "")}
                {row(t.stage, entry.stage.map(|s| lang.stage_name(s).to_owned()), "")}
                {row(t.smtp_reply, entry.smtp_reply.clone(), "mono")}
                {row(t.field, setting(lang, &entry), "")}
                {row(t.server, entry.server.clone(), "mono")}
                {row(t.hint, hint(lang, &entry), "entry-hint")}
            </dl>
        </li>
    }
}

#[component]
pub fn ErrorLogPage() -> impl IntoView {
    let i18n = I18n::get();
    let t = move || i18n.t().log;
    let data = RwSignal::new(None::<Loaded>);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);

    let fetch = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = match api::mail_errors_grouped().await {
                Ok(grouped) => api::mail_errors_list(LIST_LIMIT).await.map(|listed| Loaded {
                    groups: grouped.groups,
                    entries: listed.entries,
                    total: listed.total,
                    at_ms: js_sys::Date::now(),
                }),
                Err(e) => Err(e),
            };
            busy.set(false);
            match result {
                Ok(loaded) => {
                    data.set(Some(loaded));
                    error.set(None);
                }
                // The app has already gone back to the sign-in view.
                Err(e) if e.status() == Some(401) => {}
                Err(e) => error.set(Some(e)),
            }
        });
    };
    fetch();
    // Only while this tab is open: unmounting it stops the timer.
    let refresh = move || {
        let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
        if !hidden {
            fetch();
        }
    };
    if let Ok(handle) = set_interval_with_handle(refresh, REFRESH) {
        on_cleanup(move || handle.clear());
    }

    let content = move || {
        let lang = i18n.lang();
        let t = lang.texts().log;
        let Some(loaded) = data.get() else {
            return busy.get().then(|| view! { <p class="page-loading" aria-busy="true">{t.loading}</p> }).into_any();
        };
        if loaded.total == 0 && loaded.groups.is_empty() && loaded.entries.is_empty() {
            return view! { <p id="errors-empty" class="panel empty-state">{t.empty}</p> }.into_any();
        }
        let shown = loaded.entries.len();
        let more = (u64::try_from(shown).unwrap_or(u64::MAX) < loaded.total)
            .then(|| view! { <p class="muted">{lang.errors_shown(shown, loaded.total)}</p> });
        view! {
            <section class="panel" aria-labelledby="errors-groups-title">
                <h2 id="errors-groups-title">{t.groups_title}</h2>
                <ul id="errors-groups" class="error-groups">
                    {loaded.groups.into_iter().map(|g| group_view(lang, g)).collect_view()}
                </ul>
            </section>
            <section class="panel" aria-labelledby="errors-list-title">
                <h2 id="errors-list-title">{t.list_title}</h2>
                {more}
                <ol id="errors-list" class="error-list">
                    {loaded.entries.into_iter().map(|e| entry_view(lang, e)).collect_view()}
                </ol>
            </section>
        }
        .into_any()
    };

    view! {
        <section class="error-log" id="errors" aria-labelledby="errors-title">
            <h1 id="errors-title">{i18n.text(|t| t.log.title)}</h1>
            <Prose key="log-intro" class="lead" />
            <LogExport />
            <div class="log-toolbar">
                <button
                    type="button"
                    id="errors-refresh"
                    class="button"
                    disabled=move || busy.get()
                    on:click=move |_| fetch()
                >
                    {i18n.text(|t| t.log.refresh)}
                </button>
                <p class="muted" id="errors-updated" aria-live="polite">
                    {move || data.with(|d| d.as_ref().map(|d| i18n.lang().updated_at(&i18n.lang().time_of_day(d.at_ms))))}
                </p>
            </div>
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <div class="notice notice-error" role="alert">
                                <p>{t().failed} " " {error_text(&e, i18n.lang())}</p>
                            </div>
                        }
                    })
            }}
            {content}
        </section>
    }
}
