//! `// seams:allow(rule): reason` comments, found in a file's text. syn drops comments, so the
//! text is scanned on its own: comments are read, and string literals (escaped and raw, byte and C
//! strings) and character literals are skipped, so that `seams:allow` inside a string is never an
//! allow. Doc comments (`///`, `//!`, `/** */`, `/*! */`) are documentation, never allows.

use std::ops::Range;

use crate::diagnostic::{LineIndex, Site};

/// The word that starts an allow comment.
const MARKER: &str = "seams:allow";

/// One rule named by an allow comment, as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AllowedRule {
    pub(crate) name: String,
    /// The name itself, inside the parentheses.
    pub(crate) site: Site,
}

/// A `seams:allow` comment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AllowComment {
    /// The rules it names; empty when the comment is not written `seams:allow(rule, …)`.
    pub(crate) rules: Vec<AllowedRule>,
    /// The text after the colon, trimmed, with runs of white space made one space; `None` when
    /// there is none.
    pub(crate) reason: Option<String>,
    /// The whole comment, from `//` or `/*` to its end.
    pub(crate) site: Site,
    /// The line the comment ends on (a block comment may span lines).
    pub(crate) last_line: usize,
    /// Whether nothing but white space shares its lines: then it also covers the next line.
    pub(crate) alone: bool,
}

impl AllowComment {
    /// Whether a finding on `line` is at this comment's site: on one of its lines, or on the line
    /// after it when the comment stands alone.
    pub(crate) fn covers(&self, line: usize) -> bool {
        (self.site.line..=self.last_line).contains(&line) || (self.alone && line == self.last_line + 1)
    }
}

/// Every allow comment of a file, in order.
pub(crate) fn find_allow_comments(text: &str) -> Vec<AllowComment> {
    // Almost no file has one: the scan runs only where the marker is somewhere in the text.
    if !text.contains(MARKER) {
        return Vec::new();
    }
    let index = LineIndex::new(text);
    let mut found = Vec::new();
    for comment in comments(text) {
        if let Some(allow) = parse_allow(text, &index, &comment) {
            found.push(allow);
        }
    }
    found
}

/// A comment of the file that is not a doc comment: its whole range and the range of its body
/// (without `//`, or `/*` and `*/`).
struct Comment {
    range: Range<usize>,
    body: Range<usize>,
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

/// The comments of a Rust text, skipping string and character literals.
fn comments(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let starts_token = at == 0 || !is_identifier_byte(bytes[at - 1]);
        match bytes[at] {
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                let end = text[at..].find('\n').map_or(bytes.len(), |offset| at + offset);
                let body = &text[at + 2..end];
                let doc = (body.starts_with('/') && !body.starts_with("//")) || body.starts_with('!');
                if !doc {
                    // `//// text` is a plain comment whose text starts after the slashes.
                    let slashes = body.len() - body.trim_start_matches('/').len();
                    comments.push(Comment { range: at..end, body: at + 2 + slashes..end });
                }
                at = end;
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                let mut depth = 1;
                let mut cursor = at + 2;
                while cursor < bytes.len() && depth > 0 {
                    if bytes[cursor] == b'/' && bytes.get(cursor + 1) == Some(&b'*') {
                        depth += 1;
                        cursor += 2;
                    } else if bytes[cursor] == b'*' && bytes.get(cursor + 1) == Some(&b'/') {
                        depth -= 1;
                        cursor += 2;
                    } else {
                        cursor += 1;
                    }
                }
                let end = cursor.min(bytes.len());
                let body_end = if depth == 0 { end - 2 } else { end };
                let body = &text[(at + 2).min(body_end)..body_end];
                let doc =
                    (body.starts_with('*') && !body.starts_with("**") && !body.is_empty()) || body.starts_with('!');
                if !doc {
                    comments.push(Comment { range: at..end, body: (at + 2).min(body_end)..body_end });
                }
                at = end;
            }
            b'"' => at = skip_string(bytes, at + 1),
            b'r' | b'b' | b'c' if starts_token => match raw_string_start(bytes, at) {
                Some((hashes, quote)) => at = skip_raw_string(bytes, quote + 1, hashes),
                None => at += 1,
            },
            b'\'' => at = skip_char_or_lifetime(text, at),
            _ => at += 1,
        }
    }
    comments
}

