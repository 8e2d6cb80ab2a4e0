//! The first pass over a file: its module scopes (the file's own, inline `mod x { … }` blocks
//! and block bodies) with the names each one imports, so that the second pass can resolve a path
//! wherever its `use` stands.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::visit::Visit;

use super::cfg::{impl_item_attributes, is_test_only, item_attributes};
use super::facts::FileContext;

/// A module scope inside the file: the file's own module, or an inline `mod x { … }`.
#[derive(Debug, Default)]
pub(super) struct Scope {
    pub(super) path: Vec<String>,
    /// For the scope of a block (a function body): the enclosing scope, whose names it sees.
    pub(super) parent_block_scope: Option<usize>,
    /// Directory for the `mod x;` declarations written in this scope.
    pub(super) children_dir: PathBuf,
    /// Names bound by `use` (and `extern crate … as …`) in this scope.
    pub(super) imports: BTreeMap<String, Vec<Import>>,
    /// Bases of glob imports (`use super::*` gives the parent's path).
    pub(super) globs: Vec<Import>,
    pub(super) child_modules: Vec<String>,
    /// Types and traits declared in this scope that have the name of a crate of the extern
    /// prelude, which they shadow (other names need no record: nothing else could name them).
    pub(super) type_items: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Import {
    pub(super) segments: Vec<String>,
    pub(super) leading_colon: bool,
    /// Index of this import in its scope's list of all imports, to avoid resolving through itself.
    pub(super) id: usize,
}

pub(super) struct Scopes {
    pub(super) scopes: Vec<Scope>,
    /// The scope that each block and inline module opens, by the byte offset of the token that
    /// opens it (a block's `{`, a module's name). The second pass finds each scope by where it
    /// stands, so that the passes cannot drift apart when one of them skips some code.
    pub(super) opened_at: HashMap<usize, usize>,
    /// The scopes that are modules (the file's own and inline `mod x { … }`), not blocks.
    pub(super) module_scopes: Vec<usize>,
}

/// First pass: the module scopes of the file, with their imports and child modules, so that
/// the second pass can resolve a path no matter where in the module its `use` stands.
pub(super) struct ScopeCollector<'a> {
    pub(super) context: &'a FileContext<'a>,
    pub(super) scopes: Vec<Scope>,
    pub(super) stack: Vec<usize>,
    pub(super) next_import_id: usize,
    pub(super) extern_crate_aliases: Vec<(String, String)>,
    pub(super) opened_at: HashMap<usize, usize>,
    pub(super) module_scopes: Vec<usize>,
}

impl<'a> ScopeCollector<'a> {
    pub(super) fn new(context: &'a FileContext<'a>) -> Self {
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

    pub(super) fn finish(self) -> Scopes {
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
        let type_name = match item {
            syn::Item::Struct(item) => Some(&item.ident),
            syn::Item::Enum(item) => Some(&item.ident),
            syn::Item::Union(item) => Some(&item.ident),
            syn::Item::Trait(item) => Some(&item.ident),
            syn::Item::TraitAlias(item) => Some(&item.ident),
            syn::Item::Type(item) => Some(&item.ident),
            _ => None,
        };
        if let Some(name) = type_name {
            let name = name.unraw().to_string();
            let context = self.context;
            if context.extern_prelude.contains_key(&name) || context.test_extern_prelude.contains_key(&name) {
                self.current().type_items.push(name);
            }
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
pub(super) struct UseLeaf {
    pub(super) segments: Vec<String>,
    /// The name the leaf binds in scope; `None` for a glob, or `_` renames.
    pub(super) binding: Option<String>,
    /// First and last token of the leaf's path inside its innermost group.
    pub(super) first: Option<Span>,
    pub(super) last: Option<Span>,
}

pub(super) fn flatten_use_tree(
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
