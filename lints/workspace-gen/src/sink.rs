//! Writing files one at a time while keeping track of positions, and recording what the checker
//! must find: planted violations, table claims, and every reference site between modules (the
//! edges of the module graph, needed to predict how cycles are reported).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::GenError;

/// The marker written in templates before the token at which a site starts; it never reaches a
/// file.
pub const MARK: char = '§';

/// A position in a file: the file relative to the workspace root, and 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// One file being written: text is kept per file only, and flushed when the file is done.
#[derive(Debug)]
pub struct SourceFile {
    pub relative: String,
    text: String,
    line: usize,
}

impl SourceFile {
    pub fn new(relative: impl Into<String>) -> SourceFile {
        SourceFile { relative: relative.into(), text: String::with_capacity(16 * 1024), line: 1 }
    }

    /// Writes one line (without its newline).
    pub fn line(&mut self, text: &str) {
        debug_assert!(!text.contains('\n') && !text.contains(MARK));
        self.text.push_str(text);
        self.text.push('\n');
        self.line += 1;
    }

    /// Writes one line with `§` markers, and returns the position of each marked token.
    pub fn marked(&mut self, text: &str) -> Vec<Position> {
        let mut positions = Vec::new();
        let mut column = 1;
        for character in text.chars() {
            if character == MARK {
                positions.push(Position { file: self.relative.clone(), line: self.line, column });
            } else {
                self.text.push(character);
                column += 1;
            }
        }
        self.text.push('\n');
        self.line += 1;
        positions
    }

    /// Lines written so far.
    pub fn lines(&self) -> usize {
        self.line - 1
    }

    pub fn finish(self, root: &Path, stats: &mut Stats) -> Result<(), GenError> {
        let path = root.join(&self.relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| GenError::Io { path: parent.to_owned(), source })?;
        }
        let io = |source| GenError::Io { path: path.clone(), source };
        let mut writer = BufWriter::new(File::create(&path).map_err(io)?);
        writer.write_all(self.text.as_bytes()).map_err(io)?;
        writer.flush().map_err(io)?;
        stats.files += 1;
        if self.relative.ends_with(".rs") {
            stats.rust_files += 1;
            stats.rust_lines += self.line - 1;
        } else if self.relative.ends_with(".sql") {
            stats.sql_files += 1;
        }
        Ok(())
    }
}

/// Counts of what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub files: usize,
    pub rust_files: usize,
    pub rust_lines: usize,
    pub sql_files: usize,
}

/// A line of `expected.txt` with the key it is sorted by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    file: String,
    line: usize,
    column: usize,
    rule: &'static str,
    text: String,
}

/// The first site and the number of sites of an edge of the module graph.
#[derive(Debug, Clone)]
struct Edge {
    count: usize,
    first: (Position, String),
}

/// What the checker must find, collected while the files are written.
#[derive(Debug, Default)]
pub struct Expectations {
    entries: Vec<Entry>,
    edges: BTreeMap<(usize, usize), Edge>,
    /// Table → (module, claim site or `None` for a `boundaries.toml` pattern).
    claims: BTreeMap<String, Vec<(usize, Option<Position>)>>,
}

impl Expectations {
    /// A violation at a site: `rule file:line:column from -> to target`.
    pub fn violation(&mut self, rule: &'static str, at: &Position, from: &str, to: &str, target: &str) {
        self.entries.push(Entry {
            file: at.file.clone(),
            line: at.line,
            column: at.column,
            rule,
            text: format!("{rule} {}:{}:{} {from} -> {to} {target}", at.file, at.line, at.column),
        });
    }

    /// A reference site from one module into another: an edge of the module graph.
    pub fn edge(&mut self, from: usize, to: usize, at: &Position, target: &str) {
        if from == to {
            return;
        }
        let edge =
            self.edges.entry((from, to)).or_insert_with(|| Edge { count: 0, first: (at.clone(), target.into()) });
        edge.count += 1;
        if *at < edge.first.0 {
            edge.first = (at.clone(), target.to_owned());
        }
    }

    /// A module claims a table, at a `CREATE TABLE` site or (with `None`) in `boundaries.toml`.
    pub fn claim(&mut self, table: &str, module: usize, at: Option<Position>) {
        self.claims.entry(table.to_owned()).or_default().push((module, at));
    }

    /// The shared-table violations, from the claims: one per table with two or more claimants,
    /// at the first claim in SQL, from its module to the first other claimant by name.
    pub fn finish_shared_tables(&mut self, names: &[String]) {
        let claims = std::mem::take(&mut self.claims);
        for (table, claimants) in claims {
            let owners: BTreeSet<usize> = claimants.iter().map(|(module, _)| *module).collect();
            if owners.len() < 2 {
                continue;
            }
            let Some((from, at)) = claimants
                .iter()
                .filter_map(|(module, at)| at.as_ref().map(|at| (*module, at.clone())))
                .min_by(|a, b| a.1.cmp(&b.1))
            else {
                continue;
            };
            // Module indices are in alphabetical order of their names.
            let Some(to) = owners.iter().copied().find(|owner| *owner != from) else { continue };
            self.violation("shared-table", &at, &names[from], &names[to], &table);
        }
    }

