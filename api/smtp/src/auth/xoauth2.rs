//! AUTH XOAUTH2: sign-in with an OAuth 2.0 bearer access token, as Microsoft 365 and
//! Google accept it for SMTP.
//!
//! The initial response is base64 of `user=<mailbox>^Aauth=Bearer <token>^A^A`. Microsoft
//! tokens are JWTs that can be longer than 4,096 characters, while an SMTP command line
//! may have at most 512 octets (RFC 5321 §4.5.3.1.4, RFC 4954 §4): a response that does
//! not fit is sent alone on the line after the server's empty 334 (RFC 4954 allows such
//! lines up to 12,288 octets).
//!
//! A rejected token: Microsoft answers `535 5.7.3 Authentication unsuccessful`; Google
//! first sends a 334 whose text is base64 JSON saying why (`{"status":"400",...}`), wants
//! an empty line back, and only then answers `535 5.7.8`. Both end as
//! [`FailureClass::OauthTokenRejected`](postamt_wire::FailureClass::OauthTokenRejected),
//! which tells the caller to fetch a fresh token.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use postamt_wire::FailureClass;
use secrecy::{ExposeSecret, SecretString};

use crate::classify::{self, Fail, ReplyContext};
use crate::conn::Conn;
use crate::mask::{self, Outgoing};
use crate::reply::Reply;
use crate::session::{command, Run};

/// The longest SMTP command line, CRLF included (RFC 5321 §4.5.3.1.4).
pub(crate) const COMMAND_LINE_MAX: usize = 512;

/// How much of a decoded error challenge the transcript shows.
const CHALLENGE_SHOWN_MAX: usize = 500;

pub(super) async fn auth(
    st: &mut Run<'_>,
    conn: &mut Conn,
    mailbox: &str,
    token: &SecretString,
    ctx: ReplyContext,
) -> Result<(), Fail> {
    let response = mask::xoauth2_response(mailbox, token);
    let inline_len = "AUTH XOAUTH2 ".len() + response.expose_secret().len() + "\r\n".len();
    let mut reply = if inline_len <= COMMAND_LINE_MAX {
        command(st, conn, mask::auth_xoauth2_command(&response)).await?
    } else {
        st.transcript.info(format!(
            "AUTH XOAUTH2 with the initial response would be {inline_len} octets, more than the {COMMAND_LINE_MAX} an \
             SMTP command line may have: the response follows on its own line after the server's 334."
        ));
        let reply = command(st, conn, Outgoing::public("AUTH XOAUTH2")).await?;
        if reply.code == 334 {
            command(st, conn, mask::auth_xoauth2_continuation(&response)).await?
        } else {
            reply
        }
    };
    if reply.code == 334 {
        // A 334 after the response is an error challenge (Google): the server waits for an
        // empty line and then sends the final 5xx.
        if let Some(json) = decode_challenge(&reply) {
            st.transcript.info(format!("The server's error challenge decodes to: {json}"));
        }
        st.transcript.info("An empty line answers the error challenge, as XOAUTH2 requires.");
        reply = command(st, conn, Outgoing::public("")).await?;
    }
    st.book.reply(&reply);
    match reply.code {
        235 => Ok(()),
        334 => {
            // Still inside the SASL exchange: anything sent now would be taken as a response.
            conn.mark_in_message();
            Err(Fail::new(FailureClass::ProtocolError, None).said(
                "der Server verlangte nach der leeren Antwort auf seine XOAUTH2-Fehlermeldung noch mehr (334)",
                "the server asked for more after the empty answer to its XOAUTH2 error challenge (334)",
            ))
        }
        _ => Err(classify::xoauth2_failure(&reply, ctx)),
    }
}

/// The text of an error challenge, decoded from base64: JSON with the HTTP-like status,
/// the schemes and the scope the token would need. It holds no secret.
fn decode_challenge(reply: &Reply) -> Option<String> {
    let encoded: String = reply.lines.concat();
    let bytes = B64.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if text.is_empty() || text.chars().any(|c| c.is_control() && c != '\n') {
        return None;
    }
    let mut shown: String = text.chars().take(CHALLENGE_SHOWN_MAX).collect();
    if shown.len() < text.len() {
        shown.push_str(" …");
    }
    Some(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_error_challenge_is_decoded() {
        let json = r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
        let reply = Reply { code: 334, lines: vec![B64.encode(json)] };
        assert_eq!(decode_challenge(&reply).as_deref(), Some(json));
        assert_eq!(decode_challenge(&Reply { code: 334, lines: vec![String::new()] }), None);
        assert_eq!(decode_challenge(&Reply { code: 334, lines: vec!["not base64!".into()] }), None);
        let binary = Reply { code: 334, lines: vec![B64.encode([0u8, 1, 2])] };
        assert_eq!(decode_challenge(&binary), None);
    }
}
