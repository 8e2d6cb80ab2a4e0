//! The DOT format, for Graphviz (`dot -Tsvg graph.dot > graph.svg`).
//!
//! Node ids are quoted strings with a kind prefix (`"module:orders"`, `"table:orders"`), so a
//! module and a table of the same name stay apart and any name is a valid id. Inside quotes,
//! DOT gives a meaning to `"` and to backslash sequences (`\n`, `\l`, `\N`), so both are
//! escaped; line breaks in labels are written as `\n` on purpose.

use super::labels::{EdgeLook, edge_description, edge_label, owner_label, size_label, table_edge_label};
use super::view::{GraphView, TableEdgeKind};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Draws the view as a Graphviz digraph laid out left to right.
pub fn render_dot(view: &GraphView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", quoted(&view.workspace_name));
    out.push_str("    rankdir=LR;\n");
    out.push_str("    nodesep=0.4;\n");
    out.push_str("    ranksep=0.9;\n");
    out.push_str("    node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#57606a\", fontname=\"Helvetica\", fontsize=12];\n");
    out.push_str("    edge [color=\"#57606a\", fontname=\"Helvetica\", fontsize=10, arrowsize=0.7];\n");

    let in_cycle: BTreeSet<&str> =
        view.cycles.iter().flat_map(|cycle| cycle.modules.iter().map(String::as_str)).collect();
    for node in &view.nodes {
        let mut attributes = vec![format!("label=\"{}\\n{}\"", quoted(&node.name), quoted(&size_label(node)))];
        if in_cycle.contains(node.name.as_str()) {
            attributes.push("fillcolor=\"#fff8c5\"".to_owned());
            attributes.push("color=\"#9a6700\"".to_owned());
        }
        if view.focus.as_ref() == Some(&node.name) {
            attributes.push("penwidth=3".to_owned());
            attributes.push("color=\"#0969da\"".to_owned());
        }
        let _ = writeln!(out, "    \"module:{}\" [{}];", quoted(&node.name), attributes.join(", "));
    }
    for table in view.tables.iter().flatten() {
        let fill = if table.owners.len() > 1 { "#ffebe9" } else { "#ddf4ff" };
        let _ = writeln!(
            out,
            "    \"table:{}\" [shape=cylinder, style=filled, fillcolor=\"{fill}\", color=\"#0969da\", label=\"{}\\n{}\"];",
            quoted(&table.name),
            quoted(&table.name),
            quoted(&owner_label(table))
        );
    }

    for edge in &view.edges {
        let look = EdgeLook::of(edge);
        let mut attributes = vec![
            format!("label=\"{}\"", quoted(&edge_label(edge))),
            format!("tooltip=\"{}\"", quoted(&edge_description(edge))),
        ];
        let mut styles = Vec::new();
        if look.declared_only {
            styles.push("dashed");
        }
        if look.cycle {
            styles.push("bold");
            attributes.push("penwidth=2.5".to_owned());
        }
        if !styles.is_empty() {
            attributes.push(format!("style=\"{}\"", styles.join(",")));
        }
        if look.violation {
            attributes.push("color=\"#cf222e\"".to_owned());
            attributes.push("fontcolor=\"#cf222e\"".to_owned());
        }
        let _ = writeln!(
            out,
            "    \"module:{}\" -> \"module:{}\" [{}];",
            quoted(&edge.from),
            quoted(&edge.to),
            attributes.join(", ")
        );
    }
    for edge in &view.table_edges {
        let look = match (edge.kind, edge.foreign) {
            (TableEdgeKind::Owns, _) => "style=dotted, color=\"#0969da\", arrowhead=none",
            (TableEdgeKind::Accesses, true) => "color=\"#cf222e\", fontcolor=\"#cf222e\", penwidth=1.5",
            (TableEdgeKind::Accesses, false) => "color=\"#57606a\"",
        };
        let _ = writeln!(
            out,
            "    \"module:{}\" -> \"table:{}\" [label=\"{}\", {look}];",
            quoted(&edge.module),
            quoted(&edge.table),
            quoted(&table_edge_label(edge))
        );
    }
    out.push_str("}\n");
    out
}

/// Escapes text for the inside of a double-quoted DOT string.
fn quoted(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            character if character.is_control() => escaped.push(' '),
            character => escaped.push(character),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::*;

    #[test]
    fn draws_the_shop_with_edge_styles() {
        let out = render_dot(&shop());
        assert!(out.starts_with("digraph \"shop\" {\n    rankdir=LR;\n"));
        assert!(out.ends_with("}\n"));
        assert!(out.contains(
            "    \"module:orders\" [label=\"orders\\n12 files · 1,480 lines\", fillcolor=\"#fff8c5\", color=\"#9a6700\"];\n"
        ));
        assert!(out.contains("    \"module:users\" [label=\"users\\n4 files · 310 lines\"];\n"));
        assert!(out.contains(
            "    \"module:billing\" -> \"module:orders\" [label=\"2 (2 ✗)\", tooltip=\"billing → orders: 2 references, 2 violations, part of a cycle\", penwidth=2.5, style=\"bold\", color=\"#cf222e\", fontcolor=\"#cf222e\"];\n"
        ));
        assert!(out.contains(
            "    \"module:orders\" -> \"module:catalog\" [label=\"9\", tooltip=\"orders → catalog: 9 references\"];\n"
        ));
        assert!(out.contains(
            "    \"module:shipping\" -> \"module:users\" [label=\"declared only\", tooltip=\"shipping → users: declared in Cargo.toml, never used in code\", style=\"dashed\"];\n"
        ));
    }

    #[test]
    fn draws_tables_as_cylinders() {
        let out = render_dot(&shop_with_tables());
        assert!(out.contains("    \"table:orders\" [shape=cylinder, style=filled, fillcolor=\"#ddf4ff\", color=\"#0969da\", label=\"orders\\nowned by orders\"];\n"));
        assert!(out.contains("    \"module:orders\" -> \"table:orders\" [label=\"owns\", style=dotted, color=\"#0969da\", arrowhead=none];\n"));
        assert!(out.contains("    \"module:shipping\" -> \"table:orders\" [label=\"3\", color=\"#cf222e\", fontcolor=\"#cf222e\", penwidth=1.5];\n"));
    }

    #[test]
    fn hostile_names_stay_inside_their_quotes() {
        let out = render_dot(&hostile());
        assert!(out.contains("\"module:a-b.c\\\"d<e>&f'g#h;i|j`k%l{m}n[o]p\\\\q\\nr s end\""));
        assert!(out.contains("    \"module:graph\" [label=\"graph\\n1 file · 1 line\", fillcolor="));
        assert!(out.contains("penwidth=3, color=\"#0969da\"];\n"), "the focus module is drawn thick");
        // Every line is a statement of its own: no name broke out of its string.
        for line in out.lines() {
            let unescaped_quotes = line.replace("\\\\", "").replace("\\\"", "").matches('"').count();
            assert_eq!(unescaped_quotes % 2, 0, "unbalanced quotes in {line:?}");
        }
    }

    #[test]
    fn output_is_deterministic() {
        let view = shop_with_tables();
        assert_eq!(render_dot(&view), render_dot(&view.clone()));
    }
}
