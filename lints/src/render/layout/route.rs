//! Edge routes: labels placed where they overlap least, straight runs inside columns, cubic
//! curves across gaps, and self-loops.

use std::fmt::Write as _;

use super::columns::LayeredGraph;
use super::geometry::*;

/// Moves each label along the first stretch of its edge until it overlaps no box and no
/// label placed before it; a label with no free spot stays at the default position.
pub(super) fn place_labels(
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
pub(super) fn route_through(points: &[Point], backwards: bool) -> RoutedEdge {
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
pub(super) fn cubic_point(start: Point, end: Point, t: f64) -> Point {
    let u = 1.0 - t;
    // The control points share the middle x, and take the y of their own end.
    let middle = (start.x + end.x) / 2.0;
    let x = u * u * u * start.x + 3.0 * u * u * t * middle + 3.0 * u * t * t * middle + t * t * t * end.x;
    let y = u * u * u * start.y + 3.0 * u * u * t * start.y + 3.0 * u * t * t * end.y + t * t * t * end.y;
    Point { x, y }
}

/// A loop over the top of a node, for an edge from a node to itself.
pub(super) fn self_loop(graph: &LayeredGraph, centre: &[Point], node: usize) -> RoutedEdge {
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
