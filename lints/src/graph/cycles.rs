//! Dependency cycles: the strongly connected components of the code edges, a shortest cycle of
//! each, and the edges whose removal breaks every cycle while rewriting the fewest sites.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::algo::tarjan_scc;

use crate::ids::ModuleId;

use super::edges::{Dependency, ModuleGraph};

/// Components with at most this many edges get an exhaustive minimum cut; larger ones a greedy one.
const EXACT_CUT_MAX_EDGES: usize = 16;

/// A dependency cycle: one strongly connected component of two or more modules.
#[derive(Debug, Clone)]
pub(crate) struct Cycle {
    /// The component's modules, sorted by name.
    pub(crate) modules: Vec<ModuleId>,
    /// A shortest cycle of the component, from its alphabetically first module, which is repeated
    /// at the end (see [`shortest_cycle`]).
    pub(crate) cycle: Vec<ModuleId>,
    /// Edges whose removal breaks every cycle of the component, sorted by names.
    pub(crate) cuts: Vec<(ModuleId, ModuleId)>,
    /// Whether `cuts` is proven minimal.
    pub(crate) exact: bool,
}

/// Every dependency cycle, one per strongly connected component of actual (code) edges,
/// sorted by the name of each component's first module.
pub(crate) fn find_cycles(graph: &ModuleGraph, names: &[&str]) -> Vec<Cycle> {
    let mut code_only = graph.graph.clone();
    code_only.retain_edges(|graph, edge| graph[edge].is_actual());
    let mut cycles: Vec<Cycle> = tarjan_scc(&code_only)
        .into_iter()
        .filter(|component| component.len() >= 2)
        .map(|component| {
            let mut modules: Vec<ModuleId> = component.into_iter().map(|node| code_only[node]).collect();
            modules.sort_by(|a, b| names[a.index()].cmp(names[b.index()]));
            let members: BTreeSet<ModuleId> = modules.iter().copied().collect();
            let successors: BTreeMap<ModuleId, Vec<ModuleId>> =
                modules.iter().map(|module| (*module, graph.successors(names, *module, &members))).collect();
            let cycle = shortest_cycle(&modules, &successors);
            let (cuts, exact) = minimum_cuts(graph, names, &members);
            Cycle { modules, cycle, cuts, exact }
        })
        .collect();
    cycles.sort_by(|a, b| names[a.modules[0].index()].cmp(names[b.modules[0].index()]));
    cycles
}

/// The edges to cut: the fewest reference sites whose removal makes the component acyclic
/// (then the fewest edges, then the alphabetically first list), exhaustively for small
/// components and greedily for large ones.
fn minimum_cuts(
    graph: &ModuleGraph,
    names: &[&str],
    members: &BTreeSet<ModuleId>,
) -> (Vec<(ModuleId, ModuleId)>, bool) {
    let mut edges: Vec<(ModuleId, ModuleId, usize)> = Vec::new();
    for &from in members {
        for to in graph.successors(names, from, members) {
            let count = graph.dependency(from, to).map_or(0, Dependency::count);
            edges.push((from, to, count));
        }
    }
    let cut_names = |cut: &[(ModuleId, ModuleId)]| -> Vec<(String, String)> {
        let mut listed: Vec<(String, String)> =
            cut.iter().map(|(from, to)| (names[from.index()].to_owned(), names[to.index()].to_owned())).collect();
        listed.sort();
        listed
    };
    let sort_cut = |mut cut: Vec<(ModuleId, ModuleId)>| {
        cut.sort_by(|a, b| (names[a.0.index()], names[a.1.index()]).cmp(&(names[b.0.index()], names[b.1.index()])));
        cut
    };
    if edges.len() <= EXACT_CUT_MAX_EDGES {
        let mut best: Option<CutCandidate> = None;
        for mask in 0u32..(1u32 << edges.len()) {
            let weight: usize = (0..edges.len()).filter(|bit| mask & (1 << bit) != 0).map(|bit| edges[bit].2).sum();
            if best.as_ref().is_some_and(|(best_weight, ..)| weight > *best_weight) {
                continue;
            }
            let kept: Vec<(ModuleId, ModuleId)> =
                (0..edges.len()).filter(|bit| mask & (1 << bit) == 0).map(|bit| (edges[bit].0, edges[bit].1)).collect();
            if has_cycle(members, &kept) {
                continue;
            }
            let cut: Vec<(ModuleId, ModuleId)> =
                (0..edges.len()).filter(|bit| mask & (1 << bit) != 0).map(|bit| (edges[bit].0, edges[bit].1)).collect();
            let key = (weight, cut.len(), cut_names(&cut));
            let better = match &best {
                None => true,
                Some((w, n, listed, _)) => (key.0, key.1, &key.2) < (*w, *n, listed),
            };
            if better {
                best = Some((key.0, key.1, key.2, cut));
            }
        }
        return (sort_cut(best.map(|(.., cut)| cut).unwrap_or_default()), true);
    }
    // Greedy: while a cycle remains, cut the lightest edge of the shortest cycle found.
    let mut kept: Vec<(ModuleId, ModuleId, usize)> = edges;
    let mut cut = Vec::new();
    while let Some(cycle_edges) = find_cycle(members, &kept) {
        let lightest = cycle_edges
            .into_iter()
            .min_by(|a, b| {
                (a.2, names[a.0.index()], names[a.1.index()]).cmp(&(b.2, names[b.0.index()], names[b.1.index()]))
            })
            .unwrap_or((ModuleId::new(0), ModuleId::new(0), 0));
        kept.retain(|edge| (edge.0, edge.1) != (lightest.0, lightest.1));
        cut.push((lightest.0, lightest.1));
    }
    (sort_cut(cut), false)
}

