//! What to change, in German and English, for each failure class. Hints name the
//! settings as the page labels them and use the values of this test or delivery: the test
//! mail and delivery share this one table; only where a sentence is about the test itself
//! (its recipient, trying again) does [`Purpose`] choose the wording.

use chrono::Utc;
use postamt_wire::{Encryption, FailureClass as C, SettingsField, StageName, TlsInfo};

use crate::certs;

/// Who asks for the hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The test mail: the admin chose the recipient and tries again by hand.
    Test,
    /// Delivery of a module's mail: the recipient came with the message, and the outbox
    /// retries temporary failures by itself.
    Delivery,
}

/// What a hint may mention.
pub(crate) struct HintContext<'a> {
    pub purpose: Purpose,
    pub stage: StageName,
    pub host: &'a str,
    pub port: u16,
    pub encryption: Encryption,
    pub timeout_secs: u64,
    pub sender: &'a str,
    pub recipient: &'a str,
    pub username: Option<&'a str>,
    /// The sign-in uses an OAuth 2.0 access token (XOAUTH2), not a password.
    pub oauth: bool,
    /// The settings field at fault.
    pub field: Option<SettingsField>,
    /// The server's own words that decided the failure (`535 5.7.8 …`), masked.
    pub reply: Option<&'a str>,
    /// The technical cause (an error message, in English), masked.
    pub detail: Option<&'a str>,
    pub tls: Option<&'a TlsInfo>,
    /// AUTH mechanisms the server offered.
    pub mechanisms: Option<&'a str>,
}

fn encryption_de(e: Encryption) -> &'static str {
    match e {
        Encryption::None => "Keine",
        Encryption::Starttls => "STARTTLS",
        Encryption::Tls => "TLS",
    }
}

fn encryption_en(e: Encryption) -> &'static str {
    match e {
        Encryption::None => "None",
        Encryption::Starttls => "STARTTLS",
        Encryption::Tls => "TLS",
    }
}

fn stage_de(stage: StageName) -> &'static str {
    match stage {
        StageName::Token => "Zugriffstoken (OAuth)",
        StageName::Resolve => "Namensauflösung",
        StageName::Connect => "Verbindungsaufbau",
        StageName::Tls => "TLS",
        StageName::Greeting => "Begrüßung",
        StageName::Ehlo => "EHLO",
        StageName::Auth => "Anmeldung",
        StageName::MailFrom => "Absender (MAIL FROM)",
        StageName::RcptTo => "Empfänger (RCPT TO)",
        StageName::Data => "Nachricht (DATA)",
    }
}

fn stage_en(stage: StageName) -> &'static str {
    match stage {
        StageName::Token => "access token (OAuth)",
        StageName::Resolve => "name lookup",
        StageName::Connect => "connect",
        StageName::Tls => "TLS",
        StageName::Greeting => "greeting",
        StageName::Ehlo => "EHLO",
        StageName::Auth => "login",
        StageName::MailFrom => "sender (MAIL FROM)",
        StageName::RcptTo => "recipient (RCPT TO)",
        StageName::Data => "message (DATA)",
    }
}

/// The German and English hint for `class`.
/// The hint of class `expired` (German, English): a message whose `expires_at` passed is
/// never sent. Delivery makes this failure itself, without an SMTP exchange.
pub fn expired_hint() -> (String, String) {
    (
        "Die Nachricht wurde nicht gesendet: ihre Gültigkeit (expires_at) war abgelaufen, bevor sie \
         zugestellt werden konnte. Ein Modul, das zeitkritische Nachrichten wie Einmalpasswörter schickt, \
         sendet bei Bedarf eine neue."
            .to_owned(),
        "The message was not sent: its expiry (expires_at) passed before it could be delivered. A module \
         that sends time-critical messages such as one-time passwords sends a new one if needed."
            .to_owned(),
    )
}

