//! Command-line flags, each with an environment variable of the same meaning.

use clap::{Parser, ValueEnum};
use secrecy::SecretString;
use std::path::PathBuf;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "postamt",
    version,
    about = "Postamt: one place for an application's outgoing-mail settings",
    long_about = "Postamt holds the SMTP settings every module of an application sends mail with, \
                  serves the admin page for them and a REST API for integrations.\n\n\
                  Every option can also be given as the environment variable shown. Prefer the \
                  environment or a file for secrets: command-line arguments are visible to other \
                  users of the machine."
)]
pub struct Config {
    /// Address and port to listen on (port 0 picks a free port).
    #[arg(long, env = "POSTAMT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Directory for the SQLite database and the generated secret key file.
    #[arg(long, env = "POSTAMT_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Database: `postgres://user@host/db` for PostgreSQL (several instances may share it),
    /// or a SQLite file path. Default: `<data-dir>/postamt.sqlite3`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Key that encrypts stored secrets: base64 of 32 random bytes (`openssl rand -base64 32`).
    /// Default: the key file, created on first start. Instances sharing a database need the same key.
    #[arg(long, env = "POSTAMT_SECRET_KEY", hide_env_values = true, value_parser = secret)]
    pub secret_key: Option<SecretString>,

    /// Key file used when no secret key is given. Default: `<data-dir>/secret.key` (mode 0600).
    #[arg(long, env = "POSTAMT_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// The admin password for the settings page. Without it (and without a file), a strong
    /// password is generated on first start and printed once; only its hash is stored.
    #[arg(long, env = "POSTAMT_ADMIN_PASSWORD", hide_env_values = true, value_parser = secret)]
    pub admin_password: Option<SecretString>,

    /// File whose first line is the admin password.
    #[arg(long, env = "POSTAMT_ADMIN_PASSWORD_FILE", conflicts_with = "admin_password")]
    pub admin_password_file: Option<PathBuf>,

    /// Directory of the built settings page. Default: `frontend/dist` beside the working
    /// directory or the repository the binary was built in.
    #[arg(long, env = "POSTAMT_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Log format on stderr (`RUST_LOG` sets the level, default `info`).
    #[arg(long, env = "POSTAMT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Hours an admin session lasts.
    #[arg(long, env = "POSTAMT_SESSION_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_hours: u32,

    /// Delivery workers of this instance; each keeps one SMTP connection open while busy.
    #[arg(long, env = "POSTAMT_DELIVERY_WORKERS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub delivery_workers: u32,

    /// Attempts per message (the first included) before it fails for good.
    #[arg(long, env = "POSTAMT_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Delay before the first retry, in seconds; it doubles each time (with jitter).
    #[arg(long, env = "POSTAMT_RETRY_BASE_SECONDS", default_value_t = 60.0)]
    pub retry_base_seconds: f64,

    /// Longest delay between two attempts, in seconds.
    #[arg(long, env = "POSTAMT_RETRY_MAX_SECONDS", default_value_t = 3600.0)]
    pub retry_max_seconds: f64,

    /// Largest message (subject, bodies and decoded attachments) in MiB; larger get 413.
    #[arg(long, env = "POSTAMT_MAX_MESSAGE_MIB", default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub max_message_mib: u32,

    /// Most recipients (to, cc and bcc together) of one message.
    #[arg(long, env = "POSTAMT_MAX_RECIPIENTS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub max_recipients: u32,

    /// With a fallback server: seconds before a failed primary connection is tried again;
    /// the wait doubles with each failed try, up to 5 minutes.
    #[arg(long, env = "POSTAMT_PRIMARY_RETRY_SECONDS", default_value_t = 15.0)]
    pub primary_retry_seconds: f64,

    /// Days the mail log keeps its entries.
    #[arg(long, env = "POSTAMT_LOG_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub log_retention_days: u32,

    /// Days a failed message's content is kept for a resend.
    #[arg(long, env = "POSTAMT_FAILED_RETENTION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=365))]
    pub failed_retention_days: u32,

