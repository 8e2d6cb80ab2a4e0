//! GitHub Actions workflow commands: one `::error` or `::warning` annotation per finding.

use crate::check::CheckOutcome;
use crate::diagnostic::Severity;

/// Escapes a message for a workflow command's data part.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command's property value, where `:` and `,` are separators.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(outcome: &CheckOutcome) -> String {
    let mut lines = Vec::new();
    for violation in &outcome.violations {
        if violation.baselined {
            continue;
        }
        let command = match violation.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        lines.push(format!(
            "::{command} file={},line={},col={},title={}::{}",
            escape_property(&violation.source.file),
            violation.site.line,
            violation.site.column,
            escape_property(&format!("seams({})", violation.rule.as_str())),
            escape_data(&format!("{}. Help: {}", violation.message, violation.help)),
        ));
    }
    // A suppressed finding is a decision already reviewed at the code, so it gets no annotation
    // on the diff; one notice says how many there are and where they are listed.
    if !outcome.suppressed.is_empty() {
        lines.push(format!(
            "::notice title=seams::{}",
            escape_data(&format!(
                "{} suppressed by seams:allow comments (listed with their reasons in the json and sarif reports)",
                crate::text::plural(outcome.suppressed.len(), "finding", "findings")
            ))
        ));
    }
    for warning in &outcome.model.warnings {
        let position =
            warning.site.as_ref().map(|site| format!(",line={},col={}", site.line, site.column)).unwrap_or_default();
        lines.push(format!(
            "::warning file={}{position},title={}::{}",
            escape_property(&warning.file),
            escape_property(&format!("seams({})", warning.code.as_str())),
            escape_data(&warning.message),
        ));
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_newlines_are_escaped() {
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(escape_data("a:b\r\n"), "a:b%0D%0A");
    }
}
