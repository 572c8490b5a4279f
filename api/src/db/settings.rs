//! The settings row (id = 1) and its optimistic-concurrency updates.

use super::schema::mail_settings::dsl as ms;
use super::{history, now, utc, write_transaction, AnyConnection};
use crate::domain::{changed_fields, SecretsChanged, SettingsDraft, StoredOAuth, StoredSettings};
use anyhow::Context;
use diesel::prelude::*;
use postamt_wire::{AuthMethod, Encryption, OAuthFlow, OAuthProvider, SettingsAction};

const ROW_ID: i32 = 1;

// The two sender options are stored as one column: Reply-To requires forcing the sender.
const POLICY_INDIVIDUAL: &str = "individual";
const POLICY_DEFAULT: &str = "default";
const POLICY_DEFAULT_WITH_REPLY_TO: &str = "default_with_reply_to";

fn sender_policy(s: &StoredSettings) -> &'static str {
    match (s.force_default_sender, s.reply_to_individual_sender) {
        (false, _) => POLICY_INDIVIDUAL,
        (true, false) => POLICY_DEFAULT,
        (true, true) => POLICY_DEFAULT_WITH_REPLY_TO,
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::mail_settings)]
struct Row {
    host: String,
    port: i32,
    encryption: String,
    sender_name: String,
    sender_address: String,
    auth_enabled: bool,
    auth_username: Option<String>,
    auth_password_enc: Option<Vec<u8>>,
    tls_trusted_ca_pem: Option<String>,
    tls_accept_invalid_certificates: bool,
    sender_policy: String,
    timeout_seconds: i32,
    version: i64,
    updated_at: chrono::NaiveDateTime,
    updated_by: String,
    auth_method: String,
    oauth_provider: Option<String>,
    oauth_flow: Option<String>,
    oauth_tenant: Option<String>,
    oauth_client_id: Option<String>,
    oauth_token_url: Option<String>,
    oauth_authorization_url: Option<String>,
    oauth_scope: Option<String>,
    oauth_client_secret_enc: Option<Vec<u8>>,
    oauth_service_account_key_enc: Option<Vec<u8>>,
    oauth_service_account: Option<String>,
    limits: Option<String>,
}

/// The saved settings plus the encrypted secrets, which only the code that signs in
/// decrypts.
pub struct Loaded {
    pub settings: StoredSettings,
    pub secrets: EncryptedSecrets,
}

/// The stored secrets, encrypted (see `crate::crypto`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptedSecrets {
    pub password: Option<Vec<u8>>,
    pub client_secret: Option<Vec<u8>>,
    pub service_account_key: Option<Vec<u8>>,
    /// The fallback server's password and OAuth secrets.
    pub fallback: super::fallback::FallbackSecrets,
}

fn oauth_of(r: &Row) -> anyhow::Result<Option<StoredOAuth>> {
    let (Some(provider), Some(flow)) = (&r.oauth_provider, &r.oauth_flow) else { return Ok(None) };
    Ok(Some(StoredOAuth {
        provider: OAuthProvider::parse(provider).context("stored OAuth provider unknown")?,
        flow: OAuthFlow::parse(flow).context("stored OAuth flow unknown")?,
        tenant: r.oauth_tenant.clone(),
        client_id: r.oauth_client_id.clone(),
        token_url: r.oauth_token_url.clone(),
        authorization_url: r.oauth_authorization_url.clone(),
        scope: r.oauth_scope.clone(),
        client_secret_set: r.oauth_client_secret_enc.is_some(),
        service_account_key_set: r.oauth_service_account_key_enc.is_some(),
        service_account: r.oauth_service_account.clone(),
    }))
}

