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
//! Every step breaks ties by index, so the same input always gives the same coordinates.

use std::fmt::Write as _;

/// Horizontal space between columns when edge labels are short.
const MIN_COLUMN_GAP: f64 = 90.0;
/// The largest horizontal space between columns, however long the edge labels are.
const MAX_COLUMN_GAP: f64 = 220.0;
/// Vertical space between two boxes of the same column.
const NODE_GAP: f64 = 26.0;
/// Vertical space between an edge passing through a column and its neighbours.
const DUMMY_GAP: f64 = 14.0;
/// Space around the drawing.
pub(super) const MARGIN: f64 = 24.0;
/// Where a label sits along the first stretch of its edge, from the source.
const LABEL_POSITION: f64 = 0.4;
/// The other places tried, in order, when a label would cover a box or another label.
const LABEL_CANDIDATES: [f64; 8] = [LABEL_POSITION, 0.28, 0.55, 0.68, 0.18, 0.8, 0.47, 0.34];
/// The height a label needs, with its halo.
const LABEL_HEIGHT: f64 = 15.0;

/// What the layout needs to know about a node: its box.
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeSize {
    pub width: f64,
    pub height: f64,
}

/// An edge to lay out, from `from` to `to` (indexes into the node sizes).
#[derive(Debug, Clone, Copy)]
pub(super) struct EdgeInput {
    pub from: usize,
    pub to: usize,
    /// The width of the edge's label, used to size the gaps between columns.
    pub label_width: f64,
    /// Draw this edge against the flow if it closes a cycle (a suggested cut), so that the
    /// rest of its cycle reads left to right.
    pub prefer_backwards: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Point {
    pub x: f64,
    pub y: f64,
}

/// A node's box, by its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PlacedNode {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// An edge's drawing: an SVG path from source to target and where its label goes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RoutedEdge {
    pub path: String,
    pub label: Point,
    /// Whether the edge points against the left-to-right flow (it closes a cycle).
    pub backwards: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Layout {
    pub nodes: Vec<PlacedNode>,
    pub edges: Vec<RoutedEdge>,
    pub width: f64,
    pub height: f64,
}

/// Lays out the graph left to right. Edges whose ends are not nodes are drawn nowhere (an
/// empty path), which the callers prevent by validating the view first.
pub(super) fn layered(sizes: &[NodeSize], edges: &[EdgeInput]) -> Layout {
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
    let mut graph = LayeredGraph::new(sizes, &rank);
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    for oriented_edge in &oriented {
        let Some(&(from, to, _)) = oriented_edge.as_ref() else {
            chains.push(Vec::new());
            continue;
        };
        let mut chain = vec![from];
        let mut previous = from;
        for dummy_rank in rank[from] + 1..rank[to] {
            let dummy = graph.add_dummy(dummy_rank);
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
    Layout { nodes, edges: routed, width, height }
}

/// Whether the edges form no cycle (Kahn's algorithm).
fn is_acyclic(node_count: usize, edges: &[(usize, usize)]) -> bool {
    let mut in_degree = vec![0_usize; node_count];
    let mut successors = vec![Vec::new(); node_count];
    for &(from, to) in edges {
        in_degree[to] += 1;
        successors[from].push(to);
    }
    let mut ready: Vec<usize> = (0..node_count).filter(|&node| in_degree[node] == 0).collect();
    let mut visited = 0;
    while let Some(node) = ready.pop() {
        visited += 1;
        for &successor in &successors[node] {
            in_degree[successor] -= 1;
            if in_degree[successor] == 0 {
                ready.push(successor);
            }
        }
    }
    visited == node_count
}

/// Orders the nodes so that few edges point backwards (Eades, Lin and Smyth, 1993), and
/// returns each node's position in that order.
fn eades_order(node_count: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut out_degree = vec![0_isize; node_count];
    let mut in_degree = vec![0_isize; node_count];
    let mut successors = vec![Vec::new(); node_count];
    let mut predecessors = vec![Vec::new(); node_count];
    for &(from, to) in edges {
        out_degree[from] += 1;
        in_degree[to] += 1;
        successors[from].push(to);
        predecessors[to].push(from);
    }
    let mut removed = vec![false; node_count];
    let mut head = Vec::with_capacity(node_count);
    let mut tail = Vec::new();
    let mut remaining = node_count;
    let remove = |node: usize, removed: &mut Vec<bool>, out_degree: &mut Vec<isize>, in_degree: &mut Vec<isize>| {
        removed[node] = true;
        for &successor in &successors[node] {
            in_degree[successor] -= 1;
        }
        for &predecessor in &predecessors[node] {
            out_degree[predecessor] -= 1;
        }
    };
    while remaining > 0 {
        if let Some(sink) = (0..node_count).find(|&node| !removed[node] && out_degree[node] == 0) {
            remove(sink, &mut removed, &mut out_degree, &mut in_degree);
            tail.push(sink);
        } else if let Some(source) = (0..node_count).find(|&node| !removed[node] && in_degree[node] == 0) {
            remove(source, &mut removed, &mut out_degree, &mut in_degree);
            head.push(source);
        } else {
            // Every remaining node is on a cycle: take the one with the most net outflow,
            // so that the fewest edges end up pointing backwards.
            let mut best = None;
            for node in (0..node_count).filter(|&node| !removed[node]) {
                let score = out_degree[node] - in_degree[node];
                if best.is_none_or(|(_, best_score)| score > best_score) {
                    best = Some((node, score));
                }
            }
            let Some((node, _)) = best else { break };
            remove(node, &mut removed, &mut out_degree, &mut in_degree);
            head.push(node);
        }
        remaining -= 1;
    }
    head.extend(tail.into_iter().rev());
    let mut position = vec![0; node_count];
    for (index, &node) in head.iter().enumerate() {
        position[node] = index;
    }
    position
}

/// Ranks the nodes of a DAG by longest path from a source, then moves each source as far
/// right as its successors allow, so that a module used by one deep module sits beside it.
fn longest_path_ranks(node_count: usize, dag: &[(usize, usize)]) -> Vec<usize> {
    let mut successors = vec![Vec::new(); node_count];
    let mut in_degree = vec![0_usize; node_count];
    for &(from, to) in dag {
        successors[from].push(to);
        in_degree[to] += 1;
    }
    let has_predecessor: Vec<bool> = in_degree.iter().map(|&degree| degree > 0).collect();
    let mut rank = vec![0_usize; node_count];
    let mut ready: std::collections::BTreeSet<usize> = (0..node_count).filter(|&node| in_degree[node] == 0).collect();
    let mut topological = Vec::with_capacity(node_count);
    while let Some(node) = ready.pop_first() {
        topological.push(node);
        for &successor in &successors[node] {
            rank[successor] = rank[successor].max(rank[node] + 1);
            in_degree[successor] -= 1;
            if in_degree[successor] == 0 {
                ready.insert(successor);
            }
        }
    }
    for &node in topological.iter().rev() {
        if has_predecessor[node] {
            continue;
        }
        if let Some(nearest) = successors[node].iter().map(|&successor| rank[successor]).min() {
            rank[node] = nearest.saturating_sub(1);
        }
    }
    rank
}

/// The graph after dummy insertion: real nodes first, then dummies.
struct LayeredGraph {
    rank: Vec<usize>,
    width: Vec<f64>,
    height: Vec<f64>,
    is_dummy: Vec<bool>,
    /// Segments between adjacent ranks, as (left node, right node).
    segments: Vec<(usize, usize)>,
    /// The nodes of each column, top to bottom.
    columns: Vec<Vec<usize>>,
}

impl LayeredGraph {
    fn new(sizes: &[NodeSize], rank: &[usize]) -> Self {
        LayeredGraph {
            rank: rank.to_vec(),
            width: sizes.iter().map(|size| size.width).collect(),
            height: sizes.iter().map(|size| size.height).collect(),
            is_dummy: vec![false; sizes.len()],
            segments: Vec::new(),
            columns: Vec::new(),
        }
    }

    fn add_dummy(&mut self, rank: usize) -> usize {
        self.rank.push(rank);
        self.width.push(0.0);
        self.height.push(0.0);
        self.is_dummy.push(true);
        self.rank.len() - 1
    }

    fn add_segment(&mut self, left: usize, right: usize) {
        self.segments.push((left, right));
    }

    fn neighbours(&self) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
        let mut left = vec![Vec::new(); self.rank.len()];
        let mut right = vec![Vec::new(); self.rank.len()];
        for &(from, to) in &self.segments {
            right[from].push(to);
            left[to].push(from);
        }
        (left, right)
    }

    /// Orders each column to reduce crossings.
    fn order_columns(&mut self) {
        let column_count = self.rank.iter().copied().max().map_or(0, |rank| rank + 1);
        let (left, right) = self.neighbours();

        // Start from depth-first discovery order, which keeps connected nodes together.
        let mut columns: Vec<Vec<usize>> = vec![Vec::new(); column_count];
        let mut seen = vec![false; self.rank.len()];
        for start in 0..self.rank.len() {
            let mut stack = vec![start];
            while let Some(node) = stack.pop() {
                if seen[node] {
                    continue;
                }
                seen[node] = true;
                columns[self.rank[node]].push(node);
                for &next in right[node].iter().chain(&left[node]).rev() {
                    if !seen[next] {
                        stack.push(next);
                    }
                }
            }
        }

        let mut best = columns.clone();
        let mut best_crossings = self.crossings(&columns);
        for sweep in 0..24 {
            if best_crossings == 0 {
                break;
            }
            let downwards = sweep % 2 == 0;
            let mut position = positions(&columns, self.rank.len());
            let ranks: Vec<usize> = if downwards {
                (1..column_count).collect()
            } else {
                (0..column_count.saturating_sub(1)).rev().collect()
            };
            for rank in ranks {
                let fixed = if downwards { &left } else { &right };
                let mut keyed: Vec<(f64, usize, usize)> = columns[rank]
                    .iter()
                    .enumerate()
                    .map(|(index, &node)| {
                        let neighbours = &fixed[node];
                        let key = if neighbours.is_empty() {
                            index as f64
                        } else {
                            neighbours.iter().map(|&other| position[other] as f64).sum::<f64>()
                                / neighbours.len() as f64
                        };
                        (key, index, node)
                    })
                    .collect();
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                columns[rank] = keyed.into_iter().map(|(_, _, node)| node).collect();
                for (index, &node) in columns[rank].iter().enumerate() {
                    position[node] = index;
                }
            }
            self.transpose(&mut columns, &left, &right);
            let crossings = self.crossings(&columns);
            if crossings < best_crossings {
                best_crossings = crossings;
                best = columns.clone();
            }
        }
        self.columns = best;
    }

    /// Swaps neighbours in a column while that removes crossings.
    fn transpose(&self, columns: &mut [Vec<usize>], left: &[Vec<usize>], right: &[Vec<usize>]) {
        for _ in 0..8 {
            let mut improved = false;
            let mut position = positions(columns, self.rank.len());
            for column in columns.iter_mut() {
                for index in 0..column.len().saturating_sub(1) {
                    let (upper, lower) = (column[index], column[index + 1]);
                    let kept =
                        pair_crossings(upper, lower, left, &position) + pair_crossings(upper, lower, right, &position);
                    let swapped =
                        pair_crossings(lower, upper, left, &position) + pair_crossings(lower, upper, right, &position);
                    if swapped < kept {
                        column.swap(index, index + 1);
                        position[upper] = index + 1;
                        position[lower] = index;
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }

    /// Counts the crossings between all pairs of adjacent columns.
    fn crossings(&self, columns: &[Vec<usize>]) -> usize {
        let position = positions(columns, self.rank.len());
        let mut by_column: Vec<Vec<(usize, usize)>> = vec![Vec::new(); columns.len()];
        for &(from, to) in &self.segments {
            by_column[self.rank[from]].push((position[from], position[to]));
        }
        let mut total = 0;
        for segments in &mut by_column {
            segments.sort_unstable();
            for (index, &(_, first_to)) in segments.iter().enumerate() {
                for &(_, second_to) in &segments[index + 1..] {
                    if second_to < first_to {
                        total += 1;
                    }
                }
            }
        }
        total
    }

    /// Places every node and returns the centres and the left and right edge of each
    /// column; columns become x, order becomes y.
    fn place(&self, column_gap: f64) -> (Vec<Point>, Vec<(f64, f64)>) {
        let node_count = self.rank.len();
        let mut centre = vec![Point { x: 0.0, y: 0.0 }; node_count];

        let mut x = MARGIN;
        let mut bounds = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            let column_width = column.iter().map(|&node| self.width[node]).fold(0.0, f64::max);
            for &node in column {
                centre[node].x = ((x + column_width / 2.0) * 10.0).round() / 10.0;
            }
            bounds.push(((x * 10.0).round() / 10.0, ((x + column_width) * 10.0).round() / 10.0));
            x += column_width + column_gap;
        }

        // Separation between the centres of consecutive nodes of a column.
        let separation = |upper: usize, lower: usize| {
            let gap = if self.is_dummy[upper] || self.is_dummy[lower] { DUMMY_GAP } else { NODE_GAP };
            (self.height[upper] + self.height[lower]) / 2.0 + gap
        };
        for column in &self.columns {
            let mut y = 0.0;
            for (index, &node) in column.iter().enumerate() {
                if index > 0 {
                    y += separation(column[index - 1], node);
                }
                centre[node].y = y;
            }
        }

        // Long edges pull hardest, so that their dummies line up into straight runs.
        let mut neighbours: Vec<Vec<(usize, f64)>> = vec![Vec::new(); node_count];
        for &(from, to) in &self.segments {
            let weight = match (self.is_dummy[from], self.is_dummy[to]) {
                (false, false) => 1.0,
                (true, true) => 8.0,
                _ => 2.0,
            };
            neighbours[from].push((to, weight));
            neighbours[to].push((from, weight));
        }
        for _ in 0..40 {
            for column in &self.columns {
                let mut targets = Vec::with_capacity(column.len());
                let mut weights = Vec::with_capacity(column.len());
                let mut offset = 0.0;
                for (index, &node) in column.iter().enumerate() {
                    if index > 0 {
                        offset += separation(column[index - 1], node);
                    }
                    let total_weight: f64 = neighbours[node].iter().map(|&(_, weight)| weight).sum();
                    let (target, weight) = if total_weight > 0.0 {
                        let pull: f64 = neighbours[node].iter().map(|&(other, weight)| weight * centre[other].y).sum();
                        (pull / total_weight, total_weight)
                    } else {
                        // A node without edges stays put and gives way to the others.
                        (centre[node].y, 1e-3)
                    };
                    targets.push(target - offset);
                    weights.push(weight);
                }
                let solved = nondecreasing_fit(&targets, &weights);
                let mut offset = 0.0;
                for (index, &node) in column.iter().enumerate() {
                    if index > 0 {
                        offset += separation(column[index - 1], node);
                    }
                    centre[node].y = solved[index] + offset;
                }
            }
        }

        let top = (0..node_count).map(|node| centre[node].y - self.height[node] / 2.0).fold(f64::INFINITY, f64::min);
        if top.is_finite() {
            for point in &mut centre {
                point.y += MARGIN - top;
                // Rounding to a tenth keeps the SVG short and removes float noise that could
                // differ between platforms in the last digits.
                point.y = (point.y * 10.0).round() / 10.0;
            }
        }
        (centre, bounds)
    }

    /// Spreads the ends of the edges that leave or enter each side of a node, ordered by the
    /// other end's height, so that parallel edges (a two-module cycle) do not overlap.
    fn ports(&self, chains: &[Vec<usize>], centre: &[Point]) -> Ports {
        let mut by_side: std::collections::BTreeMap<(usize, Side), Vec<(f64, usize)>> = Default::default();
        for (edge, chain) in chains.iter().enumerate() {
            if let [first, second, ..] = chain.as_slice() {
                by_side.entry((*first, Side::Right)).or_default().push((centre[*second].y, edge));
            }
            if let [.., before_last, last] = chain.as_slice() {
                by_side.entry((*last, Side::Left)).or_default().push((centre[*before_last].y, edge));
            }
        }
        let mut ports = Ports { y: vec![[0.0; 2]; chains.len()] };
        for ((node, side), mut ends) in by_side {
            ends.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let count = ends.len() as f64;
            let step = ((self.height[node] - 12.0) / count).clamp(0.0, 14.0);
            for (index, (_, edge)) in ends.into_iter().enumerate() {
                let offset = (index as f64 - (count - 1.0) / 2.0) * step;
                ports.y[edge][side as usize] = ((centre[node].y + offset) * 10.0).round() / 10.0;
            }
        }
        ports
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Right = 0,
    Left = 1,
}

/// The height at which each edge leaves its left end and enters its right end.
struct Ports {
    y: Vec<[f64; 2]>,
}

impl Ports {
    fn get(&self, edge: usize, side: Side) -> f64 {
        self.y[edge][side as usize]
    }
}

fn positions(columns: &[Vec<usize>], node_count: usize) -> Vec<usize> {
    let mut position = vec![0; node_count];
    for column in columns {
        for (index, &node) in column.iter().enumerate() {
            position[node] = index;
        }
    }
    position
}

/// The crossings between the edges of `upper` and of `lower` on one side, if `upper` stands
/// directly above `lower`.
fn pair_crossings(upper: usize, lower: usize, side: &[Vec<usize>], position: &[usize]) -> usize {
    let mut count = 0;
    for &a in &side[upper] {
        for &b in &side[lower] {
            if position[a] > position[b] {
                count += 1;
            }
        }
    }
    count
}

/// The weighted least-squares non-decreasing sequence closest to `targets`
/// (pool-adjacent-violators).
fn nondecreasing_fit(targets: &[f64], weights: &[f64]) -> Vec<f64> {
    // Each block is (total weight, weighted sum, length).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(targets.len());
    for (&target, &weight) in targets.iter().zip(weights) {
        blocks.push((weight, weight * target, 1));
        while blocks.len() >= 2 {
            let (last_weight, last_sum, last_length) = blocks[blocks.len() - 1];
            let (previous_weight, previous_sum, previous_length) = blocks[blocks.len() - 2];
            if previous_sum / previous_weight <= last_sum / last_weight {
                break;
            }
            blocks.pop();
            blocks.pop();
            blocks.push((previous_weight + last_weight, previous_sum + last_sum, previous_length + last_length));
        }
    }
    let mut fitted = Vec::with_capacity(targets.len());
    for (weight, sum, length) in blocks {
        fitted.extend(std::iter::repeat_n(sum / weight, length));
    }
    fitted
}

/// Moves each label along the first stretch of its edge until it overlaps no box and no
/// label placed before it; a label with no free spot stays at the default position.
fn place_labels(
    routed: &mut [RoutedEdge],
    first_stretch: &[Option<(Point, Point)>],
    edges: &[EdgeInput],
    sizes: &[NodeSize],
    centre: &[Point],
) {
    let rectangle = |point: Point, width: f64, height: f64| {
        (point.x - width / 2.0, point.y - height / 2.0, point.x + width / 2.0, point.y + height / 2.0)
    };
    let overlaps = |a: (f64, f64, f64, f64), b: &(f64, f64, f64, f64)| a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
    let boxes: Vec<(f64, f64, f64, f64)> =
        sizes.iter().zip(centre).map(|(size, point)| rectangle(*point, size.width, size.height)).collect();
    let mut taken: Vec<(f64, f64, f64, f64)> = Vec::new();
    for (index, stretch) in first_stretch.iter().enumerate() {
        let Some((start, end)) = *stretch else { continue };
        let width = edges[index].label_width + 6.0;
        let mut chosen = None;
        for t in LABEL_CANDIDATES {
            let point = cubic_point(start, end, t);
            let area = rectangle(point, width, LABEL_HEIGHT);
            if !boxes.iter().chain(&taken).any(|other| overlaps(area, other)) {
                chosen = Some(point);
                break;
            }
        }
        let point = chosen.unwrap_or_else(|| cubic_point(start, end, LABEL_POSITION));
        taken.push(rectangle(point, width, LABEL_HEIGHT));
        routed[index].label = Point { x: (point.x * 10.0).round() / 10.0, y: (point.y * 10.0).round() / 10.0 };
    }
}

/// The path through waypoint pairs: straight within a column (even steps), a smooth
/// horizontal-tangent curve across each gap between columns (odd steps).
fn route_through(points: &[Point], backwards: bool) -> RoutedEdge {
    let mut path = String::new();
    let Some(first) = points.first() else {
        return RoutedEdge { path, label: Point { x: 0.0, y: 0.0 }, backwards };
    };
    let _ = write!(path, "M{} {}", number(first.x), number(first.y));
    for (step, pair) in points.windows(2).enumerate() {
        let (start, end) = (pair[0], pair[1]);
        if step % 2 == 0 {
            // A box as wide as its column needs no straight run; rounding leaves such runs a
            // tenth long, and even that would turn the arrowhead the wrong way.
            if (start.x - end.x).abs() >= 0.5 || (start.y - end.y).abs() >= 0.5 {
                let _ = write!(path, " L{} {}", number(end.x), number(end.y));
            }
        } else {
            let middle = (start.x + end.x) / 2.0;
            let _ = write!(
                path,
                " C{} {} {} {} {} {}",
                number(middle),
                number(start.y),
                number(middle),
                number(end.y),
                number(end.x),
                number(end.y)
            );
        }
    }
    let label = match points {
        [_, start, end, ..] => cubic_point(*start, *end, LABEL_POSITION),
        [only, ..] => *only,
        [] => Point { x: 0.0, y: 0.0 },
    };
    let label = Point { x: (label.x * 10.0).round() / 10.0, y: (label.y * 10.0).round() / 10.0 };
    RoutedEdge { path, label, backwards }
}

/// The point at `t` on the horizontal-tangent cubic from `start` to `end`.
fn cubic_point(start: Point, end: Point, t: f64) -> Point {
    let u = 1.0 - t;
    // The control points share the middle x, and take the y of their own end.
    let middle = (start.x + end.x) / 2.0;
    let x = u * u * u * start.x + 3.0 * u * u * t * middle + 3.0 * u * t * t * middle + t * t * t * end.x;
    let y = u * u * u * start.y + 3.0 * u * u * t * start.y + 3.0 * u * t * t * end.y + t * t * t * end.y;
    Point { x, y }
}

/// A loop over the top of a node, for an edge from a node to itself.
fn self_loop(graph: &LayeredGraph, centre: &[Point], node: usize) -> RoutedEdge {
    let top = centre[node].y - graph.height[node] / 2.0;
    let x = centre[node].x;
    let path = format!(
        "M{} {} C{} {} {} {} {} {}",
        number(x + 12.0),
        number(top),
        number(x + 22.0),
        number(top - 26.0),
        number(x - 22.0),
        number(top - 26.0),
        number(x - 12.0),
        number(top)
    );
    RoutedEdge { path, label: Point { x, y: top - 24.0 }, backwards: false }
}

/// Formats a coordinate with at most one decimal, without a trailing `.0`.
pub(super) fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == rounded.trunc() { format!("{}", rounded as i64) } else { format!("{rounded:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