/// After the opening quote of an escaped string: the byte after its closing quote.
fn skip_string(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// `r"`, `r#"`, `br##"`, `cr"`: the number of `#` and the position of the opening quote.
fn raw_string_start(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let r = match bytes[at] {
        b'r' => at,
        b'b' | b'c' if bytes.get(at + 1) == Some(&b'r') => at + 1,
        _ => return None,
    };
    let mut cursor = r + 1;
    while bytes.get(cursor) == Some(&b'#') {
        cursor += 1;
    }
    (bytes.get(cursor) == Some(&b'"')).then_some((cursor - r - 1, cursor))
}

/// After the opening quote of a raw string with `hashes` hashes: the byte after its end.
fn skip_raw_string(bytes: &[u8], mut at: usize, hashes: usize) -> usize {
    while at < bytes.len() {
        if bytes[at] == b'"'
            && bytes.len() >= at + 1 + hashes
            && bytes[at + 1..at + 1 + hashes].iter().all(|b| *b == b'#')
        {
            return at + 1 + hashes;
        }
        at += 1;
    }
    bytes.len()
}

/// At a `'`: past a character literal (`'x'`, `'\''`, `'ñ'`), or past the quote of a lifetime.
fn skip_char_or_lifetime(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes.get(at + 1) == Some(&b'\\') {
        // An escape: the literal ends at the next quote after the escaped character. Bytes, not
        // characters, are searched, so that no offset can fall inside a character.
        let from = (at + 3).min(bytes.len());
        return bytes[from..].iter().position(|byte| *byte == b'\'').map_or(bytes.len(), |offset| from + offset + 1);
    }
    match text[at + 1..].chars().next() {
        Some(character) if bytes.get(at + 1 + character.len_utf8()) == Some(&b'\'') => {
            at + 1 + character.len_utf8() + 1
        }
        _ => at + 1,
    }
}

/// The allow a comment holds, if its text starts with `seams:allow`.
fn parse_allow(text: &str, index: &LineIndex, comment: &Comment) -> Option<AllowComment> {
    let body = &text[comment.body.clone()];
    let leading = body.len() - body.trim_start().len();
    let after_marker = body.trim_start().strip_prefix(MARKER)?;
    // `seams:allowance` is another word, not an allow.
    if after_marker.chars().next().is_some_and(|next| next.is_alphanumeric() || next == '_' || next == '-') {
        return None;
    }
    let marker_end = comment.body.start + leading + MARKER.len();
    let site_of = |range: Range<usize>| {
        let (line, column) = index.line_column(text, range.start);
        Site { line, column, bytes: range }
    };
    let mut rules = Vec::new();
    let mut reason = None;
    let rest = after_marker.trim_start();
    if let Some(inside) = rest.strip_prefix('(')
        && let Some(close) = inside.find(')')
    {
        let open = marker_end + (after_marker.len() - rest.len()) + 1;
        let mut offset = 0;
        for part in inside[..close].split(',') {
            let name = part.trim();
            if !name.is_empty() {
                let start = open + offset + (part.len() - part.trim_start().len());
                rules.push(AllowedRule { name: name.to_owned(), site: site_of(start..start + name.len()) });
            }
            offset += part.len() + 1;
        }
        let after = inside[close + 1..].trim_start();
        if let Some(text) = after.strip_prefix(':') {
            let words: Vec<&str> = text.split_whitespace().collect();
            if !words.is_empty() {
                reason = Some(words.join(" "));
            }
        }
    }
    let site = site_of(comment.range.clone());
    let (last_line, _) = index.line_column(text, comment.range.end.saturating_sub(1).max(comment.range.start));
    let line_start = text[..comment.range.start].rfind('\n').map_or(0, |newline| newline + 1);
    let line_end = text[comment.range.end..].find('\n').map_or(text.len(), |offset| comment.range.end + offset);
    let alone =
        text[line_start..comment.range.start].trim().is_empty() && text[comment.range.end..line_end].trim().is_empty();
    Some(AllowComment { rules, reason, site, last_line, alone })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each allow as `line-last_line alone? [rules] reason`.
    fn allows(text: &str) -> Vec<String> {
        find_allow_comments(text)
            .iter()
            .map(|allow| {
                let rules: Vec<String> = allow
                    .rules
                    .iter()
                    .map(|rule| {
                        assert_eq!(&text[rule.site.bytes.clone()], rule.name);
                        format!("{}@{}:{}", rule.name, rule.site.line, rule.site.column)
                    })
                    .collect();
                format!(
                    "{}-{}{} [{}] {}",
                    allow.site.line,
                    allow.last_line,
                    if allow.alone { " alone" } else { "" },
                    rules.join(","),
                    allow.reason.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    #[test]
    fn line_comments_on_the_line_and_alone_above() {
        let text = "// seams:allow(internal-import): legacy report\nuse a::b; // seams:allow(a, b):  two   rules \n";
        assert_eq!(allows(text), ["1-1 alone [internal-import@1:16] legacy report", "2-2 [a@2:26,b@2:29] two rules",]);
        assert!(find_allow_comments(text)[0].covers(2));
        assert!(!find_allow_comments(text)[0].covers(3));
        assert!(!find_allow_comments(text)[1].covers(3));
    }

    #[test]
    fn allows_in_strings_are_not_allows() {
        let text = concat!(
            "let a = \"// seams:allow(x): no\";\n",
            "let b = \"\\\" // seams:allow(x): no\";\n",
            "let c = r#\"\" // seams:allow(x): no\"#;\n",
            "let d = br##\"\"# // seams:allow(x): no\"##;\n",
            "let e = '\"'; // seams:allow(yes): after a quote character\n",
            "fn f<'a>(x: &'a str) {} // seams:allow(yes): after lifetimes\n",
            "let g = b'\\''; /* seams:allow(yes): block */\n",
            "let h = c\"// seams:allow(x): no\";\n",
        );
        assert_eq!(
            allows(text),
            ["5-5 [yes@5:29] after a quote character", "6-6 [yes@6:40] after lifetimes", "7-7 [yes@7:31] block",]
        );
    }

    #[test]
    fn doc_comments_and_other_words_are_not_allows() {
        let text = "/// seams:allow(x): doc\n//! seams:allow(x): doc\n/** seams:allow(x): doc */\n// seams:allowance\n// see seams:allow(x): prose\n//// seams:allow(x): four slashes\n";
        assert_eq!(allows(text), ["6-6 alone [x@6:18] four slashes"]);
    }

    #[test]
    fn reasons_may_be_missing_and_comments_malformed() {
        let text = "// seams:allow(x)\n// seams:allow(x):   \n// seams:allow x: reason\n/* seams:allow(y): spans\n   two lines */ use a::b;\n";
        assert_eq!(
            allows(text),
            ["1-1 alone [x@1:16] -", "2-2 alone [x@2:16] -", "3-3 alone [] -", "4-5 [y@4:16] spans two lines"]
        );
    }

    #[test]
    fn texts_that_end_inside_a_literal_or_comment_do_not_panic() {
        for text in ["'\\", "'\\ñ", "'", "r#\"", "\"\\", "/* seams:allow(x): open", "b'", "// seams:allow(", "'ñ"] {
            let _ = find_allow_comments(&format!("// seams:allow(x): y\n{text}"));
        }
    }

    #[test]
    fn nested_block_comments_end_where_rustc_ends_them() {
        let text = "/* outer /* inner */ still outer \" */ // seams:allow(x): after\n";
        assert_eq!(allows(text), ["1-1 [x@1:54] after"]);
    }
}
