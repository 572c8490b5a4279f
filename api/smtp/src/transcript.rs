//! The masked conversation: every line goes through the [`Redactor`] before it is stored
//! or logged, so neither the result nor the logs can hold the password.

use std::sync::Mutex;
use std::time::Instant;

use postamt_wire::{TranscriptDirection, TranscriptLine};

use crate::mask::Redactor;

/// Longest line kept; longer ones are cut (a server may send anything).
const MAX_LINE_CHARS: usize = 1_000;
/// Most lines kept; a runaway server cannot make the result grow without bound.
const MAX_LINES: usize = 400;

/// Shared by reference between the reads of a connection and the notes written while a
/// read is pending (the greeting waits while a TLS probe runs), hence the lock.
pub(crate) struct Transcript {
    started: Instant,
    redactor: Redactor,
    inner: Mutex<Lines>,
}

#[derive(Default)]
struct Lines {
    lines: Vec<TranscriptLine>,
    dropped: usize,
}

impl Transcript {
    pub(crate) fn new(started: Instant, redactor: Redactor) -> Self {
        Transcript { started, redactor, inner: Mutex::new(Lines::default()) }
    }

    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// A line Postamt sent, as shown (secrets are masked by the caller's [`crate::mask::Outgoing`]).
    pub(crate) fn client(&self, shown: &str) {
        self.push(TranscriptDirection::Client, shown);
    }

    pub(crate) fn server(&self, line: &str) {
        self.push(TranscriptDirection::Server, line);
    }

    pub(crate) fn info(&self, text: impl AsRef<str>) {
        self.push(TranscriptDirection::Info, text.as_ref());
    }

    fn push(&self, direction: TranscriptDirection, text: &str) {
        let mut text = self.redactor.redact(text);
        if text.chars().count() > MAX_LINE_CHARS {
            text = text.chars().take(MAX_LINE_CHARS).collect::<String>() + " …";
        }
        let at_ms = self.started.elapsed().as_millis() as u64;
        tracing::debug!(target: "postamt_smtp::transcript", direction = ?direction, at_ms, "{text}");
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if inner.lines.len() < MAX_LINES {
            inner.lines.push(TranscriptLine { direction, at_ms, text });
        } else {
            inner.dropped += 1;
        }
    }

    pub(crate) fn into_lines(self) -> Vec<TranscriptLine> {
        let at_ms = self.started.elapsed().as_millis() as u64;
        let mut inner = self.inner.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        if inner.dropped > 0 {
            let text = format!("… {} more lines not kept", inner.dropped);
            inner.lines.push(TranscriptLine { direction: TranscriptDirection::Info, at_ms, text });
        }
        inner.lines
    }
}
