//! The connection's state as the settings view shows it (`auth.oauth2.connection`).

use crate::db::oauth_connection::ConnectionRow;
use crate::db::utc;
use crate::domain::StoredSettings;
use postamt_oauth::OAuthErrorClass;
use postamt_wire::{FailureClass, OAuthConnection, OAuthConnectionError, OAuthConnectionStatus, OAuthFlow};

/// The state of the saved settings' connection, from its row (`None`: nothing recorded yet).
pub fn connection(settings: &StoredSettings, row: Option<&ConnectionRow>) -> OAuthConnection {
    let delegated = settings.oauth.as_ref().is_some_and(|o| o.flow == OAuthFlow::AuthorizationCode);
    let row = row.filter(|r| r.binding == settings.binding().as_str());
    let mut view = OAuthConnection::unknown();
    let Some(row) = row else {
        if delegated {
            view.status = OAuthConnectionStatus::NeedsConnect;
        }
        return view;
    };
    let last_error = match (row.last_error_class.as_deref(), row.last_error_at) {
        (Some(name), Some(at)) => FailureClass::ALL.into_iter().find(|c| c.as_str() == name).map(|class| {
            let hint = hint_of(class);
            OAuthConnectionError { at: utc(at), class, hint_de: hint.0, hint_en: hint.1 }
        }),
        _ => None,
    };
    let refresh_token_set = row.refresh_token_enc.is_some();
    view.status = match &last_error {
        _ if delegated && !refresh_token_set => OAuthConnectionStatus::NeedsConnect,
        Some(e) if matches!(e.class, FailureClass::OauthRefreshTokenInvalid | FailureClass::OauthAccessDenied) => {
            OAuthConnectionStatus::NeedsConnect
        }
        Some(_) => OAuthConnectionStatus::Failing,
        None if row.token_issued_at.is_some() => OAuthConnectionStatus::Ok,
        None => OAuthConnectionStatus::Unknown,
    };
    view.account = row.account.clone().filter(|_| refresh_token_set);
    view.refresh_token_set = refresh_token_set;
    view.connected_at = row.connected_at.filter(|_| refresh_token_set).map(utc);
    view.token_issued_at = row.token_issued_at.map(utc);
    view.token_expires_at = row.token_expires_at.map(utc);
    view.refresh_token_used_at = row.refresh_token_used_at.filter(|_| refresh_token_set).map(utc);
    view.last_error = last_error;
    view
}

/// The hint of an `oauth_*` class (the same text the test mail shows).
fn hint_of(class: FailureClass) -> (String, String) {
    if class == FailureClass::OauthNotConnected {
        let h = super::failure::TokenFailure::not_connected().hint;
        return (h.de, h.en);
    }
    OAuthErrorClass::ALL
        .into_iter()
        .find(|c| super::failure::class_of(*c) == class)
        .map(|c| {
            let h = c.hint();
            (h.de, h.en)
        })
        .unwrap_or_default()
}
