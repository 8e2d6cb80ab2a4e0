//! The graph view: everything that any graph format draws, as plain data that serialises to the
//! JSON format and back, and the check that a view does not contradict itself.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Everything that any graph format draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphView {
    /// The name shown in titles (usually the workspace root's directory name).
    pub workspace_name: String,
    /// The modules, sorted by name.
    pub nodes: Vec<ModuleNode>,
    /// The module dependencies, sorted by `(from, to)`.
    pub edges: Vec<ModuleEdge>,
    /// One entry per strongly connected component of two or more modules.
    pub cycles: Vec<CycleView>,
    /// The tables, present only with `--tables`.
    pub tables: Option<Vec<TableNode>>,
    /// Ownership and access edges from modules to tables, empty unless `--tables`.
    pub table_edges: Vec<TableEdge>,
    /// The `--focus` module; the nodes and edges are already limited to it and its neighbours.
    pub focus: Option<String>,
    /// `[layers] order`, highest layer first: the modules of each layer, drawn or not. The SVG
    /// and HTML formats draw the layers as horizontal bands. Empty (and absent from the JSON
    /// format) without layers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Vec<String>>,
}

/// One module of `boundaries.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleNode {
    pub name: String,
    pub crate_name: String,
    pub files: usize,
    pub lines: usize,
    pub metrics: ModuleMetrics,
}

/// The figures of one module that an architect reads before extracting it as a service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleMetrics {
    /// Afferent coupling (Ca): the number of modules that depend on this one.
    pub fan_in: usize,
    /// Efferent coupling (Ce): the number of modules this one depends on.
    pub fan_out: usize,
    /// Ce / (Ca + Ce), or `None` when the module has no dependency either way.
    pub instability: Option<f64>,
    /// Reference sites in this module that reach into another module's non-public parts.
    pub internal_references_made: usize,
    /// Reference sites in other modules that reach into this module's non-public parts.
    pub internal_references_received: usize,
    /// Indexes into [`GraphView::cycles`] of the cycles this module belongs to.
    pub cycles: Vec<usize>,
    pub tables_owned: Vec<String>,
    pub foreign_tables_touched: Vec<String>,
    pub extraction_blockers: Vec<ExtractionBlocker>,
}

impl ModuleMetrics {
    /// Robert C. Martin's instability, Ce / (Ca + Ce), or `None` for a module that neither
    /// depends on another module nor is depended upon.
    pub fn instability_of(fan_in: usize, fan_out: usize) -> Option<f64> {
        let total = fan_in + fan_out;
        (total > 0).then(|| fan_out as f64 / total as f64)
    }
}

/// One thing that would break if a module became a separate service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ExtractionBlocker {
    /// Another module reaches into this module's internals.
    InboundInternalReferences { from_module: String, count: usize },
    /// This module is part of a dependency cycle.
    Cycle { cycle: usize, modules: Vec<String> },
    /// Another module also claims one of this module's tables.
    SharedTable { table: String, other_claimants: Vec<String> },
    /// This module reads or writes a table that another module owns.
    ForeignTableAccess { table: String, owner: String, count: usize },
    /// Another module reads or writes a table that this module owns.
    ForeignTableAccessedBy { table: String, accessor: String, count: usize },
    /// A foreign key joins a table of this module to a table of another module.
    CrossModuleForeignKey { from_table: String, to_table: String, other_module: String },
}

/// A dependency of one module on another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleEdge {
    pub from: String,
    pub to: String,
    /// The number of reference sites in `from` that name something in `to`.
    pub reference_count: usize,
    pub kind: EdgeKind,
    /// The number of `internal-import` and `undeclared-dependency` violations on this edge.
    pub violation_count: usize,
    /// Whether both ends belong to the same strongly connected component.
    pub in_cycle: bool,
}

/// Where a module dependency was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// Found in code only.
    Actual,
    /// In Cargo.toml only, never used in code.
    Declared,
    /// Found in code and declared in Cargo.toml.
    Both,
}

/// One strongly connected component of two or more modules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleView {
    /// The modules of the component, sorted by name.
    pub modules: Vec<String>,
    /// One shortest cycle through the component, with its first module repeated at the end.
    pub cycle: Vec<String>,
    /// Edges whose removal breaks every cycle of the component.
    pub suggested_cuts: Vec<SuggestedCut>,
    /// How the suggested cuts were found.
    pub cut_search: CutSearch,
}

