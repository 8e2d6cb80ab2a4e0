//! What a name shown to other people may contain: no control characters, and no Unicode *format* characters.
//!
//! Format characters (general category Cf) are invisible: bidirectional overrides and isolates (U+202A–U+202E,
//! U+2066–U+2069) reorder the text around them, so that a name can display as something other than what it stores, and
//! zero-width characters (U+200B–U+200D, U+2060, U+FEFF) make two names that look the same differ. Line and paragraph
//! separators (U+2028, U+2029) are refused with them: a name is one line.

/// Every code point of general category Cf (Unicode 16), plus U+2028 and U+2029, as inclusive ranges.
const FORMAT_CHARACTERS: [(u32, u32); 21] = [
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `character` is an invisible format character or a line or paragraph separator.
pub fn is_format_character(character: char) -> bool {
    let code = u32::from(character);
    FORMAT_CHARACTERS.iter().any(|(first, last)| (*first..=*last).contains(&code))
}

/// Whether every character of `text` can be shown as it is: no control and no format character.
pub fn is_printable_text(text: &str) -> bool {
    !text.chars().any(|character| character.is_control() || is_format_character(character))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_zero_width_characters_are_not_printable() {
        for hostile in [
            "Caf\u{e9}\u{202e}latot",
            "\u{2066}Ana\u{2069}",
            "A\u{200b}na",
            "An\u{200d}a",
            "\u{feff}Ana",
            "Ana\u{2060}",
            "soft\u{ad}hyphen",
            "line\u{2028}break",
            "tag\u{e0041}",
            "tab\there",
        ] {
            assert!(!is_printable_text(hostile), "{hostile:?}");
        }
        for fine in ["Café Central", "José Ñandú", "東京ラーメン", "Ελληνικά", "עברית", "مقهى", "e\u{301}"]
        {
            assert!(is_printable_text(fine), "{fine:?}");
        }
    }

    #[test]
    fn the_ranges_are_sorted_and_disjoint() {
        for pair in FORMAT_CHARACTERS.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
    }
}
