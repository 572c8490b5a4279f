use clap::Parser;
use postamt::config::Config;
use postamt::startup::Application;
use secrecy::ExposeSecret;
use std::io::Write;

// jemalloc instead of glibc's malloc: the send path allocates and frees many small buffers
// across threads (request parsing, the stored message, SMTP composing), and glibc's malloc,
// free and malloc_consolidate took over a tenth of Postamt's CPU. In alternating bench
// runs jemalloc cut Postamt's CPU per message by about a fifth (75 -> 58 us), at a start
// RSS of 18-19.5 MiB instead of 15-16.5 and an export peak over 1 M rows of 46-54.5 MiB
// (glibc: 43-59); mimalloc (tried earlier) saved about 8 % and took that peak to 86-89 MiB.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    postamt::telemetry::init(config.log_format);
    let app = Application::build(config)
        .await
        .inspect_err(|e| tracing::error!(error = format!("{e:#}"), "start-up failed"))?;
    // Before the listening line: from then on a supervisor may send SIGTERM.
    postamt::shutdown::on_signals(app.handle())?;
    let url = format!("http://{}", app.addr());
    let mut out = std::io::stdout().lock();
    if let Some(password) = &app.generated_admin_password {
        // Printed once, to stdout only (never to the log); only its hash is stored.
        writeln!(out, "\nNo admin password was configured, so one was generated.")?;
        writeln!(out, "Generated admin password: {}", password.expose_secret())?;
        writeln!(
            out,
            "Sign in at {url}/ . It is shown only this once; set POSTAMT_ADMIN_PASSWORD to choose your own.\n"
        )?;
    }
    writeln!(out, "Postamt listening on {url}")?;
    out.flush()?;
    drop(out);
    app.run_until_stopped().await?;
    Ok(())
}