    /// A stable name for this instance. With PostgreSQL, a restarted instance with the same
    /// id takes back its unfinished messages at once instead of waiting for their lease.
    #[arg(long, env = "POSTAMT_INSTANCE_ID")]
    pub instance_id: Option<String>,

    /// Name given in EHLO: a fully qualified domain name (`postamt.example.org`) or an
    /// address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`). Default: the machine's name if
    /// it has a dot, else the address literal of each connection's local address.
    #[arg(long, env = "POSTAMT_EHLO_NAME", value_parser = ehlo_name)]
    pub ehlo_name: Option<String>,

    /// Seconds a shutdown (SIGTERM, SIGINT) waits for messages being sent and open requests;
    /// what is unfinished then is sent after the next start.
    #[arg(long, env = "POSTAMT_SHUTDOWN_GRACE_SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub shutdown_grace_seconds: u32,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "POSTAMT_WORKERS")]
    pub workers: Option<usize>,

    /// Believe `X-Forwarded-Proto` / `Forwarded: proto=` from a reverse proxy: when it says
    /// `https`, the session cookie is `Secure` and responses carry Strict-Transport-Security.
    /// Only set this when every request passes such a proxy, which overwrites the header.
    #[arg(long, env = "POSTAMT_TRUST_FORWARDED_PROTO")]
    pub trust_forwarded_proto: bool,

    /// The address admins open Postamt at, e.g. `https://postamt.example.org` (with a path
    /// prefix if the proxy adds one). OAuth's redirect URI is `<public-url>/oauth/callback`;
    /// behind a reverse proxy the request's own scheme and host are wrong, so set it there.
    /// Default: the scheme and host of the request that starts "Connect account".
    #[arg(long, env = "POSTAMT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Microsoft's sign-in authority (national clouds: e.g. `https://login.microsoftonline.us`).
    #[arg(long, env = "POSTAMT_OAUTH_MICROSOFT_AUTHORITY", default_value = postamt_oauth::MICROSOFT_AUTHORITY)]
    pub oauth_microsoft_authority: String,

    /// Google's token endpoint.
    #[arg(long, env = "POSTAMT_OAUTH_GOOGLE_TOKEN_URL", default_value = postamt_oauth::GOOGLE_TOKEN_URL)]
    pub oauth_google_token_url: String,

    /// Google's authorization (sign-in) page.
    #[arg(long, env = "POSTAMT_OAUTH_GOOGLE_AUTHORIZATION_URL", default_value = postamt_oauth::GOOGLE_AUTHORIZATION_URL)]
    pub oauth_google_authorization_url: String,

    /// Seconds between checks of the OAuth connection; a delegated refresh token is used at
    /// least this often, so a revoked sign-in shows up within this time.
    #[arg(long, env = "POSTAMT_OAUTH_CHECK_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=86400))]
    pub oauth_check_seconds: u32,

    /// The priority of a category's messages when their request names none,
    /// `category=high|normal|low`, comma-separated or repeated (e.g. `newsletter=low`). `otp`
    /// and `alert` are high unless set here; every other category is normal.
    #[arg(long = "category-priority", env = "POSTAMT_CATEGORY_PRIORITY", value_delimiter = ',')]
    pub category_priorities: Vec<crate::delivery::priority::CategoryPriority>,

    /// Seconds between two checks of the alert conditions on this instance; an incident is
    /// resolved after the condition has been clear for this long.
    #[arg(long, env = "POSTAMT_ALERT_CHECK_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub alert_check_seconds: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn ehlo_name(value: &str) -> Result<String, String> {
    postamt_smtp::check_ehlo_name(value).map(|()| value.to_owned())
}

fn secret(value: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(value.to_owned()))
}

