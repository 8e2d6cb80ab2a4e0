//! The five output formats of `cargo xtask graph`, drawn from one plain [`GraphView`].
//!
//! The checker fills a [`GraphView`] from its module model (with `--focus` already applied),
//! and each renderer turns it into text. Renderers never look at the workspace: everything
//! they draw is in the view, so that a JSON view saved yesterday can be drawn again today.
//!
//! Every renderer is deterministic: the same view always gives byte-identical output, which
//! is what lets the rendered graph of this repository live in `docs/` under a staleness test.

mod build;
mod dot;
mod html;
mod json;
mod labels;
mod layout;
mod mermaid;
#[cfg(test)]
mod sample;
mod svg;
mod view;

pub use build::{ViewError, ViewOptions, build_view};
pub use dot::render_dot;
pub use html::render_html;
pub use json::render_json;
pub use mermaid::render_mermaid;
pub use svg::render_svg;
pub use view::{
    CutSearch, CycleView, EdgeKind, ExtractionBlocker, GraphView, ModuleEdge, ModuleMetrics, ModuleNode, RenderError,
    SuggestedCut, TableEdge, TableEdgeKind, TableNode,
};
