//! Shortest chains of modules: one breadth-first search over the module graph's code edges per
//! start module, which the chain rules ask once per check rather than once per reference.

use std::collections::VecDeque;

use petgraph::visit::EdgeRef;

use super::edges::ModuleGraph;
use crate::ids::ModuleId;

/// The shortest chains of code edges from one module, as a breadth-first search found them.
#[derive(Debug, Clone)]
pub(crate) struct Chains {
    start: ModuleId,
    /// For each reached module, the module before it on its shortest chain.
    previous: Vec<Option<ModuleId>>,
}

impl Chains {
    /// The modules from the start to `to`, both included, when the search reached `to`.
    pub(crate) fn chain_to(&self, to: ModuleId) -> Option<Vec<ModuleId>> {
        let mut chain = vec![to];
        let mut current = to;
        while current != self.start {
            current = self.previous[current.index()]?;
            chain.push(current);
        }
        chain.reverse();
        Some(chain)
    }
}

impl ModuleGraph {
    /// The shortest chains from `start` along edges that code makes. A chain's first step goes
    /// to a module that `first_step` accepts; it goes on only from modules that `through` accepts,
    /// and never comes back to `start`. Neighbours are visited in the order of their names, so
    /// that of several shortest chains the alphabetically first is kept.
    pub(crate) fn shortest_chains(
        &self,
        names: &[&str],
        start: ModuleId,
        first_step: impl Fn(ModuleId) -> bool,
        through: impl Fn(ModuleId) -> bool,
    ) -> Chains {
        let mut previous = vec![None; self.node_count()];
        let mut queue = VecDeque::from([start]);
        let mut visited = vec![false; self.node_count()];
        visited[start.index()] = true;
        while let Some(module) = queue.pop_front() {
            if module != start && !through(module) {
                continue;
            }
            for next in self.code_successors(names, module) {
                if visited[next.index()] || (module == start && !first_step(next)) {
                    continue;
                }
                visited[next.index()] = true;
                previous[next.index()] = Some(module);
                queue.push_back(next);
            }
        }
        Chains { start, previous }
    }

    /// The modules that `module`'s code uses, sorted by name.
    fn code_successors(&self, names: &[&str], module: ModuleId) -> Vec<ModuleId> {
        let mut next: Vec<ModuleId> = self
            .graph
            .edges(self.node(module))
            .filter(|edge| edge.weight().is_actual())
            .map(|edge| self.graph[edge.target()])
            .collect();
        next.sort_by(|a, b| names[a.index()].cmp(names[b.index()]));
        next.dedup();
        next
    }
}
