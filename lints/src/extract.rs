//! The one parse of a source file: syn reads it once, and this module extracts every fact that
//! any rule needs from it — resolved references, module declarations, string literals that may
//! hold SQL, and ORM table declarations.
//!
//! Resolution is local to the file: `use` imports, child modules and the crate's extern prelude
//! are all that a path's first segment can name, and all of them are visible from here. That is
//! what lets files be analysed independently and in parallel.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::visit::Visit;

use crate::workspace::UnitId;

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

impl Site {
    fn of_span(first: Span, last: Span) -> Site {
        let start = first.start();
        let start_byte = first.byte_range().start;
        let end_byte = last.byte_range().end.max(start_byte);
        Site { line: start.line, column: start.column + 1, bytes: start_byte..end_byte }
    }
}

/// An absolute path into a workspace crate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Target {
    pub unit: UnitId,
    /// Module path and item segments below the crate root; a glob import ends in `*`.
    pub segments: Vec<String>,
}

/// How a reference was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReferenceKind {
    /// A leaf of a `use` tree; `reexport` when the `use` is `pub` in any form.
    Use { reexport: bool },
    /// A path in an expression, type, pattern, bound, `impl` header or attribute.
    Path,
    /// A `a::b::c` sequence found in a macro's tokens.
    MacroTokens,
}

/// A path written in the code that resolves into a workspace crate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reference {
    pub site: Site,
    /// The module path of the code where the path is written.
    pub scope: Vec<String>,
    pub target: Target,
    pub kind: ReferenceKind,
    /// When the path starts with a name brought in by a `use`, that `use`'s target.
    pub via_import: Option<Target>,
    pub in_test: bool,
    /// Set when the path's first segment was found only through a glob import: the length of
    /// the glob's base in `target`. The model keeps the reference only when the base plus the
    /// first segment is a module that exists, and drops it otherwise.
    pub glob_base_len: Option<usize>,
}

/// A `mod name;` declaration whose file is loaded as a child of this one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChildFile {
    pub module_path: Vec<String>,
    /// The candidate files, in the order rustc tries them; the first that exists is used.
    pub candidates: Vec<PathBuf>,
    /// The directory in which the child's own `mod` declarations are looked up, per candidate.
    pub children_dirs: Vec<PathBuf>,
    pub in_test: bool,
    pub site: Site,
}

/// A string literal, with a map from its value back to the source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StringLiteral {
    pub value: String,
    pub scope: Vec<String>,
    pub in_test: bool,
    /// The byte offset in the file of each byte of `value` (one entry per value byte, plus one
    /// for the end), so that a table name found inside the value maps to its exact place.
    pub source_offsets: Vec<usize>,
    /// The path of the macro the literal is an argument of, when it is one (`sqlx::query_file`).
    pub macro_name: Option<String>,
}

/// A table named by SQL in this file: in a string literal of the code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableUse {
    pub name: String,
    pub access: crate::sql::TableAccess,
    /// For a REFERENCES clause, the table that declares it.
    pub declared_by: Option<String>,
    pub site: Site,
    pub scope: Vec<String>,
    pub in_test: bool,
}

/// Text that starts like SQL but that no SQL dialect parses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SqlProblem {
    pub site: Site,
    pub message: String,
    pub scope: Vec<String>,
    pub in_test: bool,
}

/// `sqlx::query_file!("queries/x.sql")`: SQL kept in a file named from the code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SqlFileReference {
    /// The path as written, relative to the package's manifest directory.
    pub path: String,
    pub site: Site,
    pub scope: Vec<String>,
    pub in_test: bool,
}

/// A table declared by an ORM: diesel's `table!` or sea-orm's `#[sea_orm(table_name = …)]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrmTable {
    pub name: String,
    pub site: Site,
    pub scope: Vec<String>,
    pub in_test: bool,
    pub orm: String,
}

/// Everything extracted from one file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FileFacts {
    pub references: Vec<Reference>,
    pub children: Vec<ChildFile>,
    /// String literals kept for SQL extraction (candidates only), emptied once analysed.
    #[serde(skip)]
    pub strings: Vec<StringLiteral>,
    pub tables: Vec<TableUse>,
    pub sql_problems: Vec<SqlProblem>,
    pub sql_files: Vec<SqlFileReference>,
    pub orm_tables: Vec<OrmTable>,
    /// `extern crate name as alias;` at the crate root, which puts `alias` in the prelude of every
    /// module of the crate: `(alias, crate name)`.
    pub extern_crate_aliases: Vec<(String, String)>,
    /// Module paths defined by inline `mod x { … }` blocks in this file.
    pub inline_modules: Vec<Vec<String>>,
    pub lines: usize,
    pub parse_error: Option<ParseFailure>,
}

/// syn's message and position when a file does not parse.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParseFailure {
    pub message: String,
    pub line: usize,
    pub column: usize,
    pub bytes: Range<usize>,
}

/// What a file's analysis needs to know about its place in the crate.
#[derive(Debug, Clone)]
pub struct FileContext<'a> {
    pub unit: UnitId,
    pub file: &'a Path,
    pub module_path: &'a [String],
    /// The directory where `mod x;` in this file looks for `x.rs` and `x/mod.rs`.
    pub children_dir: &'a Path,
    /// Whether the whole file is test code (reached through `#[cfg(test)] mod`, or a test target).
    pub in_test: bool,
    pub include_tests: bool,
    pub extern_prelude: &'a BTreeMap<String, Option<UnitId>>,
    /// The extern prelude of the file's test code: `extern_prelude` with the package's
    /// dev-dependencies, which `#[cfg(test)]` code can name as test targets can.
    pub test_extern_prelude: &'a BTreeMap<String, Option<UnitId>>,
    /// `extern crate x as y;` at the crate root makes `crate::y` name crate `x` everywhere.
    pub root_extern_aliases: &'a BTreeMap<String, Option<UnitId>>,
}

