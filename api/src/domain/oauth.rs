//! The `auth.oauth2` part of the settings: parsed from the request, as stored, and the rule
//! that a stored client secret or key (and a connected account) never follows a connection
//! to another provider, app, mailbox or SMTP server.

use super::{FieldProblem, SingleLine, Violations};
use postamt_oauth::{validate_endpoint, OAuthApp, Provider, ServiceAccountKey};
use postamt_wire::{AuthMethod, Encryption, OAuth2Input, OAuth2View, OAuthConnection, OAuthFlow, OAuthProvider};
use secrecy::SecretString;

const MAX_ID_CHARS: usize = 256;
const MAX_URL_CHARS: usize = 2048;
const MAX_SCOPE_CHARS: usize = 1024;
const MAX_SECRET_BYTES: usize = 4096;
/// A Google JSON key is about 2.3 KB; leave room, refuse anything absurd.
const MAX_KEY_BYTES: usize = 16 * 1024;

/// The saved OAuth 2.0 settings, without secrets (only whether they are stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOAuth {
    pub provider: OAuthProvider,
    pub flow: OAuthFlow,
    pub tenant: Option<String>,
    pub client_id: Option<String>,
    pub token_url: Option<String>,
    pub authorization_url: Option<String>,
    pub scope: Option<String>,
    pub client_secret_set: bool,
    pub service_account_key_set: bool,
    /// The stored key's `client_email`.
    pub service_account: Option<String>,
}

/// What a secret of the settings does on save.
#[derive(Debug)]
pub enum SecretChange {
    /// Keep the stored one (same binding).
    Keep,
    /// A new value was entered.
    Set(SecretString),
    /// Not used with these settings: nothing unused is kept.
    Clear,
}

impl SecretChange {
    pub fn is_kept_or_set(&self) -> bool {
        !matches!(self, SecretChange::Clear)
    }
}

/// Validated `auth.oauth2`.
#[derive(Debug)]
pub struct OAuthDraft {
    pub stored: StoredOAuth,
    pub client_secret: SecretChange,
    pub service_account_key: SecretChange,
}

/// Everything a stored secret, a connected account and a cached token are bound to: the
/// provider and app, the mailbox, and the SMTP server the token is handed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding(String);

