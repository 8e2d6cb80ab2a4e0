//! The graph itself: one node per module, one edge per pair of modules that a reference or a
//! declared Cargo dependency connects, carrying the reference sites that make it.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::{Site, SourceRef};
use crate::ids::ModuleId;

/// One place in code that makes an edge.
#[derive(Debug, Clone)]
pub(crate) struct EvidenceSite {
    pub(crate) source: SourceRef,
    pub(crate) site: Site,
    pub(crate) target: String,
}

/// What connects two modules.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dependency {
    /// Reference sites in the `from` module's code, sorted by file and position.
    pub(crate) sites: Vec<EvidenceSite>,
    /// Whether Cargo.toml declares it (whole-crate modules only).
    pub(crate) declared: bool,
}

impl Dependency {
    pub(crate) fn count(&self) -> usize {
        self.sites.len()
    }

    pub(crate) fn is_actual(&self) -> bool {
        !self.sites.is_empty()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ModuleGraph {
    pub(crate) graph: DiGraph<ModuleId, Dependency>,
    nodes: Vec<NodeIndex>,
}

impl ModuleGraph {
    /// The graph of `module_count` modules with these edges; each edge's sites are sorted by file
    /// and position.
    pub(crate) fn new(module_count: usize, edges: BTreeMap<(ModuleId, ModuleId), Dependency>) -> ModuleGraph {
        let mut graph = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..module_count).map(|index| graph.add_node(ModuleId::new(index))).collect();
        for ((from, to), mut dependency) in edges {
            dependency.sites.sort_by(|a, b| (&a.source.file, &a.site).cmp(&(&b.source.file, &b.site)));
            graph.add_edge(nodes[from.index()], nodes[to.index()], dependency);
        }
        ModuleGraph { graph, nodes }
    }

    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn node(&self, module: ModuleId) -> NodeIndex {
        self.nodes[module.index()]
    }

    /// The dependency from one module to another, if any.
    pub(crate) fn dependency(&self, from: ModuleId, to: ModuleId) -> Option<&Dependency> {
        self.graph.find_edge(self.nodes[from.index()], self.nodes[to.index()]).map(|edge| &self.graph[edge])
    }

    /// Every dependency, sorted by module ids.
    pub(crate) fn dependencies(&self) -> Vec<(ModuleId, ModuleId, &Dependency)> {
        let mut all: Vec<_> = self
            .graph
            .edge_indices()
            .filter_map(|edge| {
                let (from, to) = self.graph.edge_endpoints(edge)?;
                Some((self.graph[from], self.graph[to], &self.graph[edge]))
            })
            .collect();
        all.sort_by_key(|(from, to, _)| (*from, *to));
        all
    }

    /// Modules that `module` uses in code, among `within`, sorted by name.
    pub(crate) fn successors(&self, names: &[&str], module: ModuleId, within: &BTreeSet<ModuleId>) -> Vec<ModuleId> {
        let mut next: Vec<ModuleId> = self
            .graph
            .edges(self.nodes[module.index()])
            .filter(|edge| edge.weight().is_actual())
            .map(|edge| self.graph[petgraph::visit::EdgeRef::target(&edge)])
            .filter(|to| within.contains(to))
            .collect();
        next.sort_by(|a, b| names[a.index()].cmp(names[b.index()]));
        next.dedup();
        next
    }
}