/// Parses `text` and extracts its facts.
pub fn analyse_source(context: &FileContext<'_>, text: &str) -> FileFacts {
    let mut facts = FileFacts { lines: crate::source::count_lines(text), ..FileFacts::default() };
    let syntax = match syn::parse_file(text) {
        Ok(syntax) => syntax,
        Err(error) => {
            let span = error.span();
            let start = span.start();
            facts.parse_error = Some(ParseFailure {
                message: error.to_string(),
                line: start.line,
                column: start.column + 1,
                bytes: span.byte_range(),
            });
            return facts;
        }
    };

    // `#![cfg(test)]` at the top of a file makes the whole file test code.
    let whole_file_is_test = is_test_only(&syntax.attrs);
    if whole_file_is_test && !context.include_tests {
        return facts;
    }
    let context = &FileContext { in_test: context.in_test || whole_file_is_test, ..context.clone() };
    let mut scopes = ScopeCollector::new(context);
    scopes.visit_file(&syntax);
    facts.extern_crate_aliases = std::mem::take(&mut scopes.extern_crate_aliases);
    let scopes = scopes.finish();

    let test_context = FileContext { extern_prelude: context.test_extern_prelude, ..context.clone() };
    let mut extractor = Extractor {
        context,
        test_context: &test_context,
        scopes: &scopes,
        scope_stack: vec![0],
        test_depth: usize::from(context.in_test),
        facts: &mut facts,
        macro_stack: Vec::new(),
    };
    extractor.visit_file(&syntax);
    extract_sql(&mut facts, text);
    // Two inline modules may share a path (`#[cfg(unix)] mod imp {…}` and `#[cfg(not(unix))] mod
    // imp {…}`): each has a scope of its own, and the path is listed once.
    let mut inline_modules: Vec<Vec<String>> =
        scopes.module_scopes.iter().skip(1).map(|index| scopes.scopes[*index].path.clone()).collect();
    inline_modules.sort();
    inline_modules.dedup();
    facts.inline_modules = inline_modules;
    facts
}

/// A module scope inside the file: the file's own module, or an inline `mod x { … }`.
#[derive(Debug, Default)]
struct Scope {
    path: Vec<String>,
    /// For the scope of a block (a function body): the enclosing scope, whose names it sees.
    parent_block_scope: Option<usize>,
    /// Directory for the `mod x;` declarations written in this scope.
    children_dir: PathBuf,
    /// Names bound by `use` (and `extern crate … as …`) in this scope.
    imports: BTreeMap<String, Vec<Import>>,
    /// Bases of glob imports (`use super::*` gives the parent's path).
    globs: Vec<Import>,
    child_modules: Vec<String>,
}

#[derive(Debug, Clone)]
struct Import {
    segments: Vec<String>,
    leading_colon: bool,
    /// Index of this import in its scope's list of all imports, to avoid resolving through itself.
    id: usize,
}

struct Scopes {
    scopes: Vec<Scope>,
    /// The scope that each block and inline module opens, by the byte offset of the token that
    /// opens it (a block's `{`, a module's name). The second pass finds each scope by where it
    /// stands, so that the passes cannot drift apart when one of them skips some code.
    opened_at: HashMap<usize, usize>,
    /// The scopes that are modules (the file's own and inline `mod x { … }`), not blocks.
    module_scopes: Vec<usize>,
}

/// First pass: the module scopes of the file, with their imports and child modules, so that
/// the second pass can resolve a path no matter where in the module its `use` stands.
struct ScopeCollector<'a> {
    context: &'a FileContext<'a>,
    scopes: Vec<Scope>,
    stack: Vec<usize>,
    next_import_id: usize,
    extern_crate_aliases: Vec<(String, String)>,
    opened_at: HashMap<usize, usize>,
    module_scopes: Vec<usize>,
}

impl<'a> ScopeCollector<'a> {
    fn new(context: &'a FileContext<'a>) -> Self {
        let root = Scope {
            path: context.module_path.to_vec(),
            children_dir: context.children_dir.to_owned(),
            ..Scope::default()
        };
        ScopeCollector {
            context,
            scopes: vec![root],
            stack: vec![0],
            next_import_id: 0,
            extern_crate_aliases: Vec::new(),
            opened_at: HashMap::new(),
            module_scopes: vec![0],
        }
    }

    fn finish(self) -> Scopes {
        Scopes { scopes: self.scopes, opened_at: self.opened_at, module_scopes: self.module_scopes }
    }

    fn current(&mut self) -> &mut Scope {
        let index = *self.stack.last().unwrap_or(&0);
        &mut self.scopes[index]
    }

    fn add_import(&mut self, name: String, segments: Vec<String>, leading_colon: bool) {
        let id = self.next_import_id;
        self.next_import_id += 1;
        self.current().imports.entry(name).or_default().push(Import { segments, leading_colon, id });
    }
}