    /// The dependency-cycle violations for components whose members are given, each with its
    /// cycle and suggested cut, computed from the recorded edges as the checker defines them.
    pub fn finish_cycles(&mut self, components: &[Vec<usize>], names: &[String]) {
        for members in components {
            let inside: Vec<(usize, usize, usize)> = self
                .edges
                .iter()
                .filter(|((from, to), _)| members.contains(from) && members.contains(to))
                .map(|((from, to), edge)| (*from, *to, edge.count))
                .collect();
            // The checker reports a shortest cycle of the component, from the alphabetically first
            // module that lies on one (module indices are in alphabetical order of their names).
            let mut starts = members.clone();
            starts.sort_unstable();
            let mut shortest: Option<Vec<usize>> = None;
            for start in starts {
                if let Some(cycle) = shortest_cycle(start, &inside)
                    && shortest.as_ref().is_none_or(|best| cycle.len() < best.len())
                {
                    shortest = Some(cycle);
                }
            }
            let Some(cycle) = shortest else { continue };
            let first_edge = (cycle[0], cycle[1]);
            let Some(edge) = self.edges.get(&first_edge) else { continue };
            let (at, target) = edge.first.clone();
            let mut text = format!(
                "dependency-cycle {}:{}:{} {} -> {} {target}",
                at.file, at.line, at.column, names[first_edge.0], names[first_edge.1]
            );
            let path: Vec<&str> = cycle.iter().map(|module| names[*module].as_str()).collect();
            text.push_str(&format!("\ncycle {}", path.join(" -> ")));
            for (from, to, count) in minimum_cut(members, &inside) {
                text.push_str(&format!("\ncut {} -> {} {count}", names[from], names[to]));
            }
            self.entries.push(Entry {
                file: at.file.clone(),
                line: at.line,
                column: at.column,
                rule: "dependency-cycle",
                text,
            });
        }
    }

    /// The expected lines, sorted as `expect.txt` is.
    pub fn lines(&self) -> Vec<String> {
        let mut entries = self.entries.clone();
        entries.sort();
        entries.dedup();
        entries.into_iter().flat_map(|entry| entry.text.lines().map(str::to_owned).collect::<Vec<_>>()).collect()
    }
}

/// Breadth-first search from `start` back to itself, visiting neighbours in index (= name)
/// order; the cycle starts and ends with `start`.
fn shortest_cycle(start: usize, edges: &[(usize, usize, usize)]) -> Option<Vec<usize>> {
    let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = BTreeSet::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<usize> = edges.iter().filter(|edge| edge.0 == node).map(|edge| edge.1).collect();
        next.sort_unstable();
        for neighbour in next {
            if neighbour == start {
                let mut chain = Vec::new();
                let mut current = node;
                while current != start {
                    chain.push(current);
                    current = parent[&current];
                }
                chain.reverse();
                let mut cycle = vec![start];
                cycle.extend(chain);
                cycle.push(start);
                return Some(cycle);
            }
            if seen.insert(neighbour) {
                parent.insert(neighbour, node);
                queue.push_back(neighbour);
            }
        }
    }
    None
}

/// An edge of the module graph with its number of sites: (from, to, count).
type WeightedEdge = (usize, usize, usize);

/// The cheapest set of edges whose removal leaves the component acyclic (fewest sites, then
/// fewest edges, then the alphabetically first sorted list), by trying every subset: planted
/// components are small.
fn minimum_cut(members: &[usize], edges: &[(usize, usize, usize)]) -> Vec<(usize, usize, usize)> {
    // (sites, edges, the cut): compared in that order.
    let mut best: Option<(usize, usize, Vec<WeightedEdge>)> = None;
    for mask in 0u32..(1 << edges.len()) {
        let cut: Vec<(usize, usize, usize)> =
            edges.iter().enumerate().filter(|(index, _)| mask & (1 << index) != 0).map(|(_, edge)| *edge).collect();
        let kept: Vec<(usize, usize)> = edges
            .iter()
            .enumerate()
            .filter(|(index, _)| mask & (1 << index) == 0)
            .map(|(_, edge)| (edge.0, edge.1))
            .collect();
        if has_cycle(members, &kept) {
            continue;
        }
        let candidate = (cut.iter().map(|edge| edge.2).sum::<usize>(), cut.len(), cut);
        if best.as_ref().is_none_or(|best| candidate < *best) {
            best = Some(candidate);
        }
    }
    best.map(|(_, _, cut)| cut).unwrap_or_default()
}

fn has_cycle(members: &[usize], edges: &[(usize, usize)]) -> bool {
    // Kahn's algorithm: a cycle is what remains when no node without incoming edges is left.
    let mut incoming: BTreeMap<usize, usize> = members.iter().map(|member| (*member, 0)).collect();
    for (_, to) in edges {
        *incoming.entry(*to).or_default() += 1;
    }
    let mut ready: Vec<usize> = incoming.iter().filter(|(_, count)| **count == 0).map(|(node, _)| *node).collect();
    let mut removed = 0;
    while let Some(node) = ready.pop() {
        removed += 1;
        for (from, to) in edges {
            if *from == node {
                let count = incoming.entry(*to).or_default();
                *count -= 1;
                if *count == 0 {
                    ready.push(*to);
                }
            }
        }
    }
    removed < incoming.len()
}
