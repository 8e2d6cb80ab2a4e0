//! The rules: each reads the model and pushes violations into a sink. Rules never fail.

pub mod cross_module_foreign_key;
pub mod dependency_cycle;
pub mod foreign_table;
pub mod internal_import;
pub mod shared_table;
pub mod undeclared_dependency;
pub mod unowned_table;

use std::sync::Arc;

use crate::extract::{Reference, Site};
use crate::model::{Model, ModuleId, SourceFile};

/// Every rule's stable code. The same string is the miette code, the JSON `rule`, the SARIF
/// rule id, and a heading in `docs/rules.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleCode {
    InternalImport,
    UndeclaredDependency,
    ForeignTable,
    SharedTable,
    CrossModuleForeignKey,
    UnownedTable,
    DependencyCycle,
    StaleBaseline,
}

impl RuleCode {
    pub const ALL: &'static [RuleCode] = &[
        RuleCode::InternalImport,
        RuleCode::UndeclaredDependency,
        RuleCode::ForeignTable,
        RuleCode::SharedTable,
        RuleCode::CrossModuleForeignKey,
        RuleCode::UnownedTable,
        RuleCode::DependencyCycle,
        RuleCode::StaleBaseline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleCode::InternalImport => "internal-import",
            RuleCode::UndeclaredDependency => "undeclared-dependency",
            RuleCode::ForeignTable => "foreign-table",
            RuleCode::SharedTable => "shared-table",
            RuleCode::CrossModuleForeignKey => "cross-module-foreign-key",
            RuleCode::UnownedTable => "unowned-table",
            RuleCode::DependencyCycle => "dependency-cycle",
            RuleCode::StaleBaseline => "stale-baseline",
        }
    }

    /// One line that says what the rule checks.
    pub fn description(self) -> &'static str {
        match self {
            RuleCode::InternalImport => "a module refers to another module's internals instead of its public API",
            RuleCode::UndeclaredDependency => "a module uses a module that its `depends_on` list does not name",
            RuleCode::ForeignTable => "a module's SQL reads or writes a table that another module owns",
            RuleCode::SharedTable => "a table is claimed by two or more modules",
            RuleCode::CrossModuleForeignKey => "a table declares a foreign key to a table that another module owns",
            RuleCode::UnownedTable => "a module's SQL names a table that no module owns (with require_owner)",
            RuleCode::DependencyCycle => "modules depend on each other in a cycle",
            RuleCode::StaleBaseline => "a baseline entry matches fewer violations than it allows",
        }
    }

    /// Whether the rule is about table ownership. Its violations carry `owner` in JSON, even
    /// when no single module owns the table.
    pub fn is_table_rule(self) -> bool {
        matches!(
            self,
            RuleCode::ForeignTable | RuleCode::SharedTable | RuleCode::CrossModuleForeignKey | RuleCode::UnownedTable
        )
    }

    /// Where the rule is documented.
    pub fn help_url(self) -> String {
        format!("{}#{}", crate::DOCS_RULES_URL, self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// The text of the file a violation stands in, shared with the model.
#[derive(Debug, Clone)]
pub struct SourceRef {
    pub file: String,
    pub text: Arc<String>,
}

/// One violation of one rule at one site.
#[derive(Debug, Clone)]
pub struct Violation {
    pub rule: RuleCode,
    pub severity: Severity,
    pub from_module: String,
    pub to_module: String,
    pub source: SourceRef,
    pub site: Site,
    /// What the offending code names: a resolved path, or a table.
    pub target: String,
    pub message: String,
    /// A short label under the offending text.
    pub label: String,
    pub help: String,
    pub baselined: bool,
    /// For table rules: the one module that owns `target`. `None` when no module owns it
    /// (`unowned-table`) and when several claim it (`shared-table`, whose claimants are below).
    pub owner: Option<String>,
    /// For `shared-table`: every module that claims the table, sorted by name (empty otherwise).
    pub claimants: Vec<String>,
    /// For `dependency-cycle`: the modules of the component, sorted by name (empty otherwise).
    /// They, not the first evidence site, identify the cycle in the baseline.
    pub component: Vec<String>,
}

impl Violation {
    /// The order reports use: by file, then position, then rule.
    pub fn sort_key(&self) -> (&str, usize, usize, RuleCode, &str) {
        (&self.source.file, self.site.line, self.site.column, self.rule, &self.target)
    }
}

/// A reference from one module's code into a different module.
#[derive(Debug, Clone, Copy)]
pub struct CrossReference<'m> {
    pub file: &'m SourceFile,
    pub reference: &'m Reference,
    pub from: ModuleId,
    pub to: ModuleId,
    /// The target's path below the root of `to`.
    pub below_root: &'m [String],
}

/// Every reference written in a module's checked code that points into another module.
/// References written in the composition root (code in no module) are not checked.
pub fn cross_module_references(model: &Model) -> impl Iterator<Item = CrossReference<'_>> {
    model.files.iter().flat_map(move |file| {
        file.facts.references.iter().filter_map(move |reference| {
            let from = model.owner_of(file.unit, &reference.scope)?;
            let (to, below_root) = model.target_owner(&reference.target)?;
            (from != to).then_some(CrossReference { file, reference, from, to, below_root })
        })
    })
}

