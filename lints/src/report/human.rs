//! The human report: one miette diagnostic per finding, with the source line, a label on the
//! offending text and a help line, then one summary line.

use std::fmt;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use crate::check::CheckOutcome;
use crate::diagnostic::Warning;
use crate::diagnostic::{Severity, Violation};
use crate::text::plural;

/// How to draw the report.
#[derive(Debug, Clone, Copy)]
pub struct HumanStyle {
    pub(crate) color: bool,
    /// Terminal width used for wrapping.
    pub(crate) width: usize,
    /// List baselined violations instead of counting them on one line.
    pub(crate) show_baselined: bool,
}

impl HumanStyle {
    /// Plain text at a fixed width, as tests and logs want it.
    pub fn plain(width: usize) -> HumanStyle {
        HumanStyle { color: false, width, show_baselined: false }
    }
}

/// A violation as a miette diagnostic.
struct ViolationDiagnostic<'a> {
    violation: &'a Violation,
    source: NamedSource<std::sync::Arc<String>>,
}

impl fmt::Debug for ViolationDiagnostic<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("ViolationDiagnostic").field("rule", &self.violation.rule).finish()
    }
}

impl fmt::Display for ViolationDiagnostic<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.violation.message)
    }
}

impl std::error::Error for ViolationDiagnostic<'_> {}

impl Diagnostic for ViolationDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.violation.rule.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.violation.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.violation.help))
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.violation.rule.help_url()))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let bytes = &self.violation.site.bytes;
        let span =
            LabeledSpan::new_with_span(Some(self.violation.label.clone()), bytes.start..bytes.end.max(bytes.start));
        Some(Box::new(std::iter::once(span)))
    }
}

/// A warning (a file that could not be parsed, …) as a miette diagnostic.
struct WarningDiagnostic<'a> {
    warning: &'a Warning,
    source: Option<NamedSource<std::sync::Arc<String>>>,
}

impl fmt::Debug for WarningDiagnostic<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("WarningDiagnostic").field("code", &self.warning.code).finish()
    }
}

impl fmt::Display for WarningDiagnostic<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.warning.site, &self.source) {
            // Without a snippet, whose header would say where, the message says it.
            (Some(site), None) => {
                write!(formatter, "{}:{}:{}: {}", self.warning.file, site.line, site.column, self.warning.message)
            }
            _ => write!(formatter, "{}: {}", self.warning.file, self.warning.message),
        }
    }
}

impl std::error::Error for WarningDiagnostic<'_> {}

impl Diagnostic for WarningDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.warning.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Warning)
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let help = match self.warning.code {
            crate::diagnostic::WarningCode::UnparsedSql => {
                "no table of this text is checked; if it is SQL, fix it, and if it is not, keep it out of a string that starts like a statement"
            }
            crate::diagnostic::WarningCode::InvalidAllow => {
                "this comment suppresses nothing: write `seams:allow(rule-code): reason` with a rule whose findings stand in Rust code"
            }
            crate::diagnostic::WarningCode::InternalError => {
                "this is a bug in seams: the rest of the workspace was checked, and the run exits 2; please report it"
            }
            _ => "the rest of the workspace was still checked; this file's references are not included",
        };
        Some(Box::new(help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let site = self.warning.site.as_ref()?;
        self.source.as_ref()?;
        let span = LabeledSpan::new_with_span(Some("here".to_owned()), site.bytes.clone());
        Some(Box::new(std::iter::once(span)))
    }
}

fn handler(style: HumanStyle) -> GraphicalReportHandler {
    let theme = if style.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    GraphicalReportHandler::new_themed(theme).with_width(style.width).with_links(false)
}

/// Renders one diagnostic to text; a rendering failure is written in its place.
pub fn render_diagnostic(diagnostic: &dyn Diagnostic, style: HumanStyle) -> String {
    let mut out = String::new();
    if let Err(error) = handler(style).render_report(&mut out, diagnostic) {
        out = format!("(could not render a diagnostic: {error})\n");
    }
    out
}

/// The language miette is told a file is in, from its extension.
fn language_of(file: &str) -> &'static str {
    if file.ends_with(".sql") {
        "SQL"
    } else if file.ends_with(".toml") {
        "TOML"
    } else {
        "Rust"
    }
}

/// The text a warning points into: a Rust file of the model, or a `.sql` file, whose text the
/// table catalog holds when the file had any table use. A `.sql` file whose every statement
/// failed to parse is in neither, and is read again; a text the warning's span does not fit (the
/// file changed since) shows no snippet rather than a wrong one.
fn warning_source(outcome: &CheckOutcome, warning: &Warning) -> Option<NamedSource<std::sync::Arc<String>>> {
    let model = &outcome.model;
    let site = warning.site.as_ref()?;
    let analysed = model.files.iter().find(|file| file.relative == warning.file).map(|file| &file.text).or_else(|| {
        let uses = model.tables.uses.iter().map(|table_use| &table_use.source);
        let claims = model.tables.claims.iter().map(|claim| &claim.source);
        uses.chain(claims).find(|source| source.file == warning.file).map(|source| &source.text)
    });
    let text = match analysed {
        Some(text) => std::sync::Arc::clone(text),
        None => {
            let text = std::fs::read_to_string(model.workspace.root.join(&warning.file)).ok()?;
            let fits = text.get(site.bytes.clone()).is_some()
                && crate::diagnostic::line_column(&text, site.bytes.start) == (site.line, site.column);
            if !fits {
                return None;
            }
            std::sync::Arc::new(text)
        }
    };
    Some(NamedSource::new(&warning.file, text).with_language(language_of(&warning.file)))
}

/// Renders one violation as a miette diagnostic: its header, source snippet, label and help.
pub(crate) fn render_violation(violation: &Violation, style: HumanStyle) -> String {
    let source = NamedSource::new(&violation.source.file, std::sync::Arc::clone(&violation.source.text))
        .with_language(language_of(&violation.source.file));
    render_diagnostic(&ViolationDiagnostic { violation, source }, style)
}

/// Renders one warning as a miette diagnostic, with a snippet when its file's text is at hand.
pub(crate) fn render_warning(outcome: &CheckOutcome, warning: &Warning, style: HumanStyle) -> String {
    let source = warning_source(outcome, warning);
    render_diagnostic(&WarningDiagnostic { warning, source }, style)
}

/// The text a warning's site is in, when it can be had (see [`warning_source`]).
pub(crate) fn warning_text(outcome: &CheckOutcome, warning: &Warning) -> Option<std::sync::Arc<String>> {
    warning_source(outcome, warning).map(|source| std::sync::Arc::clone(source.inner()))
}

/// Renders every finding and the summary line.
pub fn render(outcome: &CheckOutcome, style: HumanStyle) -> String {
    let mut out = String::new();
    for warning in &outcome.model.warnings {
        out.push_str(&render_warning(outcome, warning, style));
        out.push('\n');
    }
    let mut baselined = 0;
    for violation in &outcome.violations {
        if violation.baselined {
            baselined += 1;
            if !style.show_baselined {
                continue;
            }
            out.push_str("(in the baseline)\n");
        }
        out.push_str(&render_violation(violation, style));
        out.push('\n');
    }
    if baselined > 0 && !style.show_baselined {
        let known = plural(baselined, "known violation", "known violations");
        out.push_str(&format!("{known} in the baseline (run with --show-baselined to list them)\n"));
    }
    out.push_str(&super::summary_line(outcome));
    out.push('\n');
    out
}
