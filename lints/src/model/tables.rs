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

use crate::config::Config;
use crate::diagnostic::{LineIndex, Site, SourceRef, Warning, WarningCode};
use crate::extract::TableUse;
use crate::parse::SourceFile;
use crate::sql::{TableAccess, normalize_table_name, table_pattern_matches};
use crate::workspace::{Workspace, normalize_lexically};

use super::modules::{ModuleId, Modules};
use super::sql_files::{analyse_sql_file, sql_files_by_module};

/// One place where a module's SQL names a table.
#[derive(Debug, Clone)]
pub(crate) struct TableSite {
    pub(crate) module: ModuleId,
    pub(crate) name: String,
    pub(crate) access: TableAccess,
    pub(crate) declared_by: Option<String>,
    pub(crate) source: SourceRef,
    pub(crate) site: Site,
}

/// How a module claims a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ClaimKind {
    /// `CREATE TABLE` (or view) in the module's own SQL, or an ORM declaration in its code.
    Declared,
    /// A `tables` pattern in `boundaries.toml`.
    Configured,
}

/// A claim of ownership: a concrete table name, or a configured pattern.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub(crate) module: ModuleId,
    pub(crate) pattern: String,
    pub(crate) kind: ClaimKind,
    pub(crate) source: SourceRef,
    pub(crate) site: Site,
}

/// Every table use and ownership claim of the workspace.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableCatalog {
    /// Table uses in modules' SQL, sorted by file and position.
    pub(crate) uses: Vec<TableSite>,
    pub(crate) claims: Vec<Claim>,
    /// The owners of every table name the workspace mentions, computed once: rules ask for the
    /// owners of each use, and matching every use against every claim grows quadratically.
    owners_by_table: std::collections::HashMap<String, BTreeSet<ModuleId>>,
}

impl TableCatalog {
    /// The modules that own a table.
    pub(crate) fn owners(&self, table: &str) -> BTreeSet<ModuleId> {
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
    pub(crate) fn table_names(&self) -> BTreeSet<String> {
        let declared =
            self.claims.iter().filter(|claim| !claim.pattern.contains('*')).map(|claim| claim.pattern.clone());
        declared.chain(self.uses.iter().map(|site| site.name.clone())).collect()
    }

    /// Tables that are used but owned by no module, for the JSON report.
    pub(crate) fn unowned_tables(&self) -> Vec<String> {
        let names: BTreeSet<String> =
            self.uses.iter().filter(|site| self.owners(&site.name).is_empty()).map(|site| site.name.clone()).collect();
        names.into_iter().collect()
    }
}

/// Builds the catalog from the files' facts and the modules' `.sql` files. Returns the
/// `unparsed-sql` warnings alongside.
pub(crate) fn build_catalog(
    workspace: &Workspace,
    config: &Config,
    modules: &Modules,
    files: &[SourceFile],
) -> (TableCatalog, Vec<Warning>) {
    let mut catalog = TableCatalog::default();
    let mut warnings = Vec::new();
    let config_source = SourceRef { file: workspace.relative_path(&config.path), text: Arc::clone(&config.source) };
    let config_index = LineIndex::new(&config.source);

    for (module_id, module) in modules.with_ids() {
        for pattern in &config.modules[module.config_index].tables {
            let span = pattern.span();
            let (line, column) = config_index.line_column(&config.source, span.start);
            catalog.claims.push(Claim {
                module: module_id,
                pattern: normalize_table_name(pattern.get_ref()),
                kind: ClaimKind::Configured,
                source: config_source.clone(),
                site: Site { line, column, bytes: span },
            });
        }
    }

    // SQL and ORM declarations in Rust code.
    for file in files {
        let source = || SourceRef { file: file.relative.clone(), text: Arc::clone(&file.text) };
        for table in &file.facts.tables {
            if let Some(module) = modules.owner_of(file.unit, &table.scope) {
                add_use(&mut catalog, module, table, source());
            }
        }
        for orm in &file.facts.orm_tables {
            if let Some(module) = modules.owner_of(file.unit, &orm.scope) {
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
            if modules.owner_of(file.unit, &problem.scope).is_some() {
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
    let mut sql_files: BTreeMap<PathBuf, ModuleId> = sql_files_by_module(workspace, config, modules);
    for file in files {
        for reference in &file.facts.sql_files {
            let Some(module) = modules.owner_of(file.unit, &reference.scope) else { continue };
            let package_dir = &workspace.packages[workspace.units[file.unit].package].manifest_dir;
            let path = normalize_lexically(&package_dir.join(&reference.path));
            sql_files.entry(path).or_insert(module);
        }
    }
    let parsed: Vec<(ModuleId, SourceRef, Vec<TableUse>, Vec<Warning>)> = sql_files
        .into_par_iter()
        .filter_map(|(path, module)| {
            let text = std::fs::read_to_string(&path).ok()?;
            let relative = workspace.relative_path(&path);
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
