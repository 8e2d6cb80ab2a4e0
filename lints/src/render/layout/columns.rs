//! The layered graph: columns with dummy nodes on long edges, ordered by barycentre sweeps and
//! adjacent swaps, and placed vertically by weighted least squares.

use super::geometry::*;

/// The graph after dummy insertion: real nodes first, then dummies.
pub(super) struct LayeredGraph {
    pub(super) rank: Vec<usize>,
    pub(super) width: Vec<f64>,
    pub(super) height: Vec<f64>,
    pub(super) is_dummy: Vec<bool>,
    /// Each node's band (0 at the top); all 0 without bands.
    pub(super) band: Vec<usize>,
    /// Whether the drawing has bands, which then get room for their names.
    pub(super) banded: bool,
    /// Segments between adjacent ranks, as (left node, right node).
    pub(super) segments: Vec<(usize, usize)>,
    /// The nodes of each column, top to bottom.
    pub(super) columns: Vec<Vec<usize>>,
}

impl LayeredGraph {
    pub(super) fn new(sizes: &[NodeSize], rank: &[usize], band: &[usize], banded: bool) -> Self {
        LayeredGraph {
            rank: rank.to_vec(),
            width: sizes.iter().map(|size| size.width).collect(),
            height: sizes.iter().map(|size| size.height).collect(),
            is_dummy: vec![false; sizes.len()],
            band: band.to_vec(),
            banded,
            segments: Vec::new(),
            columns: Vec::new(),
        }
    }

    pub(super) fn add_dummy(&mut self, rank: usize, band: usize) -> usize {
        self.rank.push(rank);
        self.width.push(0.0);
        self.height.push(0.0);
        self.is_dummy.push(true);
        self.band.push(band);
        self.rank.len() - 1
    }

    pub(super) fn add_segment(&mut self, left: usize, right: usize) {
        self.segments.push((left, right));
    }

    pub(super) fn neighbours(&self) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
        let mut left = vec![Vec::new(); self.rank.len()];
        let mut right = vec![Vec::new(); self.rank.len()];
        for &(from, to) in &self.segments {
            right[from].push(to);
            left[to].push(from);
        }
        (left, right)
    }

    /// Orders each column to reduce crossings, keeping the nodes of each band together, the
    /// bands in their order.
    pub(super) fn order_columns(&mut self) {
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
        for column in &mut columns {
            column.sort_by_key(|&node| self.band[node]);
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
                keyed.sort_by(|a, b| self.band[a.2].cmp(&self.band[b.2]).then(a.0.total_cmp(&b.0)).then(a.1.cmp(&b.1)));
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
    pub(super) fn transpose(&self, columns: &mut [Vec<usize>], left: &[Vec<usize>], right: &[Vec<usize>]) {
        for _ in 0..8 {
            let mut improved = false;
            let mut position = positions(columns, self.rank.len());
            for column in columns.iter_mut() {
                for index in 0..column.len().saturating_sub(1) {
                    let (upper, lower) = (column[index], column[index + 1]);
                    if self.band[upper] != self.band[lower] {
                        continue;
                    }
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
    pub(super) fn crossings(&self, columns: &[Vec<usize>]) -> usize {
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
    pub(super) fn place(&self, column_gap: f64) -> (Vec<Point>, Vec<(f64, f64)>) {
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

        if self.banded {
            self.separate_bands(&mut centre);
        }
        let top = (0..node_count).map(|node| centre[node].y - self.height[node] / 2.0).fold(f64::INFINITY, f64::min);
        let band_header = if self.banded { BAND_LABEL_HEIGHT + BAND_PADDING } else { 0.0 };
        if top.is_finite() {
            for point in &mut centre {
                point.y += MARGIN + band_header - top;
                // Rounding to a tenth keeps the SVG short and removes float noise that could
                // differ between platforms in the last digits.
                point.y = (point.y * 10.0).round() / 10.0;
            }
        }
        (centre, bounds)
    }

    /// Moves each band down, with every band below it, until its top clears the bottom of every
    /// band above it by the room for its name. Within a column the bands are in order, so the
    /// order and spacing of every column are kept.
    fn separate_bands(&self, centre: &mut [Point]) {
        let mut bands: Vec<usize> = self.band.clone();
        bands.sort_unstable();
        bands.dedup();
        let mut bottom_above = f64::NEG_INFINITY;
        for &band in &bands {
            let members = || (0..self.band.len()).filter(move |&node| self.band[node] == band);
            let top = members().map(|node| centre[node].y - self.height[node] / 2.0).fold(f64::INFINITY, f64::min);
            let needed = bottom_above + 2.0 * BAND_PADDING + BAND_LABEL_HEIGHT;
            if top < needed {
                for (node, point) in centre.iter_mut().enumerate() {
                    if self.band[node] >= band {
                        point.y += needed - top;
                    }
                }
            }
            let bottom =
                members().map(|node| centre[node].y + self.height[node] / 2.0).fold(f64::NEG_INFINITY, f64::max);
            bottom_above = bottom_above.max(bottom);
        }
    }

    /// The strip of each band that holds a node, top to bottom, once the nodes are placed.
    pub(super) fn band_ranges(&self, centre: &[Point]) -> Vec<BandRange> {
        if !self.banded {
            return Vec::new();
        }
        let mut ranges: std::collections::BTreeMap<usize, (f64, f64)> = std::collections::BTreeMap::new();
        for (node, point) in centre.iter().enumerate() {
            let (top, bottom) = (point.y - self.height[node] / 2.0, point.y + self.height[node] / 2.0);
            let range = ranges.entry(self.band[node]).or_insert((top, bottom));
            *range = (range.0.min(top), range.1.max(bottom));
        }
        ranges
            .into_iter()
            .map(|(band, (top, bottom))| BandRange {
                band,
                top: ((top - BAND_LABEL_HEIGHT - BAND_PADDING) * 10.0).round() / 10.0,
                bottom: ((bottom + BAND_PADDING) * 10.0).round() / 10.0,
            })
            .collect()
    }

    /// Spreads the ends of the edges that leave or enter each side of a node, ordered by the
    /// other end's height, so that parallel edges (a two-module cycle) do not overlap.
    pub(super) fn ports(&self, chains: &[Vec<usize>], centre: &[Point]) -> Ports {
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
pub(super) enum Side {
    Right = 0,
    Left = 1,
}

/// The height at which each edge leaves its left end and enters its right end.
pub(super) struct Ports {
    y: Vec<[f64; 2]>,
}

impl Ports {
    pub(super) fn get(&self, edge: usize, side: Side) -> f64 {
        self.y[edge][side as usize]
    }
}

pub(super) fn positions(columns: &[Vec<usize>], node_count: usize) -> Vec<usize> {
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
pub(super) fn pair_crossings(upper: usize, lower: usize, side: &[Vec<usize>], position: &[usize]) -> usize {
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
pub(super) fn nondecreasing_fit(targets: &[f64], weights: &[f64]) -> Vec<f64> {
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
