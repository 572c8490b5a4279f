//! `"Name <addr>"`, `"addr"` or `{name, address}` into a validated mailbox.

use crate::domain::{EmailAddress, FieldProblem, SingleLine};
use postamt_wire::{MailAddress, MailboxInput};

pub fn parse_mailbox(input: &MailboxInput) -> Result<MailAddress, FieldProblem> {
    let (name, address) = match input {
        MailboxInput::Object(m) => (m.name.clone(), m.address.clone()),
        MailboxInput::Text(text) => split_name_addr(text)?,
    };
    let address = EmailAddress::try_from(address.as_str())?;
    let name = match name.as_deref().map(|n| n.trim().trim_matches('"').trim()) {
        None | Some("") => None,
        Some(n) => Some(SingleLine::parse(n, 200)?.as_str().to_owned()),
    };
    Ok(MailAddress { name, address: address.as_str().to_owned() })
}

fn split_name_addr(text: &str) -> Result<(Option<String>, String), FieldProblem> {
    let text = text.trim();
    match (text.rfind('<'), text.ends_with('>')) {
        (Some(open), true) => {
            let name = text[..open].trim();
            let address = &text[open + 1..text.len() - 1];
            Ok(((!name.is_empty()).then(|| name.to_owned()), address.trim().to_owned()))
        }
        (None, false) => Ok((None, text.to_owned())),
        _ => Err(FieldProblem::new("invalid_email", "write a mailbox as `Name <address>` or `address`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Result<MailAddress, FieldProblem> {
        parse_mailbox(&MailboxInput::Text(s.to_owned()))
    }

    #[test]
    fn accepts_the_usual_forms() {
        assert_eq!(
            text("Erika Mustermann <erika@Example.org>").unwrap(),
            MailAddress { name: Some("Erika Mustermann".into()), address: "erika@example.org".into() }
        );
        assert_eq!(text("\"Müller, Hans\" <h@example.org>").unwrap().name.as_deref(), Some("Müller, Hans"));
        assert_eq!(text(" a@example.org ").unwrap(), MailAddress { name: None, address: "a@example.org".into() });
    }

    #[test]
    fn rejects_injection_and_garbage() {
        assert!(text("Eve <a@example.org").is_err());
        assert!(text("a@example.org\r\nBcc: x@y.org").is_err());
        let object = MailboxInput::Object(MailAddress { name: Some("A\nB".into()), address: "a@example.org".into() });
        assert_eq!(parse_mailbox(&object).unwrap_err().code, "contains_line_break");
    }
}