impl Binding {
    pub fn new(
        host: &str,
        port: u16,
        encryption: Encryption,
        mailbox: Option<&str>,
        method: AuthMethod,
        oauth: Option<&StoredOAuth>,
    ) -> Binding {
        let parts: Vec<&str> = match oauth {
            Some(o) => vec![
                o.provider.as_str(),
                o.flow.as_str(),
                o.tenant.as_deref().unwrap_or(""),
                o.client_id.as_deref().unwrap_or(""),
                o.token_url.as_deref().unwrap_or(""),
                o.authorization_url.as_deref().unwrap_or(""),
                o.scope.as_deref().unwrap_or(""),
            ],
            None => Vec::new(),
        };
        let mut text = format!(
            "{host}\u{1}{port}\u{1}{}\u{1}{}\u{1}{}",
            encryption.as_str(),
            mailbox.unwrap_or(""),
            method.as_str()
        );
        for p in parts {
            text.push('\u{1}');
            text.push_str(p);
        }
        Binding(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl StoredOAuth {
    pub fn to_wire(&self, connection: OAuthConnection) -> OAuth2View {
        OAuth2View {
            provider: self.provider,
            flow: self.flow,
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            token_url: self.token_url.clone(),
            authorization_url: self.authorization_url.clone(),
            scope: self.scope.clone(),
            client_secret_set: self.client_secret_set,
            service_account_key_set: self.service_account_key_set,
            service_account: self.service_account.clone(),
            connection,
        }
    }

    /// Same provider, flow and app registration (secrets aside).
    pub fn same_app(&self, other: &StoredOAuth) -> bool {
        (self.provider, self.flow, &self.tenant, &self.client_id, &self.token_url, &self.authorization_url, &self.scope)
            == (
                other.provider,
                other.flow,
                &other.tenant,
                &other.client_id,
                &other.token_url,
                &other.authorization_url,
                &other.scope,
            )
    }

    /// The app registration as the OAuth client wants it (`client_secret` decrypted by the
    /// caller).
    pub fn app(&self, client_secret: Option<SecretString>) -> OAuthApp {
        let provider = match self.provider {
            OAuthProvider::Microsoft => Provider::Microsoft { tenant: self.tenant.clone().unwrap_or_default() },
            OAuthProvider::Google => Provider::Google,
            OAuthProvider::Generic => Provider::Generic {
                token_url: self.token_url.clone().unwrap_or_default(),
                authorization_url: self.authorization_url.clone(),
                scope: self.scope.clone().unwrap_or_default(),
            },
        };
        OAuthApp { provider, client_id: self.client_id.clone().unwrap_or_default(), client_secret, scope: None }
    }
}

fn flow_allowed(provider: OAuthProvider, flow: OAuthFlow) -> bool {
    use OAuthFlow::*;
    match provider {
        OAuthProvider::Microsoft => matches!(flow, ClientCredentials | AuthorizationCode),
        OAuthProvider::Google => matches!(flow, AuthorizationCode | ServiceAccount),
        OAuthProvider::Generic => matches!(flow, ClientCredentials | AuthorizationCode),
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A tenant: a GUID or a domain (letters, digits, dots, hyphens), or `organizations`.
fn parse_tenant(raw: &str) -> Result<String, FieldProblem> {
    let t = SingleLine::parse(raw, MAX_ID_CHARS)?;
    if t.as_str().chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
        Ok(t.as_str().to_owned())
    } else {
        Err(FieldProblem::new(
            "invalid_tenant",
            "must be the directory (tenant) ID or a domain such as contoso.onmicrosoft.com",
        ))
    }
}

fn parse_url(raw: &str) -> Result<String, FieldProblem> {
    if raw.len() > MAX_URL_CHARS {
        return Err(FieldProblem::new("too_long", format!("must be at most {MAX_URL_CHARS} characters")));
    }
    validate_endpoint(raw).map(|u| u.to_string()).map_err(|e| {
        FieldProblem::new("insecure_endpoint", e.description.unwrap_or_else(|| "must be an https URL".into()))
    })
}

fn parse_secret(raw: &str, max: usize) -> Result<SecretString, FieldProblem> {
    if raw.trim().is_empty() {
        return Err(FieldProblem::new("required", "must not be empty; omit it to keep the stored value"));
    }
    if raw.len() > max {
        return Err(FieldProblem::new("too_long", format!("must be at most {max} bytes")));
    }
    if raw.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(FieldProblem::new("invalid_character", "must not contain control characters"));
    }
    Ok(SecretString::from(raw.trim().to_owned()))
}

/// Parses `auth.oauth2`. `stored`: the saved OAuth settings, if any; `same_server`: whether
/// host, port, encryption and mailbox are the saved ones. An omitted secret keeps the
/// stored one only when that holds and provider, flow and app are the same too.
pub fn parse_oauth(
    v: &mut Violations,
    input: Option<&OAuth2Input>,
    stored: Option<&StoredOAuth>,
    same_server: bool,
) -> Option<OAuthDraft> {
    let Some(input) = input else {
        v.add("auth.oauth2", "required", "is required when auth.method is oauth2");
        return None;
    };
    let provider =
        v.check("auth.oauth2.provider", input.provider.ok_or_else(|| FieldProblem::new("required", "is required")));
    let flow = v.check("auth.oauth2.flow", input.flow.ok_or_else(|| FieldProblem::new("required", "is required")));
    let (Some(provider), Some(flow)) = (provider, flow) else { return None };
    if !flow_allowed(provider, flow) {
        v.add(
            "auth.oauth2.flow",
            "unsupported_flow",
            match provider {
                OAuthProvider::Microsoft => "microsoft supports client_credentials and authorization_code",
                OAuthProvider::Google => "google supports authorization_code and service_account",
                OAuthProvider::Generic => "generic supports client_credentials and authorization_code",
            },
        );
        return None;
    }
    let before = v.0.len();
    let generic = provider == OAuthProvider::Generic;
    let only_for = |v: &mut Violations, field: &str, value: &Option<String>, applies: bool, why: &str| {
        if !applies && non_empty(value).is_some() {
            v.add(field, "not_applicable", why.to_owned());
        }
    };
    let tenant = match (provider, non_empty(&input.tenant)) {
        (OAuthProvider::Microsoft, None) => {
            v.check("auth.oauth2.tenant", Err(FieldProblem::new("required", "is required for microsoft")))
        }
        (OAuthProvider::Microsoft, Some(t)) => v.check("auth.oauth2.tenant", parse_tenant(t)),
        _ => {
            only_for(v, "auth.oauth2.tenant", &input.tenant, false, "only microsoft has a tenant");
            None
        }
    };
    let client_id = match (flow, non_empty(&input.client_id)) {
        (OAuthFlow::ServiceAccount, _) => {
            only_for(
                v,
                "auth.oauth2.client_id",
                &input.client_id,
                false,
                "service_account takes its client from the key",
            );
            None
        }
        (_, None) => v.check("auth.oauth2.client_id", Err(FieldProblem::new("required", "is required"))),
        (_, Some(id)) => {
            v.check("auth.oauth2.client_id", SingleLine::parse(id, MAX_ID_CHARS).map(|s| s.as_str().to_owned()))
        }
    };
    only_for(v, "auth.oauth2.token_url", &input.token_url, generic, "only the generic provider takes a token_url");
    only_for(v, "auth.oauth2.scope", &input.scope, generic, "only the generic provider takes a scope");
    let needs_authorize = generic && flow == OAuthFlow::AuthorizationCode;
    only_for(
        v,
        "auth.oauth2.authorization_url",
        &input.authorization_url,
        needs_authorize,
        "only the generic provider's authorization_code flow takes an authorization_url",
    );
    let token_url = if generic { required_with(v, "auth.oauth2.token_url", &input.token_url, parse_url) } else { None };
    let authorization_url = if needs_authorize {
        required_with(v, "auth.oauth2.authorization_url", &input.authorization_url, parse_url)
    } else {
        None
    };
    let scope = if generic {
        required_with(v, "auth.oauth2.scope", &input.scope, |s| {
            SingleLine::parse(s, MAX_SCOPE_CHARS).map(|s| s.as_str().to_owned())
        })
    } else {
        None
    };
    let mut service_account = None;
    let key_change = match (flow, input.service_account_key.as_deref()) {
        (OAuthFlow::ServiceAccount, Some(raw)) => {
            let parsed = parse_secret(raw, MAX_KEY_BYTES).and_then(|secret| {
                ServiceAccountKey::from_json(&secret).map(|key| (key.client_email.clone(), secret)).map_err(|e| {
                    FieldProblem::new("invalid", e.description.unwrap_or_else(|| "is not a service account key".into()))
                })
            });
            v.check("auth.oauth2.service_account_key", parsed).map(|(email, secret)| {
                service_account = Some(email);
                SecretChange::Set(secret)
            })
        }
        (OAuthFlow::ServiceAccount, None) => Some(SecretChange::Keep),
        (_, key) => {
            if key.is_some() {
                v.add("auth.oauth2.service_account_key", "not_applicable", "only the service_account flow takes a key");
            }
            Some(SecretChange::Clear)
        }
    };
    let secret_required = flow == OAuthFlow::ClientCredentials
        || (flow == OAuthFlow::AuthorizationCode && provider == OAuthProvider::Google);
    let secret_change = match (flow, input.client_secret.as_deref()) {
        (OAuthFlow::ServiceAccount, s) => {
            if s.is_some() {
                v.add("auth.oauth2.client_secret", "not_applicable", "the service_account flow signs with its key");
            }
            Some(SecretChange::Clear)
        }
        (_, Some(raw)) => {
            v.check("auth.oauth2.client_secret", parse_secret(raw, MAX_SECRET_BYTES)).map(SecretChange::Set)
        }
        (_, None) => Some(SecretChange::Keep),
    };
    if v.0.len() != before {
        return None;
    }
    let mut draft = OAuthDraft {
        stored: StoredOAuth {
            provider,
            flow,
            tenant,
            client_id,
            token_url,
            authorization_url,
            scope,
            client_secret_set: false,
            service_account_key_set: false,
            service_account,
        },
        client_secret: secret_change?,
        service_account_key: key_change?,
    };
    // An omitted secret keeps the stored one only for the same binding; a secret the flow
    // does not need is dropped.
    let reusable = stored.filter(|s| same_server && s.same_app(&draft.stored));
    if matches!(draft.client_secret, SecretChange::Keep) {
        match reusable.filter(|s| s.client_secret_set) {
            Some(_) => {}
            None if secret_required => {
                let again = stored.is_some_and(|s| s.client_secret_set);
                v.add(
                    "auth.oauth2.client_secret",
                    if again { "secret_required_again" } else { "required" },
                    if again {
                        "must be entered again because the provider, app, mailbox or server changed"
                    } else {
                        "is required for this flow"
                    },
                );
                return None;
            }
            None => draft.client_secret = SecretChange::Clear,
        }
    }
    if matches!(draft.service_account_key, SecretChange::Keep) {
        match reusable.filter(|s| s.service_account_key_set) {
            Some(s) => draft.stored.service_account = s.service_account.clone(),
            None => {
                let again = stored.is_some_and(|s| s.service_account_key_set);
                v.add(
                    "auth.oauth2.service_account_key",
                    if again { "secret_required_again" } else { "required" },
                    if again {
                        "must be uploaded again because the provider, mailbox or server changed"
                    } else {
                        "is required for the service_account flow"
                    },
                );
                return None;
            }
        }
    }
    draft.stored.client_secret_set = draft.client_secret.is_kept_or_set();
    draft.stored.service_account_key_set = draft.service_account_key.is_kept_or_set();
    Some(draft)
}

fn required_with(
    v: &mut Violations,
    field: &str,
    value: &Option<String>,
    parse: impl FnOnce(&str) -> Result<String, FieldProblem>,
) -> Option<String> {
    match non_empty(value) {
        None => v.check(field, Err(FieldProblem::new("required", "is required"))),
        Some(s) => v.check(field, parse(s)),
    }
}