/// A set of edges to cut with its ranking key: total sites, number of edges, sorted names.
type CutCandidate = (usize, usize, Vec<(String, String)>, Vec<(ModuleId, ModuleId)>);

/// A shortest cycle of a component: a breadth-first search from every module, in alphabetical
/// order, each visiting neighbours in alphabetical order. Of the shortest cycles found, the one
/// from the alphabetically first start wins, so the cycle starts (and ends) at its own
/// alphabetically first module, and among the shortest cycles through that module it is the
/// first in alphabetical order of its path.
///
/// `modules` are sorted by name, and `successors` lists each one's neighbours inside the
/// component, sorted by name.
fn shortest_cycle(modules: &[ModuleId], successors: &BTreeMap<ModuleId, Vec<ModuleId>>) -> Vec<ModuleId> {
    let mut best: Option<Vec<ModuleId>> = None;
    for &start in modules {
        let Some(cycle) = shortest_cycle_through(start, successors) else { continue };
        if best.as_ref().is_none_or(|best| cycle.len() < best.len()) {
            // Two modules and the repeated start: no cycle is shorter.
            let shortest_possible = cycle.len() == 3;
            best = Some(cycle);
            if shortest_possible {
                break;
            }
        }
    }
    best.unwrap_or_else(|| modules.iter().take(1).chain(modules.iter().take(1)).copied().collect())
}

/// The shortest cycle through `start`, by breadth-first search; it starts and ends with `start`.
fn shortest_cycle_through(start: ModuleId, successors: &BTreeMap<ModuleId, Vec<ModuleId>>) -> Option<Vec<ModuleId>> {
    let mut parent: BTreeMap<ModuleId, ModuleId> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    let mut seen = BTreeSet::from([start]);
    while let Some(current) = queue.pop_front() {
        let next = successors.get(&current).map(Vec::as_slice).unwrap_or_default();
        if next.contains(&start) {
            let mut chain = Vec::new();
            let mut node = current;
            while node != start {
                chain.push(node);
                // Every visited module but the start has a parent.
                let Some(previous) = parent.get(&node) else { break };
                node = *previous;
            }
            chain.reverse();
            let mut path = vec![start];
            path.extend(chain);
            path.push(start);
            return Some(path);
        }
        for &next in next {
            if seen.insert(next) {
                parent.insert(next, current);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Whether the edges form a cycle among the members.
fn has_cycle(members: &BTreeSet<ModuleId>, edges: &[(ModuleId, ModuleId)]) -> bool {
    let weighted: Vec<(ModuleId, ModuleId, usize)> = edges.iter().map(|(from, to)| (*from, *to, 0)).collect();
    find_cycle(members, &weighted).is_some()
}

/// Some cycle among the edges, as its list of edges, found by depth-first search.
fn find_cycle(
    members: &BTreeSet<ModuleId>,
    edges: &[(ModuleId, ModuleId, usize)],
) -> Option<Vec<(ModuleId, ModuleId, usize)>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks: BTreeMap<ModuleId, Mark> = members.iter().map(|member| (*member, Mark::New)).collect();
    for &root in members {
        if marks[&root] != Mark::New {
            continue;
        }
        // An explicit stack of (node, next edge index), so that large graphs cannot overflow.
        let mut stack: Vec<(ModuleId, usize)> = vec![(root, 0)];
        let mut path: Vec<(ModuleId, ModuleId, usize)> = Vec::new();
        marks.insert(root, Mark::Active);
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            let outgoing: Vec<&(ModuleId, ModuleId, usize)> = edges.iter().filter(|edge| edge.0 == node).collect();
            if let Some(edge) = outgoing.get(*next) {
                *next += 1;
                let edge = **edge;
                match marks.get(&edge.1).copied() {
                    Some(Mark::New) => {
                        marks.insert(edge.1, Mark::Active);
                        path.push(edge);
                        stack.push((edge.1, 0));
                    }
                    Some(Mark::Active) => {
                        let start = path.iter().position(|step| step.0 == edge.1).unwrap_or(path.len());
                        let mut cycle = path[start..].to_vec();
                        cycle.push(edge);
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                marks.insert(node, Mark::Done);
                stack.pop();
                path.pop();
            }
        }
    }
    None
}
