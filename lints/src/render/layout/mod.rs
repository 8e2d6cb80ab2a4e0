//! A small layered (Sugiyama-style) layout, left to right, for the SVG and HTML formats.
//!
//! # Why not a layout crate
//! `layout-rs` (pure Rust, Graphviz-like) was tried on a six-module graph first. It lays out
//! correctly, but for this use it falls short: it ignores `style=bold`, sizes boxes from a
//! rough text estimate that leaves them twice as wide as their labels, draws in Times, and
//! writes its font classes in `HashMap` order, so the same graph can give different bytes on
//! different runs, which would break the staleness test of the rendered docs. It also offers
//! no hook to put classes, ids or tooltips on nodes and edges, which the HTML view uses to
//! highlight a module's dependencies. Module graphs are small (tens to a few hundred
//! nodes), so the classic layered method below, in about four hundred lines, is enough and
//! leaves every pixel under our control.
//!
//! # The method
//! 1. Break cycles by reversing the edges that go backwards in the Eades–Lin–Smyth order.
//! 2. Give each node a rank (its column) by longest path, then pull sources next to their
//!    nearest successor.
//! 3. Split edges that span several ranks with invisible dummy nodes.
//! 4. Order each column by barycentre sweeps and adjacent swaps, keeping the order with the
//!    fewest crossings.
//! 5. Place nodes vertically by minimising the weighted squared length of edges under the
//!    column order and spacing, one column at a time (pool-adjacent-violators), which keeps
//!    long edges straight and centres nodes among their neighbours.
//! 6. Route each edge straight along its row inside each column it crosses, and as a
//!    horizontal-tangent cubic curve across each gap, so that no edge cuts through a box.
//!
//! With bands (the layers of `[layers] order`), each column is ordered band first, and after
//! placement every band is moved down below the one above it, so that the bands are horizontal
//! strips across the whole drawing, the highest at the top.
//!
//! Every step breaks ties by index, so the same input always gives the same coordinates.

mod columns;
mod geometry;
mod rank;
mod route;
#[cfg(test)]
mod tests;

use columns::{LayeredGraph, Side};
use geometry::*;
use rank::*;
use route::{place_labels, route_through, self_loop};

pub(crate) use geometry::{BandRange, EdgeInput, Layout, MARGIN, NodeSize, Point, number};

/// Lays out the graph left to right. Edges whose ends are not nodes are drawn nowhere (an
/// empty path), which the callers prevent by validating the view first.
#[cfg(test)]
pub(super) fn layered(sizes: &[NodeSize], edges: &[EdgeInput]) -> Layout {
    layered_in_bands(sizes, edges, &[])
}

