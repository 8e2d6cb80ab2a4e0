//! The Mermaid format: a `flowchart LR` that renders when pasted into GitHub markdown.
//!
//! Mermaid node ids may hold only a few characters and some words (`end`, `graph`) are
//! keywords, so each node gets a sanitised id (`m_orders`, `t_orders`) made unique by a
//! numeric suffix, while its label keeps the real name. Labels are double-quoted strings in
//! which Mermaid's entity codes (`#quot;`, `#lt;`, …) stand for the characters that would end
//! the string, start markup, or start a comment.
//!
//! Edge styles use the link syntax where Mermaid has one (`-.->` dashed, `==>` thick) and
//! `linkStyle <index>` for colour, where the index is the edge's position in the output:
//! module edges first, in the view's order, then table edges.

use super::labels::{EdgeLook, edge_label, owner_label, size_label, table_edge_label};
use super::view::{GraphView, TableEdgeKind};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

const VIOLATION_COLOUR: &str = "#cf222e";
const PLAIN_COLOUR: &str = "#57606a";
const OWNERSHIP_COLOUR: &str = "#0969da";

/// Draws the view as a Mermaid flowchart, ready to paste inside a ```` ```mermaid ```` fence.
pub fn render_mermaid(view: &GraphView) -> String {
    let mut ids = NodeIds::default();
    let mut out = String::new();
    out.push_str("flowchart LR\n");
    let _ = writeln!(out, "    %% module graph of {}, drawn by seams", comment_text(&view.workspace_name));
    out.push_str("    %% arrows: a module uses another; labels count reference sites\n");
    out.push_str("    %% red: carries violations; thick: part of a cycle; dotted arrow: declared in Cargo.toml only\n");

    for node in &view.nodes {
        let id = ids.module(&node.name);
        let _ = writeln!(out, "    {id}[\"{}<br/>{}\"]", label_text(&node.name), label_text(&size_label(node)));
    }
    for table in view.tables.iter().flatten() {
        let id = ids.table(&table.name);
        let _ = writeln!(out, "    {id}[(\"{}<br/>{}\")]", label_text(&table.name), label_text(&owner_label(table)));
    }

    let mut link_styles: Vec<(usize, String)> = Vec::new();
    let mut link_index = 0;
    for edge in &view.edges {
        let from = ids.module(&edge.from);
        let to = ids.module(&edge.to);
        let look = EdgeLook::of(edge);
        let arrow = if look.declared_only {
            "-.->"
        } else if look.cycle {
            "==>"
        } else {
            "-->"
        };
        let _ = writeln!(out, "    {from} {arrow}|\"{}\"| {to}", label_text(&edge_label(edge)));
        let colour = if look.violation { VIOLATION_COLOUR } else { PLAIN_COLOUR };
        let width = if look.cycle { 3.5 } else { 1.5 };
        let mut style = format!("stroke:{colour},stroke-width:{width}px");
        if look.declared_only {
            style.push_str(",stroke-dasharray:6 4");
        }
        if look.violation {
            style.push_str(&format!(",color:{VIOLATION_COLOUR}"));
        }
        link_styles.push((link_index, style));
        link_index += 1;
    }
    for edge in &view.table_edges {
        let from = ids.module(&edge.module);
        let to = ids.table(&edge.table);
        // Ownership is a dotted line without an arrowhead; access is an arrow, like a dependency.
        let link = if edge.kind == TableEdgeKind::Owns { "-.-" } else { "-->" };
        let _ = writeln!(out, "    {from} {link}|\"{}\"| {to}", label_text(&table_edge_label(edge)));
        let style = match (edge.kind, edge.foreign) {
            (TableEdgeKind::Owns, _) => format!("stroke:{OWNERSHIP_COLOUR},stroke-width:1.5px,stroke-dasharray:2 3"),
            (TableEdgeKind::Accesses, true) => {
                format!("stroke:{VIOLATION_COLOUR},stroke-width:2px,color:{VIOLATION_COLOUR}")
            }
            (TableEdgeKind::Accesses, false) => format!("stroke:{PLAIN_COLOUR},stroke-width:1.5px"),
        };
        link_styles.push((link_index, style));
        link_index += 1;
    }

    // Styles that several links share are written once, as `linkStyle 0,3,4 …`, to keep the
    // pasted block short; the map is ordered so the output stays deterministic.
    let mut indexes_by_style: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, style) in link_styles {
        indexes_by_style.entry(style).or_default().push(index);
    }
    let mut grouped: Vec<(Vec<usize>, String)> =
        indexes_by_style.into_iter().map(|(style, indexes)| (indexes, style)).collect();
    grouped.sort();
    for (indexes, style) in grouped {
        let list: Vec<String> = indexes.iter().map(usize::to_string).collect();
        let _ = writeln!(out, "    linkStyle {} {style}", list.join(","));
    }

    out.push_str("    classDef module fill:#ffffff,stroke:#57606a,stroke-width:1px,color:#1f2328\n");
    out.push_str("    classDef cyclic fill:#fff8c5,stroke:#9a6700,stroke-width:1.5px,color:#1f2328\n");
    out.push_str("    classDef focus stroke:#0969da,stroke-width:3px\n");
    out.push_str("    classDef table fill:#ddf4ff,stroke:#0969da,stroke-width:1px,color:#1f2328\n");
    out.push_str("    classDef shared fill:#ffebe9,stroke:#cf222e,stroke-width:1.5px,color:#1f2328\n");

    let in_cycle: BTreeSet<&str> =
        view.cycles.iter().flat_map(|cycle| cycle.modules.iter().map(String::as_str)).collect();
    let (cyclic, acyclic): (Vec<&str>, Vec<&str>) =
        view.nodes.iter().map(|node| node.name.as_str()).partition(|name| in_cycle.contains(name));
    write_class(&mut out, &acyclic.iter().map(|name| ids.module(name)).collect::<Vec<_>>(), "module");
    write_class(&mut out, &cyclic.iter().map(|name| ids.module(name)).collect::<Vec<_>>(), "cyclic");
    if let Some(focus) = view.nodes.iter().find(|node| view.focus.as_ref() == Some(&node.name)) {
        write_class(&mut out, &[ids.module(&focus.name)], "focus");
    }
    let (shared, owned): (Vec<_>, Vec<_>) = view.tables.iter().flatten().partition(|table| table.owners.len() > 1);
    write_class(&mut out, &owned.iter().map(|table| ids.table(&table.name)).collect::<Vec<_>>(), "table");
    write_class(&mut out, &shared.iter().map(|table| ids.table(&table.name)).collect::<Vec<_>>(), "shared");
    out
}