impl<'ast> Visit<'ast> for ScopeCollector<'_> {
    // Test code is skipped exactly where the second pass skips it (`visit_item`,
    // `visit_impl_item`), so that the scopes of the code both passes see are the same.
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if is_test_only(item_attributes(item)) && !self.context.include_tests {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        if is_test_only(impl_item_attributes(item)) && !self.context.include_tests {
            return;
        }
        syn::visit::visit_impl_item(self, item);
    }

    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        let name = module.ident.unraw().to_string();
        self.current().child_modules.push(name.clone());
        if let Some((_, items)) = &module.content {
            let parent = self.current();
            let path = [parent.path.clone(), vec![name.clone()]].concat();
            let children_dir = parent.children_dir.join(&name);
            let index = self.scopes.len();
            self.scopes.push(Scope { path, children_dir, ..Scope::default() });
            self.opened_at.insert(module.ident.span().byte_range().start, index);
            self.module_scopes.push(index);
            self.stack.push(index);
            for item in items {
                self.visit_item(item);
            }
            self.stack.pop();
        }
    }

    /// A block has a scope of its own. The items written in it (`use`, `extern crate`, `mod`) are
    /// recorded there: they are visible in the whole block, before and after the line that
    /// declares them, and in the blocks nested in it, but not elsewhere in the module. Lookups go
    /// from the innermost block outwards to the module's scope (see `resolve_first_segment`).
    fn visit_block(&mut self, block: &'ast syn::Block) {
        let parent = *self.stack.last().unwrap_or(&0);
        let scope = Scope {
            path: self.scopes[parent].path.clone(),
            parent_block_scope: Some(parent),
            children_dir: self.scopes[parent].children_dir.clone(),
            ..Scope::default()
        };
        let index = self.scopes.len();
        self.scopes.push(scope);
        self.opened_at.insert(block.brace_token.span.open().byte_range().start, index);
        self.stack.push(index);
        syn::visit::visit_block(self, block);
        self.stack.pop();
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut leaves = Vec::new();
        flatten_use_tree(&item.tree, &mut Vec::new(), None, &mut leaves);
        for leaf in leaves {
            if leaf.segments.last().is_some_and(|last| last == "*") {
                let base = leaf.segments[..leaf.segments.len() - 1].to_vec();
                self.current().globs.push(Import {
                    segments: base,
                    leading_colon: item.leading_colon.is_some(),
                    id: usize::MAX,
                });
            }
            if let Some(binding) = leaf.binding {
                self.add_import(binding, leaf.segments, item.leading_colon.is_some());
            }
        }
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        let crate_name = item.ident.unraw().to_string();
        let binding = match &item.rename {
            Some((_, alias)) => alias.unraw().to_string(),
            None => crate_name.clone(),
        };
        // `extern crate self;` without a name binds nothing (rustc requires `as name`).
        if binding == "_" || binding == "self" {
            return;
        }
        if self.stack.len() == 1 && self.context.module_path.is_empty() && binding != crate_name {
            self.extern_crate_aliases.push((binding.clone(), crate_name.clone()));
        }
        // `extern crate self as name;` names this crate's root, like `crate`.
        match crate_name.as_str() {
            "self" => self.add_import(binding, vec!["crate".to_owned()], false),
            _ => self.add_import(binding, vec![crate_name], true),
        }
    }
}

/// One leaf of a flattened `use` tree.
#[derive(Debug)]
struct UseLeaf {
    segments: Vec<String>,
    /// The name the leaf binds in scope; `None` for a glob, or `_` renames.
    binding: Option<String>,
    /// First and last token of the leaf's path inside its innermost group.
    first: Option<Span>,
    last: Option<Span>,
}

fn flatten_use_tree(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    group_start: Option<Span>,
    leaves: &mut Vec<UseLeaf>,
) {
    match tree {
        syn::UseTree::Path(path) => {
            let start = group_start.or(Some(path.ident.span()));
            prefix.push(path.ident.unraw().to_string());
            flatten_use_tree(&path.tree, prefix, start, leaves);
            prefix.pop();
        }
        syn::UseTree::Name(name) => {
            let ident = name.ident.unraw().to_string();
            let (segments, binding) = if ident == "self" {
                (prefix.clone(), prefix.last().cloned())
            } else {
                ([prefix.clone(), vec![ident.clone()]].concat(), Some(ident))
            };
            leaves.push(UseLeaf {
                segments,
                binding,
                first: group_start.or(Some(name.ident.span())),
                last: Some(name.ident.span()),
            });
        }
        syn::UseTree::Rename(rename) => {
            let ident = rename.ident.unraw().to_string();
            let segments = if ident == "self" { prefix.clone() } else { [prefix.clone(), vec![ident]].concat() };
            let alias = rename.rename.unraw().to_string();
            leaves.push(UseLeaf {
                segments,
                binding: (alias != "_").then_some(alias),
                first: group_start.or(Some(rename.ident.span())),
                last: Some(rename.ident.span()),
            });
        }
        syn::UseTree::Glob(glob) => {
            leaves.push(UseLeaf {
                segments: [prefix.clone(), vec!["*".to_owned()]].concat(),
                binding: None,
                first: group_start.or(Some(glob.star_token.span)),
                last: Some(glob.star_token.span),
            });
        }
        syn::UseTree::Group(group) => {
            for item in &group.items {
                flatten_use_tree(item, prefix, None, leaves);
            }
        }
    }
}

/// Second pass: every path, resolved.
struct Extractor<'a, 'f> {
    context: &'a FileContext<'a>,
    /// `context` with the test code's extern prelude, for resolving paths in test code.
    test_context: &'a FileContext<'a>,
    scopes: &'a Scopes,
    scope_stack: Vec<usize>,
    /// How many enclosing items are test-only (0 outside test code).
    test_depth: usize,
    facts: &'f mut FileFacts,
    /// Paths of the macro invocations we are inside, innermost last.
    macro_stack: Vec<String>,
}

/// The outcome of resolving a path's first segments.
struct Resolution {
    target: Target,
    via_import: Option<Target>,
}

impl Extractor<'_, '_> {
    fn scope(&self) -> &Scope {
        &self.scopes.scopes[*self.scope_stack.last().unwrap_or(&0)]
    }

    fn in_test(&self) -> bool {
        self.test_depth > 0
    }

