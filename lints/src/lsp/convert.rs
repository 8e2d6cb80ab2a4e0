//! Between the checker's byte offsets and paths, and LSP's positions (0-based lines, columns in
//! UTF-16 code units, the protocol's default encoding) and `file://` URIs.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{Position, Range, Uri};

use crate::diagnostic::{LineIndex, Site};

/// Line starts of one text, for conversions in both directions: the checker's line index, with
/// columns counted in UTF-16 units.
pub(super) struct LineMap {
    index: LineIndex,
}

impl LineMap {
    pub(super) fn new(text: &str) -> LineMap {
        LineMap { index: LineIndex::new(text) }
    }

    /// The position of a byte offset; an offset inside a character counts as that character's start.
    pub(super) fn position(&self, text: &str, offset: usize) -> Position {
        let (line, start, offset) = self.index.line_of(text, offset);
        let column: usize = text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(column).unwrap_or(u32::MAX))
    }

    /// The range a site's bytes cover.
    pub(super) fn range(&self, text: &str, site: &Site) -> Option<Range> {
        let end = site.bytes.end.max(site.bytes.start);
        (site.bytes.start <= text.len())
            .then(|| Range::new(self.position(text, site.bytes.start), self.position(text, end)))
    }

    /// The end of the text, for an edit that replaces all of it.
    pub(super) fn end(&self, text: &str) -> Position {
        self.position(text, text.len())
    }

    /// The byte offset of a position, if the text has it; a column past the end of its line is
    /// the line's end, as the protocol says.
    pub(super) fn offset(&self, text: &str, position: Position) -> Option<usize> {
        let line = self.index.line_range(text, position.line as usize)?;
        let (start, line_end) = (line.start, line.end);
        let mut units = 0;
        for (index, character) in text[start..line_end].char_indices() {
            if units >= position.character as usize {
                return Some(start + index);
            }
            units += character.len_utf16();
        }
        Some(line_end)
    }
}

/// The local path of a `file://` URI, with its percent-escapes decoded.
pub(super) fn path_of(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file://host/path` names another host; only the empty host (or localhost) is ours.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    Some(PathBuf::from(String::from_utf8(decoded).ok()?))
}

/// The `file://` URI of an absolute path, with the characters a URI path may not hold escaped.
pub(super) fn uri_of(path: &Path) -> Option<Uri> {
    let mut text = String::from("file://");
    for byte in path.to_str()?.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&byte) {
            text.push(char::from(byte));
        } else {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    Uri::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_units_both_ways() {
        let text = "é𝄞x\nab";
        let lines = LineMap::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(lines.position(text, x), Position::new(0, 3));
        assert_eq!(lines.offset(text, Position::new(0, 3)), Some(x));
        assert_eq!(lines.offset(text, Position::new(1, 9)), Some(text.len()));
        assert_eq!(lines.offset(text, Position::new(2, 0)), None);
        assert_eq!(lines.end(text), Position::new(1, 2));
    }

    #[test]
    fn uris_and_paths_round_trip_with_escapes() {
        let path = Path::new("/tmp/a b/ü#1.rs");
        let uri = uri_of(path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/%C3%BC%231.rs");
        assert_eq!(path_of(&uri).as_deref(), Some(path));
        assert_eq!(path_of(&Uri::from_str("file://elsewhere/x").unwrap()), None);
    }
}
