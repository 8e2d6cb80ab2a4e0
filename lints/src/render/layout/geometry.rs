//! The layout's measures and its input and output: node sizes, edges, points, placed nodes and
//! routed edges.

/// Horizontal space between columns when edge labels are short.
pub(crate) const MIN_COLUMN_GAP: f64 = 90.0;
/// The largest horizontal space between columns, however long the edge labels are.
pub(crate) const MAX_COLUMN_GAP: f64 = 220.0;
/// Vertical space between two boxes of the same column.
pub(crate) const NODE_GAP: f64 = 26.0;
/// Vertical space between an edge passing through a column and its neighbours.
pub(crate) const DUMMY_GAP: f64 = 14.0;
/// Space around the drawing.
pub(crate) const MARGIN: f64 = 24.0;
/// Where a label sits along the first stretch of its edge, from the source.
pub(crate) const LABEL_POSITION: f64 = 0.4;
/// The other places tried, in order, when a label would cover a box or another label.
pub(crate) const LABEL_CANDIDATES: [f64; 8] = [LABEL_POSITION, 0.28, 0.55, 0.68, 0.18, 0.8, 0.47, 0.34];
/// The height a label needs, with its halo.
pub(crate) const LABEL_HEIGHT: f64 = 15.0;
/// Room for a band's name above the first box of the band.
pub(crate) const BAND_LABEL_HEIGHT: f64 = 16.0;
/// Space between a band's edge and the boxes inside it.
pub(crate) const BAND_PADDING: f64 = 10.0;

/// What the layout needs to know about a node: its box.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeSize {
    pub(crate) width: f64,
    pub(crate) height: f64,
}

/// An edge to lay out, from `from` to `to` (indexes into the node sizes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EdgeInput {
    pub(crate) from: usize,
    pub(crate) to: usize,
    /// The width of the edge's label, used to size the gaps between columns.
    pub(crate) label_width: f64,
    /// Draw this edge against the flow if it closes a cycle (a suggested cut), so that the
    /// rest of its cycle reads left to right.
    pub(crate) prefer_backwards: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub(crate) x: f64,
    pub(crate) y: f64,
}

/// A node's box, by its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PlacedNode {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

/// An edge's drawing: an SVG path from source to target and where its label goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RoutedEdge {
    pub(crate) path: String,
    pub(crate) label: Point,
    /// Whether the edge points against the left-to-right flow (it closes a cycle).
    pub(crate) backwards: bool,
}

/// A horizontal band of the drawing: the top and bottom of the strip that holds every node of
/// one band, with room for its name above the first box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BandRange {
    pub(crate) band: usize,
    pub(crate) top: f64,
    pub(crate) bottom: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub(crate) nodes: Vec<PlacedNode>,
    pub(crate) edges: Vec<RoutedEdge>,
    /// With bands, each band that holds a node, top to bottom; empty without bands.
    pub(crate) bands: Vec<BandRange>,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

/// Formats a coordinate with at most one decimal, without a trailing `.0`.
pub(crate) fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == rounded.trunc() { format!("{}", rounded as i64) } else { format!("{rounded:.1}") }
}