pub(crate) fn hint(class: C, cx: &HintContext<'_>) -> (String, String) {
    let host = cx.host;
    let port = cx.port;
    let said_de = cx.reply.map(|r| format!(" (Antwort: „{r}“)")).unwrap_or_default();
    let said_en = cx.reply.map(|r| format!(" (answer: “{r}”)")).unwrap_or_default();
    let error_de = cx.detail.map(|d| format!(" (Fehlermeldung: {d})")).unwrap_or_default();
    let error_en = cx.detail.map(|d| format!(" (error: {d})")).unwrap_or_default();
    match class {
        C::DnsNotFound => (
            format!(
                "Der Servername „{host}“ wurde im DNS nicht gefunden. Prüfen Sie die Schreibweise unter \
                 „SMTP Server“: nur der Name (z. B. smtp.example.org), ohne „smtp://“ und ohne Port. Ist der \
                 Name richtig, erreicht dieser Server kein DNS."
            ),
            format!(
                "The server name “{host}” was not found in DNS. Check the spelling of “SMTP server”: just the \
                 name (e.g. smtp.example.org), without “smtp://” and without a port. If the name is right, this \
                 server cannot reach DNS."
            ),
        ),
        C::ConnectionRefused => (
            format!(
                "{host} hat die Verbindung auf Port {port} abgelehnt: dort nimmt kein Mail-Dienst an. Prüfen Sie \
                 den Port (üblich: 587 mit STARTTLS, 465 mit TLS, 25 ohne Anmeldung) und den Servernamen."
            ),
            format!(
                "{host} refused the connection on port {port}: no mail service listens there. Check the port \
                 (usually 587 with STARTTLS, 465 with TLS, 25 without login) and the server name."
            ),
        ),
        C::HostUnreachable => (
            format!(
                "{host} ist von hier aus nicht erreichbar{error_de}. Prüfen Sie den Servernamen und ob eine \
                 Firewall ausgehende Verbindungen zu Port {port} sperrt."
            ),
            format!(
                "{host} cannot be reached from here{error_en}. Check the server name and whether a firewall \
                 blocks outgoing connections to port {port}."
            ),
        ),
        C::Timeout => timeout_hint(cx),
        C::StarttlsOnImplicitTlsPort => (
            format!(
                "Port {port} erwartet TLS ab dem ersten Byte (implizites TLS, „SMTPS“), eingestellt ist aber \
                 „{}“. Wählen Sie bei „Verschlüsselung“ „TLS“{}.",
                encryption_de(cx.encryption),
                if port == 587 { "" } else { " – oder verwenden Sie Port 587 mit STARTTLS" }
            ),
            format!(
                "Port {port} expects TLS from the first byte (implicit TLS, “SMTPS”), but encryption is set to \
                 “{}”. Choose “TLS” as encryption{}.",
                encryption_en(cx.encryption),
                if port == 587 { "" } else { " – or use port 587 with STARTTLS" }
            ),
        ),
        C::TlsOnPlaintextPort => (
            format!(
                "Port {port} beginnt unverschlüsselt{said_de}, eingestellt ist aber „TLS“ ab dem ersten Byte. \
                 Wählen Sie bei „Verschlüsselung“ „STARTTLS“ – oder verwenden Sie Port 465 mit TLS."
            ),
            format!(
                "Port {port} starts in plaintext{said_en}, but encryption is set to “TLS” from the first byte. \
                 Choose “STARTTLS” as encryption – or use port 465 with TLS."
            ),
        ),
        C::StarttlsNotOffered => (
            format!(
                "{host} bietet auf Port {port} kein STARTTLS an; ohne Verschlüsselung sendet Postamt nicht. \
                 Verwenden Sie Port 465 mit „TLS“, falls der Anbieter das anbietet. „Keine“ Verschlüsselung \
                 nur in einem vertrauenswürdigen internen Netz."
            ),
            format!(
                "{host} offers no STARTTLS on port {port}, and Postamt does not fall back to plaintext. Use port \
                 465 with “TLS” if the provider offers it. Choose “None” only on a trusted internal network."
            ),
        ),
        C::TlsHandshakeFailed => (
            format!(
                "Die TLS-Verbindung zu {host}:{port} kam nicht zustande{error_de}. Der Server kann vermutlich nur \
                 veraltete TLS-Versionen (vor TLS 1.2). Prüfen Sie Port und Verschlüsselung (465 mit TLS, 587 mit \
                 STARTTLS) und fragen Sie den Betreiber nach TLS 1.2 oder neuer."
            ),
            format!(
                "The TLS connection to {host}:{port} failed{error_en}. The server probably supports only outdated \
                 TLS versions (before TLS 1.2). Check port and encryption (465 with TLS, 587 with STARTTLS) and ask \
                 the operator for TLS 1.2 or newer."
            ),
        ),
        C::CertificateUntrusted => {
            let cert = cx.tls.and_then(|t| Some((t.subject.as_deref()?, t.issuer.as_deref()?)));
            let of_de = cert.map(|(s, i)| format!(" ({s}, ausgestellt von {i})")).unwrap_or_default();
            let of_en = cert.map(|(s, i)| format!(" ({s}, issued by {i})")).unwrap_or_default();
            (
                format!(
                    "Dem Zertifikat des Servers{of_de} wird nicht vertraut. \
                     Nutzt der Server eine eigene (interne) Zertifizierungsstelle, fügen Sie deren CA-Zertifikat \
                     (PEM) unter „Vertrauenswürdige CA“ ein. „Ungültige Zertifikate akzeptieren“ nur als letzten \
                     Ausweg."
                ),
                format!(
                    "The server's certificate{of_en} is not trusted. If the \
                     server uses its own (internal) certificate authority, paste that CA certificate (PEM) into \
                     “Trusted CA”. Use “Accept invalid certificates” only as a last resort."
                ),
            )
        }
        C::CertificateExpired => {
            let now = Utc::now();
            let day = |d: chrono::DateTime<Utc>| d.format("%Y-%m-%d").to_string();
            let (state_de, state_en) = match (cx.tls.and_then(|t| t.not_before), cx.tls.and_then(|t| t.not_after)) {
                (_, Some(after)) if after < now => {
                    (format!("ist am {} abgelaufen", day(after)), format!("expired on {}", day(after)))
                }
                (Some(before), _) if before > now => {
                    (format!("gilt erst ab {}", day(before)), format!("is valid only from {}", day(before)))
                }
                _ => ("ist zeitlich nicht gültig".to_owned(), "is not valid at this time".to_owned()),
            };
            (
                format!(
                    "Das Zertifikat von {host} {state_de}. Der Betreiber des Servers muss es erneuern. Prüfen Sie \
                     auch, ob „SMTP Server“ auf den richtigen Server zeigt und ob die Uhr dieses Systems stimmt."
                ),
                format!(
                    "The certificate of {host} {state_en}. The server's operator must renew it. Also check that \
                     “SMTP server” names the right server and that this system's clock is correct."
                ),
            )
        }
        C::CertificateHostnameMismatch => {
            let names = cx.tls.map(|t| certs::host_names(&t.sans)).unwrap_or_default();
            match names.first() {
                Some(first) => (
                    format!(
                        "Das Zertifikat gilt für {}, nicht für „{host}“. Tragen Sie unter „SMTP Server“ einen dieser \
                         Namen ein, z. B. „{first}“.",
                        names.join(", ")
                    ),
                    format!(
                        "The certificate is for {}, not for “{host}”. Enter one of these names as “SMTP server”, \
                         e.g. “{first}”.",
                        names.join(", ")
                    ),
                ),
                None => (
                    format!(
                        "Das Zertifikat gilt nicht für „{host}“. Tragen Sie unter „SMTP Server“ den Namen ein, den \
                         der Anbieter für SMTP nennt."
                    ),
                    format!(
                        "The certificate is not for “{host}”. Enter the name your provider gives for SMTP as “SMTP \
                         server”."
                    ),
                ),
            }
        }
        C::ConnectionRejected => (
            format!(
                "{host} lehnt Verbindungen von hier ab{said_de}. Oft ist die IP-Adresse dieses Servers gesperrt \
                 oder Port {port} nur für andere Mail-Server gedacht. {}",
                if port == 587 {
                    "Fragen Sie den Betreiber."
                } else {
                    "Verwenden Sie den Einlieferungs-Port 587 mit Anmeldung oder fragen Sie den Betreiber."
                }
            ),
            format!(
                "{host} rejects connections from here{said_en}. Often this server's IP address is blocked or port \
                 {port} is meant for other mail servers only. {}",
                if port == 587 { "Ask the operator." } else { "Use the submission port 587 with login, or ask the operator." }
            ),
        ),
        C::EncryptionRequired => (
            format!(
                "{host} verlangt eine verschlüsselte Verbindung{said_de}. Wählen Sie bei „Verschlüsselung“ \
                 „STARTTLS“ (oder „TLS“ auf Port 465)."
            ),
            format!(
                "{host} requires an encrypted connection{said_en}. Choose “STARTTLS” as encryption (or “TLS” on \
                 port 465)."
            ),
        ),
        C::AuthNotOffered => (
            format!(
                "{host} bietet auf Port {port} keine Anmeldung (AUTH) an. Schalten Sie „Authentifizierung“ aus, \
                 wenn der Server ohne Anmeldung versendet (z. B. ein interner Relay){}.",
                if port == 587 { "" } else { ", oder verwenden Sie den Einlieferungs-Port 587 des Anbieters" }
            ),
            format!(
                "{host} offers no login (AUTH) on port {port}. Switch “Authentication” off if the server relays \
                 without login (e.g. an internal relay){}.",
                if port == 587 { "" } else { ", or use the provider's submission port 587" }
            ),
        ),
        C::AuthRequiresTls => (
            format!(
                "{host} erlaubt die Anmeldung nur über eine verschlüsselte Verbindung. Wählen Sie bei \
                 „Verschlüsselung“ „STARTTLS“ (oder „TLS“ auf Port 465)."
            ),
            format!(
                "{host} allows login only over an encrypted connection. Choose “STARTTLS” as encryption (or “TLS” \
                 on port 465)."
            ),
        ),
        C::AuthMechanismUnsupported if cx.oauth => {
            let offered = cx.mechanisms.unwrap_or("?");
            (
                format!(
                    "{host} bietet keine Anmeldung mit OAuth 2.0 (XOAUTH2) an, nur {offered}. OAuth 2.0 bieten z. B. \
                     Microsoft 365 (smtp.office365.com) und Google (smtp.gmail.com) auf Port 587 mit STARTTLS; bei \
                     anderen Servern melden Sie sich mit Benutzername und Passwort an."
                ),
                format!(
                    "{host} does not offer login with OAuth 2.0 (XOAUTH2), only {offered}. OAuth 2.0 is offered e.g. \
                     by Microsoft 365 (smtp.office365.com) and Google (smtp.gmail.com) on port 587 with STARTTLS; \
                     with other servers log in with user name and password."
                ),
            )
        }
        C::AuthMechanismUnsupported if cx.mechanisms.is_some_and(|m| m.split(' ').any(|m| m == "XOAUTH2")) => {
            let offered = cx.mechanisms.unwrap_or("?");
            (
                format!(
                    "{host} bietet nur die Anmeldeverfahren {offered} an und nimmt kein Passwort an, aber OAuth 2.0 \
                     (XOAUTH2). Stellen Sie die Anmeldung auf OAuth 2.0 um (Microsoft 365 oder Google)."
                ),
                format!(
                    "{host} offers only the login methods {offered}: no password, but OAuth 2.0 (XOAUTH2). Switch \
                     the login to OAuth 2.0 (Microsoft 365 or Google)."
                ),
            )
        }
        C::AuthMechanismUnsupported => {
            let offered = cx.mechanisms.unwrap_or("?");
            (
                format!(
                    "{host} bietet nur die Anmeldeverfahren {offered} an; Postamt meldet sich mit PLAIN oder LOGIN \
                     an. Fragen Sie den Anbieter nach einem Zugang mit Benutzername und Passwort (ggf. \
                     App-Passwort) oder nach einem anderen Einlieferungs-Server."
                ),
                format!(
                    "{host} offers only the login methods {offered}; Postamt logs in with PLAIN or LOGIN. Ask the \
                     provider for access with user name and password (an app password, if need be) or for another \
                     submission server."
                ),
            )
        }
        C::AuthRequired => (
            format!(
                "{host} nimmt E-Mails nur nach einer Anmeldung an{said_de}. Aktivieren Sie „Authentifizierung“ \
                 und geben Sie Benutzername und Passwort des Mail-Kontos ein."
            ),
            format!(
                "{host} accepts mail only after login{said_en}. Switch “Authentication” on and enter the mail \
                 account's user name and password."
            ),
        ),
        C::CredentialsRejected => {
            let user = cx.username.unwrap_or("");
            (
                format!(
                    "{host} hat die Anmeldung als „{user}“ abgelehnt{said_de}. Prüfen Sie Benutzername (meist die \
                     vollständige E-Mail-Adresse) und Passwort."
                ),
                format!(
                    "{host} rejected the login as “{user}”{said_en}. Check the user name (usually the full e-mail \
                     address) and the password."
                ),
            )
        }
        C::AppPasswordRequired => (
            format!(
                "{host} nimmt für dieses Konto das normale Passwort nicht an{said_de}: verlangt wird ein \
                 App-Passwort (bei Zwei-Faktor-Anmeldung) oder moderne Anmeldung (OAuth). Erzeugen Sie beim \
                 Anbieter ein App-Passwort und tragen Sie es als Passwort ein; bei Microsoft 365 muss „SMTP AUTH“ \
                 für das Postfach aktiviert sein."
            ),
            format!(
                "{host} does not accept the normal password for this account{said_en}: it wants an app password \
                 (with 2-step verification) or modern authentication (OAuth). Create an app password at your \
                 provider and enter it as the password; with Microsoft 365, “SMTP AUTH” must be enabled for the \
                 mailbox."
            ),
        ),
        C::OauthTokenRejected => oauth_token_rejected_hint(cx),
        C::SmtpAuthDisabled => {
            let user = cx.username.unwrap_or("<Postfach>");
            let user_en = cx.username.unwrap_or("<mailbox>");
            (
                format!(
                    "{host} lässt die SMTP-Anmeldung nicht zu{said_de}: SMTP AUTH ist für den Mandanten oder das \
                     Postfach ausgeschaltet, oder die Sicherheitsstandards (Security Defaults) von Microsoft Entra ID \
                     sperren sie. Ein Exchange-Administrator schaltet es in der Exchange Online PowerShell ein: \
                     Set-CASMailbox -Identity {user} -SmtpClientAuthenticationDisabled $false (für den ganzen \
                     Mandanten: Set-TransportConfig -SmtpClientAuthenticationDisabled $false). Sind die \
                     Sicherheitsstandards aktiv, muss ein Administrator sie ausschalten."
                ),
                format!(
                    "{host} does not allow SMTP login{said_en}: SMTP AUTH is disabled for the tenant or the mailbox, \
                     or Microsoft Entra ID security defaults block it. An Exchange administrator enables it in \
                     Exchange Online PowerShell: Set-CASMailbox -Identity {user_en} \
                     -SmtpClientAuthenticationDisabled $false (for the whole tenant: Set-TransportConfig \
                     -SmtpClientAuthenticationDisabled $false). If security defaults are on, an administrator must \
                     turn them off."
                ),
            )
        }
        C::BasicAuthDisabled => (
            format!(
                "{host} nimmt für SMTP keine Passwörter mehr an{said_de}: die Standardauthentifizierung ist \
                 abgeschaltet, auch ein App-Passwort hilft nicht. Stellen Sie die Anmeldung auf OAuth 2.0 um \
                 (Microsoft 365 oder Google)."
            ),
            format!(
                "{host} no longer accepts passwords for SMTP{said_en}: basic authentication is switched off, and an \
                 app password does not help either. Switch the login to OAuth 2.0 (Microsoft 365 or Google)."
            ),
        ),
        C::SenderRejected => {
            let user_de = cx.username.map(|u| format!(" (angemeldet als „{u}“)")).unwrap_or_default();
            let user_en = cx.username.map(|u| format!(" (logged in as “{u}”)")).unwrap_or_default();
            let sender = cx.sender;
            (
                format!(
                    "{host} hat die Absenderadresse „{sender}“ abgelehnt{said_de}. Die meisten Anbieter erlauben \
                     nur die Adresse des angemeldeten Kontos{user_de}: tragen Sie diese als E-Mail-Adresse des \
                     Standardabsenders ein und aktivieren Sie „Standardabsender erzwingen“."
                ),
                format!(
                    "{host} rejected the sender address “{sender}”{said_en}. Most providers allow only the \
                     address of the account logged in{user_en}: enter it as the default sender's address and switch \
                     “Force default sender” on."
                ),
            )
        }
        C::RecipientRejected => {
            let rcpt = cx.recipient;
            let (which_de, which_en) = match cx.purpose {
                Purpose::Test => ("die Empfängeradresse des Tests", "the test's recipient address"),
                Purpose::Delivery => ("die Empfängeradresse", "the recipient address"),
            };
            (
                format!(
                    "{host} hat den Empfänger „{rcpt}“ abgelehnt{said_de}. Prüfen Sie {which_de}; nimmt der \
                     Server nur Empfänger der eigenen Domain an, fehlt meist die Anmeldung."
                ),
                format!(
                    "{host} rejected the recipient “{rcpt}”{said_en}. Check {which_en}; if the server accepts \
                     only recipients of its own domains, login is usually missing."
                ),
            )
        }
        C::TemporaryFailure => {
            let (again_de, again_en) = match cx.purpose {
                Purpose::Test => (
                    "Versuchen Sie es in einigen Minuten erneut.",
                    "Try again in a few minutes.",
                ),
                Purpose::Delivery => (
                    "Postamt versucht es später automatisch erneut.",
                    "Postamt tries again later by itself.",
                ),
            };
            (
                format!(
                    "{host} hat vorübergehend abgelehnt{said_de}. Das liegt meist nicht an den Einstellungen \
                     (Greylisting, Überlastung, Versandlimit). {again_de}"
                ),
                format!(
                    "{host} refused temporarily{said_en}. This is usually not caused by the settings (greylisting, \
                     load, sending limits). {again_en}"
                ),
            )
        }
        C::MessageRejected => (
            format!(
                "{host} hat die Nachricht selbst abgelehnt{said_de}. Häufige Gründe sind Inhaltsfilter und die \
                 SPF/DKIM/DMARC-Prüfung der Absenderdomain: verwenden Sie als Absender eine Adresse, die zum \
                 Mail-Konto passt, oder fragen Sie den Betreiber."
            ),
            format!(
                "{host} rejected the message itself{said_en}. Common causes are content filters and the \
                 SPF/DKIM/DMARC check of the sender's domain: send from an address that belongs to the mail account, or ask \
                 the operator."
            ),
        ),
        C::InvalidSettings => invalid_settings_hint(cx),
        C::ProtocolError => (
            format!(
                "Unerwartete Antwort im Schritt „{}“{error_de}. Prüfen Sie, ob unter {host}:{port} wirklich ein \
                 SMTP-Server läuft und ob Port und Verschlüsselung zusammenpassen.",
                stage_de(cx.stage)
            ),
            format!(
                "Unexpected answer at “{}”{error_en}. Check that an SMTP server really runs at {host}:{port} and \
                 that port and encryption match.",
                stage_en(cx.stage)
            ),
        ),
        C::Throttled => {
            let (again_de, again_en) = match cx.purpose {
                Purpose::Test => ("Versuchen Sie es in einigen Minuten erneut.", "Try again in a few minutes."),
                Purpose::Delivery => (
                    "Postamt versucht es später automatisch erneut.",
                    "Postamt tries again later by itself.",
                ),
            };
            (
                format!(
                    "{host} bremst diesen Absender{said_de}: zu viele Nachrichten oder Verbindungen in kurzer Zeit. \
                     {again_de} Sendet Postamt dauerhaft mehr, als der Anbieter erlaubt (Microsoft 365: etwa 30 \
                     Nachrichten pro Minute und Postfach), verteilen Sie den Versand oder nutzen Sie einen Dienst \
                     für Massenversand."
                ),
                format!(
                    "{host} is slowing this sender down{said_en}: too many messages or connections in a short time. \
                     {again_en} If Postamt sends more than the provider allows for good (Microsoft 365: about 30 \
                     messages a minute per mailbox), spread the sending or use a bulk mail service."
                ),
            )
        }
        C::QuotaExceeded => (
            format!(
                "Das Sendekontingent des Postfachs ist ausgeschöpft{said_de} (Microsoft 365: 10.000 Empfänger \
                 am Tag, Google Workspace: etwa 2.000 Nachrichten am Tag). Nachrichten bleiben im Postausgang und \
                 gehen hinaus, sobald das Kontingent es wieder erlaubt; keine gilt deshalb als gescheitert."
            ),
            format!(
                "The mailbox's sending quota is used up{said_en} (Microsoft 365: 10,000 recipients a day, Google \
                 Workspace: about 2,000 messages a day). Messages stay in the outbox and go out once the quota \
                 allows again; none fails because of it."
            ),
        ),
        C::Expired => expired_hint(),
        // The `token` stage's classes come from the OAuth client, which has its own hints
        // (`postamt_oauth::OAuthErrorClass::hint`); an SMTP exchange never yields them.
        C::OauthTenantNotFound
        | C::OauthInvalidClientSecret
        | C::OauthClientSecretExpired
        | C::OauthApplicationNotFound
        | C::OauthConsentMissing
        | C::OauthRefreshTokenInvalid
        | C::OauthAuthorizationCodeInvalid
        | C::OauthAccessDenied
        | C::OauthUnauthorizedClient
        | C::OauthInvalidScope
        | C::OauthServiceAccountRejected
        | C::OauthServiceAccountKeyInvalid
        | C::OauthInsecureEndpoint
        | C::OauthEndpointUnreachable
        | C::OauthTimeout
        | C::OauthInvalidResponse
        | C::OauthProviderError
        | C::OauthNotConnected => (
            format!("Es konnte kein Zugriffstoken bezogen werden{error_de}."),
            format!("No access token could be obtained{error_en}."),
        ),
    }
}

