//! "Mail-Log herunterladen / Download mail log": format and date range (default: the last 30
//! days), downloaded through a plain link to the export URL (`#export-download`), since the
//! export is a cookie-authenticated GET that answers with an attachment.

use leptos::prelude::*;

use crate::api::{self, ExportFormat};
use crate::components::fields::{prose, Prose};
use crate::dates::{Range, Ymd};
use crate::i18n::I18n;

/// Days back the range starts by default.
const DEFAULT_DAYS: i32 = 30;

#[component]
pub fn LogExport() -> impl IntoView {
    let i18n = I18n::get();
    let format = RwSignal::new(ExportFormat::Csv);
    let from = RwSignal::new(Ymd::today_minus(DEFAULT_DAYS).to_input());
    let to = RwSignal::new(Ymd::today_minus(0).to_input());
    let range = Memo::new(move |_| Range::parse(&from.get(), &to.get()));
    let invalid = move || range.with(Option::is_none);
    let href = move || {
        let (from, to) = range.get().map(Range::to_utc).unwrap_or_default();
        api::export_url(format.get(), from.as_deref(), to.as_deref())
    };

    view! {
        <section class="panel log-export" aria-labelledby="export-title">
            <h2 id="export-title">{i18n.text(|t| t.log.export_title)}</h2>
            <Prose key="export-intro" class="section-help" />
            <div class="export-row">
                <div class="field">
                    <label for="export-format">{i18n.text(|t| t.log.export_format)}</label>
                    <select
                        id="export-format"
                        on:change=move |ev| {
                            if let Some(f) = ExportFormat::parse(&event_target_value(&ev)) {
                                format.set(f);
                            }
                        }
                    >
                        <option value="csv" prop:selected=move || format.get() == ExportFormat::Csv>
                            {i18n.text(|t| t.log.export_csv)}
                        </option>
                        <option value="ndjson" prop:selected=move || format.get() == ExportFormat::Ndjson>
                            {i18n.text(|t| t.log.export_ndjson)}
                        </option>
                    </select>
                </div>
                <div class="field">
                    <label for="export-from">{i18n.text(|t| t.log.export_from)}</label>
                    <input
                        type="date"
                        id="export-from"
                        aria-describedby="export-range-help"
                        aria-invalid=move || if invalid() { "true" } else { "false" }
                        prop:value=move || from.get()
                        on:input=move |ev| from.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="export-to">{i18n.text(|t| t.log.export_to)}</label>
                    <input
                        type="date"
                        id="export-to"
                        aria-describedby="export-range-help"
                        aria-invalid=move || if invalid() { "true" } else { "false" }
                        prop:value=move || to.get()
                        on:input=move |ev| to.set(event_target_value(&ev))
                    />
                </div>
                <a
                    id="export-download"
                    class="button button-primary"
                    href=href
                    download=""
                    aria-disabled=move || if invalid() { "true" } else { "false" }
                    on:click=move |ev| {
                        if invalid() {
                            ev.prevent_default();
                        }
                    }
                >
                    {i18n.text(|t| t.log.export_download)}
                </a>
            </div>
            <p class="field-help" id="export-range-help" inner_html=prose("export-range-help")></p>
            <Show when=invalid>
                <p class="field-error" role="alert">{i18n.text(|t| t.log.export_range_invalid)}</p>
            </Show>
        </section>
    }
}
