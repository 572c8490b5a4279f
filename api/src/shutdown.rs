//! Stopping on SIGTERM and SIGINT.
//!
//! actix-web's own signal handling is off (`HttpServer::disable_signals`): it would stop the
//! HTTP server only, and on SIGINT without waiting, while the delivery workers were killed
//! mid-session (the mail server logged an aborted connection, TLS without close_notify).
//! Here a signal asks the [`Application`](crate::startup::Application) for the whole
//! graceful shutdown (see [`AppHandle::shut_down`]).

use crate::startup::AppHandle;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// On the first SIGTERM or SIGINT the graceful shutdown; on a second one the process exits
/// at once (exit code 1): what was unfinished is sent after the next start. Installing the
/// handlers replaces the default action (ending the process) for as long as it runs.
pub fn on_signals(handle: AppHandle) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let name = next(&mut term, &mut int).await;
        tracing::info!(
            signal = name,
            grace_seconds = handle.grace().as_secs_f64(),
            "shutting down: no new work is taken, messages being sent may finish"
        );
        handle.shut_down();
        let name = next(&mut term, &mut int).await;
        tracing::warn!(signal = name, "second signal: exiting at once; unfinished messages are sent after the restart");
        std::process::exit(1);
    });
    Ok(())
}

async fn next(term: &mut Signal, int: &mut Signal) -> &'static str {
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
