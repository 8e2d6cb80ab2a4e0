//! The module graph's edges: every cross-module reference in checked code, and Cargo's declared
//! dependencies between whole-crate modules.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diagnostic::SourceRef;
use crate::graph::{Dependency, EvidenceSite, ModuleGraph};
use crate::parse::SourceFile;
use crate::workspace::Workspace;

use super::modules::{ModuleId, Modules};
use super::references::{cross_module_references, display_target};

/// Builds the module graph.
pub(crate) fn module_graph(workspace: &Workspace, modules: &Modules, files: &[SourceFile]) -> ModuleGraph {
    let mut edges: BTreeMap<(ModuleId, ModuleId), Dependency> = BTreeMap::new();
    for cross in cross_module_references(modules, files) {
        edges.entry((cross.from, cross.to)).or_default().sites.push(EvidenceSite {
            source: SourceRef { file: cross.file.relative.clone(), text: Arc::clone(&cross.file.text) },
            site: cross.reference.site.clone(),
            target: display_target(workspace, cross.file.unit, &cross.reference.target),
        });
    }
    for (from, module) in modules.with_ids() {
        if !module.prefix.is_empty() {
            continue;
        }
        for dependency in &workspace.packages[module.package].dependencies {
            if dependency.kind != cargo_metadata::DependencyKind::Normal {
                continue;
            }
            let Some(package) = workspace.package_by_name(&dependency.package) else { continue };
            let whole_crate = modules
                .with_ids()
                .find(|(_, other)| other.package == package && other.prefix.is_empty())
                .map(|(id, _)| id);
            if let Some(to) = whole_crate.filter(|to| *to != from) {
                edges.entry((from, to)).or_default().declared = true;
            }
        }
    }
    ModuleGraph::new(modules.len(), edges)
}
