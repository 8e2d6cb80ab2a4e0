//! Hand-built views shared by the unit tests of every format.

use super::*;

pub(super) fn node(name: &str, files: usize, lines: usize) -> ModuleNode {
    ModuleNode { name: name.to_owned(), crate_name: "shop".to_owned(), files, lines, metrics: ModuleMetrics::default() }
}

pub(super) fn edge(
    from: &str,
    to: &str,
    count: usize,
    kind: EdgeKind,
    violations: usize,
    in_cycle: bool,
) -> ModuleEdge {
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
pub(super) fn shop() -> GraphView {
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
        layers: Vec::new(),
    }
}

/// The shop view with `[layers] order`: two layers of one and two modules, and modules in none.
pub(super) fn shop_in_layers() -> GraphView {
    let mut view = shop();
    view.layers = vec![vec!["shipping".into()], vec!["orders".into(), "billing".into()]];
    view
}

/// The shop view with `--tables`.
pub(super) fn shop_with_tables() -> GraphView {
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
pub(super) fn hostile() -> GraphView {
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
        layers: vec![vec![evil.into()], vec![other.into()]],
    };
    view.nodes.sort_by(|left, right| left.name.cmp(&right.name));
    view.nodes[0]
        .metrics
        .extraction_blockers
        .push(ExtractionBlocker::SharedTable { table: "t\"<x>".into(), other_claimants: vec!["</td><b>".into()] });
    view
}