    /// The context that paths are resolved in: test code can also name dev-dependencies.
    fn resolution_context(&self) -> &FileContext<'_> {
        if self.in_test() { self.test_context } else { self.context }
    }

    /// Resolves a path written in the current scope.
    fn resolve(
        &self,
        segments: &[String],
        leading_colon: bool,
        skip_import: Option<usize>,
        depth: usize,
    ) -> Option<Resolution> {
        resolve_in_scope(
            self.resolution_context(),
            self.scopes,
            *self.scope_stack.last().unwrap_or(&0),
            segments,
            leading_colon,
            skip_import,
            depth,
        )
    }

    fn push_reference(&mut self, site: Site, resolution: Resolution, kind: ReferenceKind) {
        let scope = self.scope().path.clone();
        let in_test = self.in_test();
        self.facts.references.push(Reference {
            site,
            scope,
            target: resolution.target,
            kind,
            via_import: resolution.via_import,
            in_test,
            glob_base_len: None,
        });
    }

    /// Resolves a path, or, when nothing in scope names its first segment, offers one tentative
    /// resolution through each glob import in scope.
    fn resolve_with_globs(
        &self,
        segments: &[String],
        leading_colon: bool,
        skip_import: Option<usize>,
    ) -> Vec<(Resolution, Option<usize>)> {
        if let Some(resolution) = self.resolve(segments, leading_colon, skip_import, 0) {
            return vec![(resolution, None)];
        }
        let keyword = segments
            .first()
            .is_some_and(|first| matches!(first.as_str(), "crate" | "self" | "super" | "Self" | "$crate"));
        if leading_colon || keyword || segments.len() < 2 {
            return Vec::new();
        }
        let mut candidates = Vec::new();
        let mut lookup = self.scope_stack.last().copied();
        while let Some(index) = lookup {
            let scope = &self.scopes.scopes[index];
            for glob in &scope.globs {
                if let Some(base) = self.resolve(&glob.segments, glob.leading_colon, None, 0) {
                    let base_len = base.target.segments.len();
                    let mut via = base.target.clone();
                    via.segments.push("*".to_owned());
                    let target =
                        Target { unit: base.target.unit, segments: [base.target.segments, segments.to_vec()].concat() };
                    candidates.push((Resolution { target, via_import: Some(via) }, Some(base_len)));
                }
            }
            lookup = scope.parent_block_scope;
        }
        candidates
    }

    fn push_resolutions(&mut self, site: Site, resolutions: Vec<(Resolution, Option<usize>)>, kind: ReferenceKind) {
        for (resolution, glob_base_len) in resolutions {
            self.push_reference(site.clone(), resolution, kind);
            if let Some(reference) = self.facts.references.last_mut() {
                reference.glob_base_len = glob_base_len;
            }
        }
    }

    fn enter_test_if(&mut self, attributes: &[syn::Attribute]) -> bool {
        let test = is_test_only(attributes);
        if test {
            self.test_depth += 1;
        }
        test
    }

    /// Scans a macro's tokens for `a::b::c` paths and string literals.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut index = 0;
        while index < trees.len() {
            match &trees[index] {
                TokenTree::Group(group) => {
                    self.scan_tokens(group.stream());
                    index += 1;
                }
                TokenTree::Literal(literal) => {
                    if let syn::Lit::Str(string) = syn::Lit::new(literal.clone()) {
                        self.record_string(&string);
                    }
                    index += 1;
                }
                _ => {
                    let previous_is_dot =
                        index > 0 && matches!(&trees[index - 1], TokenTree::Punct(p) if p.as_char() == '.');
                    match (!previous_is_dot).then(|| token_path_at(&trees, index)).flatten() {
                        Some(token_path) => {
                            let consumed = token_path.consumed;
                            if token_path.segments.len() >= 2 {
                                let resolutions =
                                    self.resolve_with_globs(&token_path.segments, token_path.leading_colon, None);
                                let site = Site::of_span(token_path.first, token_path.last);
                                self.push_resolutions(site, resolutions, ReferenceKind::MacroTokens);
                            }
                            index += consumed.max(1);
                        }
                        None => index += 1,
                    }
                }
            }
        }
    }

    fn record_string(&mut self, literal: &syn::LitStr) {
        let value = literal.value();
        let macro_name = self.macro_stack.last().cloned();
        // Only SQL candidates are kept: most literals are messages, and mapping them is wasted.
        if !crate::sql::looks_like_sql(&value) && !macro_name.as_deref().is_some_and(is_query_file_macro) {
            return;
        }
        let token = literal.token();
        let span = token.span();
        let source_text = token.to_string();
        let start = span.byte_range().start;
        let source_offsets = map_string_value_to_source(&source_text, &value, start);
        let scope = self.scope().path.clone();
        let in_test = self.in_test();
        self.facts.strings.push(StringLiteral { value, scope, in_test, source_offsets, macro_name });
    }

    fn record_orm_table(&mut self, name: String, site: Site, orm: &str) {
        let scope = self.scope().path.clone();
        let in_test = self.in_test();
        self.facts.orm_tables.push(OrmTable { name, site, scope, in_test, orm: orm.to_owned() });
    }

    /// Recognises diesel's `table! { [schema.]name (keys) { … } }`, possibly several per call.
    fn record_diesel_tables(&mut self, tokens: &TokenStream) {
        let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
        let mut index = 0;
        while index < trees.len() {
            // Skip attributes such as `#[sql_name = "…"]` and `use` lines inside the macro.
            match &trees[index] {
                TokenTree::Punct(punct) if punct.as_char() == '#' => {
                    index += 2;
                    continue;
                }
                TokenTree::Ident(ident) if ident == "use" => {
                    while index < trees.len() && !matches!(&trees[index], TokenTree::Punct(p) if p.as_char() == ';') {
                        index += 1;
                    }
                    index += 1;
                    continue;
                }
                TokenTree::Ident(first) => {
                    let mut name = first.to_string();
                    let mut last_span = first.span();
                    let mut next = index + 1;
                    if let (Some(TokenTree::Punct(dot)), Some(TokenTree::Ident(table))) =
                        (trees.get(next), trees.get(next + 1))
                        && dot.as_char() == '.'
                    {
                        name = format!("{name}.{table}");
                        last_span = table.span();
                        next += 2;
                    }
                    // A declaration is `name (primary keys) { columns }`, or `name { columns }`.
                    let is_declaration = matches!(trees.get(next), Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis || group.delimiter() == Delimiter::Brace);
                    if is_declaration {
                        let site = Site::of_span(first.span(), last_span);
                        self.record_orm_table(name.to_lowercase(), site, "diesel");
                        while index < trees.len()
                            && !matches!(&trees[index], TokenTree::Group(group) if group.delimiter() == Delimiter::Brace)
                        {
                            index += 1;
                        }
                    }
                    index += 1;
                }
                _ => index += 1,
            }
        }
    }

    fn record_sea_orm_table(&mut self, attributes: &[syn::Attribute]) {
        for attribute in attributes {
            if !attribute.path().is_ident("sea_orm") {
                continue;
            }
            let _ = attribute.parse_nested_meta(|meta| {
                if meta.path.is_ident("table_name") {
                    let value: syn::LitStr = meta.value()?.parse()?;
                    // The site is the name itself, inside the quotes, as for names in SQL.
                    let token = value.token();
                    let offsets =
                        map_string_value_to_source(&token.to_string(), &value.value(), token.span().byte_range().start);
                    let start = value.span().start();
                    let shift =
                        offsets.first().copied().unwrap_or_default().saturating_sub(token.span().byte_range().start);
                    let end = offsets.last().copied().unwrap_or_default();
                    let site = Site {
                        line: start.line,
                        column: start.column + 1 + shift,
                        bytes: offsets.first().copied().unwrap_or_default()..end,
                    };
                    self.record_orm_table(value.value().to_lowercase(), site, "sea-orm");
                } else if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                Ok(())
            });
        }
    }
}

