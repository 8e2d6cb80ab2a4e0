//! Table ownership: which module owns which table, and every place a module's SQL names a table.
//!
//! SQL comes from three places, all attributed to the module whose code or directory holds them:
//! string literals in the checked code (already extracted during the one parse of each file),
//! `.sql` files under a module's directory, and files named by `sqlx::query_file!`. Ownership comes
//! from `tables` patterns in `boundaries.toml`, `CREATE TABLE` in a module's own SQL, and ORM
//! declarations (diesel `table!`, sea-orm `table_name`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use crate::extract::{Site, TableUse};
use crate::model::{Model, ModuleId, Warning, WarningCode};
use crate::rules::SourceRef;
use crate::sql::{TableAccess, extract_table_references, looks_like_prose, table_pattern_matches};

/// One place where a module's SQL names a table.
#[derive(Debug, Clone)]
pub struct TableSite {
    pub module: ModuleId,
    pub name: String,
    pub access: TableAccess,
    pub declared_by: Option<String>,
    pub source: SourceRef,
    pub site: Site,
}

/// How a module claims a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClaimKind {
    /// `CREATE TABLE` (or view) in the module's own SQL, or an ORM declaration in its code.
    Declared,
    /// A `tables` pattern in `boundaries.toml`.
    Configured,
}

/// A claim of ownership: a concrete table name, or a configured pattern.
#[derive(Debug, Clone)]
pub struct Claim {
    pub module: ModuleId,
    pub pattern: String,
    pub kind: ClaimKind,
    pub source: SourceRef,
    pub site: Site,
}

/// Every table use and ownership claim of the workspace.
#[derive(Debug, Clone, Default)]
pub struct TableCatalog {
    /// Table uses in modules' SQL, sorted by file and position.
    pub uses: Vec<TableSite>,
    pub claims: Vec<Claim>,
    /// The owners of every table name the workspace mentions, computed once: rules ask for the
    /// owners of each use, and matching every use against every claim grows quadratically.
    owners_by_table: std::collections::HashMap<String, BTreeSet<ModuleId>>,
}

impl TableCatalog {
    /// The modules that own a table.
    pub fn owners(&self, table: &str) -> BTreeSet<ModuleId> {
        match self.owners_by_table.get(table) {
            Some(owners) => owners.clone(),
            None => self.match_claims(table),
        }
    }

    fn match_claims(&self, table: &str) -> BTreeSet<ModuleId> {
        self.claims
            .iter()
            .filter(|claim| table_pattern_matches(&claim.pattern, table))
            .map(|claim| claim.module)
            .collect()
    }

    /// Computes the owners of every mentioned table once the claims are complete.
    fn index_owners(&mut self) {
        let names = self.table_names();
        let mut index = std::collections::HashMap::with_capacity(names.len());
        for name in names {
            let owners = self.match_claims(&name);
            index.insert(name, owners);
        }
        self.owners_by_table = index;
    }

    /// Every concrete table name the workspace mentions, claimed or used.
    pub fn table_names(&self) -> BTreeSet<String> {
        let declared =
            self.claims.iter().filter(|claim| !claim.pattern.contains('*')).map(|claim| claim.pattern.clone());
        declared.chain(self.uses.iter().map(|site| site.name.clone())).collect()
    }

    /// Tables that are used but owned by no module, for the JSON report.
    pub fn unowned_tables(&self) -> Vec<String> {
        let names: BTreeSet<String> =
            self.uses.iter().filter(|site| self.owners(&site.name).is_empty()).map(|site| site.name.clone()).collect();
        names.into_iter().collect()
    }
}

