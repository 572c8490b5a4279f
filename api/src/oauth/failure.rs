//! A failed token request in the API's terms: the `oauth_*` failure class of the `token`
//! stage, the settings field at fault and the hint, for the test mail, delivery, the
//! connection's state and the error log alike.

use postamt_oauth::{OAuthError, OAuthErrorClass};
use postamt_smtp::DeliveryFailure;
use postamt_wire::{Failure, FailureClass, LocalizedText, SettingsField, StageName};

#[derive(Debug, Clone)]
pub struct TokenFailure {
    pub class: FailureClass,
    pub field: Option<SettingsField>,
    pub hint: LocalizedText,
    /// Provider code and sanitised description: for the log and the test's detail line,
    /// never a secret.
    pub detail: String,
    /// `detail` in German where Postamt words it (a provider's description has only its own).
    pub detail_de: Option<String>,
}

pub fn class_of(class: OAuthErrorClass) -> FailureClass {
    use OAuthErrorClass as O;
    match class {
        O::TenantNotFound => FailureClass::OauthTenantNotFound,
        O::InvalidClientSecret => FailureClass::OauthInvalidClientSecret,
        O::ClientSecretExpired => FailureClass::OauthClientSecretExpired,
        O::ApplicationNotFound => FailureClass::OauthApplicationNotFound,
        O::ConsentMissing => FailureClass::OauthConsentMissing,
        O::RefreshTokenInvalid => FailureClass::OauthRefreshTokenInvalid,
        O::AuthorizationCodeInvalid => FailureClass::OauthAuthorizationCodeInvalid,
        O::AccessDenied => FailureClass::OauthAccessDenied,
        O::UnauthorizedClient => FailureClass::OauthUnauthorizedClient,
        O::InvalidScope => FailureClass::OauthInvalidScope,
        O::ServiceAccountRejected => FailureClass::OauthServiceAccountRejected,
        O::ServiceAccountKeyInvalid => FailureClass::OauthServiceAccountKeyInvalid,
        O::InsecureEndpoint => FailureClass::OauthInsecureEndpoint,
        O::EndpointUnreachable => FailureClass::OauthEndpointUnreachable,
        O::Timeout => FailureClass::OauthTimeout,
        O::InvalidResponse => FailureClass::OauthInvalidResponse,
        O::ProviderError => FailureClass::OauthProviderError,
    }
}

/// The OAuth client's field names (`oauth.*`) as fields of the settings.
fn field_of(class: OAuthErrorClass) -> Option<SettingsField> {
    Some(match class.field()? {
        "oauth.tenant" => SettingsField::Oauth2Tenant,
        "oauth.client_secret" => SettingsField::Oauth2ClientSecret,
        "oauth.client_id" => SettingsField::Oauth2ClientId,
        "oauth.sign_in" => SettingsField::Oauth2Connection,
        "oauth.scope" => SettingsField::Oauth2Scope,
        "oauth.impersonate" => SettingsField::AuthUsername,
        "oauth.service_account_key" => SettingsField::Oauth2ServiceAccountKey,
        "oauth.token_url" => SettingsField::Oauth2TokenUrl,
        _ => return None,
    })
}

impl From<&OAuthError> for TokenFailure {
    fn from(e: &OAuthError) -> Self {
        TokenFailure {
            class: class_of(e.class),
            field: field_of(e.class),
            hint: e.hint(),
            detail: e.to_string(),
            detail_de: None,
        }
    }
}

impl TokenFailure {
    /// `authorization_code` with no connected account.
    pub fn not_connected() -> Self {
        TokenFailure {
            class: FailureClass::OauthNotConnected,
            field: Some(SettingsField::Oauth2Connection),
            hint: LocalizedText {
                de: "Es ist kein Postfach angemeldet. Speichern Sie die Einstellungen und klicken Sie auf „Konto verbinden“."
                    .to_owned(),
                en: "No mailbox is signed in. Save the settings and click \"Connect account\".".to_owned(),
            },
            detail: "no account is connected for these settings".to_owned(),
            detail_de: Some("für diese Einstellungen ist kein Konto verbunden".to_owned()),
        }
    }

    /// The connection needs an admin to sign the mailbox in again.
    pub fn needs_connect(&self) -> bool {
        matches!(
            self.class,
            FailureClass::OauthNotConnected | FailureClass::OauthRefreshTokenInvalid | FailureClass::OauthAccessDenied
        )
    }

    /// As the test mail's failure.
    pub fn to_wire(&self) -> Failure {
        Failure {
            stage: StageName::Token,
            class: self.class,
            field: self.field,
            hint_de: self.hint.de.clone(),
            hint_en: self.hint.en.clone(),
            detail: Some(self.detail.clone()),
            detail_de: self.detail_de.clone(),
        }
    }

    /// As a delivery attempt's failure: never permanent, the message waits for a token.
    pub fn to_delivery(&self) -> DeliveryFailure {
        DeliveryFailure {
            stage: StageName::Token,
            class: self.class,
            field: self.field,
            reply_code: None,
            reply: None,
            permanent: false,
            hint_de: self.hint.de.clone(),
            hint_en: self.hint.en.clone(),
            detail: Some(self.detail.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_oauth_class_has_its_own_failure_class() {
        let mut seen: Vec<FailureClass> = OAuthErrorClass::ALL.iter().map(|c| class_of(*c)).collect();
        seen.sort_by_key(|c| c.as_str());
        seen.dedup();
        assert_eq!(seen.len(), OAuthErrorClass::ALL.len());
        for class in OAuthErrorClass::ALL {
            assert_eq!(class_of(class).as_str(), format!("oauth_{}", class.as_str()));
            assert_eq!(class.field().is_some(), field_of(class).is_some(), "{class}: field not mapped");
        }
    }
}
