//! The five output formats of `cargo xtask graph`, drawn from one plain [`GraphView`].
//!
//! The checker fills a [`GraphView`] from its module model (with `--focus` already applied),
//! and each renderer turns it into text. Renderers never look at the workspace: everything
//! they draw is in the view, so that a JSON view saved yesterday can be drawn again today.
//!
//! Every renderer is deterministic: the same view always gives byte-identical output, which
//! is what lets the rendered graph of this repository live in `docs/` under a staleness test.

mod dot;
mod html;
mod json;
mod layout;
mod mermaid;
mod svg;

pub use dot::render_dot;
pub use html::render_html;
pub use json::render_json;
pub use mermaid::render_mermaid;
pub use svg::render_svg;

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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
fn validate(view: &GraphView) -> Result<(), RenderError> {
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

/// How a module edge is drawn; every format maps these to its own syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EdgeLook {
    /// Carries `internal-import` or `undeclared-dependency` violations: red.
    violation: bool,
    /// Part of a cycle: bold.
    cycle: bool,
    /// In Cargo.toml only: dashed.
    declared_only: bool,
}

impl EdgeLook {
    fn of(edge: &ModuleEdge) -> Self {
        EdgeLook {
            violation: edge.violation_count > 0,
            cycle: edge.in_cycle,
            declared_only: edge.kind == EdgeKind::Declared,
        }
    }
}

/// The short text written on a module edge.
fn edge_label(edge: &ModuleEdge) -> String {
    match edge.kind {
        EdgeKind::Declared => "declared only".to_owned(),
        EdgeKind::Actual | EdgeKind::Both => {
            let mut label = edge.reference_count.to_string();
            if edge.violation_count > 0 {
                label.push_str(&format!(" ({} ✗)", edge.violation_count));
            }
            label
        }
    }
}

/// The longer description of a module edge, for tooltips.
fn edge_description(edge: &ModuleEdge) -> String {
    let mut text = format!("{} → {}: ", edge.from, edge.to);
    match edge.kind {
        EdgeKind::Declared => text.push_str("declared in Cargo.toml, never used in code"),
        EdgeKind::Actual | EdgeKind::Both => {
            text.push_str(&plural(edge.reference_count, "reference", "references"));
            if edge.kind == EdgeKind::Actual {
                text.push_str(", not declared in Cargo.toml");
            }
        }
    }
    if edge.violation_count > 0 {
        text.push_str(", ");
        text.push_str(&plural(edge.violation_count, "violation", "violations"));
    }
    if edge.in_cycle {
        text.push_str(", part of a cycle");
    }
    text
}

/// The second line of a module node: its size.
fn size_label(node: &ModuleNode) -> String {
    format!("{} · {}", plural(node.files, "file", "files"), plural(node.lines, "line", "lines"))
}

/// The second line of a table node: who owns it.
fn owner_label(table: &TableNode) -> String {
    match table.owners.as_slice() {
        [] => "unowned".to_owned(),
        [owner] => format!("owned by {owner}"),
        owners => format!("shared by {}", owners.join(", ")),
    }
}

/// The text written on a table edge.
fn table_edge_label(edge: &TableEdge) -> String {
    match edge.kind {
        TableEdgeKind::Owns => "owns".to_owned(),
        TableEdgeKind::Accesses => edge.count.to_string(),
    }
}

/// Writes `count` with the right noun and thousands separators, as in `1 file` or `1,204 lines`.
fn plural(count: usize, one: &str, many: &str) -> String {
    let noun = if count == 1 { one } else { many };
    format!("{} {noun}", thousands(count))
}

/// Writes a count with thousands separators, so that large modules read at a glance.
fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Escapes text for XML and HTML element content and double-quoted attribute values.
///
/// Characters that XML 1.0 forbids (most control characters) are replaced by U+FFFD, so that
/// a hostile name cannot make the SVG unparseable.
fn escape_xml(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\t' | '\n' | '\r' => escaped.push(' '),
            character if character.is_control() => escaped.push('\u{FFFD}'),
            character => escaped.push(character),
        }
    }
    escaped
}

