//! The module graph: modules as nodes, references between them as edges, for the cycle rule and
//! for `cargo xtask graph`.

pub mod render;
