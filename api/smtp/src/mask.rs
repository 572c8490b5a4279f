//! Secrets at the source: the only way an AUTH payload is written to the wire is as a
//! [`Outgoing::Secret`], whose shown text is fixed when it is built; and every text that
//! reaches the transcript, a stage, the failure or a log line first goes through
//! [`Redactor::redact`], which removes the password or access token, its base64 and the
//! base64 of the AUTH PLAIN blob or XOAUTH2 string (for servers that echo what they
//! received).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{AuthSecret, Credentials};

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

/// The XOAUTH2 initial response, base64 of `user=<mailbox>^Aauth=Bearer <token>^A^A`
/// (Google's and Microsoft's SASL XOAUTH2).
pub(crate) fn xoauth2_response(mailbox: &str, token: &SecretString) -> SecretString {
    SecretString::from(B64.encode(xoauth2_string(mailbox, token.expose_secret())))
}

/// `AUTH XOAUTH2 <initial response>` in one line.
pub(crate) fn auth_xoauth2_command(response: &SecretString) -> Outgoing {
    Outgoing::Secret {
        wire: SecretString::from(format!("AUTH XOAUTH2 {}", response.expose_secret())),
        shown: format!("AUTH XOAUTH2 {MASK}"),
    }
}

/// The XOAUTH2 response alone, on the line after the server's 334.
pub(crate) fn auth_xoauth2_continuation(response: &SecretString) -> Outgoing {
    Outgoing::Secret { wire: response.clone(), shown: MASK.to_owned() }
}

fn xoauth2_string(mailbox: &str, token: &str) -> String {
    format!("user={mailbox}\x01auth=Bearer {token}\x01\x01")
}

/// Removes every known form of the password or access token from texts.
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
    pub(crate) fn new(credentials: Option<&Credentials>) -> Self {
        let Some(credentials) = credentials else {
            return Redactor::default();
        };
        let secret = credentials.secret().expose_secret();
        if secret.is_empty() {
            return Redactor::default();
        }
        let username = credentials.username.as_str();
        let mut forms = vec![secret.to_owned(), B64.encode(secret)];
        match credentials.secret {
            AuthSecret::Password(_) => {
                forms.push(B64.encode(plain_blob("", username, secret)));
                forms.push(B64.encode(plain_blob(username, username, secret)));
            }
            AuthSecret::AccessToken(_) => forms.push(B64.encode(xoauth2_string(username, secret))),
        }
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
        let r = Redactor::new(Some(&Credentials::password("user", pw.clone())));
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
        assert_eq!(Redactor::new(None).redact("250 ok"), "250 ok");
        assert!(!format!("{r:?}").contains("s3cret"));
    }

    #[test]
    fn xoauth2_payload_is_shown_masked_and_sent_encoded() {
        let token = SecretString::from("ya29.a0Af-Token_Value");
        let response = xoauth2_response("box@example.org", &token);
        let cmd = auth_xoauth2_command(&response);
        assert_eq!(cmd.shown(), "AUTH XOAUTH2 ********");
        let sent = cmd.wire().strip_prefix("AUTH XOAUTH2 ").unwrap();
        assert_eq!(B64.decode(sent).unwrap(), b"user=box@example.org\x01auth=Bearer ya29.a0Af-Token_Value\x01\x01");
        let cont = auth_xoauth2_continuation(&response);
        assert_eq!((cont.shown(), cont.wire()), (MASK, sent));
    }

    #[test]
    fn redactor_removes_token_its_base64_and_the_xoauth2_string() {
        let token = "pa-at.eyJzdWIiOiJib3gifQ.c2lnbmF0dXJl";
        let r = Redactor::new(Some(&Credentials::access_token("box@example.org", token)));
        let xoauth2 = xoauth2_response("box@example.org", &SecretString::from(token));
        let xoauth2 = xoauth2.expose_secret();
        let text = format!(
            "535 echo {xoauth2} / {} / {} / {token} / {}.",
            xoauth2.trim_end_matches('='),
            B64.encode(token),
            B64.encode(token).trim_end_matches('=')
        );
        let out = r.redact(&text);
        for form in [token.to_owned(), B64.encode(token), xoauth2.to_owned()] {
            assert!(!out.contains(form.trim_end_matches('=')), "{form} in {out}");
        }
        assert!(out.starts_with("535 echo ********"), "{out}");
        // The mailbox alone is not a secret.
        assert_eq!(r.redact("user box@example.org"), "user box@example.org");
        assert!(!format!("{r:?}").contains("pa-at"));
    }
}
