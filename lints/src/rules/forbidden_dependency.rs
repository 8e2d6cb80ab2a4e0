//! `forbidden-dependency`: a module reaches a module that its `forbid` names.
//!
//! # What it checks
//! `forbid = ["web"]` on a module says that it must not reach `web` by any chain of modules.
//! Every path written in its code that points into `web` is reported where it is written; a chain
//! through other modules (`domain → util → web`) is reported once, with the shortest such chain,
//! at the first reference of its first step.
//!
//! # Why it matters
//! Some dependencies must never exist, whatever the modules in between: the domain must not
//! reach the web layer, a library must not reach the binary's wiring. A direct check misses the
//! detour that a helper module opens.
//!
//! # Example
//! ```toml
//! [modules.domain]
//! crate = "shop"
//! path = "domain"
//! forbid = ["web"]
//! ```

use super::chains::{ChainRule, chain_violation, direct_violations};
use crate::diagnostic::Violation;
use crate::model::{Model, ModuleId};

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    let forbids = |from: ModuleId, to: ModuleId| model.modules[from].forbid.contains(&to);
    direct_violations(model, &ChainRule::Forbid, &forbids, sink);
    let names = model.module_names();
    for (from, module) in model.modules.with_ids().filter(|(_, module)| !module.forbid.is_empty()) {
        // One search serves every forbidden module that `from` does not use directly; one that it
        // does is searched for again without that first step, so that its detours are found too.
        let any_chain = model.graph.shortest_chains(&names, from, |_| true, |_| true);
        for &to in &module.forbid {
            let direct = model.graph.dependency(from, to).is_some_and(|edge| edge.is_actual());
            let chain = if direct {
                model.graph.shortest_chains(&names, from, |next| next != to, |_| true).chain_to(to)
            } else {
                any_chain.chain_to(to)
            };
            if let Some(chain) = chain.filter(|chain| chain.len() > 2) {
                sink.push(chain_violation(model, &ChainRule::Forbid, &chain));
            }
        }
    }
}
