//! cargo's message formats, so that tools which read `cargo check`'s diagnostics read seams'
//! too: `--message-format json` prints one `compiler-message` object per line, with a message in
//! rustc's diagnostic shape (code, level, spans with byte, line and column ranges, children,
//! rendered text), and a closing `build-finished`; `--message-format short` prints one
//! `file:line:column: level[code]: message` line per finding, as `rustc --error-format short`.
//!
//! Lines and columns are 1-based and columns count characters, byte offsets are 0-based, and
//! file names are relative to the workspace root: rustc's conventions, which rust-analyzer
//! resolves against the workspace it checks.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::human::{HumanStyle, render_violation, render_warning, warning_text};
use crate::check::CheckOutcome;
use crate::diagnostic::{LineIndex, Severity, Site, Violation, ViolationDetails, Warning};
use crate::workspace::{UnitKind, Workspace};

/// Width of the `rendered` text: rustc renders for a terminal of its own choosing too.
const RENDER_WIDTH: usize = 100;

#[derive(Debug, Serialize)]
struct CompilerMessage<'a> {
    reason: &'static str,
    package_id: &'a str,
    manifest_path: String,
    target: Target<'a>,
    message: Diagnostic,
}

/// The compilation unit a message belongs to, in `cargo metadata`'s target shape.
#[derive(Debug, Serialize)]
struct Target<'a> {
    kind: [&'static str; 1],
    crate_types: [&'static str; 1],
    name: &'a str,
    src_path: String,
}

#[derive(Debug, Serialize)]
struct BuildFinished {
    reason: &'static str,
    success: bool,
}

/// rustc's JSON diagnostic.
#[derive(Debug, Serialize)]
struct Diagnostic {
    #[serde(rename = "$message_type")]
    message_type: &'static str,
    message: String,
    code: Option<Code>,
    level: &'static str,
    spans: Vec<Span>,
    children: Vec<Diagnostic>,
    rendered: Option<String>,
}

#[derive(Debug, Serialize)]
struct Code {
    code: &'static str,
    explanation: Option<String>,
}

#[derive(Debug, Serialize)]
struct Span {
    file_name: String,
    byte_start: usize,
    byte_end: usize,
    line_start: usize,
    line_end: usize,
    column_start: usize,
    column_end: usize,
    is_primary: bool,
    text: Vec<SpanLine>,
    label: Option<String>,
    suggested_replacement: Option<String>,
    suggestion_applicability: Option<&'static str>,
    expansion: Option<()>,
}

/// One source line a span covers, with the highlighted columns (1-based, end exclusive).
#[derive(Debug, Serialize)]
struct SpanLine {
    text: String,
    highlight_start: usize,
    highlight_end: usize,
}

impl Diagnostic {
    fn child(level: &'static str, message: String) -> Diagnostic {
        Diagnostic {
            message_type: "diagnostic",
            message,
            code: None,
            level,
            spans: Vec::new(),
            children: Vec::new(),
            rendered: None,
        }
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The primary span of a site in `text`. A site that does not fit the text (it never should) is
/// clamped to it rather than dropped, so the message still points at the file.
fn span(file: &str, text: &str, index: &LineIndex, site: &Site, label: Option<String>) -> Span {
    let start = site.bytes.start.min(text.len());
    let end = site.bytes.end.clamp(start, text.len());
    let (line_start, column_start) = index.line_column(text, start);
    let (line_end, column_end) = index.line_column(text, end);
    let text = (line_start..=line_end)
        .filter_map(|line| {
            let line_text = text[index.line_range(text, line - 1)?].trim_end_matches('\r');
            let highlight_start = if line == line_start { column_start } else { 1 };
            let highlight_end = if line == line_end { column_end } else { line_text.chars().count() + 1 };
            Some(SpanLine { text: line_text.to_owned(), highlight_start, highlight_end })
        })
        .collect();
    Span {
        file_name: file.to_owned(),
        byte_start: start,
        byte_end: end,
        line_start,
        line_end,
        column_start,
        column_end,
        is_primary: true,
        text,
        label,
        suggested_replacement: None,
        suggestion_applicability: None,
        expansion: None,
    }
}

fn violation_diagnostic(violation: &Violation, index: &LineIndex) -> Diagnostic {
    let mut help = Diagnostic::child("help", violation.help.clone());
    if let Some(replacement) = &violation.suggestion {
        // As rustc gives a fix: a span of the help with the replacement, which rust-analyzer
        // offers as a quick fix.
        let mut span = span(&violation.source.file, &violation.source.text, index, &violation.site, None);
        span.suggested_replacement = Some(replacement.clone());
        span.suggestion_applicability = Some("MachineApplicable");
        help.spans.push(span);
    }
    let mut children = vec![help];
    match &violation.details {
        ViolationDetails::Chain { chain } if chain.len() > 2 => {
            children.push(Diagnostic::child("note", format!("the chain of modules: {}", chain.join(" → "))));
        }
        ViolationDetails::DependencyCycle { component } => {
            children.push(Diagnostic::child("note", format!("the modules of the cycle: {}", component.join(", "))));
        }
        _ => {}
    }
    children.push(Diagnostic::child("note", format!("for more information, see {}", violation.rule.help_url())));
    Diagnostic {
        message_type: "diagnostic",
        message: violation.message.clone(),
        code: Some(Code { code: violation.rule.as_str(), explanation: None }),
        level: level(violation.severity),
        spans: vec![span(
            &violation.source.file,
            &violation.source.text,
            index,
            &violation.site,
            Some(violation.label.clone()),
        )],
        children,
        rendered: Some(render_violation(violation, HumanStyle::plain(RENDER_WIDTH))),
    }
}

fn warning_diagnostic(outcome: &CheckOutcome, warning: &Warning) -> Diagnostic {
    let spans = match (&warning.site, warning_text(outcome, warning)) {
        (Some(site), Some(text)) => vec![span(&warning.file, &text, &LineIndex::new(&text), site, None)],
        _ => Vec::new(),
    };
    let message =
        if spans.is_empty() { format!("{}: {}", warning.file, warning.message) } else { warning.message.clone() };
    Diagnostic {
        message_type: "diagnostic",
        message,
        code: Some(Code { code: warning.code.as_str(), explanation: None }),
        level: "warning",
        spans,
        children: Vec::new(),
        rendered: Some(render_warning(outcome, warning, HumanStyle::plain(RENDER_WIDTH))),
    }
}

/// The package and target that cargo would attribute a file's messages to.
struct Owners<'a> {
    workspace: &'a Workspace,
    /// The unit of each analysed Rust file, by its workspace-relative path.
    units: HashMap<&'a str, crate::ids::UnitId>,
}

impl<'a> Owners<'a> {
    fn new(outcome: &'a CheckOutcome) -> Owners<'a> {
        let units = outcome.model.files.iter().map(|file| (file.relative.as_str(), file.unit)).collect();
        Owners { workspace: &outcome.model.workspace, units }
    }

    /// The unit of an analysed file; for any other file (boundaries.toml, a `.sql` file, a
    /// manifest), the library (or first target) of the package whose directory holds it; for a
    /// file outside every package, the first unit of the workspace.
    fn unit(&self, file: &str) -> Option<crate::ids::UnitId> {
        if let Some(unit) = self.units.get(file) {
            return Some(*unit);
        }
        let path = self.workspace.root.join(file);
        let package = self
            .workspace
            .packages
            .iter()
            .enumerate()
            .filter(|(_, package)| path.starts_with(&package.manifest_dir))
            .max_by_key(|(_, package)| package.manifest_dir.components().count())
            .map(|(index, _)| index);
        let units = || self.workspace.units.iter().enumerate();
        let in_package = package.and_then(|package| {
            let of_package = || units().filter(move |(_, unit)| unit.package.index() == package);
            of_package().find(|(_, unit)| unit.kind == UnitKind::Lib).or_else(|| of_package().next())
        });
        in_package.or_else(|| units().next()).map(|(index, _)| crate::ids::UnitId::new(index))
    }

    fn message(&self, file: &str, message: Diagnostic) -> String {
        let Some(unit_id) = self.unit(file) else {
            // A workspace without a single target has nothing to attribute to; cargo would
            // not have compiled it either. The diagnostic alone is still worth printing.
            return json_line(&message);
        };
        let unit = &self.workspace.units[unit_id];
        let package = &self.workspace.packages[unit.package];
        let (kind, crate_type) = match unit.kind {
            UnitKind::Lib => ("lib", "lib"),
            UnitKind::Bin => ("bin", "bin"),
            UnitKind::Test => ("test", "bin"),
            UnitKind::Bench => ("bench", "bin"),
            UnitKind::Example => ("example", "bin"),
        };
        json_line(&CompilerMessage {
            reason: "compiler-message",
            package_id: &package.id,
            manifest_path: display(&package.manifest_dir.join("Cargo.toml")),
            target: Target {
                kind: [kind],
                crate_types: [crate_type],
                name: &unit.target_name,
                src_path: display(&unit.root_file),
            },
            message,
        })
    }
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn json_line(value: &impl Serialize) -> String {
    // These types hold only strings, numbers and sequences: serialising them cannot fail.
    let mut line = serde_json::to_string(value).unwrap_or_default();
    line.push('\n');
    line
}

/// `--message-format json`: one line per finding that the baseline does not cover, then
/// `build-finished`, whose `success` is whether the check passes.
pub fn render_json(outcome: &CheckOutcome) -> String {
    let owners = Owners::new(outcome);
    let mut out = String::new();
    for warning in &outcome.model.warnings {
        out.push_str(&owners.message(&warning.file, warning_diagnostic(outcome, warning)));
    }
    // One line index per file, however many findings it has.
    let mut indexes: HashMap<&str, LineIndex> = HashMap::new();
    for violation in outcome.violations.iter().filter(|violation| !violation.baselined) {
        let index = indexes.entry(&violation.source.file).or_insert_with(|| LineIndex::new(&violation.source.text));
        out.push_str(&owners.message(&violation.source.file, violation_diagnostic(violation, index)));
    }
    out.push_str(&json_line(&BuildFinished { reason: "build-finished", success: outcome.passes() }));
    out
}

/// `--message-format short`: one line per finding that the baseline does not cover, then the
/// summary line.
pub fn render_short(outcome: &CheckOutcome) -> String {
    let mut out = String::new();
    for warning in &outcome.model.warnings {
        let position = warning.site.as_ref().map(|site| format!(":{}:{}", site.line, site.column)).unwrap_or_default();
        out.push_str(&format!("{}{position}: warning[{}]: {}\n", warning.file, warning.code.as_str(), warning.message));
    }
    for violation in outcome.violations.iter().filter(|violation| !violation.baselined) {
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n",
            violation.source.file,
            violation.site.line,
            violation.site.column,
            level(violation.severity),
            violation.rule.as_str(),
            violation.message
        ));
    }
    out.push_str(&super::summary_line(outcome));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(text: &str, needle: &str) -> Site {
        let start = text.find(needle).unwrap();
        let (line, column) = crate::diagnostic::line_column(text, start);
        Site { line, column, bytes: start..start + needle.len() }
    }

    #[test]
    fn a_span_over_several_lines_highlights_each_line_in_characters() {
        let text = "use a::{\r\n    é::b,\n    c::internal::D,\n};\n";
        let needle = "é::b,\n    c::internal";
        let span = span("src/lib.rs", text, &LineIndex::new(text), &site(text, needle), None);
        assert_eq!((span.line_start, span.column_start, span.line_end, span.column_end), (2, 5, 3, 16));
        assert_eq!(&text[span.byte_start..span.byte_end], needle);
        let highlighted: Vec<String> = span
            .text
            .iter()
            .map(|line| {
                line.text
                    .chars()
                    .skip(line.highlight_start - 1)
                    .take(line.highlight_end - line.highlight_start)
                    .collect()
            })
            .collect();
        assert_eq!(highlighted, ["é::b,", "    c::internal"]);
    }

    #[test]
    fn a_site_past_the_text_is_clamped_not_a_panic() {
        let text = "use a::b;";
        let span = span("src/lib.rs", text, &LineIndex::new(text), &Site { line: 1, column: 5, bytes: 4..400 }, None);
        assert_eq!((span.byte_start, span.byte_end, span.column_end), (4, 9, 10));
    }
}
