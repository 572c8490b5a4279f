//! SMTP replies (RFC 5321 §4.2): one or more lines `NNN-text` ending with `NNN text`,
//! the enhanced status code (RFC 3463) and the EHLO extensions.

/// Longest [`Reply::one_line`], in characters.
pub(crate) const ONE_LINE_MAX: usize = 1_000;

/// One complete reply; its lines are already masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub code: u16,
    /// Text of each line, without code and separator.
    pub lines: Vec<String>,
}

/// How one line of a reply parsed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReplyLine<'a> {
    pub code: u16,
    pub last: bool,
    pub text: &'a str,
}

/// Parses `250-text`, `250 text` or `250`; `None` if the line is not an SMTP reply line.
pub(crate) fn parse_line(line: &str) -> Option<ReplyLine<'_>> {
    let bytes = line.as_bytes();
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&bytes[0]) {
        return None;
    }
    let code = line[..3].parse().ok()?;
    match bytes.get(3) {
        None => Some(ReplyLine { code, last: true, text: "" }),
        Some(b' ') => Some(ReplyLine { code, last: true, text: &line[4..] }),
        Some(b'-') => Some(ReplyLine { code, last: false, text: &line[4..] }),
        Some(_) => None,
    }
}

/// Whether bytes a server sent look like the start of an SMTP reply (`220 `, `554-`, ...).
pub(crate) fn looks_like_smtp(bytes: &[u8]) -> bool {
    bytes.len() >= 3
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && (b'2'..=b'5').contains(&bytes[0])
        && matches!(bytes.get(3), None | Some(b' ' | b'-' | b'\r' | b'\n'))
}

impl Reply {
    pub(crate) fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    pub(crate) fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub(crate) fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// The lines joined with `\n`.
    pub(crate) fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// `535 5.7.8 text` on one line, for details and hints.
    pub(crate) fn summary(&self) -> String {
        let first = self.lines.first().map(String::as_str).unwrap_or("");
        if self.lines.len() > 1 {
            format!("{} {} …", self.code, first)
        } else {
            format!("{} {}", self.code, first).trim_end().to_owned()
        }
    }

    /// The whole reply on one line, `550 5.1.1 first line second line`, for logs and the
    /// delivery result: continuation lines are joined with a space, without repeating the
    /// enhanced status code. At most [`ONE_LINE_MAX`] characters.
    pub(crate) fn one_line(&self) -> String {
        let mut out = self.code.to_string();
        let enhanced = self.enhanced_code();
        for (i, line) in self.lines.iter().enumerate() {
            let text = match (&enhanced, i) {
                (Some(code), 1..) => line.strip_prefix(code.as_str()).unwrap_or(line).trim_start(),
                _ => line.as_str(),
            };
            if !text.is_empty() {
                out.push(' ');
                out.push_str(text);
            }
        }
        if out.chars().count() > ONE_LINE_MAX {
            out = out.chars().take(ONE_LINE_MAX).collect::<String>() + " …";
        }
        out
    }

    /// The enhanced status code at the start of the first line, if its class matches the
    /// reply code (`5.7.8` for a 535).
    pub(crate) fn enhanced_code(&self) -> Option<String> {
        let first = self.lines.first()?;
        let token = first.split_whitespace().next()?;
        let mut parts = token.split('.');
        let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
        let digits = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
        let matches_code = class.parse::<u16>().ok()? == self.code / 100;
        (parts.next().is_none() && digits(class, 1) && digits(subject, 3) && digits(detail, 3) && matches_code)
            .then(|| token.to_owned())
    }
}

/// What a server offers in its EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Capabilities {
    pub starttls: bool,
    /// Mechanisms after `AUTH` (or the old `AUTH=`), uppercase; `None` if AUTH is not offered.
    pub auth: Option<Vec<String>>,
    pub smtputf8: bool,
    pub size: Option<u64>,
    /// Commands may be sent in groups (RFC 2920).
    pub pipelining: bool,
    /// `BODY=8BITMIME` is accepted (RFC 6152).
    pub eightbitmime: bool,
}

