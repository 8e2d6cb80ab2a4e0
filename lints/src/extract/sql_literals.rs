//! SQL in string literals: each byte of a literal's value mapped back to the source, `format!`
//! placeholders blanked out, and the literal's tables, parse problems and `query_file!` paths.

use crate::diagnostic::{LineIndex, Site};

use super::facts::{FileFacts, SqlFileReference, SqlProblem, TableUse};

/// `sqlx::query_file!`, `query_file_as!`, `query_file_scalar!` and their unchecked forms.
pub(super) fn is_query_file_macro(name: &str) -> bool {
    name.rsplit("::").next().is_some_and(|last| last.starts_with("query_file"))
}

/// Macros whose string argument is a format string.
pub(super) fn is_formatting_macro(name: &str) -> bool {
    let last = name.rsplit("::").next().unwrap_or(name);
    matches!(
        last,
        "format"
            | "format_args"
            | "write"
            | "writeln"
            | "print"
            | "println"
            | "eprint"
            | "eprintln"
            | "panic"
            | "concat"
    )
}

/// Replaces `{…}` format placeholders by runs of `_` of the same length; `{{` and `}}` stay.
pub(super) fn blank_format_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        if let Some(escaped) = after.strip_prefix("{{") {
            out.push_str("{{");
            rest = escaped;
            continue;
        }
        match after.find('}') {
            Some(close) if !after[1..close].contains('{') => {
                out.extend(std::iter::repeat_n('_', after[..=close].len()));
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Turns the file's SQL candidates into table uses, problems and SQL file references.
pub(super) fn extract_sql(facts: &mut FileFacts, text: &str) {
    let literals = std::mem::take(&mut facts.strings);
    if literals.is_empty() {
        return;
    }
    let index = LineIndex::new(text);
    let site_at = |start: usize, end: usize| {
        let (line, column) = index.line_column(text, start);
        Site { line, column, bytes: start..end.max(start) }
    };
    for literal in literals {
        let offset = |value_byte: usize| {
            literal.source_offsets.get(value_byte.min(literal.value.len())).copied().unwrap_or_default()
        };
        if literal.macro_name.as_deref().is_some_and(is_query_file_macro) {
            let end = literal.source_offsets.last().copied().unwrap_or_default();
            facts.sql_files.push(SqlFileReference {
                path: literal.value.clone(),
                site: site_at(offset(0), end),
                scope: literal.scope.clone(),
                in_test: literal.in_test,
            });
            continue;
        }
        // `format!("SELECT * FROM {table}")` builds SQL at run time: each `{…}` placeholder is
        // replaced by an identifier of the same length, so that the rest still parses and every
        // offset still maps back to the source.
        let formatted = literal.macro_name.as_deref().is_some_and(is_formatting_macro);
        let sql_text = if formatted { blank_format_placeholders(&literal.value) } else { literal.value.clone() };
        match crate::sql::extract_table_references(&sql_text) {
            Ok(references) => {
                for reference in
                    references.into_iter().filter(|reference| !reference.name.chars().all(|c| c == '_' || c == '.'))
                {
                    facts.tables.push(TableUse {
                        name: reference.name,
                        access: reference.access,
                        declared_by: reference.declared_by,
                        site: site_at(offset(reference.byte_range.start), offset(reference.byte_range.end)),
                        scope: literal.scope.clone(),
                        in_test: literal.in_test,
                    });
                }
            }
            Err(error) => {
                if !crate::sql::looks_like_broken_sql(&literal.value) {
                    continue;
                }
                let at = offset(error.byte_offset.unwrap_or(0));
                facts.sql_problems.push(SqlProblem {
                    site: site_at(at, at),
                    message: error.message,
                    scope: literal.scope.clone(),
                    in_test: literal.in_test,
                });
            }
        }
    }
}

/// Maps each byte of a string literal's value to its byte offset in the file.
///
/// Raw strings map one to one. Escapes in ordinary strings (`\n`, `\"`, `\u{…}`, a backslash
/// before a newline) are walked so that text after them still maps to its exact place.
pub(super) fn map_string_value_to_source(source_text: &str, value: &str, literal_start: usize) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(value.len() + 1);
    let body_start;
    let raw;
    if let Some(rest) = source_text.strip_prefix('r').or_else(|| source_text.strip_prefix("br")) {
        let hashes = rest.chars().take_while(|c| *c == '#').count();
        body_start = source_text.len() - rest.len() + hashes + 1;
        raw = true;
    } else {
        body_start = source_text.find('"').map_or(0, |index| index + 1);
        raw = false;
    }
    let body = &source_text[body_start.min(source_text.len())..];
    let base = literal_start + body_start;
    let bytes = body.as_bytes();
    let value_bytes = value.as_bytes();
    let mut position = 0;
    while position < bytes.len() && offsets.len() < value.len() {
        // A CRLF line ending in the source is a single `\n` in the value.
        if bytes[position] == b'\r'
            && bytes.get(position + 1) == Some(&b'\n')
            && value_bytes.get(offsets.len()) == Some(&b'\n')
        {
            position += 1;
            continue;
        }
        if !raw && bytes[position] == b'\\' && position + 1 < bytes.len() {
            let escape_start = position;
            position += 1;
            match bytes[position] {
                b'\n' | b'\r' => {
                    // A line continuation produces no value bytes and skips leading whitespace.
                    while position < bytes.len() && (bytes[position] as char).is_whitespace() {
                        position += 1;
                    }
                    continue;
                }
                b'x' => position += 3,
                b'u' => {
                    let close = body[position..].find('}').map_or(position + 1, |index| position + index + 1);
                    let produced = body[position..close].trim_start_matches("u{").trim_end_matches('}');
                    let length =
                        u32::from_str_radix(produced, 16).ok().and_then(char::from_u32).map_or(1, char::len_utf8);
                    for _ in 0..length {
                        offsets.push(base + escape_start);
                    }
                    position = close;
                    continue;
                }
                _ => position += 1,
            }
            offsets.push(base + escape_start);
        } else {
            offsets.push(base + position);
            position += 1;
        }
    }
    while offsets.len() < value.len() {
        offsets.push(base + position);
    }
    offsets.push(base + position);
    offsets
}