/// Resolves `segments` as written in `scope_index`, following the file's imports, including
/// imports reached through a path (`self::alias::x`, `crate::inline::alias::x`).
fn resolve_in_scope(
    context: &FileContext<'_>,
    scopes: &Scopes,
    scope_index: usize,
    segments: &[String],
    leading_colon: bool,
    skip_import: Option<usize>,
    depth: usize,
) -> Option<Resolution> {
    let resolution = resolve_first_segment(context, scopes, scope_index, segments, leading_colon, skip_import, depth)?;
    Some(expand_through_file_scopes(context, scopes, resolution, depth))
}

/// When an absolute path in this crate passes through a module scope of this file and its next
/// segment is a name that scope imports, follows that import.
fn expand_through_file_scopes(
    context: &FileContext<'_>,
    scopes: &Scopes,
    resolution: Resolution,
    depth: usize,
) -> Resolution {
    let target = &resolution.target;
    if target.unit != context.unit || depth > 16 {
        return resolution;
    }
    if let Some((first, rest)) = target.segments.split_first()
        && let Some(Some(alias_unit)) = context.root_extern_aliases.get(first)
        && !context.module_path.is_empty()
    {
        let crate_root = Target { unit: *alias_unit, segments: Vec::new() };
        return Resolution {
            target: Target { unit: *alias_unit, segments: rest.to_vec() },
            via_import: Some(crate_root),
        };
    }
    let passes_through =
        |scope: &Scope| target.segments.len() > scope.path.len() && target.segments.starts_with(&scope.path);
    let Some(deepest) = scopes
        .module_scopes
        .iter()
        .map(|index| &scopes.scopes[*index])
        .filter(|scope| passes_through(scope))
        .map(|scope| scope.path.len())
        .max()
    else {
        return resolution;
    };
    // Inline modules with the same path (cfg variants) are all that module: the first one that
    // imports the next segment is followed.
    let next = &target.segments[deepest];
    let importing = scopes.module_scopes.iter().copied().find(|index| {
        let scope = &scopes.scopes[*index];
        scope.path.len() == deepest
            && passes_through(scope)
            && !scope.child_modules.contains(next)
            && scope.imports.contains_key(next)
    });
    let Some(index) = importing else { return resolution };
    let tail = target.segments[deepest..].to_vec();
    match resolve_first_segment(context, scopes, index, &tail, false, None, depth + 1) {
        Some(expanded) if expanded.via_import.is_some() => {
            let expanded = expand_through_file_scopes(context, scopes, expanded, depth + 1);
            Resolution { target: expanded.target, via_import: expanded.via_import.or(resolution.via_import) }
        }
        _ => resolution,
    }
}

/// Resolves a path by its first segment: a keyword, an import, a child module or a crate.
fn resolve_first_segment(
    context: &FileContext<'_>,
    scopes: &Scopes,
    scope_index: usize,
    segments: &[String],
    leading_colon: bool,
    skip_import: Option<usize>,
    depth: usize,
) -> Option<Resolution> {
    // Import chains longer than this are cycles (`use a as b; use b as a;`) or pathological.
    const MAX_IMPORT_DEPTH: usize = 16;
    if depth > MAX_IMPORT_DEPTH {
        return None;
    }
    let (first, rest) = segments.split_first()?;
    let scope = &scopes.scopes[scope_index];
    let absolute = |unit: UnitId, base: Vec<String>| Resolution {
        target: Target { unit, segments: [base, rest.to_vec()].concat() },
        via_import: None,
    };
    if leading_colon {
        let unit = (*context.extern_prelude.get(first.as_str())?)?;
        return Some(absolute(unit, Vec::new()));
    }
    match first.as_str() {
        "crate" | "$crate" => return Some(absolute(context.unit, Vec::new())),
        "self" => return Some(absolute(context.unit, scope.path.clone())),
        "super" => {
            let mut base = scope.path.clone();
            base.pop()?;
            let mut remaining = rest;
            while let Some(("super", tail)) = remaining.split_first().map(|(head, tail)| (head.as_str(), tail)) {
                base.pop()?;
                remaining = tail;
            }
            return Some(Resolution {
                target: Target { unit: context.unit, segments: [base, remaining.to_vec()].concat() },
                via_import: None,
            });
        }
        "Self" => return None,
        _ => {}
    }
    // Names are looked up in the innermost block first, then outwards to the module's scope.
    let mut lookup = Some(scope_index);
    while let Some(index) = lookup {
        let candidate_scope = &scopes.scopes[index];
        if let Some(found) = resolve_import(context, scopes, index, candidate_scope, first, rest, skip_import, depth) {
            return Some(found);
        }
        if candidate_scope.child_modules.iter().any(|child| child == first) {
            return Some(absolute(context.unit, [candidate_scope.path.clone(), vec![first.clone()]].concat()));
        }
        lookup = candidate_scope.parent_block_scope;
    }
    let unit = (*context.extern_prelude.get(first.as_str())?)?;
    Some(absolute(unit, Vec::new()))
}