fn write_class(out: &mut String, ids: &[String], class: &str) {
    if !ids.is_empty() {
        let _ = writeln!(out, "    class {} {class}", ids.join(","));
    }
}

/// Hands out Mermaid node ids: readable, unique, and stable for a given view.
#[derive(Default)]
struct NodeIds {
    assigned: BTreeMap<(char, String), String>,
    taken: BTreeSet<String>,
}

impl NodeIds {
    fn module(&mut self, name: &str) -> String {
        self.id('m', name)
    }

    fn table(&mut self, name: &str) -> String {
        self.id('t', name)
    }

    fn id(&mut self, prefix: char, name: &str) -> String {
        if let Some(id) = self.assigned.get(&(prefix, name.to_owned())) {
            return id.clone();
        }
        // The prefix keeps ids clear of Mermaid keywords such as `end`, and apart between
        // modules and tables of the same name.
        let mut base = format!("{prefix}_");
        for character in name.chars() {
            base.push(if character.is_ascii_alphanumeric() { character } else { '_' });
        }
        let mut id = base.clone();
        let mut suffix = 2;
        while self.taken.contains(&id) {
            id = format!("{base}_{suffix}");
            suffix += 1;
        }
        self.taken.insert(id.clone());
        self.assigned.insert((prefix, name.to_owned()), id.clone());
        id
    }
}

/// Escapes text for the inside of a double-quoted Mermaid label.
fn label_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '"' => escaped.push_str("#quot;"),
            '<' => escaped.push_str("#lt;"),
            '>' => escaped.push_str("#gt;"),
            '&' => escaped.push_str("#amp;"),
            '#' => escaped.push_str("#35;"),
            '`' => escaped.push_str("#96;"),
            '%' => escaped.push_str("#37;"),
            '|' => escaped.push_str("#124;"),
            character if character.is_control() => escaped.push(' '),
            character => escaped.push(character),
        }
    }
    escaped
}

/// Makes text safe for a `%%` comment line, which ends at the first line break.
fn comment_text(text: &str) -> String {
    text.chars().map(|character| if character.is_control() { ' ' } else { character }).collect()
}

#[cfg(test)]
mod tests {
    use super::super::EdgeKind;
    use super::super::sample::*;
    use super::*;

    #[test]
    fn draws_the_shop_with_styles_by_edge_index() {
        let out = render_mermaid(&shop());
        assert!(out.starts_with("flowchart LR\n"));
        assert!(out.contains("    m_orders[\"orders<br/>12 files · 1,480 lines\"]\n"));
        // Cycle edges are thick, the declared-only edge is dotted, the rest plain.
        assert!(out.contains("    m_billing ==>|\"2 (2 ✗)\"| m_orders\n"));
        assert!(out.contains("    m_orders -->|\"9\"| m_catalog\n"));
        assert!(out.contains("    m_shipping -.->|\"declared only\"| m_users\n"));
        // Edge 0 (billing → orders) is the only one with violations; 0, 3 and 4 are the cycle.
        assert!(out.contains("    linkStyle 0 stroke:#cf222e,stroke-width:3.5px,color:#cf222e\n"));
        assert!(out.contains("    linkStyle 3,4 stroke:#57606a,stroke-width:3.5px\n"));
        assert!(out.contains("    linkStyle 6 stroke:#57606a,stroke-width:1.5px,stroke-dasharray:6 4\n"));
        assert!(out.contains("    class m_billing,m_orders,m_payments cyclic\n"));
        assert!(!out.contains("focus\n    class"));
    }