/// Builds the catalog from the model's files and the modules' `.sql` files. Returns the
/// `unparsed-sql` warnings alongside.
pub fn build_catalog(model: &Model) -> (TableCatalog, Vec<Warning>) {
    let mut catalog = TableCatalog::default();
    let mut warnings = Vec::new();
    let config_source =
        SourceRef { file: model.workspace.relative_path(&model.config.path), text: Arc::clone(&model.config.source) };
    let config_index = crate::source::LineIndex::new(&model.config.source);

    for (module_id, module) in model.modules.iter().enumerate() {
        for pattern in &model.config.modules[module.config_index].tables {
            let span = pattern.span();
            let (line, column) = config_index.line_column(&model.config.source, span.start);
            catalog.claims.push(Claim {
                module: module_id,
                pattern: crate::sql::normalize_table_name(pattern.get_ref()),
                kind: ClaimKind::Configured,
                source: config_source.clone(),
                site: Site { line, column, bytes: span },
            });
        }
    }

    // SQL and ORM declarations in Rust code.
    for file in &model.files {
        let source = || SourceRef { file: file.relative.clone(), text: Arc::clone(&file.text) };
        for table in &file.facts.tables {
            if let Some(module) = model.owner_of(file.unit, &table.scope) {
                add_use(&mut catalog, module, table, source());
            }
        }
        for orm in &file.facts.orm_tables {
            if let Some(module) = model.owner_of(file.unit, &orm.scope) {
                catalog.claims.push(Claim {
                    module,
                    pattern: orm.name.clone(),
                    kind: ClaimKind::Declared,
                    source: source(),
                    site: orm.site.clone(),
                });
            }
        }
        for problem in &file.facts.sql_problems {
            if model.owner_of(file.unit, &problem.scope).is_some() {
                warnings.push(Warning {
                    code: WarningCode::UnparsedSql,
                    file: file.relative.clone(),
                    site: Some(problem.site.clone()),
                    message: format!("this looks like SQL but no SQL dialect parses it: {}", problem.message),
                });
            }
        }
    }

    // `.sql` files: those under module directories, and those named by `query_file!`.
    let mut sql_files: BTreeMap<PathBuf, ModuleId> = sql_files_by_module(model);
    for file in &model.files {
        for reference in &file.facts.sql_files {
            let Some(module) = model.owner_of(file.unit, &reference.scope) else { continue };
            let package_dir = &model.workspace.packages[model.workspace.units[file.unit].package].manifest_dir;
            let path = crate::workspace::normalize_lexically(&package_dir.join(&reference.path));
            sql_files.entry(path).or_insert(module);
        }
    }
    let parsed: Vec<(ModuleId, SourceRef, Vec<TableUse>, Vec<Warning>)> = sql_files
        .into_par_iter()
        .filter_map(|(path, module)| {
            let text = std::fs::read_to_string(&path).ok()?;
            let relative = model.workspace.relative_path(&path);
            let (uses, problems) = analyse_sql_file(&text, &relative);
            Some((module, SourceRef { file: relative, text: Arc::new(text) }, uses, problems))
        })
        .collect();
    for (module, source, uses, problems) in parsed {
        for table in &uses {
            add_use(&mut catalog, module, table, source.clone());
        }
        warnings.extend(problems);
    }

    catalog.uses.sort_by(|a, b| (&a.source.file, &a.site).cmp(&(&b.source.file, &b.site)));
    catalog.index_owners();
    (catalog, warnings)
}

/// Records a table use, and a `CREATE TABLE` as a claim too.
fn add_use(catalog: &mut TableCatalog, module: ModuleId, table: &TableUse, source: SourceRef) {
    if table.access == TableAccess::Create {
        catalog.claims.push(Claim {
            module,
            pattern: table.name.clone(),
            kind: ClaimKind::Declared,
            source: source.clone(),
            site: table.site.clone(),
        });
    }
    catalog.uses.push(TableSite {
        module,
        name: table.name.clone(),
        access: table.access,
        declared_by: table.declared_by.clone(),
        source,
        site: table.site.clone(),
    });
}

/// Every `.sql` file under a module's directory, attributed to the module with the deepest
/// directory that holds it. Directories of other packages and `target/` are skipped, and so are
/// those of test code unless it is checked (see [`test_directories`]).
fn sql_files_by_module(model: &Model) -> BTreeMap<PathBuf, ModuleId> {
    let skipped = if model.config.defaults.include_tests { BTreeSet::new() } else { test_directories(model) };
    let mut best: BTreeMap<PathBuf, (usize, ModuleId)> = BTreeMap::new();
    for (module_id, module) in model.modules.iter().enumerate() {
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
fn test_directories(model: &Model) -> BTreeSet<PathBuf> {
    let workspace = &model.workspace;
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
fn analyse_sql_file(full_text: &str, relative: &str) -> (Vec<TableUse>, Vec<Warning>) {
    // A byte-order mark (as Windows editors write) is not SQL; offsets stay those of the file.
    let bom = if full_text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let text = &full_text[bom..];
    let index = crate::source::LineIndex::new(full_text);
    let site_at = |start: usize, end: usize| {
        let (start, end) = (start + bom, end + bom);
        let (line, column) = index.line_column(full_text, start);
        Site { line, column, bytes: start..end.max(start) }
    };
    let mut uses = Vec::new();
    let mut warnings = Vec::new();
    let chunks: Vec<(usize, &str)> = match extract_table_references(text) {
        Ok(references) => {
            for reference in references {
                uses.push(TableUse {
                    name: reference.name,
                    access: reference.access,
                    declared_by: reference.declared_by,
                    site: site_at(reference.byte_range.start, reference.byte_range.end),
                    scope: Vec::new(),
                    in_test: false,
                });
            }
            return (uses, warnings);
        }
        Err(_) => split_statements(text),
    };
    for (offset, chunk) in chunks {
        if chunk.trim().is_empty() || !chunk_has_statement(chunk) {
            continue;
        }
        match extract_table_references(chunk) {
            Ok(references) => {
                for reference in references {
                    uses.push(TableUse {
                        name: reference.name,
                        access: reference.access,
                        declared_by: reference.declared_by,
                        site: site_at(offset + reference.byte_range.start, offset + reference.byte_range.end),
                        scope: Vec::new(),
                        in_test: false,
                    });
                }
            }
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
