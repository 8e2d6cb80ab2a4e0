//! The SVG format, drawn with the layered layout of `layout.rs`, without a system Graphviz.
//!
//! The same drawing is embedded in the HTML view, where it carries no XML namespace (the
//! HTML parser supplies it) and no legend (the page has its own). Every node and edge is a
//! `<g>` with a `<title>` tooltip and `data-` attributes that the HTML view's script uses to
//! highlight a module's dependencies. Class names start with `sm-` so that the SVG's
//! stylesheet cannot clash with the page around it.

use super::labels::{EdgeLook, counted, edge_description, edge_label, owner_label, size_label, table_edge_label};
use super::layout::{self, BandRange, EdgeInput, Layout, NodeSize, number};
use super::view::{GraphView, ModuleEdge, ModuleNode, RenderError, TableEdgeKind, TableNode, validate};
use crate::text::{XmlContext, escape_xml};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The font stack of every text: the platform's interface font, never a downloaded one.
pub(super) const FONT_STACK: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', 'DejaVu Sans', sans-serif";

const NAME_SIZE: f64 = 14.0;
const DETAIL_SIZE: f64 = 11.0;
const LABEL_SIZE: f64 = 11.0;
const MODULE_HEIGHT: f64 = 46.0;
const TABLE_HEIGHT: f64 = 54.0;
const HEADER_HEIGHT: f64 = 34.0;
const LEGEND_HEIGHT: f64 = 40.0;
/// The size of a band's name, as `LAYER_STYLE` sets it.
const LAYER_LABEL_SIZE: f64 = 11.0;
/// Marks an edge that the cycle rule suggests cutting.
const CUT_MARK: &str = "✂";

/// Draws the view as a standalone SVG document, with a title line and a legend.
pub fn render_svg(view: &GraphView) -> Result<String, RenderError> {
    validate(view)?;
    Ok(draw(view, Mode::Standalone))
}

/// Draws the view as an `<svg>` element for the HTML page.
pub(super) fn render_inline_svg(view: &GraphView) -> Result<String, RenderError> {
    validate(view)?;
    Ok(draw(view, Mode::Inline))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Standalone,
    Inline,
}