    #[test]
    fn every_edge_gets_exactly_one_link_style() {
        let view = shop_with_tables();
        let out = render_mermaid(&view);
        let mut styled: Vec<usize> = out
            .lines()
            .filter_map(|line| line.trim().strip_prefix("linkStyle "))
            .flat_map(|rest| {
                let indexes = rest.split(' ').next().unwrap_or_default();
                indexes.split(',').map(|index| index.parse::<usize>().unwrap()).collect::<Vec<_>>()
            })
            .collect();
        styled.sort();
        let total = view.edges.len() + view.table_edges.len();
        assert_eq!(styled, (0..total).collect::<Vec<_>>());
    }

    #[test]
    fn draws_tables_as_cylinders_with_foreign_access_in_red() {
        let out = render_mermaid(&shop_with_tables());
        assert!(out.contains("    t_orders[(\"orders<br/>owned by orders\")]\n"));
        assert!(out.contains("    m_orders -.-|\"owns\"| t_orders\n"));
        assert!(out.contains("    m_shipping -->|\"3\"| t_orders\n"));
        // Link 9 is the third table edge, shipping's foreign access.
        assert!(out.contains("    linkStyle 9 stroke:#cf222e,stroke-width:2px,color:#cf222e\n"));
        assert!(out.contains("    class t_order_lines,t_orders table\n"));
    }

    #[test]
    fn hostile_names_are_sanitised_in_ids_and_escaped_in_labels() {
        let out = render_mermaid(&hostile());
        for line in out.lines().skip(1) {
            assert!(line.starts_with("    "), "every statement is indented: {line:?}");
        }
        assert!(out.contains(
            "m_a_b_c_d_e__f_g_h_i_j_k_l_m_n_o_p_q_r_s_end[\"a-b.c#quot;d#lt;e#gt;#amp;f'g#35;h;i#124;j#96;k#37;l{m}n[o]p\\q r s end<br/>2 files · 20 lines\"]"
        ));
        assert!(out.contains("    m_graph[\"graph<br/>1 file · 1 line\"]\n"));
        assert!(out.contains("    t_t__x_[(\"t#quot;#lt;x#gt;<br/>owned by "));
        assert!(out.contains("    class m_a_b_c_d_e__f_g_h_i_j_k_l_m_n_o_p_q_r_s_end focus\n"));
        assert!(out.contains("%% module graph of <script>alert(1)</script>, drawn by seams\n"));
    }

    #[test]
    fn ids_that_sanitise_alike_stay_distinct() {
        let mut view = shop();
        view.nodes = vec![node("a-b", 1, 1), node("a.b", 1, 1), node("a_b", 1, 1)];
        view.edges = vec![edge("a-b", "a_b", 1, EdgeKind::Actual, 0, false)];
        view.cycles.clear();
        let out = render_mermaid(&view);
        assert!(out.contains("    m_a_b[\"a-b<br/>"));
        assert!(out.contains("    m_a_b_2[\"a.b<br/>"));
        assert!(out.contains("    m_a_b_3[\"a_b<br/>"));
        assert!(out.contains("    m_a_b -->|\"1\"| m_a_b_3\n"));
    }

    #[test]
    fn output_is_deterministic() {
        let view = shop_with_tables();
        assert_eq!(render_mermaid(&view), render_mermaid(&view.clone()));
    }

    #[test]
    fn an_empty_view_is_still_a_flowchart() {
        let mut view = shop();
        view.nodes.clear();
        view.edges.clear();
        view.cycles.clear();
        assert_eq!(
            render_mermaid(&view),
            "flowchart LR\n    %% module graph of shop, drawn by seams\n    \
             %% arrows: a module uses another; labels count reference sites\n    \
             %% red: carries violations; thick: part of a cycle; dotted arrow: declared in Cargo.toml only\n    \
             classDef module fill:#ffffff,stroke:#57606a,stroke-width:1px,color:#1f2328\n    \
             classDef cyclic fill:#fff8c5,stroke:#9a6700,stroke-width:1.5px,color:#1f2328\n    \
             classDef focus stroke:#0969da,stroke-width:3px\n    \
             classDef table fill:#ddf4ff,stroke:#0969da,stroke-width:1px,color:#1f2328\n    \
             classDef shared fill:#ffebe9,stroke:#cf222e,stroke-width:1.5px,color:#1f2328\n"
        );
    }

    #[test]
    fn edge_kind_both_and_actual_draw_alike() {
        let mut view = shop();
        view.edges[1].kind = EdgeKind::Actual;
        let actual = render_mermaid(&view);
        view.edges[1].kind = EdgeKind::Both;
        assert_eq!(actual, render_mermaid(&view));
    }
}
