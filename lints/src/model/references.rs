//! References between modules: glob imports resolved against the modules that exist, and every
//! reference from one module's code into another module, which the import rules and the module
//! graph both read.

use std::collections::HashSet;

use crate::extract::{Reference, Target};
use crate::parse::SourceFile;
use crate::workspace::{UnitId, Workspace};

use super::modules::{ModuleId, Modules};

/// A reference from one module's code into a different module.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CrossReference<'m> {
    pub(crate) file: &'m SourceFile,
    pub(crate) reference: &'m Reference,
    pub(crate) from: ModuleId,
    pub(crate) to: ModuleId,
    /// The target's path below the root of `to`.
    pub(crate) below_root: &'m [String],
}

/// Every reference written in a module's checked code that points into another module.
/// References written in the composition root (code in no module) are not checked.
pub(crate) fn cross_module_references<'m>(
    modules: &'m Modules,
    files: &'m [SourceFile],
) -> impl Iterator<Item = CrossReference<'m>> {
    files.iter().flat_map(move |file| {
        file.references().iter().filter_map(move |reference| {
            let from = modules.owner_of(file.unit, &reference.scope)?;
            let (to, below_root) = modules.target_owner(&reference.target)?;
            (from != to).then_some(CrossReference { file, reference, from, to, below_root })
        })
    })
}

/// Keeps a reference found through a glob import only when the glob's base plus the path's first
/// segment is a module that exists, and only the first such candidate for each site. Files with
/// no such reference keep their facts' list as it is.
pub(crate) fn resolve_glob_references(files: &mut [SourceFile], module_paths: &HashSet<(UnitId, Vec<String>)>) {
    for file in files {
        if file.facts.references.iter().all(|reference| reference.glob_base_len.is_none()) {
            continue;
        }
        let mut kept_sites = HashSet::new();
        let kept = file
            .facts
            .references
            .iter()
            .filter(|reference| match reference.glob_base_len {
                None => true,
                Some(base_len) => {
                    let segments = &reference.target.segments;
                    let module = segments[..(base_len + 1).min(segments.len())].to_vec();
                    module_paths.contains(&(reference.target.unit, module)) && kept_sites.insert(reference.site.clone())
                }
            })
            .cloned()
            .collect();
        file.resolved_references = Some(kept);
    }
}

/// A target written for a report: `crate::…` inside the same crate, `name::…` outside it.
pub(crate) fn display_target(workspace: &Workspace, from_unit: UnitId, target: &Target) -> String {
    let root = if target.unit == from_unit { "crate" } else { workspace.units[target.unit].crate_name.as_str() };
    std::iter::once(root).chain(target.segments.iter().map(String::as_str)).collect::<Vec<_>>().join("::")
}