#[cfg(test)]
pub(crate) mod sample {
    //! Hand-built views shared by the unit tests of every format.

    use super::*;

    pub fn node(name: &str, files: usize, lines: usize) -> ModuleNode {
        ModuleNode {
            name: name.to_owned(),
            crate_name: "shop".to_owned(),
            files,
            lines,
            metrics: ModuleMetrics::default(),
        }
    }

    pub fn edge(from: &str, to: &str, count: usize, kind: EdgeKind, violations: usize, in_cycle: bool) -> ModuleEdge {
        ModuleEdge {
            from: from.to_owned(),
            to: to.to_owned(),
            reference_count: count,
            kind,
            violation_count: violations,
            in_cycle,
        }
    }

    /// Six modules: a three-module cycle (billing → orders → payments → billing), a violation
    /// edge, a declared-only edge, and two tables, one of them touched by a foreign module.
    pub fn shop() -> GraphView {
        let mut nodes = vec![
            node("billing", 5, 412),
            node("catalog", 10, 1_230),
            node("orders", 12, 1_480),
            node("payments", 8, 903),
            node("shipping", 6, 700),
            node("users", 4, 310),
        ];
        let edges = vec![
            edge("billing", "orders", 2, EdgeKind::Both, 2, true),
            edge("catalog", "users", 4, EdgeKind::Both, 0, false),
            edge("orders", "catalog", 9, EdgeKind::Both, 0, false),
            edge("orders", "payments", 14, EdgeKind::Both, 0, true),
            edge("payments", "billing", 3, EdgeKind::Actual, 0, true),
            edge("shipping", "orders", 5, EdgeKind::Both, 0, false),
            edge("shipping", "users", 0, EdgeKind::Declared, 0, false),
        ];
        let cycles = vec![CycleView {
            modules: vec!["billing".into(), "orders".into(), "payments".into()],
            cycle: vec!["billing".into(), "orders".into(), "payments".into(), "billing".into()],
            suggested_cuts: vec![SuggestedCut { from: "billing".into(), to: "orders".into(), count: 2 }],
            cut_search: CutSearch::Exact,
        }];
        for node in &mut nodes {
            let name = node.name.clone();
            let fan_out = edges.iter().filter(|edge| edge.from == name).count();
            let fan_in = edges.iter().filter(|edge| edge.to == name).count();
            node.metrics.fan_in = fan_in;
            node.metrics.fan_out = fan_out;
            node.metrics.instability = ModuleMetrics::instability_of(fan_in, fan_out);
            if cycles[0].modules.contains(&name) {
                node.metrics.cycles = vec![0];
                node.metrics
                    .extraction_blockers
                    .push(ExtractionBlocker::Cycle { cycle: 0, modules: cycles[0].modules.clone() });
            }
        }
        let orders = &mut nodes[2].metrics;
        orders.internal_references_received = 2;
        orders.tables_owned = vec!["orders".into(), "order_lines".into()];
        orders
            .extraction_blockers
            .insert(0, ExtractionBlocker::InboundInternalReferences { from_module: "billing".into(), count: 2 });
        orders.extraction_blockers.push(ExtractionBlocker::ForeignTableAccessedBy {
            table: "orders".into(),
            accessor: "shipping".into(),
            count: 3,
        });
        nodes[0].metrics.internal_references_made = 2;
        let shipping = &mut nodes[4].metrics;
        shipping.foreign_tables_touched = vec!["orders".into()];
        shipping.extraction_blockers.push(ExtractionBlocker::ForeignTableAccess {
            table: "orders".into(),
            owner: "orders".into(),
            count: 3,
        });
        GraphView {
            workspace_name: "shop".into(),
            nodes,
            edges,
            cycles,
            tables: None,
            table_edges: Vec::new(),
            focus: None,
        }
    }

