use clap::Parser;
use postamt::config::Config;
use postamt::startup::Application;
use secrecy::ExposeSecret;
use std::io::Write;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    postamt::telemetry::init(config.log_format);
    let app = Application::build(config)
        .await
        .inspect_err(|e| tracing::error!(error = format!("{e:#}"), "start-up failed"))?;
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
