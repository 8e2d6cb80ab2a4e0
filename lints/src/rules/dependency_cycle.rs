//! `dependency-cycle`: modules that depend on each other in a circle.
//!
//! # What it checks
//! The module graph has an edge A → B for every reference in A's checked code into B (public or
//! not). Each strongly connected component of two or more modules (Tarjan's algorithm) is one
//! violation, with a shortest cycle of it, up to three evidence sites for each edge of that
//! cycle, and the edges to cut that break every cycle while rewriting the fewest sites. The
//! help carries the `why` and `instructions` of every module of the component. In the baseline,
//! the violation is identified by the component's modules, so that a new evidence site does not
//! change it, and a module joining the component makes it a new violation.
//!
//! # Why it matters
//! Modules in a cycle are one module in disguise: none can be changed, tested, released or
//! extracted without the others. A cycle is also where boundaries erode first, because every new
//! reference inside it looks harmless.
//!
//! # Example
//! ```text
//! orders → payments → notifications → orders
//! cut notifications → orders (1 site): publish an event that orders subscribes to instead
//! ```

use super::common::with_guidance;
use crate::diagnostic::{Finding, RuleCode, Violation, ViolationDetails, Words};
use crate::model::Model;
use crate::text::plural;

/// Evidence sites listed per edge.
pub(crate) const EVIDENCE_PER_EDGE: usize = 3;

pub(crate) fn check(model: &Model, sink: &mut Vec<Violation>) {
    let graph = &model.graph;
    for cycle in &model.cycles {
        let (Some(&first), Some(&second)) = (cycle.cycle.first(), cycle.cycle.get(1)) else { continue };
        let Some(first_site) = graph.dependency(first, second).and_then(|dependency| dependency.sites.first()) else {
            continue;
        };
        let name = |module: crate::model::ModuleId| model.modules[module].name.as_str();
        let path: Vec<&str> = cycle.cycle.iter().map(|module| name(*module)).collect();
        let mut evidence = Vec::new();
        for pair in cycle.cycle.windows(2) {
            let Some(dependency) = graph.dependency(pair[0], pair[1]) else { continue };
            let sites: Vec<String> = dependency
                .sites
                .iter()
                .take(EVIDENCE_PER_EDGE)
                .map(|site| format!("{}:{} {}", site.source.file, site.site.line, site.target))
                .collect();
            let more = dependency.count().saturating_sub(EVIDENCE_PER_EDGE);
            let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
            evidence.push(format!("{} → {}: {}{more}", name(pair[0]), name(pair[1]), sites.join("; ")));
        }
        let cuts: Vec<String> = cycle
            .cuts
            .iter()
            .map(|(from, to)| {
                let count = graph.dependency(*from, *to).map_or(0, |dependency| dependency.count());
                format!("{} → {} ({})", name(*from), name(*to), plural(count, "site", "sites"))
            })
            .collect();
        let members: Vec<&str> = cycle.modules.iter().map(|module| name(*module)).collect();
        let message = format!(
            "modules {} form a dependency cycle: {}",
            members.iter().map(|member| format!("`{member}`")).collect::<Vec<_>>().join(", "),
            path.join(" → ")
        );
        let search = if cycle.exact { "fewest sites to rewrite" } else { "greedy search, may cut more than needed" };
        let mut help = format!(
            "cut {} ({search}): invert that dependency (an event, or a trait owned by the used module) or move the shared part into a module both depend on",
            cuts.join(" and "),
        );
        // Every module of the component is crossed by the cycle, so each one's guidance applies.
        for module in &cycle.modules {
            help = with_guidance(model, *module, help);
        }
        help.push_str(&format!("\nevidence:\n  {}", evidence.join("\n  ")));
        sink.push(Violation::new(
            RuleCode::DependencyCycle,
            Finding {
                from_module: name(first).to_owned(),
                to_module: name(second).to_owned(),
                source: first_site.source.clone(),
                site: first_site.site.clone(),
                target: first_site.target.clone(),
            },
            Words { message, label: format!("`{}` → `{}` starts the cycle here", name(first), name(second)), help },
            ViolationDetails::DependencyCycle {
                component: members.iter().map(|member| (*member).to_owned()).collect(),
            },
        ));
    }
}