/// The token was rejected. Which provider said so shows in the enhanced code: Google
/// answers `5.7.8` after its error challenge, Microsoft `5.7.3`.
fn oauth_token_rejected_hint(cx: &HintContext<'_>) -> (String, String) {
    let host = cx.host;
    let user = cx.username.unwrap_or("");
    let said_de = cx.reply.map(|r| format!(" (Antwort: „{r}“)")).unwrap_or_default();
    let said_en = cx.reply.map(|r| format!(" (answer: “{r}”)")).unwrap_or_default();
    let code = cx.reply.and_then(|r| r.split_whitespace().nth(1));
    match code {
        Some("5.7.8") => (
            format!(
                "{host} hat das OAuth-2.0-Zugriffstoken für „{user}“ abgelehnt{said_de}. Das Token muss den Bereich \
                 (Scope) https://mail.google.com/ haben und für genau dieses Postfach ausgestellt sein: der \
                 Benutzername muss die Adresse des Google-Kontos sein, für das das Token gilt (bei einem \
                 Dienstkonto mit domänenweiter Delegierung das Postfach, in dessen Namen es handelt)."
            ),
            format!(
                "{host} rejected the OAuth 2.0 access token for “{user}”{said_en}. The token needs the scope \
                 https://mail.google.com/ and must be issued for exactly this mailbox: the user name must be the \
                 address of the Google account the token is for (with a service account and domain-wide \
                 delegation, the mailbox it acts for)."
            ),
        ),
        Some("5.7.3") => (
            format!(
                "{host} hat das OAuth-2.0-Zugriffstoken für das Postfach „{user}“ abgelehnt{said_de}. Microsoft hat \
                 das Token ausgestellt, aber Exchange Online lässt die App nicht an das Postfach: registrieren Sie \
                 den Dienstprinzipal der App in der Exchange Online PowerShell mit New-ServicePrincipal \
                 -AppId <Anwendungs-ID> -ObjectId <Objekt-ID der Unternehmensanwendung> und geben Sie ihm Zugriff \
                 mit Add-MailboxPermission -Identity {user} -User <ID des Dienstprinzipals> -AccessRights \
                 FullAccess. Die App braucht außerdem die Berechtigung SMTP.SendAsApp mit Administratorzustimmung."
            ),
            format!(
                "{host} rejected the OAuth 2.0 access token for the mailbox “{user}”{said_en}. Microsoft issued the \
                 token, but Exchange Online does not let the app use the mailbox: register the app's service \
                 principal in Exchange Online PowerShell with New-ServicePrincipal -AppId <application ID> \
                 -ObjectId <enterprise application object ID> and grant it access with Add-MailboxPermission \
                 -Identity {user} -User <service principal ID> -AccessRights FullAccess. The app also needs the \
                 SMTP.SendAsApp permission with admin consent."
            ),
        ),
        _ => (
            format!(
                "{host} hat das OAuth-2.0-Zugriffstoken für „{user}“ abgelehnt{said_de}. Prüfen Sie, dass das Token \
                 für dieses Postfach und für SMTP ausgestellt ist (Microsoft 365: SMTP.SendAsApp und die \
                 Postfachberechtigung der App; Google: Bereich https://mail.google.com/)."
            ),
            format!(
                "{host} rejected the OAuth 2.0 access token for “{user}”{said_en}. Check that the token is issued for \
                 this mailbox and for SMTP (Microsoft 365: SMTP.SendAsApp and the app's mailbox permission; Google: \
                 scope https://mail.google.com/)."
            ),
        ),
    }
}