pub fn load(conn: &mut AnyConnection) -> anyhow::Result<Option<Loaded>> {
    // With the fallback server's row, in the same query (delivery reads this per round).
    let row: Option<(Row, Option<super::fallback::Row>)> = ms::mail_settings
        .left_join(super::schema::fallback_connection::table)
        .filter(ms::id.eq(ROW_ID))
        .select((Row::as_select(), Option::<super::fallback::Row>::as_select()))
        .first(conn)
        .optional()
        .context("loading mail settings")?;
    let (row, fallback) = match row {
        Some((row, fallback)) => (Some(row), super::fallback::from_row(fallback)?),
        None => (None, None),
    };
    let (fallback, fallback_secrets) = fallback.map_or((None, Default::default()), |(f, s)| (Some(f), s));
    row.map(|r| {
        let oauth = oauth_of(&r)?;
        Ok(Loaded {
            settings: StoredSettings {
                host: r.host,
                port: u16::try_from(r.port).context("stored port out of range")?,
                encryption: Encryption::parse(&r.encryption).context("stored encryption unknown")?,
                sender_name: r.sender_name,
                sender_address: r.sender_address,
                auth_enabled: r.auth_enabled,
                auth_method: AuthMethod::parse(&r.auth_method).context("stored auth method unknown")?,
                auth_username: r.auth_username,
                password_set: r.auth_password_enc.is_some(),
                oauth,
                tls_trusted_ca_pem: r.tls_trusted_ca_pem,
                tls_accept_invalid_certificates: r.tls_accept_invalid_certificates,
                force_default_sender: r.sender_policy != POLICY_INDIVIDUAL,
                reply_to_individual_sender: r.sender_policy == POLICY_DEFAULT_WITH_REPLY_TO,
                timeout_seconds: u32::try_from(r.timeout_seconds).context("stored timeout out of range")?,
                limits: match &r.limits {
                    Some(json) => serde_json::from_str(json).context("stored sending limits unreadable")?,
                    None => postamt_wire::SendingLimits::default(),
                },
                fallback,
                version: r.version,
                updated_at: utc(r.updated_at),
                updated_by: r.updated_by,
            },
            secrets: EncryptedSecrets {
                password: r.auth_password_enc,
                client_secret: r.oauth_client_secret_enc,
                service_account_key: r.oauth_service_account_key_enc,
                fallback: fallback_secrets,
            },
        })
    })
    .transpose()
}

/// Result of a compare-and-swap write.
pub enum Outcome<T> {
    Done(T),
    /// The stored version is not the one the caller based its change on.
    Conflict {
        current: Option<i64>,
    },
}