/// The drawing's nodes: modules first, in view order, then tables.
enum Drawn<'a> {
    Module(usize, &'a ModuleNode),
    Table(usize, &'a TableNode),
}

fn draw(view: &GraphView, mode: Mode) -> String {
    let tables: Vec<&TableNode> = view.tables.iter().flatten().collect();
    let mut drawn: Vec<Drawn> = view.nodes.iter().enumerate().map(|(index, node)| Drawn::Module(index, node)).collect();
    drawn.extend(tables.iter().enumerate().map(|(index, table)| Drawn::Table(index, table)));

    let module_index: BTreeMap<&str, usize> =
        view.nodes.iter().enumerate().map(|(index, node)| (node.name.as_str(), index)).collect();
    let table_index: BTreeMap<&str, usize> =
        tables.iter().enumerate().map(|(index, table)| (table.name.as_str(), view.nodes.len() + index)).collect();

    let sizes: Vec<NodeSize> = drawn
        .iter()
        .map(|node| match node {
            Drawn::Module(_, module) => {
                NodeSize { width: box_width(&module.name, &size_label(module)), height: MODULE_HEIGHT }
            }
            Drawn::Table(_, table) => {
                NodeSize { width: box_width(&table.name, &owner_label(table)) + 8.0, height: TABLE_HEIGHT }
            }
        })
        .collect();

    // Edges the layout sees: module edges, then table edges, in view order. The validation
    // guarantees every lookup succeeds; `usize::MAX` would make the layout skip the edge.
    let cuts = suggested_cuts(view);
    let mut inputs: Vec<EdgeInput> = Vec::new();
    for edge in &view.edges {
        inputs.push(EdgeInput {
            from: module_index.get(edge.from.as_str()).copied().unwrap_or(usize::MAX),
            to: module_index.get(edge.to.as_str()).copied().unwrap_or(usize::MAX),
            label_width: text_width(&drawn_edge_label(edge, &cuts), LABEL_SIZE),
            prefer_backwards: cuts.contains(&(edge.from.as_str(), edge.to.as_str())),
        });
    }
    for edge in &view.table_edges {
        inputs.push(EdgeInput {
            from: module_index.get(edge.module.as_str()).copied().unwrap_or(usize::MAX),
            to: table_index.get(edge.table.as_str()).copied().unwrap_or(usize::MAX),
            label_width: text_width(&table_edge_label(edge), LABEL_SIZE),
            prefer_backwards: false,
        });
    }
    let bands = node_bands(view, &drawn);
    let layout = layout::layered_in_bands(&sizes, &inputs, &bands);
    let band_labels: Vec<(BandRange, String)> =
        layout.bands.iter().map(|range| (*range, band_label(view, range.band))).collect();

    let legend = legend_items(view);
    let legend_width = legend.iter().map(|item| item.width()).sum::<f64>() + layout::MARGIN * 2.0;
    let (top, bottom) = match mode {
        Mode::Standalone => (HEADER_HEIGHT, LEGEND_HEIGHT),
        Mode::Inline => (0.0, 0.0),
    };
    let title = format!("Module graph of {}", view.workspace_name);
    let summary = summary_line(view);
    let mut width = layout.width.max(240.0);
    for (_, label) in &band_labels {
        width = width.max(text_width(label, LAYER_LABEL_SIZE) + layout::MARGIN * 2.0);
    }
    if mode == Mode::Standalone {
        width = width
            .max(legend_width)
            .max(text_width(&title, 15.0) + text_width(&summary, 12.0) + 20.0 + layout::MARGIN * 2.0);
    }
    let height = layout.height + top + bottom;

    let mut out = String::new();
    if mode == Mode::Standalone {
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }
    // In the page, the drawing shrinks to fit narrow windows, but never below 60% of its
    // size, where labels would become too small to read; below that the page scrolls it.
    let namespace = match mode {
        Mode::Standalone => " xmlns=\"http://www.w3.org/2000/svg\"".to_owned(),
        Mode::Inline => format!(" style=\"min-width:{}px\"", number((width * 0.6).round())),
    };
    let _ = writeln!(
        out,
        "<svg{namespace} class=\"sm-graph\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">",
        escape_xml(&title, XmlContext::Markup),
        w = number(width),
        h = number(height),
    );
    let _ = writeln!(out, "<title>{}</title>", escape_xml(&title, XmlContext::Markup));
    write_style(&mut out, !band_labels.is_empty());
    write_markers(&mut out);
    if mode == Mode::Standalone {
        let _ =
            writeln!(out, "<rect class=\"sm-background\" width=\"{}\" height=\"{}\"/>", number(width), number(height));
        let _ = writeln!(
            out,
            "<text class=\"sm-title\" x=\"{}\" y=\"24\">{}<tspan class=\"sm-summary\" dx=\"12\">{}</tspan></text>",
            number(layout::MARGIN),
            escape_xml(&title, XmlContext::Markup),
            escape_xml(&summary, XmlContext::Markup)
        );
    }

    let _ = writeln!(out, "<g transform=\"translate(0 {})\">", number(top));
    if view.nodes.is_empty() {
        let _ = writeln!(
            out,
            "<text class=\"sm-empty\" x=\"{}\" y=\"{}\">No modules to draw.</text>",
            number(layout::MARGIN),
            number(layout::MARGIN + 14.0)
        );
    }
    write_bands(&mut out, &band_labels, width);
    write_edges(&mut out, view, &layout, &module_index, &table_index);
    write_nodes(&mut out, view, &drawn, &layout);
    out.push_str("</g>\n");

    if mode == Mode::Standalone && !legend.is_empty() {
        write_legend(&mut out, &legend, layout::MARGIN, top + layout.height + 8.0);
    }
    out.push_str("</svg>\n");
    out
}

/// Each drawn node's band when the view has layers: its layer's place in `[layers] order`, or,
/// for modules in no layer and for tables, one band below the last layer. Empty without layers.
fn node_bands(view: &GraphView, drawn: &[Drawn]) -> Vec<usize> {
    if view.layers.is_empty() {
        return Vec::new();
    }
    let unlayered = view.layers.len();
    drawn
        .iter()
        .map(|node| match node {
            Drawn::Module(_, module) => {
                view.layers.iter().position(|layer| layer.contains(&module.name)).unwrap_or(unlayered)
            }
            Drawn::Table(..) => unlayered,
        })
        .collect()
}

/// The name written in a band: its layer's number and modules, or that its modules are in none.
fn band_label(view: &GraphView, band: usize) -> String {
    match view.layers.get(band) {
        Some(modules) => format!("layer {} · {}", band + 1, modules.join(" | ")),
        None => "in no layer".to_owned(),
    }
}

/// The layers as horizontal bands behind the graph, each with its name in its top-left corner.
fn write_bands(out: &mut String, bands: &[(BandRange, String)], width: f64) {
    if bands.is_empty() {
        return;
    }
    let inset = layout::MARGIN / 2.0;
    out.push_str("<g class=\"sm-layers\">\n");
    for (range, label) in bands {
        let class = if label == "in no layer" {
            "sm-layer sm-layer-none"
        } else if range.band % 2 == 1 {
            "sm-layer sm-layer-odd"
        } else {
            "sm-layer"
        };
        let _ = writeln!(
            out,
            "<g class=\"{class}\" data-band=\"{}\"><title>{label}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\"/><text x=\"{}\" y=\"{}\">{label}</text></g>",
            range.band,
            number(inset),
            number(range.top),
            number(width - 2.0 * inset),
            number(range.bottom - range.top),
            number(inset + 8.0),
            number(range.top + 14.0),
            label = escape_xml(label, XmlContext::Markup),
        );
    }
    out.push_str("</g>\n");
}

fn summary_line(view: &GraphView) -> String {
    let mut parts = vec![
        counted(view.nodes.len(), "module", "modules"),
        counted(view.edges.len(), "dependency", "dependencies"),
        counted(view.cycles.len(), "cycle", "cycles"),
    ];
    if let Some(tables) = &view.tables {
        parts.push(counted(tables.len(), "table", "tables"));
    }
    if let Some(focus) = &view.focus {
        parts.push(format!("focused on {focus}"));
    }
    parts.join(" · ")
}

fn write_style(out: &mut String, with_layers: bool) {
    let _ = writeln!(
        out,
        "<style>\n\
.sm-graph {{ font-family: {FONT_STACK}; }}\n\
.sm-background {{ fill: #ffffff; }}\n\
.sm-title {{ font-size: 15px; font-weight: 600; fill: #1f2328; }}\n\
.sm-summary {{ font-size: 12px; font-weight: 400; fill: #59636e; }}\n\
.sm-empty {{ font-size: 13px; fill: #59636e; }}\n\
.sm-node rect, .sm-node path {{ fill: #f6f8fa; stroke: #8c959f; stroke-width: 1.2; }}\n\
.sm-node .sm-name {{ font-size: {NAME_SIZE}px; font-weight: 600; fill: #1f2328; text-anchor: middle; }}\n\
.sm-node .sm-detail {{ font-size: {DETAIL_SIZE}px; fill: #59636e; text-anchor: middle; }}\n\
.sm-node.sm-cyclic rect {{ fill: #fff8c5; stroke: #bf8700; }}\n\
.sm-node.sm-focus rect {{ stroke: #0969da; stroke-width: 2.5; }}\n\
.sm-node.sm-table path {{ fill: #ddf4ff; stroke: #54aeff; }}\n\
.sm-node.sm-shared path {{ fill: #ffebe9; stroke: #ff8182; }}\n\
.sm-edge path {{ fill: none; stroke: #6e7781; stroke-width: 1.4; }}\n\
.sm-edge text {{ font-size: {LABEL_SIZE}px; fill: #424a53; text-anchor: middle; dominant-baseline: central; \
}}\n\
.sm-edge rect {{ fill: #ffffff; fill-opacity: 0.88; }}\n\
.sm-edge.sm-cycle path {{ stroke: #24292f; stroke-width: 3; }}\n\
.sm-edge.sm-cycle text {{ font-weight: 600; }}\n\
.sm-edge.sm-declared path {{ stroke: #8c959f; stroke-dasharray: 6 4; }}\n\
.sm-edge.sm-violation path {{ stroke: #cf222e; }}\n\
.sm-edge.sm-violation text {{ fill: #cf222e; font-weight: 600; }}\n\
.sm-edge.sm-owns path {{ stroke: #54aeff; stroke-dasharray: 2 3; }}\n\
.sm-edge.sm-owns text {{ fill: #0969da; }}\n\
.sm-edge.sm-foreign path {{ stroke: #cf222e; stroke-width: 1.8; }}\n\
.sm-edge.sm-foreign text {{ fill: #cf222e; font-weight: 600; }}\n\
.sm-legend text {{ font-size: 11px; fill: #59636e; dominant-baseline: central; }}\n\
{layers}</style>",
        layers = if with_layers { LAYER_STYLE } else { "" },
    );
}

/// The style of the layers' bands, written only into drawings that have them.
const LAYER_STYLE: &str = "\
.sm-layer rect { fill: #eaf2fb; stroke: #c8d6e5; stroke-width: 1; }
.sm-layer.sm-layer-odd rect { fill: #f4eefa; stroke: #dacbe8; }
.sm-layer.sm-layer-none rect { fill: #ffffff; stroke: #d0d7de; stroke-dasharray: 4 3; }
.sm-layer text { font-size: 11px; font-weight: 600; fill: #52606d; }
";

/// Arrowheads in each edge colour and weight. Markers are drawn in user space so that a
/// bold edge does not get a giant arrowhead.
fn write_markers(out: &mut String) {
    out.push_str("<defs>\n");
    for (id, colour, size) in [
        ("plain", "#6e7781", 9.0),
        ("declared", "#8c959f", 9.0),
        ("cycle", "#24292f", 12.0),
        ("violation", "#cf222e", 10.0),
        ("violation-cycle", "#cf222e", 12.0),
    ] {
        let _ = writeln!(
            out,
            "<marker id=\"sm-arrow-{id}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"{size}\" markerHeight=\"{size}\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0 1 L10 5 L0 9 Z\" fill=\"{colour}\"/></marker>",
            size = number(size)
        );
    }
    out.push_str("</defs>\n");
}

fn write_edges(
    out: &mut String,
    view: &GraphView,
    layout: &Layout,
    module_index: &BTreeMap<&str, usize>,
    table_index: &BTreeMap<&str, usize>,
) {
    let node_id = |index: usize| {
        if index < view.nodes.len() { format!("m{index}") } else { format!("t{}", index - view.nodes.len()) }
    };
    let cut = suggested_cuts(view);

    // Red and bold edges are drawn last, so that plain edges never hide them.
    let mut order: Vec<(u8, usize)> = Vec::new();
    for (index, edge) in view.edges.iter().enumerate() {
        let look = EdgeLook::of(edge);
        order.push((u8::from(look.cycle) + 2 * u8::from(look.violation), index));
    }
    for (index, edge) in view.table_edges.iter().enumerate() {
        order.push((2 * u8::from(edge.foreign), view.edges.len() + index));
    }
    order.sort();

    out.push_str("<g class=\"sm-edges\">\n");
    for (_, index) in order {
        let Some(route) = layout.edges.get(index) else { continue };
        if route.path.is_empty() {
            continue;
        }
        let (classes, marker, from, to, label, description) = if let Some(edge) = view.edges.get(index) {
            let look = EdgeLook::of(edge);
            let mut classes = vec!["sm-edge"];
            if look.cycle {
                classes.push("sm-cycle");
            }
            if look.violation {
                classes.push("sm-violation");
            }
            if look.declared_only {
                classes.push("sm-declared");
            }
            let mut description = edge_description(edge);
            if cut.contains(&(edge.from.as_str(), edge.to.as_str())) {
                classes.push("sm-cut");
                description.push_str("; suggested cut");
            }
            let marker = match (look.violation, look.cycle, look.declared_only) {
                (true, true, _) => "violation-cycle",
                (true, false, _) => "violation",
                (false, true, _) => "cycle",
                (false, false, true) => "declared",
                (false, false, false) => "plain",
            };
            let from = module_index.get(edge.from.as_str()).copied().unwrap_or_default();
            let to = module_index.get(edge.to.as_str()).copied().unwrap_or_default();
            (classes, Some(marker), from, to, drawn_edge_label(edge, &cut), description)
        } else {
            let Some(edge) = view.table_edges.get(index - view.edges.len()) else { continue };
            let mut classes = vec!["sm-edge", "sm-table-edge"];
            let marker = match (edge.kind, edge.foreign) {
                (TableEdgeKind::Owns, _) => {
                    classes.push("sm-owns");
                    None
                }
                (TableEdgeKind::Accesses, true) => {
                    classes.push("sm-foreign");
                    Some("violation")
                }
                (TableEdgeKind::Accesses, false) => Some("plain"),
            };
            let description = match edge.kind {
                TableEdgeKind::Owns => format!("{} owns table {}", edge.module, edge.table),
                TableEdgeKind::Accesses if edge.foreign => format!(
                    "{} touches table {}, owned by another module: {}",
                    edge.module,
                    edge.table,
                    counted(edge.count, "reference", "references")
                ),
                TableEdgeKind::Accesses => format!(
                    "{} touches table {}: {}",
                    edge.module,
                    edge.table,
                    counted(edge.count, "reference", "references")
                ),
            };
            let from = module_index.get(edge.module.as_str()).copied().unwrap_or_default();
            let to = table_index.get(edge.table.as_str()).copied().unwrap_or_default();
            (classes, marker, from, to, table_edge_label(edge), description)
        };
        let _ = writeln!(
            out,
            "<g class=\"{}\" data-from=\"{}\" data-to=\"{}\"><title>{}</title><path d=\"{}\"{}/>{}<text x=\"{}\" y=\"{}\">{}</text></g>",
            classes.join(" "),
            node_id(from),
            node_id(to),
            escape_xml(&description, XmlContext::Markup),
            route.path,
            marker.map(|marker| format!(" marker-end=\"url(#sm-arrow-{marker})\"")).unwrap_or_default(),
            label_plate(&label, route.label.x, route.label.y),
            number(route.label.x),
            number(route.label.y),
            escape_xml(&label, XmlContext::Markup)
        );
    }
    out.push_str("</g>\n");
}

/// A white plate behind an edge label, so that the line it sits on does not run through it.
fn label_plate(label: &str, centre_x: f64, centre_y: f64) -> String {
    let width = text_width(label, LABEL_SIZE) + 4.0;
    let height = LABEL_SIZE + 4.0;
    format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\"/>",
        number(centre_x - width / 2.0),
        number(centre_y - height / 2.0),
        number(width),
        number(height)
    )
}

/// The label of a module edge in the drawing: the shared label, with scissors on an edge
/// that the cycle rule suggests cutting.
fn drawn_edge_label(edge: &ModuleEdge, cuts: &BTreeSet<(&str, &str)>) -> String {
    let label = edge_label(edge);
    if cuts.contains(&(edge.from.as_str(), edge.to.as_str())) { format!("{label} {CUT_MARK}") } else { label }
}

/// The edges that the cycle rule suggests cutting, as (from, to).
fn suggested_cuts(view: &GraphView) -> BTreeSet<(&str, &str)> {
    view.cycles
        .iter()
        .flat_map(|cycle| cycle.suggested_cuts.iter().map(|cut| (cut.from.as_str(), cut.to.as_str())))
        .collect()
}

fn write_nodes(out: &mut String, view: &GraphView, drawn: &[Drawn], layout: &Layout) {
    let in_cycle: BTreeSet<&str> =
        view.cycles.iter().flat_map(|cycle| cycle.modules.iter().map(String::as_str)).collect();
    out.push_str("<g class=\"sm-nodes\">\n");
    for (node, placed) in drawn.iter().zip(&layout.nodes) {
        let centre_x = placed.x + placed.width / 2.0;
        match node {
            Drawn::Module(index, module) => {
                let mut classes = vec!["sm-node", "sm-module"];
                if in_cycle.contains(module.name.as_str()) {
                    classes.push("sm-cyclic");
                }
                if view.focus.as_ref() == Some(&module.name) {
                    classes.push("sm-focus");
                }
                let tooltip = format!(
                    "{} (crate {}): {}, fan-in {}, fan-out {}",
                    module.name,
                    module.crate_name,
                    size_label(module),
                    module.metrics.fan_in,
                    module.metrics.fan_out
                );
                let _ = writeln!(
                    out,
                    "<g class=\"{}\" id=\"sm-m{index}\" data-node=\"m{index}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"7\"/><text class=\"sm-name\" x=\"{cx}\" y=\"{}\">{}</text><text class=\"sm-detail\" x=\"{cx}\" y=\"{}\">{}</text></g>",
                    classes.join(" "),
                    escape_xml(&tooltip, XmlContext::Markup),
                    number(placed.x),
                    number(placed.y),
                    number(placed.width),
                    number(placed.height),
                    number(placed.y + 20.0),
                    escape_xml(&module.name, XmlContext::Markup),
                    number(placed.y + 36.0),
                    escape_xml(&size_label(module), XmlContext::Markup),
                    cx = number(centre_x),
                );
            }
            Drawn::Table(index, table) => {
                let class = if table.owners.len() > 1 { "sm-node sm-table sm-shared" } else { "sm-node sm-table" };
                let (x, y, w, h) = (placed.x, placed.y, placed.width, placed.height);
                let radius_y = 6.0;
                let rx = number(w / 2.0);
                let ry = number(radius_y);
                // A cylinder: the body with a rounded bottom, then the front rim of the lid.
                let path = format!(
                    "M{x0} {top} V{bottom} A{rx} {ry} 0 0 0 {x1} {bottom} V{top} A{rx} {ry} 0 0 0 {x0} {top} Z M{x0} {top} A{rx} {ry} 0 0 0 {x1} {top}",
                    x0 = number(x),
                    x1 = number(x + w),
                    top = number(y + radius_y),
                    bottom = number(y + h - radius_y),
                );
                let _ = writeln!(
                    out,
                    "<g class=\"{class}\" id=\"sm-t{index}\" data-node=\"t{index}\"><title>{}</title><path d=\"{path}\"/><text class=\"sm-name\" x=\"{cx}\" y=\"{}\">{}</text><text class=\"sm-detail\" x=\"{cx}\" y=\"{}\">{}</text></g>",
                    escape_xml(&format!("table {}: {}", table.name, owner_label(table)), XmlContext::Markup),
                    number(y + 28.0),
                    escape_xml(&table.name, XmlContext::Markup),
                    number(y + 43.0),
                    escape_xml(&owner_label(table), XmlContext::Markup),
                    cx = number(x + w / 2.0),
                );
            }
        }
    }
    out.push_str("</g>\n");
}

/// One entry of the legend: a line sample and what it means.
pub(super) struct LegendItem {
    pub(super) classes: &'static str,
    pub(super) marker: Option<&'static str>,
    /// A mark drawn on the middle of the sample line, as on the edges it stands for.
    pub(super) glyph: Option<&'static str>,
    pub(super) text: &'static str,
}

impl LegendItem {
    fn width(&self) -> f64 {
        36.0 + 8.0 + text_width(self.text, 11.0) + 22.0
    }
}

/// The legend entries that matter for this view (table entries only with `--tables`).
pub(super) fn legend_items(view: &GraphView) -> Vec<LegendItem> {
    let mut items = vec![
        LegendItem {
            classes: "sm-edge",
            marker: Some("plain"),
            glyph: None,
            text: "allowed dependency (reference count)",
        },
        LegendItem {
            classes: "sm-edge sm-violation",
            marker: Some("violation"),
            glyph: None,
            text: "carries violations",
        },
        LegendItem { classes: "sm-edge sm-cycle", marker: Some("cycle"), glyph: None, text: "part of a cycle" },
        LegendItem {
            classes: "sm-edge sm-declared",
            marker: Some("declared"),
            glyph: None,
            text: "declared in Cargo.toml only",
        },
    ];
    if view.tables.is_some() {
        items.push(LegendItem { classes: "sm-edge sm-owns", marker: None, glyph: None, text: "owns table" });
        items.push(LegendItem {
            classes: "sm-edge sm-foreign",
            marker: Some("violation"),
            glyph: None,
            text: "touches a foreign table",
        });
    }
    if view.cycles.iter().any(|cycle| !cycle.suggested_cuts.is_empty()) {
        items.push(LegendItem {
            classes: "sm-edge sm-cycle",
            marker: Some("cycle"),
            glyph: Some(CUT_MARK),
            text: "suggested cut",
        });
    }
    items
}

/// A legend sample line as an SVG fragment, at the origin, 36 units long.
pub(super) fn legend_sample(item: &LegendItem) -> String {
    let glyph = item
        .glyph
        .map(|glyph| {
            format!(
                "{}<text x=\"16\" y=\"9\">{}</text>",
                label_plate(glyph, 16.0, 9.0),
                escape_xml(glyph, XmlContext::Markup)
            )
        })
        .unwrap_or_default();
    format!(
        "<g class=\"{}\"><path d=\"M2 9 H34\"{}/>{glyph}</g>",
        item.classes,
        item.marker.map(|marker| format!(" marker-end=\"url(#sm-arrow-{marker})\"")).unwrap_or_default()
    )
}

fn write_legend(out: &mut String, items: &[LegendItem], left: f64, top: f64) {
    let _ = writeln!(out, "<g class=\"sm-legend\" transform=\"translate({} {})\">", number(left), number(top));
    let mut x = 0.0;
    for item in items {
        let _ = writeln!(
            out,
            "<g transform=\"translate({} 0)\">{}<text x=\"44\" y=\"9\">{}</text></g>",
            number(x),
            legend_sample(item),
            escape_xml(item.text, XmlContext::Markup)
        );
        x += item.width();
    }
    out.push_str("</g>\n");
}

/// The width of a node's box: its longer line plus padding.
fn box_width(name: &str, detail: &str) -> f64 {
    (text_width(name, NAME_SIZE) * 1.1).max(text_width(detail, DETAIL_SIZE)).max(60.0) + 28.0
}

/// Estimates the rendered width of a text in a sans-serif interface font.
///
/// There are no font metrics without a font file, so this uses advance widths close to the
/// widest common fallback, DejaVu Sans (Linux), which runs about a tenth wider than Helvetica
/// or Segoe UI and far wider on symbols such as `<` or `#`. Erring wide is deliberate: a box
/// that is a little roomy on a Mac reads better than a name that spills out of it on Linux.
pub(super) fn text_width(text: &str, font_size: f64) -> f64 {
    let ems: f64 = text
        .chars()
        .map(|character| match character {
            'i' | 'j' | 'l' | '\'' | '|' => 0.3,
            '.' | ',' | ':' | ';' | '!' | 'I' | ' ' | '\\' | '/' => 0.35,
            'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' => 0.42,
            '"' | '`' | '*' => 0.5,
            '{' | '}' | 's' | 'c' | 'z' => 0.6,
            'm' | 'w' => 0.98,
            'M' | 'W' | '%' => 1.0,
            '<' | '>' | '=' | '+' | '~' | '^' | '#' | '@' | '&' => 0.86,
            'A'..='Z' => 0.74,
            'a'..='z' | '0'..='9' | '_' | '$' | '?' => 0.64,
            '·' | '✗' => 0.5,
            '✂' => 1.0,
            character if character.is_ascii() => 0.6,
            // Wide scripts (CJK and the like) take about a full em; other letters about 0.7.
            character if (character as u32) >= 0x1100 => 1.0,
            _ => 0.7,
        })
        .sum();
    ems * font_size
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::*;

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|error| panic!("invalid XML: {error}\n{svg}"))
    }

    #[test]
    fn the_shop_parses_as_svg_with_every_node_and_edge() {
        let svg = render_svg(&shop_with_tables()).unwrap();
        let document = parse(&svg);
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
        let groups_with = |class: &str| {
            document
                .descendants()
                .filter(|node| node.attribute("class").is_some_and(|classes| classes.split(' ').any(|c| c == class)))
                .count()
        };
        assert_eq!(groups_with("sm-module"), 6);
        assert_eq!(groups_with("sm-table"), 2);
        // Seven module edges and three table edges, plus one legend sample of each kind (the
        // suggested-cut sample is drawn as a cycle edge).
        assert_eq!(groups_with("sm-edge"), 10 + 7);
        assert_eq!(groups_with("sm-cycle"), 3 + 2);
        assert_eq!(groups_with("sm-violation"), 1 + 1);
        assert_eq!(groups_with("sm-declared"), 1 + 1);
        assert_eq!(groups_with("sm-foreign"), 1 + 1);
        assert_eq!(groups_with("sm-cut"), 1);
        let texts: Vec<&str> = document.descendants().filter_map(|node| node.text()).collect();
        assert!(texts.contains(&"orders"));
        assert!(texts.contains(&"12 files · 1,480 lines"));
        assert!(texts.contains(&"2 (2 ✗) ✂"), "the suggested cut is marked");
        assert!(texts.contains(&"14"));
        assert!(texts.contains(&"declared only"));
        assert!(texts.contains(&"owned by orders"));
    }

    #[test]
    fn layers_are_bands_across_the_drawing_that_hold_their_modules() {
        let svg = render_svg(&shop_in_layers()).unwrap();
        let document = parse(&svg);
        let number = |node: roxmltree::Node<'_, '_>, name: &str| node.attribute(name).unwrap().parse::<f64>().unwrap();
        let width = number(document.root_element(), "width");
        let bands: Vec<(String, f64, f64)> = document
            .descendants()
            .filter(|node| {
                node.attribute("class").is_some_and(|classes| classes.starts_with("sm-layer ") || classes == "sm-layer")
            })
            .map(|band| {
                let rect = band.children().find(|child| child.has_tag_name("rect")).unwrap();
                assert!(number(rect, "width") > width * 0.9, "a band spans the drawing");
                let label = band.children().find(|child| child.has_tag_name("text")).unwrap().text().unwrap();
                (label.to_owned(), number(rect, "y"), number(rect, "y") + number(rect, "height"))
            })
            .collect();
        let labels: Vec<&str> = bands.iter().map(|(label, ..)| label.as_str()).collect();
        assert_eq!(labels, ["layer 1 · shipping", "layer 2 · orders | billing", "in no layer"]);
        for pair in bands.windows(2) {
            assert!(pair[0].2 <= pair[1].1, "bands overlap or are out of order: {pair:?}");
        }
        // Each module's box lies inside the band of its layer.
        let band_of = |module: &str| match module {
            "shipping" => 0,
            "orders" | "billing" => 1,
            _ => 2,
        };
        for module in document.descendants().filter(|node| {
            node.attribute("class").is_some_and(|classes| classes.split(' ').any(|class| class == "sm-module"))
        }) {
            let name = module
                .children()
                .find(|child| child.attribute("class") == Some("sm-name"))
                .and_then(|text| text.text())
                .unwrap();
            let rect = module.children().find(|child| child.has_tag_name("rect")).unwrap();
            let (_, top, bottom) = &bands[band_of(name)];
            let y = number(rect, "y");
            assert!(*top < y && y + number(rect, "height") < *bottom, "{name} is outside its band");
        }
    }

    #[test]
    fn a_view_without_layers_draws_no_band() {
        let svg = render_svg(&shop()).unwrap();
        assert!(!svg.contains("sm-layer"), "{svg}");
    }

    #[test]
    fn edges_carry_their_ends_and_markers() {
        let svg = render_svg(&shop()).unwrap();
        let document = parse(&svg);
        let violation = document
            .descendants()
            .find(|node| node.attribute("class") == Some("sm-edge sm-cycle sm-violation sm-cut"))
            .unwrap();
        // billing is module 0 and orders module 2.
        assert_eq!(violation.attribute("data-from"), Some("m0"));
        assert_eq!(violation.attribute("data-to"), Some("m2"));
        let path = violation.children().find(|node| node.has_tag_name("path")).unwrap();
        assert_eq!(path.attribute("marker-end"), Some("url(#sm-arrow-violation-cycle)"));
    }

    #[test]
    fn hostile_names_are_escaped() {
        let svg = render_svg(&hostile()).unwrap();
        let document = parse(&svg);
        let texts: Vec<&str> = document.descendants().filter_map(|node| node.text()).collect();
        assert!(texts.contains(&"a-b.c\"d<e>&f'g#h;i|j`k%l{m}n[o]p\\q r\u{FFFD}s end"));
        assert!(texts.contains(&"t\"<x>"));
        assert!(!svg.contains("<script>"));
        assert!(texts.iter().any(|text| text.contains("<script>alert(1)</script>")));
    }

    #[test]
    fn an_inconsistent_view_is_an_error_not_a_panic() {
        let mut view = shop();
        view.edges[0].to = "nowhere".into();
        assert!(matches!(render_svg(&view), Err(RenderError::UnknownModule { .. })));
    }

    #[test]
    fn an_empty_view_still_draws() {
        let mut view = shop();
        view.nodes.clear();
        view.edges.clear();
        view.cycles.clear();
        let svg = render_svg(&view).unwrap();
        parse(&svg);
        assert!(svg.contains("No modules to draw."));
    }

    #[test]
    fn output_is_deterministic() {
        let view = shop_with_tables();
        assert_eq!(render_svg(&view), render_svg(&view.clone()));
    }

    #[test]
    fn the_inline_drawing_has_no_namespace_and_no_legend() {
        let svg = render_inline_svg(&shop()).unwrap();
        assert!(svg.starts_with("<svg style=\"min-width:"));
        assert!(!svg.contains("http"));
        assert!(!svg.contains("sm-legend\""));
    }

    #[test]
    fn text_width_grows_with_text_and_size() {
        assert!(text_width("payments", 14.0) > text_width("users", 14.0));
        assert!(text_width("users", 14.0) > text_width("users", 11.0));
        assert_eq!(text_width("", 14.0), 0.0);
    }
}