fn invalid_settings_hint(cx: &HintContext<'_>) -> (String, String) {
    let (host, rcpt, sender) = (cx.host, cx.recipient, cx.sender);
    match cx.field {
        Some(SettingsField::Recipient) => (
            format!("Die Empfängeradresse „{rcpt}“ ist keine gültige E-Mail-Adresse. Geben Sie eine Adresse wie name@example.org ein."),
            format!("The recipient “{rcpt}” is not a valid e-mail address. Enter an address like name@example.org."),
        ),
        Some(SettingsField::SenderAddress) => (
            format!("Die E-Mail-Adresse des Standardabsenders „{sender}“ ist ungültig. Tragen Sie die Adresse des Mail-Kontos ein."),
            format!("The default sender's address “{sender}” is not valid. Enter the mail account's address."),
        ),
        Some(SettingsField::ActingUserAddress) => (
            "Die Adresse des handelnden Benutzers ist keine gültige E-Mail-Adresse; lassen Sie sie weg oder korrigieren Sie sie.".to_owned(),
            "The acting user's address is not a valid e-mail address; leave it out or correct it.".to_owned(),
        ),
        Some(SettingsField::TlsTrustedCaPem) => (
            "Das Zertifikat unter „Vertrauenswürdige CA“ lässt sich nicht lesen. Fügen Sie das CA-Zertifikat im \
             PEM-Format ein, von „-----BEGIN CERTIFICATE-----“ bis „-----END CERTIFICATE-----“."
                .to_owned(),
            "The certificate in “Trusted CA” cannot be read. Paste the CA certificate in PEM format, from \
             “-----BEGIN CERTIFICATE-----” to “-----END CERTIFICATE-----”."
                .to_owned(),
        ),
        _ => (
            format!("„{host}“ ist weder ein Servername noch eine IP-Adresse. Tragen Sie unter „SMTP Server“ nur den Namen ein, z. B. smtp.example.org."),
            format!("“{host}” is neither a server name nor an IP address. Enter just the name as “SMTP server”, e.g. smtp.example.org."),
        ),
    }
}

