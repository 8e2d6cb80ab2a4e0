//! `layer-violation`: a module uses a module of a higher layer, or of its own layer.
//!
//! # What it checks
//! `[layers] order` lists layers from the highest to the lowest; `"a | b"` puts modules in one
//! layer. A module in a layer may use modules of lower layers only. Every path written in its code
//! that points into a module of a higher layer, or into another module of its own layer, is
//! reported where it is written, as `undeclared-dependency` is. A chain that reaches such a module
//! through modules that are not in `order` (`domain → util → web`) is reported too: once per pair
//! of layered modules, with the shortest such chain, at the first reference of its first step.
//! Modules not named in `order` are otherwise free.
//!
//! # Why it matters
//! Layers are the simplest architecture to read and the easiest to erode: one upward reference
//! couples a lower layer to everything above it, and a detour through a helper module hides it.
//!
//! # Example
//! ```toml
//! [layers]
//! order = ["web", "orders | payments", "domain", "storage"]
//! ```

use super::chains::{ChainRule, chain_violation, direct_violations};
use crate::diagnostic::Violation;
use crate::model::{Model, ModuleId};

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    if model.config.layers.is_empty() {
        return;
    }
    let layer = |module: ModuleId| model.modules[module].layer;
    // A use is upward when the used module's layer is not below the user's.
    let upward = |from: ModuleId, to: ModuleId| match (layer(from), layer(to)) {
        (Some(from_layer), Some(to_layer)) => from != to && to_layer <= from_layer,
        _ => false,
    };
    direct_violations(model, &ChainRule::Layers, &upward, sink);
    let names = model.module_names();
    for (from, _) in model.modules.with_ids().filter(|(id, _)| layer(*id).is_some()) {
        let unlayered = |module: ModuleId| layer(module).is_none();
        let chains = model.graph.shortest_chains(&names, from, unlayered, unlayered);
        for (to, _) in model.modules.with_ids().filter(|(to, _)| upward(from, *to)) {
            if let Some(chain) = chains.chain_to(to).filter(|chain| chain.len() > 2) {
                sink.push(chain_violation(model, &ChainRule::Layers, &chain));
            }
        }
    }
}