/// Saves `draft` if the stored version is still `expected` (`None`: nothing stored), and
/// records the change in the history, in one transaction. A connected OAuth account whose
/// binding no longer matches is disconnected in the same transaction.
pub fn save(
    conn: &mut AnyConnection,
    expected: Option<i64>,
    draft: &SettingsDraft,
    secrets: EncryptedSecrets,
    changed: SecretsChanged,
    actor: &str,
) -> anyhow::Result<Outcome<StoredSettings>> {
    write_transaction(conn, |conn| {
        let current = load(conn)?;
        let current_version = current.as_ref().map(|c| c.settings.version);
        if current_version != expected {
            return Ok(Outcome::Conflict { current: current_version });
        }
        let version = history::next_version(conn)?;
        let at = now();
        let mut stored = draft.to_stored(secrets.password.is_some(), version, utc(at), actor);
        if let Some(fallback) = stored.fallback.as_mut() {
            fallback.password_set = secrets.fallback.password.is_some();
            if let Some(oauth) = fallback.oauth.as_mut() {
                oauth.client_secret_set = secrets.fallback.client_secret.is_some();
                oauth.service_account_key_set = secrets.fallback.service_account_key.is_some();
            }
        }
        let oauth = stored.oauth.as_ref();
        let oauth_values = (
            ms::auth_method.eq(stored.auth_method.as_str()),
            ms::oauth_provider.eq(oauth.map(|o| o.provider.as_str())),
            ms::oauth_flow.eq(oauth.map(|o| o.flow.as_str())),
            ms::oauth_tenant.eq(oauth.and_then(|o| o.tenant.clone())),
            ms::oauth_client_id.eq(oauth.and_then(|o| o.client_id.clone())),
            ms::oauth_token_url.eq(oauth.and_then(|o| o.token_url.clone())),
            ms::oauth_authorization_url.eq(oauth.and_then(|o| o.authorization_url.clone())),
            ms::oauth_scope.eq(oauth.and_then(|o| o.scope.clone())),
            ms::oauth_client_secret_enc.eq(&secrets.client_secret),
            ms::oauth_service_account_key_enc.eq(&secrets.service_account_key),
            ms::oauth_service_account.eq(oauth.and_then(|o| o.service_account.clone())),
            ms::limits.eq(stored.limits.any().then(|| serde_json::to_string(&stored.limits)).transpose()?),
        );
        let values = (
            ms::host.eq(&stored.host),
            ms::port.eq(i32::from(stored.port)),
            ms::encryption.eq(stored.encryption.as_str()),
            ms::sender_name.eq(&stored.sender_name),
            ms::sender_address.eq(&stored.sender_address),
            ms::auth_enabled.eq(stored.auth_enabled),
            ms::auth_username.eq(&stored.auth_username),
            ms::auth_password_enc.eq(&secrets.password),
            ms::tls_trusted_ca_pem.eq(&stored.tls_trusted_ca_pem),
            ms::tls_accept_invalid_certificates.eq(stored.tls_accept_invalid_certificates),
            ms::sender_policy.eq(sender_policy(&stored)),
            (
                ms::timeout_seconds.eq(i32::try_from(stored.timeout_seconds)?),
                ms::version.eq(version),
                ms::updated_at.eq(at),
                ms::updated_by.eq(actor),
            ),
            oauth_values,
        );
        let action = match &current {
            Some(_) => {
                diesel::update(ms::mail_settings.filter(ms::id.eq(ROW_ID))).set(values).execute(conn)?;
                SettingsAction::Updated
            }
            None => {
                diesel::insert_into(ms::mail_settings).values((ms::id.eq(ROW_ID), values)).execute(conn)?;
                SettingsAction::Created
            }
        };
        super::fallback::store(conn, stored.fallback.as_ref(), &secrets.fallback)?;
        let disconnected = super::oauth_connection::keep_only_binding(conn, stored.binding().as_str())?;
        let changed = SecretsChanged { refresh_token: changed.refresh_token || disconnected, ..changed };
        let changes = changed_fields(current.as_ref().map(|c| &c.settings), Some(&stored), changed);
        history::record(conn, version, action, actor, &changes)?;
        Ok(Outcome::Done(stored))
    })
}

/// Deletes the settings if the stored version is `expected` (any version when `None`).
pub fn delete(conn: &mut AnyConnection, expected: Option<i64>, actor: &str) -> anyhow::Result<Outcome<()>> {
    write_transaction(conn, |conn| {
        let Some(current) = load(conn)? else {
            return Ok(Outcome::Conflict { current: None });
        };
        if expected.is_some_and(|v| v != current.settings.version) {
            return Ok(Outcome::Conflict { current: Some(current.settings.version) });
        }
        diesel::delete(ms::mail_settings.filter(ms::id.eq(ROW_ID))).execute(conn)?;
        super::fallback::store(conn, None, &Default::default())?;
        super::failover_state::clear(conn)?;
        let disconnected = super::oauth_connection::keep_only_binding(conn, "")?;
        let version = history::next_version(conn)?;
        let secrets = &current.secrets;
        let changed = SecretsChanged {
            password: secrets.password.is_some(),
            client_secret: secrets.client_secret.is_some(),
            service_account_key: secrets.service_account_key.is_some(),
            refresh_token: disconnected,
            fallback_password: secrets.fallback.password.is_some(),
            fallback_client_secret: secrets.fallback.client_secret.is_some(),
            fallback_service_account_key: secrets.fallback.service_account_key.is_some(),
        };
        let changes = changed_fields(Some(&current.settings), None, changed);
        history::record(conn, version, SettingsAction::Deleted, actor, &changes)?;
        Ok(Outcome::Done(()))
    })
}
