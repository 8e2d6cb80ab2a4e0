//! The layout's unit tests: no overlaps, no avoidable crossings, determinism.

use super::columns::*;
use super::geometry::*;
use super::{layered, layered_in_bands};

fn boxes(count: usize) -> Vec<NodeSize> {
    vec![NodeSize { width: 100.0, height: 40.0 }; count]
}

fn edge(from: usize, to: usize) -> EdgeInput {
    EdgeInput { from, to, label_width: 10.0, prefer_backwards: false }
}

fn overlaps(a: &PlacedNode, b: &PlacedNode) -> bool {
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

#[test]
fn a_chain_runs_left_to_right_on_one_line() {
    let layout = layered(&boxes(3), &[edge(0, 1), edge(1, 2)]);
    let [a, b, c] = [layout.nodes[0], layout.nodes[1], layout.nodes[2]];
    assert!(a.x + a.width < b.x && b.x + b.width < c.x);
    assert_eq!(a.y, b.y);
    assert_eq!(b.y, c.y);
    assert!(layout.edges.iter().all(|edge| !edge.backwards));
}

#[test]
fn a_cycle_gets_exactly_one_backwards_edge() {
    let layout = layered(&boxes(3), &[edge(0, 1), edge(1, 2), edge(2, 0)]);
    assert_eq!(layout.edges.iter().filter(|edge| edge.backwards).count(), 1);
}

#[test]
fn a_two_module_cycle_draws_two_distinct_paths() {
    let layout = layered(&boxes(2), &[edge(0, 1), edge(1, 0)]);
    assert_ne!(layout.edges[0].path, layout.edges[1].path);
    assert_ne!(layout.edges[0].label, layout.edges[1].label);
}

#[test]
fn nodes_never_overlap_and_fit_in_the_canvas() {
    // A denser graph: two cycles, a long edge, a node without edges and a fan-out.
    let edges = [
        edge(0, 1),
        edge(1, 2),
        edge(2, 0),
        edge(2, 3),
        edge(3, 4),
        edge(4, 3),
        edge(0, 5),
        edge(5, 6),
        edge(6, 7),
        edge(0, 7),
        edge(1, 7),
        edge(1, 6),
        edge(8, 0),
    ];
    let layout = layered(&boxes(10), &edges);
    for (index, a) in layout.nodes.iter().enumerate() {
        assert!(a.x >= 0.0 && a.y >= 0.0);
        assert!(a.x + a.width <= layout.width && a.y + a.height <= layout.height);
        for b in &layout.nodes[index + 1..] {
            assert!(!overlaps(a, b), "{a:?} overlaps {b:?}");
        }
    }
    assert!(layout.edges.iter().all(|edge| edge.path.starts_with('M')));
}

/// A deterministic pseudo-random graph, so that the test needs no random-number crate.
fn scrambled_graph(nodes: usize, edges: usize) -> Vec<EdgeInput> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    (0..edges).map(|_| edge(next() % nodes, next() % nodes)).collect()
}

/// The numbers of an SVG path, as points.
fn path_points(path: &str) -> Vec<Point> {
    let numbers: Vec<f64> = path
        .split(|character: char| character.is_ascii_alphabetic() || character == ' ')
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().unwrap())
        .collect();
    numbers.chunks_exact(2).map(|pair| Point { x: pair[0], y: pair[1] }).collect()
}

#[test]
fn arrowheads_point_into_their_targets() {
    let edges = scrambled_graph(30, 80);
    let layout = layered(&boxes(30), &edges);
    for (input, route) in edges.iter().zip(&layout.edges) {
        if input.from == input.to {
            continue;
        }
        let points = path_points(&route.path);
        let [.., before, end] = points.as_slice() else { panic!("short path {}", route.path) };
        let target = layout.nodes[input.to];
        if route.backwards {
            assert!((end.x - (target.x + target.width)).abs() < 0.6, "{} ends off the right side", route.path);
            assert!(before.x > end.x, "{} turns the wrong way", route.path);
        } else {
            assert!((end.x - target.x).abs() < 0.6, "{} ends off the left side", route.path);
            assert!(before.x < end.x, "{} turns the wrong way", route.path);
        }
        assert!(end.y >= target.y && end.y <= target.y + target.height, "{} misses its target", route.path);
    }
}

