//! The facts of one file: everything a rule needs from it, in plain data that the facts cache
//! stores and the model reads.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::diagnostic::Site;
use crate::workspace::{ExternPrelude, UnitId};

/// An absolute path into a workspace crate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct Target {
    pub(crate) unit: UnitId,
    /// Module path and item segments below the crate root; a glob import ends in `*`.
    pub(crate) segments: Vec<String>,
}

/// How a reference was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum ReferenceKind {
    /// A leaf of a `use` tree; `reexport` when the `use` is `pub` in any form.
    Use { reexport: bool },
    /// A path in an expression, type, pattern, bound, `impl` header or attribute.
    Path,
    /// A `a::b::c` sequence found in a macro's tokens.
    MacroTokens,
}

/// A path written in the code that resolves into a workspace crate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Reference {
    pub(crate) site: Site,
    /// The module path of the code where the path is written.
    pub(crate) scope: Vec<String>,
    pub(crate) target: Target,
    pub(crate) kind: ReferenceKind,
    /// When the path starts with a name brought in by a `use`, that `use`'s target.
    pub(crate) via_import: Option<Target>,
    pub(crate) in_test: bool,
    /// Set when the path's first segment was found only through a glob import: the length of
    /// the glob's base in `target`. The model keeps the reference only when the base plus the
    /// first segment is a module that exists, and drops it otherwise.
    pub(crate) glob_base_len: Option<usize>,
}

/// A path written in the code that names a crate from outside the workspace.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ExternalReference {
    pub(crate) site: Site,
    /// The module path of the code where the path is written.
    pub(crate) scope: Vec<String>,
    /// The crate's package name as Cargo.toml gives it, whatever name the code uses for it (a
    /// Cargo rename, `extern crate … as …`, a `use … as …`).
    pub(crate) package: String,
    /// The path below the crate's root.
    pub(crate) segments: Vec<String>,
    pub(crate) kind: ReferenceKind,
    /// Whether the path starts with a name that a `use` or an `extern crate` brought in from the
    /// same crate: that import is a reference of its own, where the crate is reported.
    pub(crate) via_import: bool,
}

/// A `mod name;` declaration whose file is loaded as a child of this one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ChildFile {
    pub(crate) module_path: Vec<String>,
    /// The candidate files, in the order rustc tries them; the first that exists is used.
    pub(crate) candidates: Vec<PathBuf>,
    /// The directory in which the child's own `mod` declarations are looked up, per candidate.
    pub(crate) children_dirs: Vec<PathBuf>,
    pub(crate) in_test: bool,
    pub(crate) site: Site,
}

/// A string literal, with a map from its value back to the source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StringLiteral {
    pub(crate) value: String,
    pub(crate) scope: Vec<String>,
    pub(crate) in_test: bool,
    /// The byte offset in the file of each byte of `value` (one entry per value byte, plus one
    /// for the end), so that a table name found inside the value maps to its exact place.
    pub(crate) source_offsets: Vec<usize>,
    /// The path of the macro the literal is an argument of, when it is one (`sqlx::query_file`).
    pub(crate) macro_name: Option<String>,
}

/// A table named by SQL in this file: in a string literal of the code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct TableUse {
    pub(crate) name: String,
    pub(crate) access: crate::sql::TableAccess,
    /// For a REFERENCES clause, the table that declares it.
    pub(crate) declared_by: Option<String>,
    pub(crate) site: Site,
    pub(crate) scope: Vec<String>,
    pub(crate) in_test: bool,
}

/// Text that starts like SQL but that no SQL dialect parses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SqlProblem {
    pub(crate) site: Site,
    pub(crate) message: String,
    pub(crate) scope: Vec<String>,
    pub(crate) in_test: bool,
}

/// `sqlx::query_file!("queries/x.sql")`: SQL kept in a file named from the code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SqlFileReference {
    /// The path as written, relative to the package's manifest directory.
    pub(crate) path: String,
    pub(crate) site: Site,
    pub(crate) scope: Vec<String>,
    pub(crate) in_test: bool,
}

/// A table declared by an ORM: diesel's `table!` or sea-orm's `#[sea_orm(table_name = …)]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct OrmTable {
    pub(crate) name: String,
    pub(crate) site: Site,
    pub(crate) scope: Vec<String>,
    pub(crate) in_test: bool,
    pub(crate) orm: String,
}

/// Everything extracted from one file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct FileFacts {
    pub(crate) references: Vec<Reference>,
    /// Paths into crates from outside the workspace (`std`, `core`, `alloc`, `proc_macro` and
    /// `test` are never recorded).
    pub(crate) external_references: Vec<ExternalReference>,
    pub(crate) children: Vec<ChildFile>,
    /// String literals kept for SQL extraction (candidates only), emptied once analysed.
    #[serde(skip)]
    pub(crate) strings: Vec<StringLiteral>,
    pub(crate) tables: Vec<TableUse>,
    pub(crate) sql_problems: Vec<SqlProblem>,
    pub(crate) sql_files: Vec<SqlFileReference>,
    pub(crate) orm_tables: Vec<OrmTable>,
    /// `extern crate name as alias;` at the crate root, which puts `alias` in the prelude of every
    /// module of the crate: `(alias, crate name)`.
    pub(crate) extern_crate_aliases: Vec<(String, String)>,
    /// Module paths defined by inline `mod x { … }` blocks in this file.
    pub(crate) inline_modules: Vec<Vec<String>>,
    /// `// seams:allow(rule): reason` comments outside unchecked test code.
    pub(crate) allows: Vec<super::allows::AllowComment>,
    pub(crate) lines: usize,
    pub(crate) parse_error: Option<ParseFailure>,
}

/// syn's message and position when a file does not parse.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ParseFailure {
    pub(crate) message: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) bytes: Range<usize>,
}

/// What a file's analysis needs to know about its place in the crate.
#[derive(Debug, Clone)]
pub(crate) struct FileContext<'a> {
    pub(crate) unit: UnitId,
    pub(crate) file: &'a Path,
    pub(crate) module_path: &'a [String],
    /// The directory where `mod x;` in this file looks for `x.rs` and `x/mod.rs`.
    pub(crate) children_dir: &'a Path,
    /// Whether the whole file is test code (reached through `#[cfg(test)] mod`, or a test target).
    pub(crate) in_test: bool,
    pub(crate) include_tests: bool,
    pub(crate) extern_prelude: &'a ExternPrelude,
    /// The extern prelude of the file's test code: `extern_prelude` with the package's
    /// dev-dependencies, which `#[cfg(test)]` code can name as test targets can.
    pub(crate) test_extern_prelude: &'a ExternPrelude,
    /// `extern crate x as y;` at the crate root makes `crate::y` name crate `x` everywhere.
    pub(crate) root_extern_aliases: &'a ExternPrelude,
}