/// Resolves `first::rest` through the imports of one scope named `first`.
#[allow(clippy::too_many_arguments)] // The resolver's state is passed explicitly to keep it pure.
fn resolve_import(
    context: &FileContext<'_>,
    scopes: &Scopes,
    scope_index: usize,
    scope: &Scope,
    first: &str,
    rest: &[String],
    skip_import: Option<usize>,
    depth: usize,
) -> Option<Resolution> {
    if let Some(imports) = scope.imports.get(first) {
        for import in imports {
            if Some(import.id) == skip_import {
                continue;
            }
            if let Some(resolved) = resolve_first_segment(
                context,
                scopes,
                scope_index,
                &import.segments,
                import.leading_colon,
                Some(import.id),
                depth + 1,
            ) {
                let via = resolved.target.clone();
                return Some(Resolution {
                    target: Target { unit: via.unit, segments: [via.segments.clone(), rest.to_vec()].concat() },
                    via_import: Some(via),
                });
            }
        }
    }
    None
}

impl<'ast> Visit<'ast> for Extractor<'_, '_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attributes = item_attributes(item);
        if is_test_only(attributes) && !self.context.include_tests {
            return;
        }
        let entered = self.enter_test_if(attributes);
        syn::visit::visit_item(self, item);
        if entered {
            self.test_depth -= 1;
        }
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attributes = impl_item_attributes(item);
        if is_test_only(attributes) && !self.context.include_tests {
            return;
        }
        let entered = self.enter_test_if(attributes);
        syn::visit::visit_impl_item(self, item);
        if entered {
            self.test_depth -= 1;
        }
    }

    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        for attribute in &module.attrs {
            self.visit_attribute(attribute);
        }
        let name = module.ident.unraw().to_string();
        let scope = self.scope();
        let child_path = [scope.path.clone(), vec![name.clone()]].concat();
        match &module.content {
            Some((_, items)) => {
                let opened = self.scopes.opened_at.get(&module.ident.span().byte_range().start).copied();
                if let Some(index) = opened {
                    self.scope_stack.push(index);
                }
                for item in items {
                    self.visit_item(item);
                }
                if opened.is_some() {
                    self.scope_stack.pop();
                }
            }
            None => {
                let path_attribute = module.attrs.iter().find_map(path_attribute);
                let inside_inline_module = self.scope_stack.len() > 1;
                let scope_dir = scope.children_dir.clone();
                let (candidates, children_dirs) = match path_attribute {
                    Some(relative) => {
                        // A `#[path]` on a module declared directly in a file is relative to the
                        // file's directory; inside inline modules it is relative to the inline
                        // modules' directory. Either way the loaded file owns its directory, like
                        // a `mod.rs` file does.
                        let base = if inside_inline_module {
                            scope_dir
                        } else {
                            self.context.file.parent().map(Path::to_owned).unwrap_or_default()
                        };
                        let file = base.join(relative);
                        let dir = file.parent().map(Path::to_owned).unwrap_or_default();
                        (vec![file], vec![dir])
                    }
                    None => {
                        let flat = scope_dir.join(format!("{name}.rs"));
                        let nested = scope_dir.join(&name).join("mod.rs");
                        (vec![flat, nested], vec![scope_dir.join(&name), scope_dir.join(&name)])
                    }
                };
                let site = Site::of_span(module.ident.span(), module.ident.span());
                let in_test = self.in_test();
                self.facts.children.push(ChildFile {
                    module_path: child_path,
                    candidates,
                    children_dirs,
                    in_test,
                    site,
                });
            }
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let reexport = !matches!(item.vis, syn::Visibility::Inherited);
        let mut leaves = Vec::new();
        flatten_use_tree(&item.tree, &mut Vec::new(), None, &mut leaves);
        let leading_colon = item.leading_colon.is_some();
        for leaf in leaves {
            let (Some(first), Some(last)) = (leaf.first, leaf.last) else { continue };
            // A leading `::` is the first token of the leaf only when the tree has no group.
            let first = match item.leading_colon {
                Some(colon) if leaf_is_whole_tree(&item.tree) => colon.spans[0],
                _ => first,
            };
            // Imports are resolved without looking at themselves, so `use log::log;` names the crate.
            let own_id = self.scope().imports.get(leaf.binding.as_deref().unwrap_or("")).and_then(|imports| {
                imports.iter().find(|import| import.segments == leaf.segments).map(|import| import.id)
            });
            let resolutions = self.resolve_with_globs(&leaf.segments, leading_colon, own_id);
            self.push_resolutions(Site::of_span(first, last), resolutions, ReferenceKind::Use { reexport });
        }
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        match self.scopes.opened_at.get(&block.brace_token.span.open().byte_range().start).copied() {
            Some(index) => {
                self.scope_stack.push(index);
                syn::visit::visit_block(self, block);
                self.scope_stack.pop();
            }
            None => syn::visit::visit_block(self, block),
        }
    }

    fn visit_visibility(&mut self, _visibility: &'ast syn::Visibility) {
        // `pub(in crate::a)` names a module to restrict visibility; it is not a use of it.
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|segment| segment.ident.unraw().to_string()).collect();
        if segments.len() >= 2 || (segments.len() == 1 && path.leading_colon.is_some()) {
            let resolutions = self.resolve_with_globs(&segments, path.leading_colon.is_some(), None);
            if !resolutions.is_empty() {
                let first = match path.leading_colon {
                    Some(colon) => colon.spans[0],
                    None => path.segments[0].ident.span(),
                };
                let last = path.segments.last().map(|segment| segment.ident.span()).unwrap_or(first);
                self.push_resolutions(Site::of_span(first, last), resolutions, ReferenceKind::Path);
            }
        }
        // Generic arguments hold paths of their own.
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        let name =
            mac.path.segments.iter().map(|segment| segment.ident.unraw().to_string()).collect::<Vec<_>>().join("::");
        if mac.path.segments.last().is_some_and(|segment| segment.ident == "table") {
            self.record_diesel_tables(&mac.tokens);
        }
        self.macro_stack.push(name);
        self.scan_tokens(mac.tokens.clone());
        self.macro_stack.pop();
    }

    fn visit_attribute(&mut self, attribute: &'ast syn::Attribute) {
        // Paths inside attributes (`#[derive(crate::x::Y)]`) count; a doc comment is only text.
        if attribute.path().is_ident("doc") {
            return;
        }
        syn::visit::visit_attribute(self, attribute);
    }

    fn visit_meta_list(&mut self, list: &'ast syn::MetaList) {
        self.visit_path(&list.path);
        self.scan_tokens(list.tokens.clone());
    }

    fn visit_item_struct(&mut self, item: &'ast syn::ItemStruct) {
        self.record_sea_orm_table(&item.attrs);
        syn::visit::visit_item_struct(self, item);
    }

    fn visit_lit_str(&mut self, literal: &'ast syn::LitStr) {
        self.record_string(literal);
    }
}

