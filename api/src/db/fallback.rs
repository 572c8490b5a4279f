//! The fallback server's row (`fallback_connection`, id = 1), saved and deleted together
//! with the settings row in the same transaction (see `db::settings`).

use super::schema::fallback_connection::dsl as f;
use super::AnyConnection;
use crate::domain::{StoredFallback, StoredOAuth};
use anyhow::Context;
use diesel::prelude::*;
use postamt_wire::{AuthMethod, Encryption, OAuthFlow, OAuthProvider};

const ROW_ID: i32 = 1;

/// The row, as read together with the settings row (`db::settings::load`).
#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::fallback_connection)]
pub(super) struct Row {
    host: String,
    port: i32,
    encryption: String,
    auth_enabled: bool,
    auth_username: Option<String>,
    auth_password_enc: Option<Vec<u8>>,
    tls_trusted_ca_pem: Option<String>,
    tls_accept_invalid_certificates: bool,
    envelope_sender: Option<String>,
    auth_method: String,
    oauth_provider: Option<String>,
    oauth_flow: Option<String>,
    oauth_tenant: Option<String>,
    oauth_client_id: Option<String>,
    oauth_token_url: Option<String>,
    oauth_scope: Option<String>,
    oauth_client_secret_enc: Option<Vec<u8>>,
    oauth_service_account_key_enc: Option<Vec<u8>>,
    oauth_service_account: Option<String>,
}

/// The fallback's stored secrets, encrypted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FallbackSecrets {
    pub password: Option<Vec<u8>>,
    pub client_secret: Option<Vec<u8>>,
    pub service_account_key: Option<Vec<u8>>,
}

/// The saved fallback server and its encrypted secrets.
pub(super) fn from_row(row: Option<Row>) -> anyhow::Result<Option<(StoredFallback, FallbackSecrets)>> {
    row.map(|r| {
        let oauth = match (&r.oauth_provider, &r.oauth_flow) {
            (Some(provider), Some(flow)) => Some(StoredOAuth {
                provider: OAuthProvider::parse(provider).context("stored fallback OAuth provider unknown")?,
                flow: OAuthFlow::parse(flow).context("stored fallback OAuth flow unknown")?,
                tenant: r.oauth_tenant,
                client_id: r.oauth_client_id,
                token_url: r.oauth_token_url,
                authorization_url: None,
                scope: r.oauth_scope,
                client_secret_set: r.oauth_client_secret_enc.is_some(),
                service_account_key_set: r.oauth_service_account_key_enc.is_some(),
                service_account: r.oauth_service_account,
            }),
            _ => None,
        };
        Ok((
            StoredFallback {
                host: r.host,
                port: u16::try_from(r.port).context("stored fallback port out of range")?,
                encryption: Encryption::parse(&r.encryption).context("stored fallback encryption unknown")?,
                auth_enabled: r.auth_enabled,
                auth_method: AuthMethod::parse(&r.auth_method).context("stored fallback auth method unknown")?,
                auth_username: r.auth_username,
                password_set: r.auth_password_enc.is_some(),
                oauth,
                tls_trusted_ca_pem: r.tls_trusted_ca_pem,
                tls_accept_invalid_certificates: r.tls_accept_invalid_certificates,
                envelope_sender: r.envelope_sender,
            },
            FallbackSecrets {
                password: r.auth_password_enc,
                client_secret: r.oauth_client_secret_enc,
                service_account_key: r.oauth_service_account_key_enc,
            },
        ))
    })
    .transpose()
}

/// Replaces the row with `fallback` (None: removes it). Runs inside the settings' transaction.
pub fn store(
    conn: &mut AnyConnection,
    fallback: Option<&StoredFallback>,
    secrets: &FallbackSecrets,
) -> anyhow::Result<()> {
    diesel::delete(f::fallback_connection).execute(conn).context("removing the fallback server")?;
    let Some(s) = fallback else { return Ok(()) };
    let oauth = s.oauth.as_ref();
    diesel::insert_into(f::fallback_connection)
        .values((
            (
                f::id.eq(ROW_ID),
                f::host.eq(&s.host),
                f::port.eq(i32::from(s.port)),
                f::encryption.eq(s.encryption.as_str()),
                f::auth_enabled.eq(s.auth_enabled),
                f::auth_username.eq(&s.auth_username),
                f::auth_password_enc.eq(&secrets.password),
                f::tls_trusted_ca_pem.eq(&s.tls_trusted_ca_pem),
                f::tls_accept_invalid_certificates.eq(s.tls_accept_invalid_certificates),
                f::envelope_sender.eq(&s.envelope_sender),
            ),
            (
                f::auth_method.eq(s.auth_method.as_str()),
                f::oauth_provider.eq(oauth.map(|o| o.provider.as_str())),
                f::oauth_flow.eq(oauth.map(|o| o.flow.as_str())),
                f::oauth_tenant.eq(oauth.and_then(|o| o.tenant.clone())),
                f::oauth_client_id.eq(oauth.and_then(|o| o.client_id.clone())),
                f::oauth_token_url.eq(oauth.and_then(|o| o.token_url.clone())),
                f::oauth_scope.eq(oauth.and_then(|o| o.scope.clone())),
                f::oauth_client_secret_enc.eq(&secrets.client_secret),
                f::oauth_service_account_key_enc.eq(&secrets.service_account_key),
                f::oauth_service_account.eq(oauth.and_then(|o| o.service_account.clone())),
            ),
        ))
        .execute(conn)
        .context("saving the fallback server")?;
    Ok(())
}
