use super::FieldProblem;

/// A non-empty, single-line text (display names, usernames): no CR, LF or other control
/// characters, so it can never inject a header or an SMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleLine(String);

impl SingleLine {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, FieldProblem> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(FieldProblem::new("required", "must not be empty"));
        }
        if value.contains(['\r', '\n']) {
            return Err(FieldProblem::new("contains_line_break", "must not contain line breaks"));
        }
        if value.chars().any(char::is_control) {
            return Err(FieldProblem::new("invalid_character", "must not contain control characters"));
        }
        if value.chars().count() > max_chars {
            return Err(FieldProblem::new("too_long", format!("must be at most {max_chars} characters")));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_header_injection() {
        assert_eq!(SingleLine::parse("Team\r\nBcc: x@y", 100).unwrap_err().code, "contains_line_break");
        assert_eq!(SingleLine::parse("a\u{7}b", 100).unwrap_err().code, "invalid_character");
    }

    #[test]
    fn trims_and_limits() {
        assert_eq!(SingleLine::parse("  TEAMBOX ", 100).unwrap().as_str(), "TEAMBOX");
        assert_eq!(SingleLine::parse("   ", 100).unwrap_err().code, "required");
        assert_eq!(SingleLine::parse("abcd", 3).unwrap_err().code, "too_long");
    }
}
