//! A readable text part from HTML, for messages sent with HTML only.

/// Drops tags, scripts and styles, turns block ends and `<br>` into line breaks and
/// decodes the common entities. Good enough for a text alternative, not a renderer.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..start]));
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        rest = &rest[start + end + 1..];
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let close = format!("</{name}");
            rest = rest.to_ascii_lowercase().find(&close).map_or("", |i| &rest[i..]);
            continue;
        }
        match name.as_str() {
            "br" => out.push('\n'),
            "p" | "div" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "ul" | "ol" | "table"
                if tag.starts_with('/') =>
            {
                out.push_str("\n\n")
            }
            "li" if !tag.starts_with('/') => out.push_str("\n- "),
            _ => {}
        }
    }
    out.push_str(&decode_entities(rest));
    tidy(&out)
}

fn decode_entities(text: &str) -> String {
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Collapses runs of spaces within lines and more than one blank line.
fn tidy(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_words_and_the_structure() {
        let html = "<html><head><style>p{color:red}</style></head><body><h1>Rechnung</h1>\
                    <p>Hallo&nbsp;Erika,<br>anbei die Rechnung &amp; mehr.</p><ul><li>Eins</li><li>Zwei</li></ul>\
                    <script>alert(1)</script></body></html>";
        assert_eq!(html_to_text(html), "Rechnung\n\nHallo Erika,\nanbei die Rechnung & mehr.\n\n- Eins\n- Zwei");
    }
}
