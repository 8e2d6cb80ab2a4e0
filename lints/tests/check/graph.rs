//! `graph`: every format renders from real fixtures, and the repository's own graph in `docs/` is
//! current.

use std::path::Path;

use seams::render;
use seams::render::{ViewOptions, build_view};

use crate::fixtures::{check, fixtures_root};

fn view_of(case: &str, options: &ViewOptions) -> render::GraphView {
    let outcome = check(&fixtures_root().join(case)).unwrap();
    build_view(&outcome, &ViewOptions { title: Some(case.to_owned()), ..options.clone() }).unwrap()
}

#[test]
fn every_format_renders_a_cycle_fixture() {
    let view = view_of("fail/cycles_three_modules", &ViewOptions::default());
    assert_eq!(view.cycles.len(), 1);
    assert!(view.edges.iter().all(|edge| edge.in_cycle), "{:?}", view.edges);
    insta::assert_snapshot!("three_modules_mermaid", render::render_mermaid(&view));
    insta::assert_snapshot!("three_modules_dot", render::render_dot(&view));
    let svg = render::render_svg(&view).unwrap();
    roxmltree::Document::parse(&svg).unwrap();
    insta::assert_snapshot!("three_modules_svg", svg);
    let json = render::render_json(&view);
    let round_trip: render::GraphView = serde_json::from_str(&json).unwrap();
    assert_eq!(round_trip, view);
    insta::assert_snapshot!("three_modules_json", json);
    let html = render::render_html(&view).unwrap();
    assert!(html.contains("<svg") && !html.contains("https://") && !html.contains("http://"));
    insta::assert_snapshot!("three_modules_html", stable_html(&html));
}

#[test]
fn layers_reach_the_view_its_json_and_the_bands_of_the_drawing() {
    let view = view_of("fail/layers", &ViewOptions::default());
    let layers: Vec<Vec<&str>> = view.layers.iter().map(|layer| layer.iter().map(String::as_str).collect()).collect();
    assert_eq!(layers, [vec!["web"], vec!["orders", "payments"], vec!["domain"], vec!["storage"]]);
    let json = render::render_json(&view);
    assert!(json.contains("\"layers\""), "{json}");
    let round_trip: render::GraphView = serde_json::from_str(&json).unwrap();
    assert_eq!(round_trip, view);
    let svg = render::render_svg(&view).unwrap();
    roxmltree::Document::parse(&svg).unwrap();
    // Four layers and the band of the modules in none (util, tools).
    assert_eq!(svg.matches(" data-band=").count(), 5, "{svg}");
    assert!(svg.contains(">layer 2 · orders | payments</text>"), "{svg}");
    assert!(render::render_html(&view).unwrap().contains(">in no layer</text>"));
    // A view without layers has no `layers` key, as before.
    assert!(!render::render_json(&view_of("fail/cycles_three_modules", &ViewOptions::default())).contains("layers"));
}

/// The HTML page for a snapshot. It has nothing to redact: no clock, no absolute path and no
/// version of seams reach it (checked here, so that one reaching it later fails loudly instead
/// of making the snapshot differ between machines or releases).
fn stable_html(html: &str) -> String {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().display().to_string();
    assert!(!html.contains(&checkout), "the page holds a path of this checkout");
    assert!(!html.contains(&format!("seams {}", env!("CARGO_PKG_VERSION"))), "the page holds the version");
    html.to_owned()
}

#[test]
fn declared_only_and_used_dependencies_are_told_apart() {
    let view = view_of("pass/graph_declared_dependencies", &ViewOptions::default());
    let edges: Vec<(&str, &str, render::EdgeKind, usize)> =
        view.edges.iter().map(|edge| (edge.from.as_str(), edge.to.as_str(), edge.kind, edge.reference_count)).collect();
    assert_eq!(
        edges,
        [("orders", "notifications", render::EdgeKind::Declared, 0), ("orders", "payments", render::EdgeKind::Both, 1),]
    );
    assert!(view.cycles.is_empty(), "a declared-only dependency never makes a cycle");
    let dot = render::render_dot(&view);
    let declared_line = dot.lines().find(|line| line.contains("notifications") && line.contains("->")).unwrap();
    assert!(declared_line.contains("dashed"), "{declared_line}");
    let json = render::render_json(&view);
    assert!(json.contains("\"kind\": \"declared\"") && json.contains("\"kind\": \"both\""), "{json}");
    insta::assert_snapshot!("declared_dependencies_json", json);
    let html = render::render_html(&view).unwrap();
    insta::assert_snapshot!("declared_dependencies_html", stable_html(&html));
}

