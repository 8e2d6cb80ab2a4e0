//! The JSON report: one object on stdout, with a stable schema documented in `docs/json.md`.

use serde::Serialize;

use crate::check::CheckOutcome;

#[derive(Debug, Serialize)]
pub struct JsonReport {
    pub violations: Vec<JsonViolation>,
    pub cycles: Vec<serde_json::Value>,
    pub warnings: Vec<JsonWarning>,
    /// Tables that modules' SQL names but no module owns.
    pub unowned_tables: Vec<String>,
    pub stats: JsonStats,
}

#[derive(Debug, Serialize)]
pub struct JsonViolation {
    pub rule: &'static str,
    pub severity: crate::rules::Severity,
    pub from_module: String,
    pub to_module: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub target: String,
    pub message: String,
    pub help: String,
    pub baselined: bool,
    /// For table rules: the module that owns the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
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

pub fn build(outcome: &CheckOutcome) -> JsonReport {
    let violations = outcome
        .violations
        .iter()
        .map(|violation| JsonViolation {
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
            owner: violation.owner.clone(),
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
        violations,
        cycles: Vec::new(),
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
