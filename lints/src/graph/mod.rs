//! The module graph: modules as nodes, references between them as edges, with the evidence of
//! each edge; its cycles, each with a shortest path round it and the cheapest edges to cut.
//!
//! It knows modules only by [`ModuleId`](crate::ids::ModuleId) and name: the model builds it from
//! its references and Cargo's declared dependencies, and keeps it for the rules and reports.

mod cycles;
mod edges;
mod paths;

pub(crate) use cycles::{Cycle, find_cycles};
pub(crate) use edges::{Dependency, EvidenceSite, ModuleGraph};
