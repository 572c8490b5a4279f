//! Validated domain types. Request DTOs from `postamt_wire` are parsed into these at the
//! edge (`TryFrom`); code behind the handlers only ever sees valid values.

mod acting_user;
mod email_address;
pub mod fallback;
pub mod limits;
pub mod oauth;
pub mod outgoing;
mod password;
mod pem;
mod settings;
mod smtp_host;
mod text;
mod warnings;

pub use acting_user::parse_acting_user;
pub use email_address::EmailAddress;
pub use fallback::{FallbackDraft, StoredFallback};
pub use oauth::{Binding, OAuthDraft, SecretChange, StoredOAuth};
pub use pem::CaCertificatePem;
pub use settings::{changed_fields, PasswordChange, SecretsChanged, SettingsDraft, StoredSettings};
pub use smtp_host::SmtpHost;
pub use text::SingleLine;
pub use warnings::warnings_for;

/// Collects field errors so that all violations are reported at once.
#[derive(Debug, Default)]
pub struct Violations(pub Vec<postamt_wire::FieldError>);

impl Violations {
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(postamt_wire::FieldError::new(field, code, message));
    }

    /// Records the error of a parse and returns its value, if any.
    pub fn check<T>(&mut self, field: &str, result: Result<T, FieldProblem>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(p) => {
                self.add(field, p.code, p.message);
                None
            }
        }
    }

    /// Adds these violations to those of `error`, so a request's problems are reported
    /// together; other errors pass unchanged.
    pub fn merged_into(self, error: crate::error::ApiError) -> crate::error::ApiError {
        match error {
            crate::error::ApiError::Validation(mut errors) => {
                errors.extend(self.0);
                crate::error::ApiError::Validation(errors)
            }
            other => other,
        }
    }

    pub fn into_result(self) -> Result<(), crate::error::ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::error::ApiError::Validation(self.0))
        }
    }
}

/// A required text field parsed by `parse`; its error recorded under `field`.
pub fn required<T>(
    v: &mut Violations,
    field: &str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, FieldProblem>,
) -> Option<T> {
    match raw {
        None => v.check(field, Err(FieldProblem::new("required", "is required"))),
        Some(s) => v.check(field, parse(s)),
    }
}

/// A required TCP port, 1 to 65535 (the primary's and the fallback's).
pub fn required_port(v: &mut Violations, field: &str, raw: Option<i64>) -> Option<u16> {
    match raw {
        None => v.check(field, Err(FieldProblem::new("required", "is required"))),
        Some(p) => v.check(
            field,
            u16::try_from(p)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| FieldProblem::new("out_of_range", "must be between 1 and 65535")),
        ),
    }
}

/// Why a single value is invalid; the caller knows the field's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub code: &'static str,
    pub message: String,
}

impl FieldProblem {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}
