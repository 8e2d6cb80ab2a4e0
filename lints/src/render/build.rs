//! Builds the drawable [`GraphView`] from a check's outcome: nodes with coupling metrics and
//! extraction blockers, edges with their kinds, cycles, and optionally tables.

use std::collections::{BTreeMap, BTreeSet};

use super::view::{
    CutSearch, CycleView, EdgeKind, ExtractionBlocker, GraphView, ModuleEdge, ModuleMetrics, ModuleNode, SuggestedCut,
    TableEdge, TableEdgeKind, TableNode,
};
use crate::check::CheckOutcome;
use crate::diagnostic::RuleCode;
use crate::ids::ModuleId;
use crate::sql::TableAccess;

/// What to draw.
#[derive(Debug, Clone, Default)]
pub struct ViewOptions {
    /// Draw only this module and its direct neighbours.
    pub focus: Option<String>,
    /// Add tables as a second kind of node.
    pub tables: bool,
    /// The title of the drawing; the workspace directory's name when absent.
    pub title: Option<String>,
}

/// Why a view cannot be built from an outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error("--focus names `{focused}`, which is not a module; modules: {}", known.join(", "))]
    UnknownFocus { focused: String, known: Vec<String> },
}

/// Builds the view. Fails only when `focus` names no module.
pub fn build_view(outcome: &CheckOutcome, options: &ViewOptions) -> Result<GraphView, ViewError> {
    let model = &outcome.model;
    let name = |module: ModuleId| model.modules[module].name.clone();
    let dependencies = model.graph.dependencies();
    let in_cycle: BTreeMap<ModuleId, Vec<usize>> =
        model.cycles.iter().enumerate().fold(BTreeMap::new(), |mut map, (index, cycle)| {
            for module in &cycle.modules {
                map.entry(*module).or_insert_with(Vec::new).push(index);
            }
            map
        });
    let same_cycle = |from: ModuleId, to: ModuleId| {
        in_cycle.get(&from).zip(in_cycle.get(&to)).is_some_and(|(a, b)| a.iter().any(|cycle| b.contains(cycle)))
    };

    // Violations per edge and per module, from the rules' own findings.
    let mut edge_violations: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut internal_made: BTreeMap<String, usize> = BTreeMap::new();
    let mut internal_received: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut foreign_access: BTreeMap<String, BTreeMap<(String, String), usize>> = BTreeMap::new();
    let mut accessed_by: BTreeMap<String, BTreeMap<(String, String), usize>> = BTreeMap::new();
    let mut foreign_keys: BTreeMap<String, BTreeSet<(String, String, String)>> = BTreeMap::new();
    let mut shared: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for violation in &outcome.violations {
        let pair = (violation.from_module.clone(), violation.to_module.clone());
        match violation.rule {
            RuleCode::InternalImport | RuleCode::UndeclaredDependency => {
                *edge_violations.entry(pair).or_default() += 1;
                if violation.rule == RuleCode::InternalImport {
                    *internal_made.entry(violation.from_module.clone()).or_default() += 1;
                    *internal_received
                        .entry(violation.to_module.clone())
                        .or_default()
                        .entry(violation.from_module.clone())
                        .or_default() += 1;
                }
            }
            RuleCode::ForeignTable => {
                *foreign_access
                    .entry(violation.from_module.clone())
                    .or_default()
                    .entry((violation.target.clone(), violation.to_module.clone()))
                    .or_default() += 1;
                *accessed_by
                    .entry(violation.to_module.clone())
                    .or_default()
                    .entry((violation.target.clone(), violation.from_module.clone()))
                    .or_default() += 1;
            }
            RuleCode::CrossModuleForeignKey => {
                let declaring = violation.message.split('`').nth(1).unwrap_or_default().to_owned();
                foreign_keys.entry(violation.from_module.clone()).or_default().insert((
                    declaring.clone(),
                    violation.target.clone(),
                    violation.to_module.clone(),
                ));
                foreign_keys.entry(violation.to_module.clone()).or_default().insert((
                    declaring,
                    violation.target.clone(),
                    violation.from_module.clone(),
                ));
            }
            _ => {}
        }
    }
    for table in model.tables.table_names() {
        let owners: Vec<String> = model.tables.owners(&table).into_iter().map(name).collect();
        if owners.len() >= 2 {
            for owner in &owners {
                let others = owners.iter().filter(|other| *other != owner).cloned().collect();
                shared.entry(owner.clone()).or_default().push((table.clone(), others));
            }
        }
    }

    let mut nodes: Vec<ModuleNode> = Vec::new();
    for (module_id, module) in model.modules.with_ids() {
        let fan_out: BTreeSet<ModuleId> = dependencies
            .iter()
            .filter(|(from, _, dependency)| *from == module_id && dependency.is_actual())
            .map(|(_, to, _)| *to)
            .collect();
        let fan_in: BTreeSet<ModuleId> = dependencies
            .iter()
            .filter(|(_, to, dependency)| *to == module_id && dependency.is_actual())
            .map(|(from, _, _)| *from)
            .collect();
        let files: Vec<_> =
            model.files.iter().filter(|file| model.owner_of(file.unit, &file.module_path) == Some(module_id)).collect();
        let tables_owned: Vec<String> = model
            .tables
            .table_names()
            .into_iter()
            .filter(|table| model.tables.owners(table).contains(&module_id))
            .collect();
        let foreign_tables: BTreeSet<String> = foreign_access
            .get(&module.name)
            .map(|map| map.keys().map(|(table, _)| table.clone()).collect())
            .unwrap_or_default();
        let cycles = in_cycle.get(&module_id).cloned().unwrap_or_default();

        let mut blockers = Vec::new();
        for (from_module, count) in internal_received.get(&module.name).into_iter().flatten() {
            blockers
                .push(ExtractionBlocker::InboundInternalReferences { from_module: from_module.clone(), count: *count });
        }
        for cycle in &cycles {
            blockers.push(ExtractionBlocker::Cycle {
                cycle: *cycle,
                modules: model.cycles[*cycle].modules.iter().map(|module| name(*module)).collect(),
            });
        }
        for (table, other_claimants) in shared.get(&module.name).into_iter().flatten() {
            blockers.push(ExtractionBlocker::SharedTable {
                table: table.clone(),
                other_claimants: other_claimants.clone(),
            });
        }
        for ((table, owner), count) in foreign_access.get(&module.name).into_iter().flatten() {
            blockers.push(ExtractionBlocker::ForeignTableAccess {
                table: table.clone(),
                owner: owner.clone(),
                count: *count,
            });
        }
        for ((table, accessor), count) in accessed_by.get(&module.name).into_iter().flatten() {
            blockers.push(ExtractionBlocker::ForeignTableAccessedBy {
                table: table.clone(),
                accessor: accessor.clone(),
                count: *count,
            });
        }
        for (from_table, to_table, other_module) in foreign_keys.get(&module.name).into_iter().flatten() {
            blockers.push(ExtractionBlocker::CrossModuleForeignKey {
                from_table: from_table.clone(),
                to_table: to_table.clone(),
                other_module: other_module.clone(),
            });
        }
        nodes.push(ModuleNode {
            name: module.name.clone(),
            crate_name: model.workspace.packages[module.package].name.clone(),
            files: files.len(),
            lines: files.iter().map(|file| file.facts.lines).sum(),
            metrics: ModuleMetrics {
                fan_in: fan_in.len(),
                fan_out: fan_out.len(),
                instability: ModuleMetrics::instability_of(fan_in.len(), fan_out.len()),
                internal_references_made: internal_made.get(&module.name).copied().unwrap_or(0),
                internal_references_received: internal_received.get(&module.name).map_or(0, |map| map.values().sum()),
                cycles,
                tables_owned,
                foreign_tables_touched: foreign_tables.into_iter().collect(),
                extraction_blockers: blockers,
            },
        });
    }

    let mut edges: Vec<ModuleEdge> = dependencies
        .iter()
        .map(|(from, to, dependency)| ModuleEdge {
            from: name(*from),
            to: name(*to),
            reference_count: dependency.count(),
            kind: match (dependency.is_actual(), dependency.declared) {
                (true, true) => EdgeKind::Both,
                (true, false) => EdgeKind::Actual,
                _ => EdgeKind::Declared,
            },
            violation_count: edge_violations.get(&(name(*from), name(*to))).copied().unwrap_or(0),
            in_cycle: dependency.is_actual() && same_cycle(*from, *to),
        })
        .collect();

    let cycles: Vec<CycleView> = model
        .cycles
        .iter()
        .map(|cycle| CycleView {
            modules: cycle.modules.iter().map(|module| name(*module)).collect(),
            cycle: cycle.cycle.iter().map(|module| name(*module)).collect(),
            suggested_cuts: cycle
                .cuts
                .iter()
                .map(|(from, to)| SuggestedCut {
                    from: name(*from),
                    to: name(*to),
                    count: model.graph.dependency(*from, *to).map_or(0, |dependency| dependency.count()),
                })
                .collect(),
            cut_search: if cycle.exact { CutSearch::Exact } else { CutSearch::Greedy },
        })
        .collect();

    let (mut tables, mut table_edges) = (None, Vec::new());
    if options.tables {
        let mut table_nodes = Vec::new();
        let mut counts: BTreeMap<(String, String, bool), usize> = BTreeMap::new();
        for table in model.tables.table_names() {
            let owners: Vec<String> = model.tables.owners(&table).into_iter().map(name).collect();
            for owner in &owners {
                let claims = model.tables.claims.iter().filter(|claim| {
                    name(claim.module) == *owner && crate::sql::table_pattern_matches(&claim.pattern, &table)
                });
                table_edges.push(TableEdge {
                    module: owner.clone(),
                    table: table.clone(),
                    kind: TableEdgeKind::Owns,
                    foreign: false,
                    count: claims.count(),
                });
            }
            table_nodes.push(TableNode { name: table, owners });
        }
        for site in &model.tables.uses {
            if site.access == TableAccess::Create {
                continue;
            }
            let owners = model.tables.owners(&site.name);
            if owners.contains(&site.module) {
                continue;
            }
            *counts.entry((name(site.module), site.name.clone(), !owners.is_empty())).or_default() += 1;
        }
        for ((module, table, foreign), count) in counts {
            table_edges.push(TableEdge { module, table, kind: TableEdgeKind::Accesses, foreign, count });
        }
        table_edges.sort_by(|a, b| (&a.module, &a.table).cmp(&(&b.module, &b.table)));
        tables = Some(table_nodes);
    }

    let mut focus = None;
    if let Some(focused) = &options.focus {
        if !nodes.iter().any(|node| &node.name == focused) {
            let known = nodes.iter().map(|node| node.name.clone()).collect();
            return Err(ViewError::UnknownFocus { focused: focused.clone(), known });
        }
        let mut keep: BTreeSet<String> = BTreeSet::from([focused.clone()]);
        for edge in &edges {
            if &edge.from == focused {
                keep.insert(edge.to.clone());
            }
            if &edge.to == focused {
                keep.insert(edge.from.clone());
            }
        }
        nodes.retain(|node| keep.contains(&node.name));
        edges.retain(|edge| keep.contains(&edge.from) && keep.contains(&edge.to));
        table_edges.retain(|edge| keep.contains(&edge.module));
        if let Some(table_nodes) = &mut tables {
            let used: BTreeSet<&String> = table_edges.iter().map(|edge| &edge.table).collect();
            table_nodes.retain(|table| used.contains(&table.name));
            for table in table_nodes.iter_mut() {
                table.owners.retain(|owner| keep.contains(owner));
            }
        }
        focus = Some(focused.clone());
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    let workspace_name = options.title.clone().unwrap_or_else(|| {
        model
            .workspace
            .root
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "workspace".to_owned())
    });
    let layers =
        model.config.layers.iter().map(|layer| layer.iter().map(|name| name.get_ref().clone()).collect()).collect();
    Ok(GraphView { workspace_name, nodes, edges, cycles, tables, table_edges, focus, layers })
}