/// Lays out the graph left to right, in horizontal bands when `bands` gives each node its band
/// (0 at the top); an empty `bands` draws no band.
pub(super) fn layered_in_bands(sizes: &[NodeSize], edges: &[EdgeInput], bands: &[usize]) -> Layout {
    let node_count = sizes.len();
    let valid = |edge: &EdgeInput| edge.from < node_count && edge.to < node_count;

    // Step 1: orient every edge forwards.
    let proper: Vec<(usize, usize)> =
        edges.iter().filter(|edge| valid(edge) && edge.from != edge.to).map(|edge| (edge.from, edge.to)).collect();
    // Suggested cuts leave an acyclic rest, so ordering without them lets every other edge
    // point forwards; if they do not, the Eades order still copes.
    let preferred_rest: Vec<(usize, usize)> = edges
        .iter()
        .filter(|edge| valid(edge) && edge.from != edge.to && !edge.prefer_backwards)
        .map(|edge| (edge.from, edge.to))
        .collect();
    let sequence_position = if preferred_rest.len() < proper.len() && is_acyclic(node_count, &preferred_rest) {
        eades_order(node_count, &preferred_rest)
    } else {
        eades_order(node_count, &proper)
    };
    let oriented: Vec<Option<(usize, usize, bool)>> = edges
        .iter()
        .map(|edge| {
            if !valid(edge) || edge.from == edge.to {
                None
            } else if sequence_position[edge.from] < sequence_position[edge.to] {
                Some((edge.from, edge.to, false))
            } else {
                Some((edge.to, edge.from, true))
            }
        })
        .collect();

    // Step 2: ranks.
    let dag: Vec<(usize, usize)> = oriented.iter().flatten().map(|&(from, to, _)| (from, to)).collect();
    let rank = longest_path_ranks(node_count, &dag);

    // Step 3: dummy nodes, so that every segment joins adjacent ranks.
    let band: Vec<usize> = (0..node_count).map(|node| bands.get(node).copied().unwrap_or(0)).collect();
    let mut graph = LayeredGraph::new(sizes, &rank, &band, !bands.is_empty());
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    for oriented_edge in &oriented {
        let Some(&(from, to, _)) = oriented_edge.as_ref() else {
            chains.push(Vec::new());
            continue;
        };
        let mut chain = vec![from];
        let mut previous = from;
        for dummy_rank in rank[from] + 1..rank[to] {
            // An edge runs in the band of its source until its last step.
            let dummy = graph.add_dummy(dummy_rank, band[from]);
            graph.add_segment(previous, dummy);
            chain.push(dummy);
            previous = dummy;
        }
        graph.add_segment(previous, to);
        chain.push(to);
        chains.push(chain);
    }

    // Step 4: order within columns.
    graph.order_columns();

    // Step 5: coordinates.
    let longest_label = edges.iter().map(|edge| edge.label_width).fold(0.0, f64::max);
    // The label's centre sits about 42% of the way across the gap (see `cubic_point`), so a
    // gap of 1.2 label widths plus a little air keeps the label clear of the source's box.
    let column_gap = (longest_label * 1.2 + 30.0).clamp(MIN_COLUMN_GAP, MAX_COLUMN_GAP);
    let (centre, bounds) = graph.place(column_gap);

    // Step 6: routes.
    let ports = graph.ports(&chains, &centre);
    let mut routed = Vec::with_capacity(edges.len());
    let mut first_stretch: Vec<Option<(Point, Point)>> = vec![None; edges.len()];
    for (index, edge) in edges.iter().enumerate() {
        let backwards = oriented[index].is_some_and(|(_, _, reversed)| reversed);
        let route = if !valid(edge) {
            RoutedEdge { path: String::new(), label: Point { x: 0.0, y: 0.0 }, backwards: false }
        } else if edge.from == edge.to {
            self_loop(&graph, &centre, edge.from)
        } else {
            let chain = &chains[index];
            // Waypoints come in pairs, one pair per column the edge occupies: where it enters
            // the column and where it leaves. Within a column the edge runs straight along its
            // port or dummy height, which keeps it clear of the column's boxes; between
            // columns it curves.
            let mut points: Vec<Point> = Vec::with_capacity(chain.len() * 2);
            for (position, &node) in chain.iter().enumerate() {
                let half_width = graph.width[node] / 2.0;
                let (left, right) = bounds[graph.rank[node]];
                if position == 0 {
                    let y = ports.get(index, Side::Right);
                    points.push(Point { x: centre[node].x + half_width, y });
                    points.push(Point { x: right, y });
                } else if position + 1 == chain.len() {
                    let y = ports.get(index, Side::Left);
                    points.push(Point { x: left, y });
                    points.push(Point { x: centre[node].x - half_width, y });
                } else {
                    points.push(Point { x: left, y: centre[node].y });
                    points.push(Point { x: right, y: centre[node].y });
                }
            }
            if backwards {
                points.reverse();
            }
            if let [_, start, end, ..] = points.as_slice() {
                first_stretch[index] = Some((*start, *end));
            }
            route_through(&points, backwards)
        };
        routed.push(route);
    }
    place_labels(&mut routed, &first_stretch, edges, sizes, &centre);

    let nodes: Vec<PlacedNode> = (0..node_count)
        .map(|node| PlacedNode {
            x: centre[node].x - sizes[node].width / 2.0,
            y: centre[node].y - sizes[node].height / 2.0,
            width: sizes[node].width,
            height: sizes[node].height,
        })
        .collect();
    let mut width: f64 = MARGIN * 2.0;
    let mut height: f64 = MARGIN * 2.0;
    for node in &nodes {
        width = width.max(node.x + node.width + MARGIN);
        height = height.max(node.y + node.height + MARGIN);
    }
    for dummy in centre.iter().skip(node_count) {
        height = height.max(dummy.y + MARGIN);
    }
    let bands = graph.band_ranges(&centre);
    for range in &bands {
        height = height.max(range.bottom + MARGIN);
    }
    Layout { nodes, edges: routed, bands, width, height }
}