/// `sqlx::query_file!`, `query_file_as!`, `query_file_scalar!` and their unchecked forms.
fn is_query_file_macro(name: &str) -> bool {
    name.rsplit("::").next().is_some_and(|last| last.starts_with("query_file"))
}

/// Macros whose string argument is a format string.
fn is_formatting_macro(name: &str) -> bool {
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
fn blank_format_placeholders(text: &str) -> String {
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
fn extract_sql(facts: &mut FileFacts, text: &str) {
    let literals = std::mem::take(&mut facts.strings);
    if literals.is_empty() {
        return;
    }
    let index = crate::source::LineIndex::new(text);
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

/// Whether a `use` tree has no group, so that its only leaf starts at the tree's start.
fn leaf_is_whole_tree(tree: &syn::UseTree) -> bool {
    match tree {
        syn::UseTree::Path(path) => leaf_is_whole_tree(&path.tree),
        syn::UseTree::Group(_) => false,
        _ => true,
    }
}

/// A `a::b::c` sequence in a token stream.
struct TokenPath {
    segments: Vec<String>,
    leading_colon: bool,
    first: Span,
    last: Span,
    consumed: usize,
}

fn is_path_separator(trees: &[TokenTree], index: usize) -> bool {
    matches!(
        (trees.get(index), trees.get(index + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && b.as_char() == ':' && a.spacing() == proc_macro2::Spacing::Joint
    )
}

fn token_path_at(trees: &[TokenTree], start: usize) -> Option<TokenPath> {
    let mut index = start;
    let mut leading_colon = false;
    let mut segments = Vec::new();
    let first;
    if is_path_separator(trees, index) {
        leading_colon = true;
        first = trees[index].span();
        index += 2;
    } else if let Some(TokenTree::Punct(dollar)) = trees.get(index)
        && dollar.as_char() == '$'
        && matches!(trees.get(index + 1), Some(TokenTree::Ident(ident)) if ident == "crate")
    {
        first = dollar.span();
        segments.push("$crate".to_owned());
        index += 2;
        if !is_path_separator(trees, index) {
            return None;
        }
        index += 2;
    } else if let Some(TokenTree::Ident(ident)) = trees.get(index) {
        first = ident.span();
    } else {
        return None;
    }
    let mut last = first;
    while let Some(TokenTree::Ident(ident)) = trees.get(index) {
        segments.push(ident.unraw().to_string());
        last = ident.span();
        index += 1;
        if is_path_separator(trees, index) && matches!(trees.get(index + 2), Some(TokenTree::Ident(_))) {
            index += 2;
        } else {
            break;
        }
    }
    if segments.is_empty() {
        return None;
    }
    Some(TokenPath { segments, leading_colon, first, last, consumed: index - start })
}

/// Maps each byte of a string literal's value to its byte offset in the file.
///
/// Raw strings map one to one. Escapes in ordinary strings (`\n`, `\"`, `\u{…}`, a backslash
/// before a newline) are walked so that text after them still maps to its exact place.
fn map_string_value_to_source(source_text: &str, value: &str, literal_start: usize) -> Vec<usize> {
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

/// The attributes of an item of an `impl` block.
fn impl_item_attributes(item: &syn::ImplItem) -> &[syn::Attribute] {
    match item {
        syn::ImplItem::Const(item) => &item.attrs,
        syn::ImplItem::Fn(item) => &item.attrs,
        syn::ImplItem::Type(item) => &item.attrs,
        syn::ImplItem::Macro(item) => &item.attrs,
        _ => &[],
    }
}

/// The attributes of any item.
fn item_attributes(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(item) => &item.attrs,
        syn::Item::Enum(item) => &item.attrs,
        syn::Item::ExternCrate(item) => &item.attrs,
        syn::Item::Fn(item) => &item.attrs,
        syn::Item::ForeignMod(item) => &item.attrs,
        syn::Item::Impl(item) => &item.attrs,
        syn::Item::Macro(item) => &item.attrs,
        syn::Item::Mod(item) => &item.attrs,
        syn::Item::Static(item) => &item.attrs,
        syn::Item::Struct(item) => &item.attrs,
        syn::Item::Trait(item) => &item.attrs,
        syn::Item::TraitAlias(item) => &item.attrs,
        syn::Item::Type(item) => &item.attrs,
        syn::Item::Union(item) => &item.attrs,
        syn::Item::Use(item) => &item.attrs,
        _ => &[],
    }
}

/// Whether attributes make an item test-only: a `#[cfg(…)]` that is false whenever `test` is
/// off, or a test function attribute (`#[test]`, `#[tokio::test]`, …).
pub fn is_test_only(attributes: &[syn::Attribute]) -> bool {
    attributes.iter().any(|attribute| {
        let path = attribute.path();
        if path.segments.last().is_some_and(|segment| segment.ident == "test") {
            return true;
        }
        if !path.is_ident("cfg") {
            return false;
        }
        match &attribute.meta {
            syn::Meta::List(list) => {
                let trees: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
                evaluate_cfg_without_test(&trees) == CfgValue::False
            }
            _ => false,
        }
    })
}

/// What a `cfg` predicate is worth in a build without `test`, other options being unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CfgValue {
    True,
    False,
    Unknown,
}

/// Evaluates a `cfg(…)` predicate as if `test` were off and every other option unknown. The
/// item is test-only exactly when the predicate is then certainly false: `test`,
/// `all(test, unix)`; but not `any(test, feature = "x")`, which also builds outside tests.
fn evaluate_cfg_without_test(trees: &[TokenTree]) -> CfgValue {
    let Some(first) = trees.first() else { return CfgValue::Unknown };
    let TokenTree::Ident(ident) = first else { return CfgValue::Unknown };
    let arguments = match trees.get(1) {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => Some(group.stream()),
        _ => None,
    };
    let operands = |stream: TokenStream| -> Vec<CfgValue> {
        let trees: Vec<TokenTree> = stream.into_iter().collect();
        trees
            .split(|tree| matches!(tree, TokenTree::Punct(punct) if punct.as_char() == ','))
            .filter(|part| !part.is_empty())
            .map(evaluate_cfg_without_test)
            .collect()
    };
    match (ident.to_string().as_str(), arguments) {
        ("test", None) if trees.len() == 1 => CfgValue::False,
        ("not", Some(stream)) => match operands(stream).as_slice() {
            [CfgValue::True] => CfgValue::False,
            [CfgValue::False] => CfgValue::True,
            _ => CfgValue::Unknown,
        },
        ("all", Some(stream)) => {
            let values = operands(stream);
            if values.contains(&CfgValue::False) {
                CfgValue::False
            } else if values.iter().all(|value| *value == CfgValue::True) {
                CfgValue::True
            } else {
                CfgValue::Unknown
            }
        }
        ("any", Some(stream)) => {
            let values = operands(stream);
            if values.contains(&CfgValue::True) {
                CfgValue::True
            } else if values.iter().all(|value| *value == CfgValue::False) {
                CfgValue::False
            } else {
                CfgValue::Unknown
            }
        }
        _ => CfgValue::Unknown,
    }
}

/// The value of a `#[path = "…"]` attribute.
fn path_attribute(attribute: &syn::Attribute) -> Option<String> {
    if !attribute.path().is_ident("path") {
        return None;
    }
    match &attribute.meta {
        syn::Meta::NameValue(syn::MetaNameValue {
            value: syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(value), .. }),
            ..
        }) => Some(value.value()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(text: &str) -> FileFacts {
        let prelude: BTreeMap<String, Option<UnitId>> =
            [("other".to_owned(), Some(1)), ("std".to_owned(), None)].into_iter().collect();
        let context = FileContext {
            unit: 0,
            file: Path::new("/w/src/lib.rs"),
            module_path: &[],
            children_dir: Path::new("/w/src"),
            in_test: false,
            include_tests: false,
            extern_prelude: &prelude,
            test_extern_prelude: &prelude,
            root_extern_aliases: &BTreeMap::new(),
        };
        analyse_source(&context, text)
    }

    fn targets(facts: &FileFacts) -> Vec<String> {
        facts
            .references
            .iter()
            .map(|reference| {
                format!(
                    "{}:{} {}:{}",
                    reference.site.line,
                    reference.site.column,
                    reference.target.unit,
                    reference.target.segments.join("::")
                )
            })
            .collect()
    }

    #[test]
    fn use_groups_resolve_each_leaf_at_its_own_place() {
        let facts = analyse("use crate::b::{\n    internal::X,\n    self as bee,\n};\nfn f() { bee::c::d(); }\n");
        assert_eq!(targets(&facts), ["2:5 0:b::internal::X", "3:5 0:b", "5:10 0:b::c::d"]);
        assert_eq!(facts.references[2].via_import.as_ref().unwrap().segments, ["b"]);
    }

    #[test]
    fn super_self_and_extern_crates_resolve() {
        let text = "mod a { fn f() { super::b::g(); self::h(); other::x::Y::new(); std::mem::drop(1); } }";
        assert_eq!(targets(&analyse(text)), ["1:18 0:b::g", "1:33 0:a::h", "1:44 1:x::Y::new"]);
    }

    #[test]
    fn macro_tokens_are_scanned_but_strings_are_not_paths() {
        let facts = analyse("fn f() { println!(\"{} crate::no::path\", crate::x::y::z()); }");
        assert_eq!(targets(&facts), ["1:41 0:x::y::z"]);
    }

    #[test]
    fn test_code_is_skipped_unless_included() {
        let facts = analyse(
            "#[cfg(test)] mod tests { fn f() { crate::x::y(); } }\n#[cfg(not(test))] fn g() { crate::p::q(); }",
        );
        assert_eq!(targets(&facts), ["2:28 0:p::q"]);
    }

    #[test]
    fn sql_in_literals_maps_to_exact_places_through_escapes() {
        let text =
            "const Q: &str = \"SELECT \\\"id\\\"\\n  FROM orders\";\nconst R: &str = r#\"\n DELETE FROM \"Ledger\"\"#;";
        let facts = analyse(text);
        let found: Vec<(&str, &str, usize)> = facts
            .tables
            .iter()
            .map(|table| (table.name.as_str(), &text[table.site.bytes.clone()], table.site.line))
            .collect();
        assert_eq!(found, [("orders", "orders", 1), ("ledger", "\"Ledger\"", 3)]);
    }

    #[test]
    fn format_placeholders_keep_offsets_and_sentences_stay_silent() {
        let text = "fn f(t: &str) { let _ = format!(\"SELECT id FROM {t} JOIN orders ON {t}.id = orders.id\"); let _ = format!(\" with {t}\"); }";
        let facts = analyse(text);
        let found: Vec<&str> = facts.tables.iter().map(|table| &text[table.site.bytes.clone()]).collect();
        assert_eq!(found, ["orders"]);
        assert!(facts.sql_problems.is_empty(), "{:?}", facts.sql_problems);
        assert_eq!(blank_format_placeholders("a {x} {{y}} {}"), "a ___ {{y}} __");
    }

    #[test]
    fn diesel_and_sea_orm_tables_are_recorded() {
        let facts = analyse(
            "diesel::table! { users (id) { id -> Integer, } }\n#[sea_orm(table_name = \"Orders\")] struct Model;",
        );
        let names: Vec<&str> = facts.orm_tables.iter().map(|table| table.name.as_str()).collect();
        assert_eq!(names, ["users", "orders"]);
    }

    #[test]
    fn unparsable_text_reports_a_position() {
        let facts = analyse("fn f( {");
        assert!(facts.parse_error.is_some());
        assert!(facts.references.is_empty());
    }
}