#[test]
fn a_large_tangled_graph_lays_out_without_overlaps() {
    let sizes: Vec<NodeSize> =
        (0..150).map(|index| NodeSize { width: 80.0 + (index % 7) as f64 * 20.0, height: 46.0 }).collect();
    let edges = scrambled_graph(150, 400);
    let layout = layered(&sizes, &edges);
    for (index, a) in layout.nodes.iter().enumerate() {
        for b in &layout.nodes[index + 1..] {
            assert!(!overlaps(a, b), "{a:?} overlaps {b:?}");
        }
    }
    assert_eq!(layout.edges.len(), 400);
    assert!(layout.edges.iter().all(|edge| edge.path.starts_with('M')));
}

#[test]
fn the_same_input_gives_the_same_layout() {
    let edges = [edge(0, 1), edge(1, 2), edge(2, 0), edge(0, 3), edge(3, 2)];
    assert_eq!(layered(&boxes(4), &edges), layered(&boxes(4), &edges));
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let empty = layered(&[], &[]);
    assert!(empty.nodes.is_empty() && empty.width > 0.0);
    let layout = layered(&boxes(1), &[edge(0, 0), edge(0, 7)]);
    assert!(layout.edges[0].path.starts_with('M'), "a self-loop is drawn");
    assert!(layout.edges[1].path.is_empty(), "an edge to no node is not drawn");
}

#[test]
fn a_crossing_that_can_be_avoided_is_avoided() {
    // 0 → 3 and 1 → 2 cross if the columns keep index order.
    let layout = layered(&boxes(4), &[edge(0, 3), edge(1, 2), edge(0, 2)]);
    let top = |node: usize| layout.nodes[node].y;
    assert_eq!(top(0) < top(1), top(3) < top(2));
}

#[test]
fn the_fit_respects_order_and_matches_free_targets() {
    assert_eq!(nondecreasing_fit(&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0]), vec![1.0, 2.0, 3.0]);
    assert_eq!(nondecreasing_fit(&[3.0, 1.0], &[1.0, 1.0]), vec![2.0, 2.0]);
    assert_eq!(nondecreasing_fit(&[3.0, 1.0], &[3.0, 1.0]), vec![2.5, 2.5]);
}

#[test]
fn numbers_are_short() {
    assert_eq!(number(12.0), "12");
    assert_eq!(number(12.04), "12");
    assert_eq!(number(-3.24), "-3.2");
    assert_eq!(number(7.5), "7.5");
}

#[test]
fn bands_are_horizontal_strips_in_order_that_hold_their_nodes() {
    // A chain that climbs from the lowest band to the highest and back, and a node of the middle
    // band that nothing links: every band must still be one strip, the highest at the top.
    let edges = [edge(0, 1), edge(1, 2), edge(2, 3), edge(3, 4), edge(5, 0)];
    let bands = [2, 0, 1, 2, 0, 1];
    let layout = layered_in_bands(&boxes(6), &edges, &bands);
    assert_eq!(layout.bands.iter().map(|range| range.band).collect::<Vec<_>>(), [0, 1, 2]);
    for pair in layout.bands.windows(2) {
        assert!(pair[0].bottom <= pair[1].top, "bands overlap: {pair:?}");
    }
    for (node, placed) in layout.nodes.iter().enumerate() {
        let range = layout.bands.iter().find(|range| range.band == bands[node]).unwrap();
        // The band has room for its name above its first box.
        assert!(range.top + BAND_LABEL_HEIGHT <= placed.y, "node {node} is above its band's name: {range:?}");
        assert!(placed.y + placed.height <= range.bottom, "node {node} leaves its band: {range:?}");
    }
    assert!(layout.bands.last().unwrap().bottom <= layout.height);
    for (index, a) in layout.nodes.iter().enumerate() {
        for b in &layout.nodes[index + 1..] {
            assert!(!overlaps(a, b));
        }
    }
}

#[test]
fn without_bands_the_layout_is_unchanged_and_has_none() {
    let edges = [edge(0, 1), edge(1, 2), edge(0, 2)];
    let plain = layered(&boxes(3), &edges);
    assert!(plain.bands.is_empty());
    // One band for every node moves nothing sideways, and only makes room for the band's name.
    let one_band = layered_in_bands(&boxes(3), &edges, &[0, 0, 0]);
    assert_eq!(one_band.bands.len(), 1);
    for (a, b) in plain.nodes.iter().zip(&one_band.nodes) {
        assert_eq!((a.x, a.y + BAND_LABEL_HEIGHT + BAND_PADDING), (b.x, b.y));
    }
}