impl CrossReference<'_> {
    /// The violation shell for this reference; the rule fills in the words.
    pub fn violation(&self, model: &Model, rule: RuleCode, message: String, label: String, help: String) -> Violation {
        Violation {
            rule,
            severity: Severity::Error,
            from_module: model.modules[self.from].name.clone(),
            to_module: model.modules[self.to].name.clone(),
            source: SourceRef { file: self.file.relative.clone(), text: Arc::clone(&self.file.text) },
            site: self.reference.site.clone(),
            target: model.display_target(self.file.unit, &self.reference.target),
            message,
            label,
            help,
            baselined: false,
            owner: None,
            claimants: Vec::new(),
            component: Vec::new(),
        }
    }
}

/// Runs every rule over the model and its module graph.
pub fn run_all(model: &Model, graph: &crate::graph::ModuleGraph, cycles: &[crate::graph::Cycle]) -> Vec<Violation> {
    let mut violations = Vec::new();
    dependency_cycle::check(model, graph, cycles, &mut violations);
    internal_import::check(model, &mut violations);
    undeclared_dependency::check(model, &mut violations);
    foreign_table::check(model, &mut violations);
    shared_table::check(model, &mut violations);
    cross_module_foreign_key::check(model, &mut violations);
    unowned_table::check(model, &mut violations);
    apply_severity(&model.config, &mut violations);
    violations.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    violations
}

/// Gives each violation the severity its rule has in `[defaults] severity`. The check calls it
/// again for `stale-baseline` violations, which exist only once the baseline is applied.
pub fn apply_severity(config: &crate::config::Config, violations: &mut [Violation]) {
    for violation in violations {
        if let Some(severity) = config.defaults.severity.get(&violation.rule) {
            violation.severity = *severity;
        }
    }
}

/// The severity a rule has in this configuration: `error` unless `[defaults] severity` says otherwise.
pub fn configured_severity(config: &crate::config::Config, rule: RuleCode) -> Severity {
    config.defaults.severity.get(&rule).copied().unwrap_or(Severity::Error)
}

/// A violation at a table use: the shell that the table rules fill in.
pub fn table_violation(
    model: &Model,
    rule: RuleCode,
    site: &crate::tables::TableSite,
    from: ModuleId,
    to: Option<ModuleId>,
    words: (String, String, String),
) -> Violation {
    let (message, label, help) = words;
    let to_name = to.map(|to| model.modules[to].name.clone()).unwrap_or_default();
    Violation {
        rule,
        severity: Severity::Error,
        from_module: model.modules[from].name.clone(),
        to_module: to_name.clone(),
        source: site.source.clone(),
        site: site.site.clone(),
        target: site.name.clone(),
        message,
        label,
        help,
        baselined: false,
        owner: to.map(|_| to_name),
        claimants: Vec::new(),
        component: Vec::new(),
    }
}

/// The module's guidance from `boundaries.toml` (`why`, `instructions`), appended to a help line.
pub fn with_guidance(model: &Model, module: ModuleId, help: String) -> String {
    let entry = model.module_config(module);
    let mut help = help;
    if let Some(instructions) = &entry.instructions {
        help.push_str(&format!("; {}: {instructions}", model.modules[module].name));
    }
    if let Some(why) = &entry.why {
        help.push_str(&format!(" (why: {why})"));
    }
    help
}
