//! "Verlauf / History": who changed which field when. Loaded when opened, and again whenever
//! the saved version changes while it is open. Secret fields show only "changed".

use leptos::prelude::*;
use leptos::task::spawn_local;
use postamt_wire::{FieldChange, SettingsAction, SettingsHistory};

use crate::api::{self, ApiError};
use crate::components::status::error_text;
use crate::i18n::{I18n, Lang};

#[derive(Debug, Clone, PartialEq)]
enum Load {
    Idle,
    Loading,
    Loaded(SettingsHistory),
    Failed(ApiError),
}

const MAX_VALUE_CHARS: usize = 60;

fn short(value: &Option<String>, lang: Lang) -> String {
    match value.as_deref() {
        None | Some("") => lang.texts().history_empty_value.to_owned(),
        Some("true") => lang.texts().yes.to_owned(),
        Some("false") => lang.texts().no.to_owned(),
        Some(v) if v.chars().count() > MAX_VALUE_CHARS => {
            format!("{} …", v.chars().take(MAX_VALUE_CHARS).collect::<String>())
        }
        Some(v) => v.to_owned(),
    }
}

fn change_text(change: &FieldChange, lang: Lang) -> String {
    let label = lang.field_label(&change.field);
    if change.secret {
        format!("{label}: {}", lang.texts().history_secret_changed)
    } else {
        format!("{label}: {} → {}", short(&change.old, lang), short(&change.new, lang))
    }
}

#[component]
pub fn History(version: Signal<Option<i64>>) -> impl IntoView {
    let i18n = I18n::get();
    let open = RwSignal::new(false);
    let load = RwSignal::new(Load::Idle);

    let fetch = move || {
        load.set(Load::Loading);
        spawn_local(async move {
            load.set(match api::history_get().await {
                Ok(history) => Load::Loaded(history),
                Err(e) => Load::Failed(e),
            });
        });
    };
    // Load on opening, and reload after every save or removal while open.
    Effect::new(move |_| {
        let _ = version.get();
        if open.get() {
            fetch();
        }
    });

    let entries = move || {
        let lang = i18n.lang();
        let t = lang.texts();
        match load.get() {
            Load::Idle => ().into_any(),
            Load::Loading => view! { <p class="muted">{t.history_loading}</p> }.into_any(),
            Load::Failed(e) => {
                view! { <p class="field-error">{t.history_failed} " " {error_text(&e, lang)}</p> }.into_any()
            }
            Load::Loaded(history) if history.entries.is_empty() => {
                view! { <p class="muted">{t.history_empty}</p> }.into_any()
            }
            Load::Loaded(history) => {
                let items = history
                    .entries
                    .into_iter()
                    .map(|entry| {
                        let action = match entry.action {
                            SettingsAction::Created => t.history_created,
                            SettingsAction::Updated => t.history_updated,
                            SettingsAction::Deleted => t.history_deleted,
                        };
                        let when = lang.date_time(&entry.changed_at.to_rfc3339());
                        let changes =
                            entry.changes.iter().map(|c| view! { <li>{change_text(c, lang)}</li> }).collect_view();
                        view! {
                            <li class="history-entry">
                                <p class="history-head">
                                    <strong>{format!("Version {}", entry.version)}</strong>
                                    " · " {action} " · " {when} " · " {entry.changed_by.clone()}
                                </p>
                                <ul class="history-changes">{changes}</ul>
                            </li>
                        }
                    })
                    .collect_view();
                view! { <ol class="history-list">{items}</ol> }.into_any()
            }
        }
    };

    view! {
        <details
            class="panel history"
            on:toggle=move |ev| {
                let now_open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
                open.set(now_open);
            }
        >
            <summary>{i18n.text(|t| t.history_title)}</summary>
            {entries}
        </details>
    }
}
