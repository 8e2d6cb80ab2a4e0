//! Where a finding stands: a site in a file, the file's text, and line and column arithmetic
//! shared by every stage that turns byte offsets into positions.

use std::ops::Range;
use std::sync::Arc;

/// Where something stands in a source file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Site {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Byte range in the file, for labels.
    pub bytes: Range<usize>,
}

impl Ord for Site {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.line, self.column, self.bytes.start, self.bytes.end).cmp(&(
            other.line,
            other.column,
            other.bytes.start,
            other.bytes.end,
        ))
    }
}

impl PartialOrd for Site {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A file as findings quote it: its workspace-relative path and its text, shared with the model.
#[derive(Debug, Clone)]
pub struct SourceRef {
    pub file: String,
    pub text: Arc<String>,
}

/// The 1-based line and 1-based column (counted in characters) of a byte offset in `text`.
///
/// An offset past the end, or inside a multi-byte character, is clamped to the nearest valid
/// position before it, so that a malformed span never panics a report.
pub(crate) fn line_column(text: &str, byte_offset: usize) -> (usize, usize) {
    let mut offset = byte_offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let line = before.bytes().filter(|byte| *byte == b'\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The byte offset of a 1-based line and a 0-based character column, if the text has them.
fn byte_offset(line_starts: &[usize], text: &str, line: usize, column_chars: usize) -> Option<usize> {
    let start = *line_starts.get(line.checked_sub(1)?)?;
    let rest = &text[start..];
    let line_text = rest.split('\n').next().unwrap_or("");
    match line_text.char_indices().nth(column_chars) {
        Some((index, _)) => Some(start + index),
        None if line_text.chars().count() == column_chars => Some(start + line_text.len()),
        None => None,
    }
}

/// The byte offsets at which each line of `text` starts.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(index, _)| index + 1)).collect()
}

/// Line starts of one text, for many line and column look-ups in it.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        LineIndex { starts: line_starts(text) }
    }

    /// The byte offset of a 1-based line and a 0-based character column, if the text has them: the
    /// column just past the end of a line is its end.
    pub(crate) fn byte_offset(&self, text: &str, line: usize, column_chars: usize) -> Option<usize> {
        byte_offset(&self.starts, text, line, column_chars)
    }

    /// The 1-based line and character column of a byte offset, as [`line_column`] gives them.
    pub(crate) fn line_column(&self, text: &str, byte_offset: usize) -> (usize, usize) {
        let (line_index, line_start, offset) = self.line_of(text, byte_offset);
        (line_index + 1, text[line_start..offset].chars().count() + 1)
    }

    /// The 0-based line of a byte offset, that line's start, and the offset itself clamped to the
    /// text and moved back to a character boundary: what every kind of column is counted from.
    pub(crate) fn line_of(&self, text: &str, byte_offset: usize) -> (usize, usize, usize) {
        let mut offset = byte_offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_index = self.starts.partition_point(|start| *start <= offset).saturating_sub(1);
        (line_index, self.starts.get(line_index).copied().unwrap_or(0), offset)
    }

    /// The bytes of a 0-based line, without its line break, if the text has that line.
    pub(crate) fn line_range(&self, text: &str, line_index: usize) -> Option<Range<usize>> {
        let start = *self.starts.get(line_index)?;
        let end = self.starts.get(line_index + 1).map_or(text.len(), |next| next - 1);
        Some(start..end)
    }
}

/// The number of lines of a text, counting a last line without a newline.
pub(crate) fn count_lines(text: &str) -> usize {
    let newlines = text.bytes().filter(|byte| *byte == b'\n').count();
    if text.is_empty() || text.ends_with('\n') { newlines } else { newlines + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        let text = "ab\nñx y";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        // `x` stands after the two-byte `ñ`, at byte 5 and character column 2.
        assert_eq!(line_column(text, 5), (2, 2));
        // An offset inside `ñ` is clamped to its start; one past the end is clamped to the end.
        assert_eq!(line_column(text, 4), (2, 1));
        assert_eq!(line_column(text, 100), (2, 5));
    }

    #[test]
    fn line_index_agrees_with_line_column() {
        let text = "ab\nñx y\n\nz";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(index.line_column(text, offset), line_column(text, offset), "offset {offset}");
        }
    }

    #[test]
    fn byte_offset_inverts_line_column() {
        let text = "fn a() {}\n  ñ::b\n";
        let starts = line_starts(text);
        let offset = byte_offset(&starts, text, 2, 3).unwrap();
        assert_eq!(&text[offset..offset + 1], ":");
        assert_eq!(line_column(text, offset), (2, 4));
        assert_eq!(byte_offset(&starts, text, 9, 0), None);
    }

    #[test]
    fn lines_are_counted_with_or_without_a_final_newline() {
        assert_eq!(count_lines(""), 0);
        assert_eq!(count_lines("a"), 1);
        assert_eq!(count_lines("a\n"), 1);
        assert_eq!(count_lines("a\nb"), 2);
    }
}
