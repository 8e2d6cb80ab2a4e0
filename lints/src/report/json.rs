//! The JSON report: one object on stdout, with a stable schema documented in `docs/output.md`.

use serde::Serialize;

use crate::check::CheckOutcome;

#[derive(Debug, Serialize)]
pub struct JsonReport {
    /// Present with `--changed-since`: the report covers only part of what was analysed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<JsonScope>,
    pub violations: Vec<JsonViolation>,
    /// Violations that a `seams:allow` comment suppressed: they fail no run.
    pub suppressed: Vec<JsonSuppressed>,
    pub cycles: Vec<JsonCycle>,
    pub warnings: Vec<JsonWarning>,
    /// Tables that modules' SQL names but no module owns.
    pub unowned_tables: Vec<String>,
    pub stats: JsonStats,
}

/// What a `--changed-since` report covers.
#[derive(Debug, Serialize)]
pub struct JsonScope {
    /// Always `workspace`: a change can create a violation in a file it did not touch.
    pub analysed: &'static str,
    /// Always `changed-files`: violations whose site is in a changed file, chains with a step
    /// in a changed file, plus every cycle, unused dependency and stale baseline entry.
    pub reported: &'static str,
    pub changed_since: String,
    pub changed_files: usize,
    /// Violations found in the whole workspace, before keeping only the changed files'.
    pub violations_found: usize,
}

impl JsonScope {
    pub(crate) fn of(scope: &crate::check::ReportScope) -> JsonScope {
        JsonScope {
            analysed: "workspace",
            reported: "changed-files",
            changed_since: scope.changed_since.clone(),
            changed_files: scope.changed_files,
            violations_found: scope.violations_found,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct JsonViolation {
    pub rule: &'static str,
    pub severity: crate::diagnostic::Severity,
    pub from_module: String,
    pub to_module: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub target: String,
    pub message: String,
    pub help: String,
    pub baselined: bool,
    /// Present on every table rule's violation, absent on the others: the one module that
    /// owns `target`, or `null` when none does (`unowned-table`) or several claim it
    /// (`shared-table`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Option<String>>,
    /// Present on `shared-table` only: every claiming module, sorted by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimants: Option<Vec<String>>,
    /// Present on `layer-violation` and `forbidden-dependency` only: the modules from
    /// `from_module` to `to_module`, two for a direct reference, more for a chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<String>>,
}

/// A suppressed violation: the violation's own keys, then the allow's reason and line.
#[derive(Debug, Serialize)]
pub struct JsonSuppressed {
    #[serde(flatten)]
    pub violation: JsonViolation,
    pub reason: String,
    /// The line of the `seams:allow` comment.
    pub allow_line: usize,
}

#[derive(Debug, Serialize)]
pub struct JsonCycle {
    pub modules: Vec<String>,
    pub cycle: Vec<String>,
    pub edges: Vec<JsonCycleEdge>,
    pub suggested_cuts: Vec<JsonCut>,
    /// `exact` (fewest sites, proven) or `greedy` (large components).
    pub cut_search: &'static str,
}

#[derive(Debug, Serialize)]
pub struct JsonCycleEdge {
    pub from: String,
    pub to: String,
    pub count: usize,
    pub sites: Vec<JsonSite>,
}

#[derive(Debug, Serialize)]
pub struct JsonSite {
    pub file: String,
    pub line: usize,
    pub target: String,
}

#[derive(Debug, Serialize)]
pub struct JsonCut {
    pub from: String,
    pub to: String,
    pub count: usize,
}

/// The cycles of an outcome in the JSON schema.
pub(crate) fn cycles(outcome: &CheckOutcome) -> Vec<JsonCycle> {
    let model = &outcome.model;
    let name = |module: crate::ids::ModuleId| model.modules[module].name.clone();
    model
        .cycles
        .iter()
        .map(|cycle| JsonCycle {
            modules: cycle.modules.iter().map(|module| name(*module)).collect(),
            cycle: cycle.cycle.iter().map(|module| name(*module)).collect(),
            edges: cycle
                .cycle
                .windows(2)
                .map(|pair| {
                    let dependency = model.graph.dependency(pair[0], pair[1]);
                    JsonCycleEdge {
                        from: name(pair[0]),
                        to: name(pair[1]),
                        count: dependency.map_or(0, |dependency| dependency.count()),
                        sites: dependency
                            .map(|dependency| {
                                dependency
                                    .sites
                                    .iter()
                                    .take(crate::rules::EVIDENCE_PER_EDGE)
                                    .map(|site| JsonSite {
                                        file: site.source.file.clone(),
                                        line: site.site.line,
                                        target: site.target.clone(),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect(),
            suggested_cuts: cycle
                .cuts
                .iter()
                .map(|(from, to)| JsonCut {
                    from: name(*from),
                    to: name(*to),
                    count: model.graph.dependency(*from, *to).map_or(0, |dependency| dependency.count()),
                })
                .collect(),
            cut_search: if cycle.exact { "exact" } else { "greedy" },
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct JsonWarning {
    pub code: &'static str,
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct JsonStats {
    pub modules: usize,
    pub files: usize,
    pub lines: usize,
    pub elapsed_ms: u64,
}

/// One violation in the JSON schema.
fn json_violation(violation: &crate::diagnostic::Violation) -> JsonViolation {
    JsonViolation {
        rule: violation.rule.as_str(),
        severity: violation.severity,
        from_module: violation.from_module.clone(),
        to_module: violation.to_module.clone(),
        file: violation.source.file.clone(),
        line: violation.site.line,
        column: violation.site.column,
        target: violation.target.clone(),
        message: violation.message.clone(),
        help: violation.help.clone(),
        baselined: violation.baselined,
        owner: violation.rule.is_table_rule().then(|| violation.owner().map(str::to_owned)),
        claimants: (violation.rule == crate::diagnostic::RuleCode::SharedTable).then(|| violation.claimants().to_vec()),
        chain: violation.chain().map(<[String]>::to_vec),
    }
}

pub fn build(outcome: &CheckOutcome) -> JsonReport {
    let violations = outcome.violations.iter().map(json_violation).collect();
    let suppressed = outcome
        .suppressed
        .iter()
        .map(|suppressed| JsonSuppressed {
            violation: json_violation(&suppressed.violation),
            reason: suppressed.reason.clone(),
            allow_line: suppressed.allow.line,
        })
        .collect();
    let warnings = outcome
        .model
        .warnings
        .iter()
        .map(|warning| JsonWarning {
            code: warning.code.as_str(),
            file: warning.file.clone(),
            line: warning.site.as_ref().map(|site| site.line),
            column: warning.site.as_ref().map(|site| site.column),
            message: warning.message.clone(),
        })
        .collect();
    JsonReport {
        scope: outcome.scope.as_ref().map(JsonScope::of),
        violations,
        suppressed,
        cycles: cycles(outcome),
        warnings,
        unowned_tables: outcome.model.tables.unowned_tables(),
        stats: JsonStats {
            modules: outcome.model.modules.len(),
            files: outcome.model.files.len(),
            lines: outcome.model.total_lines(),
            elapsed_ms: u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX),
        },
    }
}

/// The report as pretty-printed JSON.
pub fn render(outcome: &CheckOutcome) -> String {
    serde_json::to_string_pretty(&build(outcome)).unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
}