fn timeout_hint(cx: &HintContext<'_>) -> (String, String) {
    let (host, port, t) = (cx.host, cx.port, cx.timeout_secs);
    match cx.stage {
        StageName::Resolve => (
            format!("Die DNS-Abfrage für „{host}“ hat nicht innerhalb von {t} s geantwortet. Prüfen Sie den Servernamen und die DNS-Einstellungen dieses Servers."),
            format!("The DNS lookup of “{host}” did not answer within {t} s. Check the server name and this server's DNS settings."),
        ),
        StageName::Connect => (
            format!(
                "{host} hat auf Port {port} nicht innerhalb von {t} s geantwortet: der Server ist nicht erreichbar \
                 oder eine Firewall verwirft die Verbindung. Prüfen Sie Servername und Port und ob ausgehende \
                 Verbindungen zu Port {port} erlaubt sind (Port 25 ist in vielen Netzen gesperrt)."
            ),
            format!(
                "{host} did not answer on port {port} within {t} s: the server is unreachable or a firewall drops \
                 the connection. Check server name and port, and whether outgoing connections to port {port} are \
                 allowed (many networks block port 25)."
            ),
        ),
        StageName::Greeting if cx.encryption != Encryption::Tls => (
            format!(
                "{host} hat die Verbindung auf Port {port} angenommen, aber in {t} s nicht begrüßt. Erwartet der \
                 Port TLS ab dem ersten Byte (üblich bei 465), wählen Sie bei „Verschlüsselung“ „TLS“; sonst ist \
                 dort kein (funktionierender) SMTP-Server."
            ),
            format!(
                "{host} accepted the connection on port {port} but sent no greeting within {t} s. If the port \
                 expects TLS from the first byte (usual for 465), choose “TLS” as encryption; otherwise no \
                 (working) SMTP server listens there."
            ),
        ),
        StageName::Tls | StageName::Greeting => (
            format!(
                "{host} hat auf Port {port} in {t} s keine TLS-Verbindung aufgebaut. Prüfen Sie Port und \
                 Verschlüsselung: 465 mit „TLS“, 587 mit „STARTTLS“."
            ),
            format!(
                "{host} did not complete TLS on port {port} within {t} s. Check port and encryption: 465 with \
                 “TLS”, 587 with “STARTTLS”."
            ),
        ),
        StageName::Data => (
            format!(
                "{host} hat die Nachricht nicht innerhalb von {t} s bestätigt. Manche Server prüfen Inhalte lange: \
                 erhöhen Sie den Timeout oder versuchen Sie es später erneut."
            ),
            format!(
                "{host} did not confirm the message within {t} s. Some servers scan content for a long time: raise \
                 the timeout or try again later."
            ),
        ),
        stage => (
            format!(
                "{host} hat im Schritt „{}“ nicht innerhalb von {t} s geantwortet. Versuchen Sie es später erneut; \
                 bleibt es so, ist der Server überlastet oder gestört.",
                stage_de(stage)
            ),
            format!(
                "{host} did not answer at “{}” within {t} s. Try again later; if it persists, the server is \
                 overloaded or faulty.",
                stage_en(stage)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_two_distinct_non_empty_hints() {
        let mut cx = HintContext {
            purpose: Purpose::Test,
            stage: StageName::Greeting,
            host: "smtp.example.org",
            port: 465,
            encryption: Encryption::Starttls,
            timeout_secs: 20,
            sender: "teambox@example.org",
            recipient: "someone@example.org",
            username: Some("teambox@example.org"),
            oauth: false,
            field: None,
            reply: Some("535 5.7.8 nope"),
            detail: Some("connection reset"),
            tls: None,
            mechanisms: Some("XOAUTH2"),
        };
        let mut seen = std::collections::HashSet::new();
        // The `token` stage's classes get their hints from the OAuth client, not from here.
        let smtp_classes = || C::ALL.into_iter().filter(|c| c.is_token_rejected() || !c.as_str().starts_with("oauth_"));
        for class in smtp_classes() {
            let (de, en) = hint(class, &cx);
            assert!(!de.is_empty() && !en.is_empty() && de != en, "{class}");
            assert!(seen.insert(en.clone()), "{class} shares its hint");
        }
        let (de, en) = hint(C::StarttlsOnImplicitTlsPort, &cx);
        assert!(de.contains("„TLS“") && en.contains("“TLS”"), "{de} / {en}");

        // Delivery uses the same table; only sentences about the test itself differ.
        let test: Vec<_> = smtp_classes().map(|class| hint(class, &cx)).collect();
        cx.purpose = Purpose::Delivery;
        for (class, test) in smtp_classes().zip(test) {
            let delivery = hint(class, &cx);
            let differs = matches!(class, C::RecipientRejected | C::TemporaryFailure | C::Throttled);
            assert_eq!(delivery != test, differs, "{class}");
            assert!(!delivery.1.contains("test"), "{class}: {}", delivery.1);
        }
    }

    #[test]
    fn oauth_hints_name_the_provider_fix() {
        let mut cx = HintContext {
            purpose: Purpose::Test,
            stage: StageName::Auth,
            host: "smtp.office365.com",
            port: 587,
            encryption: Encryption::Starttls,
            timeout_secs: 20,
            sender: "teambox@example.org",
            recipient: "someone@example.org",
            username: Some("teambox@example.org"),
            oauth: true,
            field: None,
            reply: Some("535 5.7.3 Authentication unsuccessful"),
            detail: None,
            tls: None,
            mechanisms: Some("LOGIN XOAUTH2"),
        };
        let (de, en) = hint(C::OauthTokenRejected, &cx);
        assert!(de.contains("New-ServicePrincipal") && en.contains("Add-MailboxPermission"), "{en}");
        cx.reply = Some("535 5.7.8 Username and Password not accepted. For more information, go to …");
        let (de, en) = hint(C::OauthTokenRejected, &cx);
        assert!(de.contains("https://mail.google.com/") && en.contains("scope https://mail.google.com/"), "{en}");
        cx.reply = Some("535 5.7.30 something else");
        assert!(!hint(C::OauthTokenRejected, &cx).1.contains("New-ServicePrincipal"));
        let (_, en) = hint(C::SmtpAuthDisabled, &cx);
        assert!(en.contains("Set-CASMailbox -Identity teambox@example.org -SmtpClientAuthenticationDisabled $false"));
        cx.mechanisms = Some("PLAIN LOGIN");
        let (de, en) = hint(C::AuthMechanismUnsupported, &cx);
        assert!(de.contains("XOAUTH2") && en.contains("does not offer login with OAuth 2.0"), "{en}");
        cx.oauth = false;
        assert!(hint(C::AuthMechanismUnsupported, &cx).1.contains("PLAIN or LOGIN"));
        cx.mechanisms = Some("XOAUTH2 OAUTHBEARER");
        assert!(hint(C::AuthMechanismUnsupported, &cx).1.contains("Switch the login to OAuth 2.0"));
        assert!(hint(C::BasicAuthDisabled, &cx).1.contains("OAuth 2.0"));
    }
}