    /// The shop view with `--tables`.
    pub fn shop_with_tables() -> GraphView {
        let mut view = shop();
        view.tables = Some(vec![
            TableNode { name: "order_lines".into(), owners: vec!["orders".into()] },
            TableNode { name: "orders".into(), owners: vec!["orders".into()] },
        ]);
        view.table_edges = vec![
            TableEdge {
                module: "orders".into(),
                table: "order_lines".into(),
                kind: TableEdgeKind::Owns,
                foreign: false,
                count: 1,
            },
            TableEdge {
                module: "orders".into(),
                table: "orders".into(),
                kind: TableEdgeKind::Owns,
                foreign: false,
                count: 1,
            },
            TableEdge {
                module: "shipping".into(),
                table: "orders".into(),
                kind: TableEdgeKind::Accesses,
                foreign: true,
                count: 3,
            },
        ];
        view
    }

    /// Two modules and a table whose names contain every character that some format treats
    /// specially.
    pub fn hostile() -> GraphView {
        let evil = "a-b.c\"d<e>&f'g#h;i|j`k%l{m}n[o]p\\q\nr\u{7}s end";
        let other = "graph";
        let mut view = GraphView {
            workspace_name: "<script>alert(1)</script>".into(),
            nodes: vec![node(other, 1, 1), node(evil, 2, 20)],
            edges: vec![edge(evil, other, 1, EdgeKind::Actual, 1, true), edge(other, evil, 1, EdgeKind::Both, 0, true)],
            cycles: vec![CycleView {
                modules: vec![evil.into(), other.into()],
                cycle: vec![evil.into(), other.into(), evil.into()],
                suggested_cuts: vec![SuggestedCut { from: evil.into(), to: other.into(), count: 1 }],
                cut_search: CutSearch::Greedy,
            }],
            tables: Some(vec![TableNode { name: "t\"<x>".into(), owners: vec![evil.into()] }]),
            table_edges: vec![TableEdge {
                module: other.into(),
                table: "t\"<x>".into(),
                kind: TableEdgeKind::Accesses,
                foreign: true,
                count: 2,
            }],
            focus: Some(evil.into()),
        };
        view.nodes.sort_by(|left, right| left.name.cmp(&right.name));
        view.nodes[0]
            .metrics
            .extraction_blockers
            .push(ExtractionBlocker::SharedTable { table: "t\"<x>".into(), other_claimants: vec!["</td><b>".into()] });
        view
    }
}

#[cfg(test)]
mod tests {
    use super::sample::*;
    use super::*;

    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn instability_is_efferent_over_total_coupling() {
        assert_eq!(ModuleMetrics::instability_of(0, 0), None);
        assert_eq!(ModuleMetrics::instability_of(3, 0), Some(0.0));
        assert_eq!(ModuleMetrics::instability_of(0, 2), Some(1.0));
        assert_eq!(ModuleMetrics::instability_of(1, 3), Some(0.75));
    }

    #[test]
    fn plural_picks_the_noun_by_count() {
        assert_eq!(plural(1, "file", "files"), "1 file");
        assert_eq!(plural(2, "file", "files"), "2 files");
        assert_eq!(plural(0, "file", "files"), "0 files");
    }

    #[test]
    fn escape_xml_leaves_no_markup_and_no_control_characters() {
        let escaped = escape_xml("a<b>&\"c'\n\u{1}");
        assert_eq!(escaped, "a&lt;b&gt;&amp;&quot;c&#39; \u{FFFD}");
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

    #[test]
    fn edge_labels_show_counts_and_violations() {
        let view = shop();
        let labels: Vec<String> = view.edges.iter().map(edge_label).collect();
        assert_eq!(labels, ["2 (2 ✗)", "4", "9", "14", "3", "5", "declared only"]);
        assert_eq!(edge_description(&view.edges[0]), "billing → orders: 2 references, 2 violations, part of a cycle");
    }
}
