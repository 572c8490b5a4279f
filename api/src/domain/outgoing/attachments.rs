//! Attachments: base64 that decodes, a sanitised file name, a plausible MIME type.

use crate::domain::Violations;
use base64::Engine;
use postamt_wire::AttachmentInput;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttachment {
    pub filename: String,
    pub content_type: String,
    /// Kept base64-encoded in the outbox (it is stored as JSON).
    pub content_base64: String,
    #[serde(default)]
    pub size: usize,
}

impl StoredAttachment {
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn decode(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(&self.content_base64).unwrap_or_default()
    }
}

pub fn parse(v: &mut Violations, index: usize, input: &AttachmentInput) -> Option<StoredAttachment> {
    let field = |name: &str| format!("attachments[{index}].{name}");
    let compact: String = input.content_base64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD.decode(&compact);
    if decoded.is_err() {
        v.add(&field("content_base64"), "invalid_base64", "is not valid base64");
    }
    let content_type =
        input.content_type.as_deref().map(str::trim).filter(|t| !t.is_empty()).unwrap_or("application/octet-stream");
    if !is_mime_type(content_type) {
        v.add(&field("content_type"), "invalid_content_type", "must be a MIME type like application/pdf");
    }
    let filename = sanitize_filename(&input.filename);
    let size = decoded.ok()?.len();
    Some(StoredAttachment { filename, content_type: content_type.to_ascii_lowercase(), content_base64: compact, size })
}

/// The last path component, without control characters or quotes; `attachment` if
/// nothing is left.
fn sanitize_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String =
        base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|')).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let cleaned: String = cleaned.chars().take(200).collect();
    if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

fn is_mime_type(s: &str) -> bool {
    let token = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b));
    s.len() <= 127 && s.split_once('/').is_some_and(|(a, b)| token(a) && token(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\x\\Rechnung 42.pdf"), "Rechnung 42.pdf");
        assert_eq!(sanitize_filename("a\r\nb\".pdf"), "ab.pdf");
        assert_eq!(sanitize_filename(".."), "attachment");
    }

    #[test]
    fn mime_types() {
        assert!(is_mime_type("application/pdf") && is_mime_type("text/calendar"));
        assert!(!is_mime_type("pdf") && !is_mime_type("text/html; charset=x\r\n"));
    }
}
