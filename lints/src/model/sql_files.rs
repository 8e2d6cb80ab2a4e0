//! `.sql` files: which module each belongs to (the one with the deepest directory that holds
//! it, outside test directories unless test code is checked), and their table uses, statement by
//! statement when the whole file does not parse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::config::Config;
use crate::diagnostic::{LineIndex, Site, Warning, WarningCode};
use crate::extract::TableUse;
use crate::sql::{TableReference, extract_table_references, looks_like_prose};
use crate::workspace::Workspace;

use super::modules::{ModuleId, Modules};

/// Every `.sql` file under a module's directory, attributed to the module with the deepest
/// directory that holds it. Directories of other packages and `target/` are skipped, and so are
/// those of test code unless it is checked (see [`test_directories`]).
pub(crate) fn sql_files_by_module(
    workspace: &Workspace,
    config: &Config,
    modules: &Modules,
) -> BTreeMap<PathBuf, ModuleId> {
    let skipped = if config.defaults.include_tests { BTreeSet::new() } else { test_directories(workspace) };
    let mut best: BTreeMap<PathBuf, (usize, ModuleId)> = BTreeMap::new();
    for (module_id, module) in modules.with_ids() {
        let root = &module.directory;
        let depth = root.components().count();
        let walker = walkdir::WalkDir::new(root).follow_links(false).into_iter().filter_entry(|entry| {
            let is_root = entry.path() == root;
            let name = entry.file_name().to_string_lossy();
            is_root
                || !(entry.file_type().is_dir()
                    && (name == "target"
                        || name.starts_with('.')
                        || skipped.contains(entry.path())
                        || entry.path().join("Cargo.toml").is_file()))
        });
        for entry in walker.filter_map(Result::ok) {
            if entry.file_type().is_file() && entry.path().extension().is_some_and(|extension| extension == "sql") {
                let slot = best.entry(entry.path().to_owned()).or_insert((depth, module_id));
                if depth > slot.0 {
                    *slot = (depth, module_id);
                }
            }
        }
    }
    best.into_iter().map(|(path, (_, module))| (path, module)).collect()
}

/// The directories of every package's test, bench and example targets: Cargo's `tests/`,
/// `benches/` and `examples/`, and the directory of each such target's root file elsewhere
/// (`[[test]] path = "integration/main.rs"`); but never one that holds a library or binary root.
fn test_directories(workspace: &Workspace) -> BTreeSet<PathBuf> {
    let code_directories: Vec<&std::path::Path> = workspace
        .units
        .iter()
        .filter(|unit| !unit.kind.is_test_only())
        .filter_map(|unit| unit.root_file.parent())
        .collect();
    let conventional = workspace
        .packages
        .iter()
        .flat_map(|package| ["tests", "benches", "examples"].map(|name| package.manifest_dir.join(name)));
    let of_targets = workspace
        .units
        .iter()
        .filter(|unit| unit.kind.is_test_only())
        .filter_map(|unit| unit.root_file.parent())
        .filter(|directory| workspace.packages.iter().all(|package| package.manifest_dir != *directory))
        .map(std::path::Path::to_owned);
    conventional
        .chain(of_targets)
        .filter(|directory| !code_directories.iter().any(|code| code.starts_with(directory)))
        .collect()
}

/// Parses a `.sql` file. When the whole file does not parse, each statement is parsed on its
/// own, so that one dialect-specific statement does not hide the tables of all the others.
pub(crate) fn analyse_sql_file(full_text: &str, relative: &str) -> (Vec<TableUse>, Vec<Warning>) {
    // A byte-order mark (as Windows editors write) is not SQL; offsets stay those of the file.
    let bom = if full_text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let text = &full_text[bom..];
    let index = LineIndex::new(full_text);
    let site_at = |start: usize, end: usize| {
        let (start, end) = (start + bom, end + bom);
        let (line, column) = index.line_column(full_text, start);
        Site { line, column, bytes: start..end.max(start) }
    };
    // A table reference of a statement that starts at `offset` in the text.
    let table_use = |offset: usize, reference: TableReference| TableUse {
        name: reference.name,
        access: reference.access,
        declared_by: reference.declared_by,
        site: site_at(offset + reference.byte_range.start, offset + reference.byte_range.end),
        scope: Vec::new(),
        in_test: false,
    };
    let mut uses = Vec::new();
    let mut warnings = Vec::new();
    let chunks: Vec<(usize, &str)> = match extract_table_references(text) {
        Ok(references) => {
            uses.extend(references.into_iter().map(|reference| table_use(0, reference)));
            return (uses, warnings);
        }
        Err(_) => split_statements(text),
    };
    for (offset, chunk) in chunks {
        if chunk.trim().is_empty() || !chunk_has_statement(chunk) {
            continue;
        }
        match extract_table_references(chunk) {
            Ok(references) => uses.extend(references.into_iter().map(|reference| table_use(offset, reference))),
            Err(error) if !looks_like_prose(chunk) => {
                let at = offset + error.byte_offset.unwrap_or_else(|| chunk.len() - chunk.trim_start().len());
                warnings.push(Warning {
                    code: WarningCode::UnparsedSql,
                    file: relative.to_owned(),
                    site: Some(site_at(at, at)),
                    message: format!("no SQL dialect parses this statement: {}", error.message),
                });
            }
            Err(_) => {}
        }
    }
    (uses, warnings)
}

/// Whether a chunk holds anything but comments.
fn chunk_has_statement(chunk: &str) -> bool {
    chunk.lines().any(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with("--")
    })
}

/// Splits SQL text at top-level semicolons, outside quotes and comments; each chunk keeps its
/// byte offset in the text.
fn split_statements(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut index = 0;
    let mut quote: Option<u8> = None;
    while index < bytes.len() {
        let byte = bytes[index];
        match quote {
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None => match byte {
                b'\'' | b'"' | b'`' => quote = Some(byte),
                b'-' if bytes.get(index + 1) == Some(&b'-') => {
                    index = text[index..].find('\n').map_or(bytes.len(), |newline| index + newline);
                    continue;
                }
                b'/' if bytes.get(index + 1) == Some(&b'*') => {
                    index = text[index + 2..].find("*/").map_or(bytes.len(), |end| index + 2 + end + 2);
                    continue;
                }
                b';' => {
                    chunks.push((start, &text[start..index]));
                    start = index + 1;
                }
                _ => {}
            },
        }
        index += 1;
    }
    chunks.push((start, &text[start..]));
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes_and_comments() {
        let text = "SELECT ';' FROM a; -- x; y\nPRAGMA foo; /* ; */ SELECT 1";
        let chunks: Vec<&str> = split_statements(text).into_iter().map(|(_, chunk)| chunk.trim()).collect();
        assert_eq!(chunks, ["SELECT ';' FROM a", "-- x; y\nPRAGMA foo", "/* ; */ SELECT 1"]);
    }

    #[test]
    fn a_file_with_one_bad_statement_keeps_the_others() {
        let text = "CREATE TABLE a (id INT);\nTHIS IS NOT SQL;\nINSERT INTO b VALUES (1);\n";
        let (uses, warnings) = analyse_sql_file(text, "m.sql");
        let names: Vec<(&str, usize)> = uses.iter().map(|use_| (use_.name.as_str(), use_.site.line)).collect();
        assert_eq!(names, [("a", 1), ("b", 3)]);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].site.as_ref().unwrap().line, 2);
    }
}
