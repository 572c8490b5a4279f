//! AUTH: PLAIN or LOGIN with a password, XOAUTH2 with an OAuth 2.0 access token
//! ([`xoauth2`]); the payloads are built as secrets.

mod xoauth2;

use postamt_wire::{FailureClass, SettingsField, StageName};

use crate::classify::{self, Fail, ReplyContext};
use crate::config::{AuthSecret, Credentials};
use crate::conn::Conn;
use crate::mask::{self, Outgoing};
use crate::reply::Capabilities;
use crate::session::{command, Run};

/// With a password AUTH PLAIN if offered, else AUTH LOGIN; with an access token AUTH
/// XOAUTH2. The payloads are built as secrets, so the transcript only ever sees their masks.
pub(crate) async fn auth(
    st: &mut Run<'_>,
    conn: &mut Conn,
    credentials: &Credentials,
    caps: &Capabilities,
    ctx: ReplyContext,
) -> Result<(), Fail> {
    let Some(mechanisms) = &caps.auth else {
        return Err(if !ctx.encrypted && caps.starttls {
            Fail::new(FailureClass::AuthRequiresTls, Some(SettingsField::Encryption))
                .said("der Server bietet AUTH erst nach STARTTLS an", "the server offers AUTH only after STARTTLS")
        } else {
            Fail::new(FailureClass::AuthNotOffered, Some(SettingsField::AuthEnabled)).said(
                "die EHLO-Antwort des Servers bietet kein AUTH an",
                "the server's EHLO answer does not offer AUTH",
            )
        });
    };
    st.mechanisms = Some(mechanisms.join(" "));
    let offers = |m: &str| mechanisms.iter().any(|x| x == m);
    let user = &credentials.username;
    let password = match &credentials.secret {
        AuthSecret::Password(password) => password,
        AuthSecret::AccessToken(token) => {
            if !offers("XOAUTH2") {
                return Err(Fail::new(FailureClass::AuthMechanismUnsupported, Some(SettingsField::AuthEnabled)).said(
                    format!("der Server bietet kein XOAUTH2 (OAuth 2.0) an, nur {}", mechanisms.join(" ")),
                    format!("the server does not offer XOAUTH2 (OAuth 2.0); it offers only {}", mechanisms.join(" ")),
                ));
            }
            return xoauth2::auth(st, conn, user, token, ctx).await;
        }
    };
    let reply = if offers("PLAIN") {
        let reply = command(st, conn, mask::auth_plain_command(user, password)).await?;
        if reply.code == 334 {
            command(st, conn, mask::auth_plain_response(user, password)).await?
        } else {
            reply
        }
    } else if offers("LOGIN") {
        let reply = command(st, conn, Outgoing::public("AUTH LOGIN")).await?;
        if reply.code != 334 {
            reply
        } else {
            st.transcript.info(format!("(the next line is the user name “{user}” in base64)"));
            let reply = command(st, conn, mask::auth_login_username(user)).await?;
            if reply.code != 334 {
                reply
            } else {
                command(st, conn, mask::auth_login_password(password)).await?
            }
        }
    } else {
        return Err(Fail::new(FailureClass::AuthMechanismUnsupported, Some(SettingsField::AuthEnabled)).said(
            format!("der Server bietet nur {} an", mechanisms.join(" ")),
            format!("the server offers only {}", mechanisms.join(" ")),
        ));
    };
    st.book.reply(&reply);
    match reply.code {
        235 => Ok(()),
        334 => {
            // Still inside the SASL exchange: anything sent now would be taken as a response.
            conn.mark_in_message();
            Err(Fail::new(FailureClass::ProtocolError, None).said(
                "der Server verlangte mehr als Benutzername und Passwort (334)",
                "the server asked for more than user name and password (334)",
            ))
        }
        _ => Err(classify::reply_failure(StageName::Auth, &reply, ctx)),
    }
}