impl Config {
    /// Configuration for tests: a free port on loopback, everything else from the arguments.
    pub fn for_tests(data_dir: PathBuf, database_url: Option<String>, admin_password: &str) -> Config {
        Config {
            bind: "127.0.0.1:0".to_owned(),
            data_dir,
            database_url,
            secret_key: None,
            secret_key_file: None,
            admin_password: Some(SecretString::from(admin_password.to_owned())),
            admin_password_file: None,
            static_dir: None,
            log_format: LogFormat::Text,
            session_hours: 12,
            workers: Some(1),
            delivery_workers: 2,
            max_attempts: 3,
            retry_base_seconds: 0.2,
            retry_max_seconds: 1.0,
            max_message_mib: 25,
            max_recipients: 100,
            primary_retry_seconds: 0.5,
            log_retention_days: 90,
            failed_retention_days: 7,
            instance_id: None,
            ehlo_name: None,
            shutdown_grace_seconds: 5,
            trust_forwarded_proto: false,
            public_url: None,
            oauth_microsoft_authority: postamt_oauth::MICROSOFT_AUTHORITY.to_owned(),
            oauth_google_token_url: postamt_oauth::GOOGLE_TOKEN_URL.to_owned(),
            oauth_google_authorization_url: postamt_oauth::GOOGLE_AUTHORIZATION_URL.to_owned(),
            oauth_check_seconds: 300,
            category_priorities: Vec::new(),
            alert_check_seconds: 30,
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| self.data_dir.join("postamt.sqlite3").to_string_lossy().into_owned())
    }

    /// The OAuth settings, checked: endpoints https (or loopback), the public URL absolute.
    pub fn oauth_options(&self) -> anyhow::Result<crate::oauth::OAuthOptions> {
        let public_url = match &self.public_url {
            None => None,
            Some(raw) => {
                let url = url::Url::parse(raw.trim_end_matches('/'))
                    .map_err(|e| anyhow::anyhow!("POSTAMT_PUBLIC_URL {raw:?} is not an absolute URL: {e}"))?;
                anyhow::ensure!(
                    matches!(url.scheme(), "http" | "https") && url.host().is_some(),
                    "POSTAMT_PUBLIC_URL must be an http(s) address such as https://postamt.example.org"
                );
                Some(url)
            }
        };
        Ok(crate::oauth::OAuthOptions {
            endpoints: postamt_oauth::Endpoints {
                microsoft_authority: self.oauth_microsoft_authority.trim_end_matches('/').to_owned(),
                google_token_url: self.oauth_google_token_url.clone(),
                google_authorization_url: self.oauth_google_authorization_url.clone(),
            },
            public_url,
            check_interval: std::time::Duration::from_secs(u64::from(self.oauth_check_seconds)),
        })
    }

    pub fn secret_key_file(&self) -> PathBuf {
        self.secret_key_file.clone().unwrap_or_else(|| self.data_dir.join("secret.key"))
    }

    /// The first existing of: the configured directory, `./frontend/dist`, and the
    /// `frontend/dist` of the repository this binary was built from.
    pub fn static_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.static_dir {
            return Some(dir.clone());
        }
        let built_in = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../frontend/dist");
        [PathBuf::from("frontend/dist"), built_in].into_iter().find(|d| d.join("index.html").is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bad `--ehlo-name` stops the start with a message that says what to write instead.
    #[test]
    fn the_ehlo_name_is_validated_at_start_up() {
        let parse = |name: &str| Config::try_parse_from(["postamt", "--ehlo-name", name]);
        assert_eq!(parse("postamt.example.org").unwrap().ehlo_name.as_deref(), Some("postamt.example.org"));
        assert_eq!(parse("[192.0.2.1]").unwrap().ehlo_name.as_deref(), Some("[192.0.2.1]"));
        assert_eq!(parse("[IPv6:2001:db8::1]").unwrap().ehlo_name.as_deref(), Some("[IPv6:2001:db8::1]"));
        let short = parse("vm").unwrap_err().to_string();
        assert!(short.contains("--ehlo-name") && short.contains("not fully qualified"), "{short}");
        let bare = parse("192.0.2.1").unwrap_err().to_string();
        assert!(bare.contains("[192.0.2.1]"), "{bare}");
        assert!(parse("mail example.org").is_err());
        assert_eq!(Config::try_parse_from(["postamt"]).unwrap().ehlo_name, None);
    }
}
