//! The second pass over a file: every path in code, attributes and macro tokens, resolved; module
//! declarations; string literals that may hold SQL; and ORM table declarations.

use std::path::Path;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::visit::Visit;

use crate::diagnostic::Site;
use crate::workspace::PreludeCrate;

use super::cfg::{impl_item_attributes, is_test_only, item_attributes, path_attribute};
use super::facts::{
    ChildFile, ExternalReference, FileContext, FileFacts, OrmTable, Reference, ReferenceKind, StringLiteral, Target,
};
use super::resolve::{ExternalPath, Resolution, Resolved, resolve_in_scope};
use super::scopes::{Scope, Scopes, flatten_use_tree};
use super::sql_literals::{is_query_file_macro, map_string_value_to_source};

/// The site from the first token of a path to its last.
pub(super) fn site_of_span(first: Span, last: Span) -> Site {
    let start = first.start();
    let start_byte = first.byte_range().start;
    let end_byte = last.byte_range().end.max(start_byte);
    Site { line: start.line, column: start.column + 1, bytes: start_byte..end_byte }
}

/// Second pass: every path, resolved.
pub(super) struct Extractor<'a, 'f> {
    pub(super) context: &'a FileContext<'a>,
    /// `context` with the test code's extern prelude, for resolving paths in test code.
    pub(super) test_context: &'a FileContext<'a>,
    pub(super) scopes: &'a Scopes,
    pub(super) scope_stack: Vec<usize>,
    /// How many enclosing items are test-only (0 outside test code).
    pub(super) test_depth: usize,
    pub(super) facts: &'f mut FileFacts,
    /// Paths of the macro invocations we are inside, innermost last.
    pub(super) macro_stack: Vec<String>,
    /// The byte ranges of test items that were skipped, collected only when the file has allow
    /// comments (which are dropped inside them).
    pub(super) skipped_test_items: Option<Vec<std::ops::Range<usize>>>,
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
    fn resolve(&self, segments: &[String], leading_colon: bool, skip_import: Option<usize>) -> Option<Resolved> {
        resolve_in_scope(
            self.resolution_context(),
            self.scopes,
            *self.scope_stack.last().unwrap_or(&0),
            segments,
            leading_colon,
            skip_import,
            0,
        )
    }

    /// Records a path written at `site`: a reference into a workspace crate (or, when nothing in
    /// scope names its first segment, one tentative reference through each glob import in scope),
    /// or a reference into a crate from outside the workspace. The site is computed only for a
    /// path that names something.
    fn record_path(
        &mut self,
        segments: &[String],
        leading_colon: bool,
        skip_import: Option<usize>,
        kind: ReferenceKind,
        site: impl FnOnce() -> Site,
    ) {
        match self.resolve(segments, leading_colon, skip_import) {
            Some(Resolved::Workspace(resolution)) => self.push_reference(site(), resolution, kind, None),
            Some(Resolved::External(external)) => self.push_external(site(), external, kind),
            None => {
                let candidates = self.glob_candidates(segments, leading_colon);
                if !candidates.is_empty() {
                    let site = site();
                    for (resolution, glob_base_len) in candidates {
                        self.push_reference(site.clone(), resolution, kind, glob_base_len);
                    }
                }
            }
        }
    }

    fn push_reference(
        &mut self,
        site: Site,
        resolution: Resolution,
        kind: ReferenceKind,
        glob_base_len: Option<usize>,
    ) {
        let scope = self.scope().path.clone();
        let in_test = self.in_test();
        self.facts.references.push(Reference {
            site,
            scope,
            target: resolution.target,
            kind,
            via_import: resolution.via_import,
            in_test,
            glob_base_len,
        });
    }

    fn push_external(&mut self, site: Site, external: ExternalPath, kind: ReferenceKind) {
        let scope = self.scope().path.clone();
        // An import in a scope of the same module path is in the same module, where it was
        // reported; one in another module's scope (`super::alias::x`) is not.
        let via_import = external.import_scope.as_ref() == Some(&scope);
        self.facts.external_references.push(ExternalReference {
            site,
            scope,
            package: external.package,
            segments: external.segments,
            kind,
            via_import,
        });
    }

    /// The tentative resolutions of a path that nothing in scope names, one through each glob
    /// import of a workspace path in scope; the model keeps those that name a module that exists.
    /// A glob of an outside crate is a reference of its own, at the `use`.
    fn glob_candidates(&self, segments: &[String], leading_colon: bool) -> Vec<(Resolution, Option<usize>)> {
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
                if let Some(Resolved::Workspace(base)) = self.resolve(&glob.segments, glob.leading_colon, None) {
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

    /// Records the bytes of a test item that is not checked, when they are wanted.
    fn skip_test_item(&mut self, item: &impl syn::spanned::Spanned) {
        if let Some(skipped) = &mut self.skipped_test_items {
            skipped.push(item.span().byte_range());
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
                                let (first, last) = (token_path.first, token_path.last);
                                self.record_path(
                                    &token_path.segments,
                                    token_path.leading_colon,
                                    None,
                                    ReferenceKind::MacroTokens,
                                    || site_of_span(first, last),
                                );
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
                        let site = site_of_span(first.span(), last_span);
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

impl<'ast> Visit<'ast> for Extractor<'_, '_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attributes = item_attributes(item);
        if is_test_only(attributes) && !self.context.include_tests {
            self.skip_test_item(item);
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
            self.skip_test_item(item);
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
                let site = site_of_span(module.ident.span(), module.ident.span());
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
            self.record_path(&leaf.segments, leading_colon, own_id, ReferenceKind::Use { reexport }, || {
                site_of_span(first, last)
            });
        }
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        // `extern crate` of an outside crate names it (the module rules see the paths through it).
        let name = item.ident.unraw().to_string();
        if let Some(PreludeCrate::External(package)) = self.resolution_context().extern_prelude.get(&name) {
            let external = ExternalPath { package: package.clone(), segments: Vec::new(), import_scope: None };
            let reexport = !matches!(item.vis, syn::Visibility::Inherited);
            let site = site_of_span(item.ident.span(), item.ident.span());
            self.push_external(site, external, ReferenceKind::Use { reexport });
        }
        for attribute in &item.attrs {
            self.visit_attribute(attribute);
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
            self.record_path(&segments, path.leading_colon.is_some(), None, ReferenceKind::Path, || {
                let first = match path.leading_colon {
                    Some(colon) => colon.spans[0],
                    None => path.segments[0].ident.span(),
                };
                let last = path.segments.last().map(|segment| segment.ident.span()).unwrap_or(first);
                site_of_span(first, last)
            });
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

/// Whether a `use` tree has no group, so that its only leaf starts at the tree's start.
pub(super) fn leaf_is_whole_tree(tree: &syn::UseTree) -> bool {
    match tree {
        syn::UseTree::Path(path) => leaf_is_whole_tree(&path.tree),
        syn::UseTree::Group(_) => false,
        _ => true,
    }
}

/// A `a::b::c` sequence in a token stream.
pub(super) struct TokenPath {
    segments: Vec<String>,
    leading_colon: bool,
    first: Span,
    last: Span,
    consumed: usize,
}

pub(super) fn is_path_separator(trees: &[TokenTree], index: usize) -> bool {
    matches!(
        (trees.get(index), trees.get(index + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && b.as_char() == ':' && a.spacing() == proc_macro2::Spacing::Joint
    )
}

pub(super) fn token_path_at(trees: &[TokenTree], start: usize) -> Option<TokenPath> {
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