/// An edge that the cycle rule suggests removing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestedCut {
    pub from: String,
    pub to: String,
    /// The number of reference sites that removing the edge means rewriting.
    pub count: usize,
}

/// Whether a set of suggested cuts is proven minimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CutSearch {
    /// The fewest reference sites that break every cycle (small components).
    Exact,
    /// A greedy feedback-arc-set, which may cut more than needed (large components).
    Greedy,
}

/// A database table, drawn only with `--tables`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableNode {
    pub name: String,
    /// The modules that claim the table; two or more make it a shared table.
    pub owners: Vec<String>,
}

/// A module's relation to a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEdge {
    pub module: String,
    pub table: String,
    pub kind: TableEdgeKind,
    /// Whether the table belongs to another module (always false for `Owns`).
    pub foreign: bool,
    /// The number of SQL references (for `Owns`, the number of claims).
    pub count: usize,
}

/// How a module relates to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableEdgeKind {
    Owns,
    Accesses,
}

/// A view that the drawing formats cannot lay out, because it contradicts itself.
///
/// The checker builds views that never fail these checks; the errors exist so that a
/// hand-edited or stale JSON view is reported instead of panicking in the layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the graph names module `{name}` twice")]
    DuplicateModule { name: String },
    #[error("the graph names table `{name}` twice")]
    DuplicateTable { name: String },
    #[error("edge `{from}` → `{to}` names module `{missing}`, which is not a node of the graph")]
    UnknownModule { from: String, to: String, missing: String },
    #[error("table edge `{module}` → `{table}` names `{missing}`, which is not a node of the graph")]
    UnknownTableEdgeEnd { module: String, table: String, missing: String },
}

/// Checks that every edge of the view ends at a node of the view.
pub(super) fn validate(view: &GraphView) -> Result<(), RenderError> {
    let mut modules = BTreeSet::new();
    for node in &view.nodes {
        if !modules.insert(node.name.as_str()) {
            return Err(RenderError::DuplicateModule { name: node.name.clone() });
        }
    }
    for edge in &view.edges {
        for end in [&edge.from, &edge.to] {
            if !modules.contains(end.as_str()) {
                return Err(RenderError::UnknownModule {
                    from: edge.from.clone(),
                    to: edge.to.clone(),
                    missing: end.clone(),
                });
            }
        }
    }
    let mut tables = BTreeSet::new();
    for table in view.tables.iter().flatten() {
        if !tables.insert(table.name.as_str()) {
            return Err(RenderError::DuplicateTable { name: table.name.clone() });
        }
    }
    for edge in &view.table_edges {
        let missing = if !modules.contains(edge.module.as_str()) {
            Some(&edge.module)
        } else if !tables.contains(edge.table.as_str()) {
            Some(&edge.table)
        } else {
            None
        };
        if let Some(missing) = missing {
            return Err(RenderError::UnknownTableEdgeEnd {
                module: edge.module.clone(),
                table: edge.table.clone(),
                missing: missing.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::*;

    #[test]
    fn instability_is_efferent_over_total_coupling() {
        assert_eq!(ModuleMetrics::instability_of(0, 0), None);
        assert_eq!(ModuleMetrics::instability_of(3, 0), Some(0.0));
        assert_eq!(ModuleMetrics::instability_of(0, 2), Some(1.0));
        assert_eq!(ModuleMetrics::instability_of(1, 3), Some(0.75));
    }

    #[test]
    fn the_sample_views_are_valid() {
        assert_eq!(validate(&shop()), Ok(()));
        assert_eq!(validate(&shop_with_tables()), Ok(()));
        assert_eq!(validate(&hostile()), Ok(()));
    }

    #[test]
    fn validate_reports_an_edge_to_a_missing_module() {
        let mut view = shop();
        view.edges.push(edge("orders", "ghost", 1, EdgeKind::Actual, 0, false));
        assert_eq!(
            validate(&view),
            Err(RenderError::UnknownModule { from: "orders".into(), to: "ghost".into(), missing: "ghost".into() })
        );
    }

    #[test]
    fn validate_reports_a_duplicate_module_and_a_table_edge_to_a_missing_table() {
        let mut view = shop();
        view.nodes.push(node("orders", 1, 1));
        assert_eq!(validate(&view), Err(RenderError::DuplicateModule { name: "orders".into() }));

        let mut view = shop_with_tables();
        view.table_edges[0].table = "ghost".into();
        assert!(matches!(validate(&view), Err(RenderError::UnknownTableEdgeEnd { missing, .. }) if missing == "ghost"));
    }
}
