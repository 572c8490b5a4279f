//! The status line under the form: what the last action did, in the current language.
//! `#status` carries `data-state="ok" | "error" | "busy"` for tests and styling.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::i18n::{I18n, Lang};

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Saving,
    Saved(i64),
    Discarded,
    FixFields,
    ServerRejected,
    /// 412: someone else saved in between (the page offers to load the current settings).
    Conflict,
    Removing,
    Removed,
    Reloaded,
    Failed(ApiError),
}

impl Status {
    pub fn state(&self) -> &'static str {
        match self {
            Status::Saving | Status::Removing => "busy",
            Status::Saved(_) | Status::Discarded | Status::Removed | Status::Reloaded => "ok",
            Status::FixFields | Status::ServerRejected | Status::Conflict | Status::Failed(_) => "error",
        }
    }

    pub fn text(&self, lang: Lang) -> String {
        let t = lang.texts();
        match self {
            Status::Saving => t.saving.to_owned(),
            Status::Saved(version) => lang.status_saved(*version),
            Status::Discarded => t.status_discarded.to_owned(),
            Status::FixFields => t.status_fix_fields.to_owned(),
            Status::ServerRejected => t.status_server_rejected.to_owned(),
            Status::Conflict => lang.prose_text("status-conflict"),
            Status::Removing => t.removing.to_owned(),
            Status::Removed => t.status_removed.to_owned(),
            Status::Reloaded => t.status_reloaded.to_owned(),
            Status::Failed(error) => error_text(error, lang),
        }
    }
}

/// A failed request in words: network trouble, or the problem's title translated by status
/// (with the server's English detail when the page is in English).
pub fn error_text(error: &ApiError, lang: Lang) -> String {
    match error {
        ApiError::Network(_) => lang.texts().status_network.to_owned(),
        ApiError::Api { problem, .. } => {
            let title = lang.problem_title(problem.status);
            match (&problem.detail, lang) {
                (Some(detail), Lang::En) if !detail.is_empty() => format!("{title}: {detail}"),
                _ => format!("{title}."),
            }
        }
        ApiError::Unexpected { status, .. } => format!("{}.", lang.problem_title(*status)),
    }
}

#[component]
pub fn StatusLine(status: RwSignal<Option<Status>>) -> impl IntoView {
    let i18n = I18n::get();
    view! {
        <p
            id="status"
            class="status"
            role="status"
            aria-live="polite"
            data-state=move || status.with(|s| s.as_ref().map(Status::state))
        >
            {move || status.with(|s| s.as_ref().map(|s| s.text(i18n.lang())))}
        </p>
    }
}