impl Capabilities {
    pub(crate) fn from_ehlo(reply: &Reply) -> Self {
        let mut caps = Capabilities::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let keyword = keyword.to_ascii_uppercase();
            let (keyword, inline) = match keyword.split_once('=') {
                Some((k, rest)) => (k.to_owned(), Some(rest.to_owned())),
                None => (keyword, None),
            };
            match keyword.as_str() {
                "STARTTLS" => caps.starttls = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "PIPELINING" => caps.pipelining = true,
                "8BITMIME" => caps.eightbitmime = true,
                "SIZE" => caps.size = words.next().and_then(|s| s.parse().ok()).filter(|&n| n > 0),
                "AUTH" => {
                    let mechs = caps.auth.get_or_insert_with(Vec::new);
                    for mech in inline.into_iter().chain(words.map(str::to_owned)) {
                        let mech = mech.to_ascii_uppercase();
                        if !mech.is_empty() && !mechs.contains(&mech) {
                            mechs.push(mech);
                        }
                    }
                }
                _ => {}
            }
        }
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply { code, lines: lines.iter().map(|l| l.to_string()).collect() }
    }

    #[test]
    fn parses_reply_lines() {
        assert_eq!(parse_line("250-PIPELINING"), Some(ReplyLine { code: 250, last: false, text: "PIPELINING" }));
        assert_eq!(parse_line("250 OK"), Some(ReplyLine { code: 250, last: true, text: "OK" }));
        assert_eq!(parse_line("354"), Some(ReplyLine { code: 354, last: true, text: "" }));
        assert_eq!(parse_line("SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_line("250x"), None);
        assert_eq!(parse_line("150 nope"), None);
        assert!(looks_like_smtp(b"220 mail ESMTP"));
        assert!(!looks_like_smtp(&[0x16, 0x03, 0x03]));
    }

    #[test]
    fn enhanced_code_only_when_it_matches_the_reply_class() {
        assert_eq!(reply(535, &["5.7.8 Authentication credentials invalid"]).enhanced_code().as_deref(), Some("5.7.8"));
        assert_eq!(reply(250, &["2.0.0 OK"]).enhanced_code().as_deref(), Some("2.0.0"));
        assert_eq!(reply(550, &["2.0.0 odd"]).enhanced_code(), None);
        assert_eq!(reply(250, &["mail.example.org"]).enhanced_code(), None);
        assert_eq!(reply(451, &[]).enhanced_code(), None);
    }

    #[test]
    fn capabilities_from_ehlo() {
        let caps = Capabilities::from_ehlo(&reply(
            250,
            &["mail.example.org", "SIZE 35882577", "8BITMIME", "AUTH LOGIN PLAIN XOAUTH2", "AUTH=LOGIN", "STARTTLS"],
        ));
        assert!(caps.starttls && caps.eightbitmime && !caps.pipelining);
        assert_eq!(caps.size, Some(35882577));
        assert_eq!(caps.auth, Some(vec!["LOGIN".to_owned(), "PLAIN".to_owned(), "XOAUTH2".to_owned()]));
        let caps = Capabilities::from_ehlo(&reply(250, &["mail.example.org", "PIPELINING"]));
        assert_eq!(caps, Capabilities { pipelining: true, ..Capabilities::default() });
        let caps = Capabilities::from_ehlo(&reply(250, &["PIPELINING"]));
        assert_eq!(caps, Capabilities::default(), "the first line is the server's name");
    }

    #[test]
    fn reply_on_one_line() {
        let gmail = reply(
            550,
            &["5.1.1 The email account that you tried to reach does not exist.", "5.1.1 Please check the address."],
        );
        assert_eq!(
            gmail.one_line(),
            "550 5.1.1 The email account that you tried to reach does not exist. Please check the address."
        );
        assert_eq!(reply(250, &["2.0.0 Ok: queued as X"]).one_line(), "250 2.0.0 Ok: queued as X");
        assert_eq!(reply(354, &[""]).one_line(), "354");
        let long = reply(550, &[&"x".repeat(5_000)]).one_line();
        assert!(long.chars().count() <= ONE_LINE_MAX + 2);
    }
}
