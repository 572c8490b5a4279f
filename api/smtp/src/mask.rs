//! Secrets at the source: the only way an AUTH payload is written to the wire is as a
//! [`Outgoing::Secret`], whose shown text is fixed when it is built; and every text that
//! reaches the transcript, a stage, the failure or a log line first goes through
//! [`Redactor::redact`], which removes the password, its base64 and the base64 of the
//! AUTH PLAIN blob (for servers that echo what they received).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

/// What replaces a secret in any text.
pub const MASK: &str = "********";

/// One line to send, with what the transcript shows of it.
pub(crate) enum Outgoing {
    /// Shown as sent.
    Public(String),
    /// Sent as `wire`, shown as `shown`; `wire` is zeroized when dropped.
    Secret { wire: SecretString, shown: String },
}

impl Outgoing {
    pub(crate) fn public(line: impl Into<String>) -> Self {
        Outgoing::Public(line.into())
    }

    pub(crate) fn shown(&self) -> &str {
        match self {
            Outgoing::Public(line) => line,
            Outgoing::Secret { shown, .. } => shown,
        }
    }

    pub(crate) fn wire(&self) -> &str {
        match self {
            Outgoing::Public(line) => line,
            Outgoing::Secret { wire, .. } => wire.expose_secret(),
        }
    }
}

/// `AUTH PLAIN <base64(\0user\0password)>` (RFC 4616, with the initial response).
pub(crate) fn auth_plain_command(username: &str, password: &SecretString) -> Outgoing {
    let blob = SecretString::from(B64.encode(plain_blob("", username, password.expose_secret())));
    Outgoing::Secret {
        wire: SecretString::from(format!("AUTH PLAIN {}", blob.expose_secret())),
        shown: format!("AUTH PLAIN {MASK}"),
    }
}

/// The AUTH PLAIN response alone, for servers that ask with an empty 334 first.
pub(crate) fn auth_plain_response(username: &str, password: &SecretString) -> Outgoing {
    Outgoing::Secret {
        wire: SecretString::from(B64.encode(plain_blob("", username, password.expose_secret()))),
        shown: MASK.to_owned(),
    }
}

/// The AUTH LOGIN user name, base64. Not secret; shown with its plain text next to it.
pub(crate) fn auth_login_username(username: &str) -> Outgoing {
    let encoded = B64.encode(username);
    Outgoing::Public(encoded)
}

/// The AUTH LOGIN password, base64.
pub(crate) fn auth_login_password(password: &SecretString) -> Outgoing {
    Outgoing::Secret { wire: SecretString::from(B64.encode(password.expose_secret())), shown: MASK.to_owned() }
}

fn plain_blob(authzid: &str, username: &str, password: &str) -> String {
    format!("{authzid}\0{username}\0{password}")
}

/// Removes every known form of the password from texts.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so a longer pattern is replaced before one it contains.
    patterns: Arc<Vec<SecretString>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").field("patterns", &self.patterns.len()).finish()
    }
}

impl Redactor {
    pub(crate) fn new(username: Option<&str>, password: Option<&SecretString>) -> Self {
        let Some(password) = password.map(ExposeSecret::expose_secret).filter(|p| !p.is_empty()) else {
            return Redactor::default();
        };
        let username = username.unwrap_or("");
        let mut forms = vec![
            password.to_owned(),
            B64.encode(password),
            B64.encode(plain_blob("", username, password)),
            B64.encode(plain_blob(username, username, password)),
        ];
        for form in &mut forms {
            // Unpadded, so a server echoing the payload without its `=` is caught too.
            while form.ends_with('=') && form.len() > 1 {
                form.pop();
            }
        }
        forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
        forms.dedup();
        Redactor { patterns: Arc::new(forms.into_iter().map(SecretString::from).collect()) }
    }

    /// `text` with every form of the password replaced by [`MASK`].
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for pattern in self.patterns.iter() {
            let pattern = pattern.expose_secret();
            if out.contains(pattern) {
                out = out.replace(pattern, MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_command_is_shown_masked_and_sent_encoded() {
        let pw = SecretString::from("s3cret-Pa55");
        let cmd = auth_plain_command("user@example.org", &pw);
        assert_eq!(cmd.shown(), "AUTH PLAIN ********");
        let sent = cmd.wire().strip_prefix("AUTH PLAIN ").unwrap();
        assert_eq!(B64.decode(sent).unwrap(), b"\0user@example.org\0s3cret-Pa55");
        assert_eq!(auth_login_password(&pw).shown(), MASK);
        assert_eq!(auth_login_password(&pw).wire(), B64.encode("s3cret-Pa55"));
    }

    #[test]
    fn redactor_removes_password_and_every_base64_form() {
        let pw = SecretString::from("s3cret-Pa55");
        let r = Redactor::new(Some("user"), Some(&pw));
        let blob = B64.encode("\0user\0s3cret-Pa55");
        let text = format!(
            "501 bad: {blob} / {} / {} / s3cret-Pa55 / {}",
            B64.encode("s3cret-Pa55"),
            blob.trim_end_matches('='),
            B64.encode("user\0user\0s3cret-Pa55")
        );
        let out = r.redact(&text);
        assert!(!out.contains("s3cret-Pa55"), "{out}");
        assert!(!out.contains(B64.encode("s3cret-Pa55").trim_end_matches('=')), "{out}");
        assert!(!out.contains(blob.trim_end_matches('=')), "{out}");
        assert!(out.starts_with("501 bad: ********"));
        assert_eq!(Redactor::new(None, None).redact("250 ok"), "250 ok");
        assert!(!format!("{r:?}").contains("s3cret"));
    }
}
