//! Small text helpers that reports and pictures share: counted nouns, digit grouping and XML
//! escaping. Like `diagnostic/`, this is a leaf: it imports nothing of the crate.

/// The noun for a count: `one` for 1, `many` otherwise.
pub(crate) fn noun<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

/// `count` and its noun, as in `1 site` or `3 sites`.
pub(crate) fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", noun(count, one, many))
}

/// A count with thousands separators, so that large modules read at a glance.
pub(crate) fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Where escaped text goes, which decides what happens to quotes, line breaks and the characters
/// that XML 1.0 cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XmlContext {
    /// SVG and HTML, in element content or a double-quoted attribute, where a label is one line:
    /// quotes are escaped (`'` as `&#39;`, which HTML 4 also reads), tabs and line breaks become
    /// spaces, and any other control character becomes U+FFFD, so that a hostile name can neither
    /// inject markup nor make the drawing unparseable.
    Markup,
    /// A JUnit attribute value: line breaks and tabs become character references, because a
    /// parser would turn them into spaces.
    Attribute,
    /// JUnit element content, where quotes, line breaks and tabs stay as they are.
    Text,
}

/// Escapes `text` for `context`. In JUnit, characters that XML 1.0 cannot hold at all (most
/// control characters) are written as `\u{…}`, and a carriage return is always a character
/// reference, because parsers normalise a bare one.
pub(crate) fn escape_xml(text: &str, context: XmlContext) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match (context, character) {
            (_, '&') => escaped.push_str("&amp;"),
            (_, '<') => escaped.push_str("&lt;"),
            (_, '>') => escaped.push_str("&gt;"),
            (XmlContext::Markup | XmlContext::Attribute, '"') => escaped.push_str("&quot;"),
            (XmlContext::Markup, '\'') => escaped.push_str("&#39;"),
            (XmlContext::Attribute, '\'') => escaped.push_str("&apos;"),
            (XmlContext::Markup, '\t' | '\n' | '\r') => escaped.push(' '),
            (XmlContext::Markup, character) if character.is_control() => escaped.push('\u{FFFD}'),
            (_, '\r') => escaped.push_str("&#13;"),
            (XmlContext::Attribute, '\n') => escaped.push_str("&#10;"),
            (XmlContext::Attribute, '\t') => escaped.push_str("&#9;"),
            (XmlContext::Attribute | XmlContext::Text, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}')
            | (XmlContext::Attribute | XmlContext::Text, '\u{fffe}' | '\u{ffff}') => {
                escaped.push_str(&format!("\\u{{{:x}}}", u32::from(character)));
            }
            (_, character) => escaped.push(character),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nouns_follow_the_count_and_digits_are_grouped_by_three() {
        assert_eq!(plural(1, "site", "sites"), "1 site");
        assert_eq!(plural(0, "site", "sites"), "0 sites");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn markup_leaves_no_markup_and_no_control_characters() {
        let escaped = escape_xml("a<b>&\"c'\n\u{1}", XmlContext::Markup);
        assert_eq!(escaped, "a&lt;b&gt;&amp;&quot;c&#39; \u{FFFD}");
    }

    #[test]
    fn junit_attributes_and_text_keep_line_breaks_their_own_way() {
        assert_eq!(escape_xml("a<b>&\"c'", XmlContext::Attribute), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape_xml("line\r\nnext\tcell", XmlContext::Attribute), "line&#13;&#10;next&#9;cell");
        assert_eq!(escape_xml("line\r\nnext\tcell", XmlContext::Text), "line&#13;\nnext\tcell");
        assert_eq!(escape_xml("a<b>&\"c'", XmlContext::Text), "a&lt;b&gt;&amp;\"c'");
        assert_eq!(escape_xml("bell\u{7}", XmlContext::Text), "bell\\u{7}");
        assert_eq!(escape_xml("ñ → ok", XmlContext::Text), "ñ → ok");
    }
}