#[test]
fn a_component_over_the_exact_limit_gets_a_greedy_cut_and_says_so() {
    // Five modules that all call each other: 20 edges, over the 16 of the exhaustive search.
    let case = fixtures_root().join("fail/cycles_greedy_cut");
    let outcome = check(&case).unwrap();
    let view = build_view(&outcome, &ViewOptions::default()).unwrap();
    assert_eq!(view.cycles.len(), 1);
    let cycle = &view.cycles[0];
    assert_eq!(cycle.cut_search, render::CutSearch::Greedy);
    // The suggested cut must break every cycle: what is left of the component is acyclic.
    let mut left = petgraph::graph::DiGraph::<&str, ()>::new();
    let nodes: Vec<_> = cycle.modules.iter().map(|module| left.add_node(module.as_str())).collect();
    let index = |name: &str| cycle.modules.iter().position(|module| module == name).unwrap();
    for edge in view.edges.iter().filter(|edge| edge.in_cycle && edge.kind != render::EdgeKind::Declared) {
        let cut = cycle.suggested_cuts.iter().any(|cut| cut.from == edge.from && cut.to == edge.to);
        if !cut {
            left.add_edge(nodes[index(&edge.from)], nodes[index(&edge.to)], ());
        }
    }
    assert!(!petgraph::algo::is_cyclic_directed(&left), "the cut leaves a cycle");
    assert_eq!(cycle.suggested_cuts.len(), 10);

    let report = seams::report::json::build(&outcome);
    assert_eq!(report.cycles[0].cut_search, "greedy");
    let violation =
        outcome.violations().iter().find(|violation| violation.rule.as_str() == "dependency-cycle").unwrap();
    assert!(violation.help.contains("(greedy search, may cut more than needed)"), "{}", violation.help);
    let html = render::render_html(&view).unwrap();
    assert!(html.contains("greedy estimate, may cut more than needed"));
    assert!(render::render_json(&view).contains("\"cut_search\": \"greedy\""));
}

#[test]
fn tables_view_shows_ownership_and_foreign_access() {
    let view = view_of("fail/tables_dml", &ViewOptions { tables: true, ..ViewOptions::default() });
    let tables = view.tables.as_ref().unwrap();
    assert!(!tables.is_empty());
    assert!(view.table_edges.iter().any(|edge| edge.foreign), "{:?}", view.table_edges);
    insta::assert_snapshot!("tables_dml_mermaid", render::render_mermaid(&view));
}

#[test]
fn focus_keeps_a_module_and_its_neighbours_only() {
    let full = view_of("fail/cycles_reaching_module", &ViewOptions::default());
    let focused_on = &full.nodes[0].name;
    let view = view_of(
        "fail/cycles_reaching_module",
        &ViewOptions { focus: Some(focused_on.clone()), ..ViewOptions::default() },
    );
    for edge in &view.edges {
        assert!(
            view.nodes.iter().any(|node| node.name == edge.from) && view.nodes.iter().any(|node| node.name == edge.to)
        );
    }
    assert!(view.nodes.iter().all(|node| {
        &node.name == focused_on
            || full.edges.iter().any(|edge| {
                (&edge.from == focused_on && edge.to == node.name) || (&edge.to == focused_on && edge.from == node.name)
            })
    }));
    let unknown = build_view(
        &check(&fixtures_root().join("fail/cycles_reaching_module")).unwrap(),
        &ViewOptions { focus: Some("no_such_module".to_owned()), ..ViewOptions::default() },
    );
    let error = unknown.unwrap_err();
    assert!(
        matches!(&error, render::ViewError::UnknownFocus { focused, known }
            if focused == "no_such_module" && known.iter().any(|name| name == "alpha")),
        "{error:?}"
    );
    assert!(error.to_string().contains("no_such_module"));
}

/// The page in `docs/` that shows this repository's graphs, as it should be now.
fn module_graph_page() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut page = String::from(
        "# Module graphs of this repository\n\n\
         Generated by `cargo xtask graph`; a test fails when this page is stale. Regenerate it with\n\
         `UPDATE_DOCS=1 cargo nextest run -p seams module_graph_page_is_current`.\n",
    );
    for (title, config, note) in [
        ("seams", "boundaries.toml", "The toolkit's own crates (root `boundaries.toml`)."),
        (
            "reference-app",
            "reference-app/boundaries.toml",
            "The reference app's modules and tables (`reference-app/boundaries.toml`).",
        ),
    ] {
        let outcome = seams::check::run_check(&seams::check::CheckOptions {
            manifest_path: Some(root.join("Cargo.toml")),
            config_path: Some(root.join(config)),
            ..Default::default()
        })
        .unwrap();
        let view = build_view(
            &outcome,
            &ViewOptions { title: Some(title.to_owned()), tables: config != "boundaries.toml", focus: None },
        )
        .unwrap();
        page.push_str(&format!("\n## {title}\n\n{note}\n\n```mermaid\n{}```\n", render::render_mermaid(&view)));
    }
    page
}

#[test]
fn module_graph_page_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/module-graph.md");
    let expected = module_graph_page();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/module-graph.md is stale: run `UPDATE_DOCS=1 cargo nextest run -p seams module_graph_page_is_current`"
    );
}
