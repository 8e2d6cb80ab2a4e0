//! Path resolution: a path's first segment is a keyword, an import of some enclosing scope, a
//! child module or a crate of the extern prelude, and imports are followed through other imports
//! and through the file's inline modules.

use crate::workspace::PreludeCrate;

use super::facts::{FileContext, Target};
use super::scopes::{Scope, Scopes};

/// A path resolved into a workspace crate.
pub(super) struct Resolution {
    pub(super) target: Target,
    pub(super) via_import: Option<Target>,
}

/// A path resolved into a crate from outside the workspace.
pub(super) struct ExternalPath {
    /// The crate's package name.
    pub(super) package: String,
    /// The path below the crate's root.
    pub(super) segments: Vec<String>,
    /// When the path's first segment was brought in by a `use` or an `extern crate`, the module
    /// path of the scope that holds that import.
    pub(super) import_scope: Option<Vec<String>>,
}

/// What a path names: a place in a workspace crate, or in a crate from outside it.
pub(super) enum Resolved {
    Workspace(Resolution),
    External(ExternalPath),
}

/// Resolves `segments` as written in `scope_index`, following the file's imports, including
/// imports reached through a path (`self::alias::x`, `crate::inline::alias::x`).
pub(super) fn resolve_in_scope(
    context: &FileContext<'_>,
    scopes: &Scopes,
    scope_index: usize,
    segments: &[String],
    leading_colon: bool,
    skip_import: Option<usize>,
    depth: usize,
) -> Option<Resolved> {
    match resolve_first_segment(context, scopes, scope_index, segments, leading_colon, skip_import, depth)? {
        Resolved::Workspace(resolution) => Some(expand_through_file_scopes(context, scopes, resolution, depth)),
        external => Some(external),
    }
}

/// A path whose first segment names a crate of the extern prelude.
fn from_prelude(context: &FileContext<'_>, first: &str, rest: &[String]) -> Option<Resolved> {
    match context.extern_prelude.get(first)? {
        PreludeCrate::Workspace(unit) => Some(Resolved::Workspace(Resolution {
            target: Target { unit: *unit, segments: rest.to_vec() },
            via_import: None,
        })),
        PreludeCrate::External(package) => Some(Resolved::External(ExternalPath {
            package: package.clone(),
            segments: rest.to_vec(),
            import_scope: None,
        })),
        PreludeCrate::Unchecked => None,
    }
}

/// When an absolute path in this crate passes through a module scope of this file and its next
/// segment is a name that scope imports, follows that import.
pub(super) fn expand_through_file_scopes(
    context: &FileContext<'_>,
    scopes: &Scopes,
    resolution: Resolution,
    depth: usize,
) -> Resolved {
    let target = &resolution.target;
    if target.unit != context.unit || depth > 16 {
        return Resolved::Workspace(resolution);
    }
    if let Some((first, rest)) = target.segments.split_first()
        && !context.module_path.is_empty()
    {
        match context.root_extern_aliases.get(first) {
            Some(PreludeCrate::Workspace(alias_unit)) => {
                let crate_root = Target { unit: *alias_unit, segments: Vec::new() };
                return Resolved::Workspace(Resolution {
                    target: Target { unit: *alias_unit, segments: rest.to_vec() },
                    via_import: Some(crate_root),
                });
            }
            // The `extern crate` stands in the crate root's file, not in this one's module.
            Some(PreludeCrate::External(package)) => {
                return Resolved::External(ExternalPath {
                    package: package.clone(),
                    segments: rest.to_vec(),
                    import_scope: None,
                });
            }
            Some(PreludeCrate::Unchecked) | None => {}
        }
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
        return Resolved::Workspace(resolution);
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
    let Some(index) = importing else { return Resolved::Workspace(resolution) };
    let tail = target.segments[deepest..].to_vec();
    match resolve_first_segment(context, scopes, index, &tail, false, None, depth + 1) {
        Some(Resolved::Workspace(expanded)) if expanded.via_import.is_some() => {
            match expand_through_file_scopes(context, scopes, expanded, depth + 1) {
                Resolved::Workspace(expanded) => Resolved::Workspace(Resolution {
                    target: expanded.target,
                    via_import: expanded.via_import.or(resolution.via_import),
                }),
                external => external,
            }
        }
        Some(external @ Resolved::External(ExternalPath { import_scope: Some(_), .. })) => external,
        _ => Resolved::Workspace(resolution),
    }
}

/// Resolves a path by its first segment: a keyword, an import, a child module or a crate.
pub(super) fn resolve_first_segment(
    context: &FileContext<'_>,
    scopes: &Scopes,
    scope_index: usize,
    segments: &[String],
    leading_colon: bool,
    skip_import: Option<usize>,
    depth: usize,
) -> Option<Resolved> {
    // Import chains longer than this are cycles (`use a as b; use b as a;`) or pathological.
    const MAX_IMPORT_DEPTH: usize = 16;
    if depth > MAX_IMPORT_DEPTH {
        return None;
    }
    let (first, rest) = segments.split_first()?;
    let scope = &scopes.scopes[scope_index];
    let absolute = |base: Vec<String>| {
        Resolved::Workspace(Resolution {
            target: Target { unit: context.unit, segments: [base, rest.to_vec()].concat() },
            via_import: None,
        })
    };
    if leading_colon {
        return from_prelude(context, first, rest);
    }
    match first.as_str() {
        "crate" | "$crate" => return Some(absolute(Vec::new())),
        "self" => return Some(absolute(scope.path.clone())),
        "super" => {
            let mut base = scope.path.clone();
            base.pop()?;
            let mut remaining = rest;
            while let Some(("super", tail)) = remaining.split_first().map(|(head, tail)| (head.as_str(), tail)) {
                base.pop()?;
                remaining = tail;
            }
            return Some(Resolved::Workspace(Resolution {
                target: Target { unit: context.unit, segments: [base, remaining.to_vec()].concat() },
                via_import: None,
            }));
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
            return Some(absolute([candidate_scope.path.clone(), vec![first.clone()]].concat()));
        }
        // A type declared here (`struct serde;`, `enum log { … }`) shadows a crate of the same
        // name, as any item of the scope does: the path names the local item.
        if candidate_scope.type_items.iter().any(|item| item == first) {
            return None;
        }
        lookup = candidate_scope.parent_block_scope;
    }
    from_prelude(context, first, rest)
}

/// Resolves `first::rest` through the imports of one scope named `first`.
#[allow(clippy::too_many_arguments)] // The resolver's state is passed explicitly to keep it pure.
pub(super) fn resolve_import(
    context: &FileContext<'_>,
    scopes: &Scopes,
    scope_index: usize,
    scope: &Scope,
    first: &str,
    rest: &[String],
    skip_import: Option<usize>,
    depth: usize,
) -> Option<Resolved> {
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
                return Some(match resolved {
                    Resolved::Workspace(resolved) => {
                        let via = resolved.target;
                        Resolved::Workspace(Resolution {
                            target: Target { unit: via.unit, segments: [via.segments.clone(), rest.to_vec()].concat() },
                            via_import: Some(via),
                        })
                    }
                    Resolved::External(external) => Resolved::External(ExternalPath {
                        package: external.package,
                        segments: [external.segments, rest.to_vec()].concat(),
                        import_scope: Some(scope.path.clone()),
                    }),
                });
            }
        }
    }
    None
}
