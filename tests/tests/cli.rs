//! `postamt --help` documents every option with its environment variable, and never shows a
//! secret taken from the environment.

use std::process::{Command, Stdio};

use postamt_e2e::postamt_bin;

#[test]
fn help_names_every_option_and_its_environment_variable() {
    // Secrets in the environment: clap prints env values in --help unless told not to.
    let admin_password = format!("admin-{}", postamt_e2e::unique());
    let secret_key = postamt_e2e::random_secret_key();
    let database_url = format!("postgres://app:dbpw-{}@db.example/postamt", postamt_e2e::unique());
    let out = Command::new(postamt_bin())
        .arg("--help")
        .env("POSTAMT_ADMIN_PASSWORD", &admin_password)
        .env("POSTAMT_SECRET_KEY", &secret_key)
        .env("DATABASE_URL", &database_url)
        .stdin(Stdio::null())
        .output()
        .expect("run postamt --help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "postamt --help failed: {}{}", help, String::from_utf8_lossy(&out.stderr));

    for (flag, env) in [
        ("--bind", "POSTAMT_BIND"),
        ("--data-dir", "POSTAMT_DATA_DIR"),
        ("--database-url", "DATABASE_URL"),
        ("--secret-key", "POSTAMT_SECRET_KEY"),
        ("--admin-password", "POSTAMT_ADMIN_PASSWORD"),
        ("--admin-password-file", "POSTAMT_ADMIN_PASSWORD_FILE"),
        ("--static-dir", "POSTAMT_STATIC_DIR"),
        ("--log-format", "POSTAMT_LOG_FORMAT"),
    ] {
        assert!(help.contains(&format!("{flag} ")), "--help does not document {flag}:\n{help}");
        assert!(
            ["]", "=", ","].iter().any(|end| help.contains(&format!("env: {env}{end}"))),
            "--help does not name the variable {env}:\n{help}"
        );
    }
    assert!(help.contains("127.0.0.1:8080"), "--help does not show the default bind address:\n{help}");
    assert!(help.contains("json"), "--help does not list the json log format:\n{help}");

    for (what, secret) in [
        ("admin password", admin_password.as_str()),
        ("secret key", secret_key.as_str()),
        ("database URL (it may hold a password)", database_url.as_str()),
    ] {
        assert!(!help.contains(secret), "--help prints the {what} from the environment:\n{help}");
    }
}

#[test]
fn version_is_printed() {
    let out = Command::new(postamt_bin()).arg("--version").stdin(Stdio::null()).output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("postamt "), "unexpected --version output: {text}");
}
