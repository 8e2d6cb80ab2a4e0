//! The words and styles every format puts on nodes and edges, so that all formats say the same.

use crate::text::{noun, thousands};

use super::view::{EdgeKind, ModuleEdge, ModuleNode, TableEdge, TableEdgeKind, TableNode};

/// How a module edge is drawn; every format maps these to its own syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EdgeLook {
    /// Carries `internal-import` or `undeclared-dependency` violations: red.
    pub(super) violation: bool,
    /// Part of a cycle: bold.
    pub(super) cycle: bool,
    /// In Cargo.toml only: dashed.
    pub(super) declared_only: bool,
}

impl EdgeLook {
    pub(super) fn of(edge: &ModuleEdge) -> Self {
        EdgeLook {
            violation: edge.violation_count > 0,
            cycle: edge.in_cycle,
            declared_only: edge.kind == EdgeKind::Declared,
        }
    }
}

/// The short text written on a module edge.
pub(super) fn edge_label(edge: &ModuleEdge) -> String {
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
pub(super) fn edge_description(edge: &ModuleEdge) -> String {
    let mut text = format!("{} → {}: ", edge.from, edge.to);
    match edge.kind {
        EdgeKind::Declared => text.push_str("declared in Cargo.toml, never used in code"),
        EdgeKind::Actual | EdgeKind::Both => {
            text.push_str(&counted(edge.reference_count, "reference", "references"));
            if edge.kind == EdgeKind::Actual {
                text.push_str(", not declared in Cargo.toml");
            }
        }
    }
    if edge.violation_count > 0 {
        text.push_str(", ");
        text.push_str(&counted(edge.violation_count, "violation", "violations"));
    }
    if edge.in_cycle {
        text.push_str(", part of a cycle");
    }
    text
}

/// The second line of a module node: its size.
pub(super) fn size_label(node: &ModuleNode) -> String {
    format!("{} · {}", counted(node.files, "file", "files"), counted(node.lines, "line", "lines"))
}

/// The second line of a table node: who owns it.
pub(super) fn owner_label(table: &TableNode) -> String {
    match table.owners.as_slice() {
        [] => "unowned".to_owned(),
        [owner] => format!("owned by {owner}"),
        owners => format!("shared by {}", owners.join(", ")),
    }
}

/// The text written on a table edge.
pub(super) fn table_edge_label(edge: &TableEdge) -> String {
    match edge.kind {
        TableEdgeKind::Owns => "owns".to_owned(),
        TableEdgeKind::Accesses => edge.count.to_string(),
    }
}

/// `count` with the right noun and thousands separators, as in `1 file` or `1,204 lines`.
pub(super) fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(count), noun(count, one, many))
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::*;

    #[test]
    fn counted_picks_the_noun_by_count_and_groups_digits() {
        assert_eq!(counted(1, "file", "files"), "1 file");
        assert_eq!(counted(0, "file", "files"), "0 files");
        assert_eq!(counted(1_204, "line", "lines"), "1,204 lines");
    }

    #[test]
    fn edge_labels_show_counts_and_violations() {
        let view = shop();
        let labels: Vec<String> = view.edges.iter().map(edge_label).collect();
        assert_eq!(labels, ["2 (2 ✗)", "4", "9", "14", "3", "5", "declared only"]);
        assert_eq!(edge_description(&view.edges[0]), "billing → orders: 2 references, 2 violations, part of a cycle");
    }
}
