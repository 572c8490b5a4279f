//! The stage timeline: every stage is listed from the start (as `skipped`); the running
//! one is timed and ends `ok` or `failed`.

use std::time::Instant;

use postamt_wire::{Encryption, Stage, StageName, StageStatus};

use crate::reply::Reply;

/// The stages in the order they run with this encryption. With STARTTLS the `tls` stage
/// (STARTTLS, handshake, EHLO again) follows the first EHLO.
pub(crate) fn order(encryption: Encryption) -> [StageName; 9] {
    use StageName::*;
    match encryption {
        Encryption::Starttls => [Resolve, Connect, Greeting, Ehlo, Tls, Auth, MailFrom, RcptTo, Data],
        Encryption::Tls | Encryption::None => [Resolve, Connect, Tls, Greeting, Ehlo, Auth, MailFrom, RcptTo, Data],
    }
}

pub(crate) struct StageBook {
    stages: Vec<Stage>,
    running: Option<(usize, Instant)>,
}

impl StageBook {
    pub(crate) fn new(encryption: Encryption) -> Self {
        let stages = order(encryption)
            .into_iter()
            .map(|name| Stage {
                name,
                status: StageStatus::Skipped,
                duration_ms: 0,
                reply_code: None,
                enhanced_code: None,
                server_text: None,
                detail: None,
                detail_de: None,
            })
            .collect();
        StageBook { stages, running: None }
    }

    fn index(&self, name: StageName) -> usize {
        self.stages.iter().position(|s| s.name == name).expect("every stage is listed")
    }

    /// Starts `name`; a stage still running is closed as ok first.
    pub(crate) fn begin(&mut self, name: StageName) {
        if self.running.is_some() {
            self.ok();
        }
        tracing::debug!(target: "postamt_smtp", stage = name.as_str(), "stage begins");
        self.running = Some((self.index(name), Instant::now()));
    }

    pub(crate) fn running(&self) -> Option<StageName> {
        self.running.map(|(i, _)| self.stages[i].name)
    }

    fn current_mut(&mut self) -> Option<&mut Stage> {
        let (i, _) = self.running?;
        self.stages.get_mut(i)
    }

    /// The reply that decides the running stage.
    pub(crate) fn reply(&mut self, reply: &Reply) {
        if let Some(stage) = self.current_mut() {
            stage.reply_code = Some(reply.code);
            stage.enhanced_code = reply.enhanced_code();
            stage.server_text = Some(reply.text());
        }
    }

    pub(crate) fn detail(&mut self, detail: impl Into<String>) {
        if let Some(stage) = self.current_mut() {
            stage.detail = Some(detail.into());
            stage.detail_de = None;
        }
    }

    /// A detail Postamt words itself, in both languages.
    pub(crate) fn said(&mut self, de: String, en: String) {
        if let Some(stage) = self.current_mut() {
            stage.detail = Some(en);
            stage.detail_de = Some(de);
        }
    }

    /// A note on a stage that does not run (`authentication is off`).
    pub(crate) fn skip_note(&mut self, name: StageName, de: &str, en: &str) {
        let i = self.index(name);
        self.stages[i].detail = Some(en.to_owned());
        self.stages[i].detail_de = Some(de.to_owned());
    }

    fn finish(&mut self, status: StageStatus) -> Option<StageName> {
        let (i, started) = self.running.take()?;
        let stage = &mut self.stages[i];
        stage.status = status;
        stage.duration_ms = started.elapsed().as_millis() as u64;
        Some(stage.name)
    }

    pub(crate) fn ok(&mut self) {
        self.finish(StageStatus::Ok);
    }

    /// Marks the running stage failed and returns it; `detail` (and its German `detail_de`)
    /// goes to the stage unless a detail is there already.
    pub(crate) fn fail(&mut self, detail: Option<&str>, detail_de: Option<&str>) -> Option<StageName> {
        if let (Some(stage), Some(detail)) = (self.current_mut(), detail) {
            if stage.detail.is_none() {
                stage.detail = Some(detail.to_owned());
                stage.detail_de = detail_de.map(str::to_owned);
            }
        }
        self.finish(StageStatus::Failed)
    }

    /// Marks `name` failed without running it (a check before connecting).
    pub(crate) fn fail_unrun(&mut self, name: StageName, detail: String, detail_de: Option<String>) {
        let i = self.index(name);
        self.stages[i].status = StageStatus::Failed;
        self.stages[i].detail = Some(detail);
        self.stages[i].detail_de = detail_de;
    }

    pub(crate) fn into_stages(self) -> Vec<Stage> {
        self.stages
    }
}
