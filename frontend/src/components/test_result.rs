//! The result of a test mail (`#test-result`, `data-ok`): the outcome, the failure with its class
//! and hint, every stage (`#test-stage-<stage>`, `data-status`), the sender used, the masked
//! transcript (`#test-transcript`) and the server's certificate (`#test-tls`).

use leptos::prelude::*;
use postamt_wire::{
    Failure, MailTestMode, MailTestResult, Stage, StageStatus, TlsInfo, TranscriptDirection, TranscriptLine,
};

use crate::components::fields::TEST_HINT_ID;
use crate::components::sender_preview::mailbox;
use crate::dom;
use crate::fault::TestFault;
use crate::i18n::{I18n, Lang};
use crate::mail_test::input_id;

fn status_str(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Ok => "ok",
        StageStatus::Failed => "failed",
        StageStatus::Skipped => "skipped",
    }
}

/// "250 2.0.0 Ok": the reply that decided a stage.
fn reply_text(stage: &Stage) -> Option<String> {
    let parts: Vec<String> = [
        stage.reply_code.map(|c| c.to_string()),
        stage.enhanced_code.clone(),
        stage.server_text.clone().filter(|t| !t.is_empty()),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[component]
fn StageItem(stage: Stage) -> impl IntoView {
    let i18n = I18n::get();
    let status = stage.status;
    let name = stage.name;
    let icon = match status {
        StageStatus::Ok => "✓",
        StageStatus::Failed => "✗",
        StageStatus::Skipped => "–",
    };
    let duration = stage.duration_ms;
    let reply = reply_text(&stage);
    view! {
        <li id=format!("test-stage-{}", name.as_str()) class="stage" data-status=status_str(status)>
            <span class="stage-icon" aria-hidden="true">{icon}</span>
            <div class="stage-body">
                <p class="stage-head">
                    <span class="stage-name">{move || i18n.lang().stage_name(name)}</span>
                    <span class="stage-status">{move || i18n.lang().stage_status(status)}</span>
                    {(status != StageStatus::Skipped)
                        .then(|| view! { <span class="stage-time">{move || i18n.lang().duration(duration)}</span> })}
                </p>
                {reply.map(|r| view! { <p class="stage-reply mono">{r}</p> })}
                {stage.detail.map(|en| {
                    // German where Postamt worded it; a system's or TLS library's error text
                    // has only its own (English) words.
                    let de = stage.detail_de.unwrap_or_else(|| en.clone());
                    view! {
                        <p class="stage-detail">
                            {move || if i18n.lang() == Lang::De { de.clone() } else { en.clone() }}
                        </p>
                    }
                })}
            </div>
        </li>
    }
}

/// The failure: its class (small), the hint (here, unless it is shown beside the field at
/// fault) and the technical cause.
#[component]
fn FailureView(failure: Failure) -> impl IntoView {
    let i18n = I18n::get();
    let fault = expect_context::<TestFault>();
    let class = failure.class;
    let (hint_de, hint_en) = (failure.hint_de.clone(), failure.hint_en.clone());
    let hint = move || {
        let lang = i18n.lang();
        match fault.shown_at() {
            Some(field) => view! {
                <p class="hint-ref">
                    {lang.hint_at_field(&lang.fault_field_label(field))} " "
                    <button
                        type="button"
                        class="button-link"
                        on:click=move |_| {
                            dom::reveal(&input_id(field));
                        }
                    >
                        {lang.texts().test.go_to_field}
                    </button>
                </p>
            }
            .into_any(),
            None => view! {
                <div class="test-hint" data-class=class.as_str()>
                    <p id=TEST_HINT_ID>{lang.pick(&hint_de, &hint_en).to_owned()}</p>
                </div>
            }
            .into_any(),
        }
    };
    view! {
        <p id="test-failure-class" class="failure-class" data-class=class.as_str()>
            {move || i18n.lang().failure_class(class)}
            " · "
            <code>{class.as_str()}</code>
        </p>
        {hint}
        {failure.detail.map(|en| {
            let de = failure.detail_de.unwrap_or_else(|| en.clone());
            view! {
                <p class="failure-detail">
                    {i18n.text(|t| t.test.technical_cause)} ": "
                    <code>{move || if i18n.lang() == Lang::De { de.clone() } else { en.clone() }}</code>
                </p>
            }
        })}
    }
}

fn direction_mark(d: TranscriptDirection) -> (&'static str, &'static str) {
    match d {
        TranscriptDirection::Client => ("C:", "line line-client"),
        TranscriptDirection::Server => ("S:", "line line-server"),
        TranscriptDirection::Info => ("* ", "line line-info"),
    }
}

#[component]
fn Transcript(lines: Vec<TranscriptLine>) -> impl IntoView {
    let i18n = I18n::get();
    let count = lines.len();
    let body = if lines.is_empty() {
        view! { <p class="muted">{i18n.text(|t| t.test.transcript_empty)}</p> }.into_any()
    } else {
        let rows = lines
            .into_iter()
            .map(|l| {
                let (mark, class) = direction_mark(l.direction);
                view! {
                    <span class=class>
                        <span class="at">{format!("{:>7} ms ", l.at_ms)}</span>
                        <span class="dir">{mark}</span>
                        " "
                        {l.text}
                        "\n"
                    </span>
                }
            })
            .collect_view();
        view! {
            <p class="muted small">{i18n.text(|t| t.test.transcript_legend)}</p>
            <pre class="transcript mono">{rows}</pre>
        }
        .into_any()
    };
    view! {
        <details id="test-transcript" class="result-details">
            <summary>{i18n.text(|t| t.test.transcript_title)} {format!(" ({count})")}</summary>
            {body}
        </details>
    }
}

#[component]
fn Certificate(tls: TlsInfo) -> impl IntoView {
    let i18n = I18n::get();
    let verified = tls.verified;
    let t = move || i18n.t().test;
    let or_unknown = move |v: &Option<String>| v.clone().unwrap_or_else(|| t().unknown.to_owned());
    let date = move |v: &Option<String>| {
        v.as_deref().map(|d| i18n.lang().date_time(d)).unwrap_or_else(|| t().unknown.to_owned())
    };
    let protocol = tls.protocol.clone();
    let cipher = tls.cipher_suite.clone();
    let (subject, issuer, fingerprint) = (tls.subject.clone(), tls.issuer.clone(), tls.sha256_fingerprint.clone());
    let (not_before, not_after) = (tls.not_before.map(|d| d.to_rfc3339()), tls.not_after.map(|d| d.to_rfc3339()));
    let sans = tls.sans.clone();
    let verify_error = tls.verify_error.clone();
    view! {
        <details id="test-tls" class="result-details" data-verified=verified.to_string()>
            <summary>
                {i18n.text(|t| t.test.tls_title)} ": "
                <span class=if verified { "tls-ok" } else { "tls-bad" }>
                    {move || if verified { t().tls_verified } else { t().tls_not_verified }}
                </span>
            </summary>
            <dl class="facts">
                <dt>{i18n.text(|t| t.test.tls_verification)}</dt>
                <dd id="test-tls-verified" data-verified=verified.to_string()>
                    {move || {
                        if verified {
                            format!("✓ {}", t().tls_verified)
                        } else {
                            let why = verify_error.clone().map(|e| format!(": {e}")).unwrap_or_default();
                            format!("✗ {}{why}", t().tls_not_verified)
                        }
                    }}
                </dd>
                <dt>{i18n.text(|t| t.test.tls_protocol)}</dt>
                <dd>
                    {move || {
                        let mut s = or_unknown(&protocol);
                        if let Some(c) = &cipher {
                            s.push_str(&format!(" · {}: {c}", t().tls_cipher));
                        }
                        s
                    }}
                </dd>
                <dt>{i18n.text(|t| t.test.tls_subject)}</dt>
                <dd class="mono">{move || or_unknown(&subject)}</dd>
                <dt>{i18n.text(|t| t.test.tls_issuer)}</dt>
                <dd class="mono">{move || or_unknown(&issuer)}</dd>
                <dt>{i18n.text(|t| t.test.tls_sans)}</dt>
                <dd class="mono">
                    {move || if sans.is_empty() { t().unknown.to_owned() } else { sans.join(", ") }}
                </dd>
                <dt>{i18n.text(|t| t.test.tls_not_before)}</dt>
                <dd>{move || date(&not_before)}</dd>
                <dt>{i18n.text(|t| t.test.tls_not_after)}</dt>
                <dd>{move || date(&not_after)}</dd>
                <dt>{i18n.text(|t| t.test.tls_fingerprint)}</dt>
                <dd class="mono fingerprint">{move || or_unknown(&fingerprint)}</dd>
                <dt>{i18n.text(|t| t.test.tls_chain)}</dt>
                <dd>{tls.chain_length}</dd>
            </dl>
        </details>
    }
}

#[component]
pub fn TestResultView(result: MailTestResult) -> impl IntoView {
    let i18n = I18n::get();
    let t = move || i18n.t().test;
    let MailTestResult {
        ok,
        mode,
        duration_ms,
        stages,
        failure,
        transcript,
        tls,
        peer,
        sender,
        recipient,
        message_id,
        probe_note,
    } = result;
    let probe = mode == MailTestMode::Probe;
    let failed_stage = failure.as_ref().map(|f| f.stage);
    let summary = move || {
        let lang = i18n.lang();
        match failed_stage {
            Some(stage) if !ok => lang.test_failed_at(stage),
            _ => lang.test_ok(probe, &recipient),
        }
    };
    let reply_to = sender.reply_to.as_ref().map(mailbox);
    let message_id = message_id.filter(|_| ok && !probe);
    view! {
        <div
            id="test-result"
            class=if ok { "test-result result-ok" } else { "test-result result-failed" }
            data-ok=ok.to_string()
            tabindex="-1"
        >
            <p class="result-summary">
                <span class="result-icon" aria-hidden="true">{if ok { "✓" } else { "✗" }}</span>
                {summary}
            </p>
            {failure.map(|f| view! { <FailureView failure=f /> })}
            {(ok && !probe).then(|| view! { <p>{i18n.text(|t| t.test.check_mailbox)}</p> })}
            {probe_note.map(|n| view! { <p class="notice notice-info probe-note">{move || i18n.lang().pick(&n.de, &n.en).to_owned()}</p> })}

            <h3 class="result-heading">{i18n.text(|t| t.test.stages_title)}</h3>
            <ol class="stages">{stages.into_iter().map(|s| view! { <StageItem stage=s /> }).collect_view()}</ol>

            <dl class="facts">
                {peer.map(|p| view! { <dt>{i18n.text(|t| t.test.server)}</dt><dd class="mono">{p}</dd> })}
                <dt>{i18n.text(|t| t.test.total)}</dt>
                <dd>{move || i18n.lang().duration(duration_ms)}</dd>
                {message_id.map(|m| view! { <dt>{i18n.text(|t| t.test.message_id)}</dt><dd class="mono">{m}</dd> })}
                <dt>{i18n.text(|t| t.test.preview_from)}</dt>
                <dd>{mailbox(&sender.from)}</dd>
                <dt>{i18n.text(|t| t.test.preview_reply_to)}</dt>
                <dd>{move || reply_to.clone().unwrap_or_else(|| t().preview_none.to_owned())}</dd>
                <dt>{i18n.text(|t| t.test.preview_envelope)}</dt>
                <dd>{sender.envelope_from.clone()}</dd>
            </dl>

            <Transcript lines=transcript />
            {tls.map(|tls| view! { <Certificate tls=tls /> })}
        </div>
    }
}
