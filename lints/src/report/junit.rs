//! The JUnit XML report, for CI systems that show test results: one test case per module.
//!
//! The run is one `<testsuite>` (inside a `<testsuites>` root) whose test cases are the modules
//! of `boundaries.toml`, sorted by name, with class name `seams.boundaries`. A module's test case
//! fails when the module's own code (the violation's from-module) has violations that fail the
//! run: errors not covered by the baseline. Each such violation is listed in the `<failure>`
//! with its rule, `file:line:column`, message and help. A module with none passes; its
//! violations of severity `warn`, and the count of its baselined ones, are listed in its
//! `<system-out>` so that the test result agrees with the exit code, and so are the violations
//! that a `seams:allow` comment suppressed, each with its reason. Violations attributed to a
//! name that is no module of the configuration (a stale baseline entry for a removed module, for
//! example) get a test case of their own after the modules. Warnings about files go in the
//! suite's `<system-err>`. Nothing depends on the clock, so no `time` attributes are written.

use std::collections::BTreeMap;

use crate::check::CheckOutcome;
use crate::diagnostic::{Severity, Violation};
use crate::text::{XmlContext, escape_xml, plural};

/// The class name of every test case.
const CLASS_NAME: &str = "seams.boundaries";

/// What one module's test case reports.
#[derive(Default)]
struct ModuleCase<'a> {
    failing: Vec<&'a Violation>,
    warnings: Vec<&'a Violation>,
    baselined: usize,
    /// Violations that a `seams:allow` suppressed, with the reason.
    suppressed: Vec<(&'a Violation, &'a str)>,
}

fn describe(violation: &Violation) -> String {
    format!(
        "{} at {}:{}:{}: {}\n  help: {}",
        violation.rule.as_str(),
        violation.source.file,
        violation.site.line,
        violation.site.column,
        violation.message,
        violation.help
    )
}

fn write_case(xml: &mut String, name: &str, case: &ModuleCase<'_>) {
    xml.push_str(&format!(
        "    <testcase classname=\"{CLASS_NAME}\" name=\"{}\"",
        escape_xml(name, XmlContext::Attribute)
    ));
    if case.failing.is_empty() && case.warnings.is_empty() && case.baselined == 0 && case.suppressed.is_empty() {
        xml.push_str("/>\n");
        return;
    }
    xml.push_str(">\n");
    if !case.failing.is_empty() {
        let mut rules: Vec<&str> = case.failing.iter().map(|violation| violation.rule.as_str()).collect();
        rules.sort_unstable();
        rules.dedup();
        let body: Vec<String> = case.failing.iter().map(|violation| describe(violation)).collect();
        xml.push_str(&format!(
            "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
            escape_xml(
                &format!(
                    "{} in module {name}",
                    plural(case.failing.len(), "boundary violation", "boundary violations")
                ),
                XmlContext::Attribute
            ),
            escape_xml(&rules.join(", "), XmlContext::Attribute),
            escape_xml(&body.join("\n"), XmlContext::Text)
        ));
    }
    let mut notes: Vec<String> =
        case.warnings.iter().map(|violation| format!("warning: {}", describe(violation))).collect();
    for (violation, reason) in &case.suppressed {
        notes.push(format!("suppressed by seams:allow ({reason}): {}", describe(violation)));
    }
    if case.baselined > 0 {
        notes.push(format!("{} in the baseline", plural(case.baselined, "known violation", "known violations")));
    }
    if !notes.is_empty() {
        xml.push_str(&format!("      <system-out>{}</system-out>\n", escape_xml(&notes.join("\n"), XmlContext::Text)));
    }
    xml.push_str("    </testcase>\n");
}

/// The report as a JUnit XML document, ending in a newline.
pub fn render(outcome: &CheckOutcome) -> String {
    let mut cases: BTreeMap<&str, ModuleCase<'_>> =
        outcome.model.modules.iter().map(|module| (module.name.as_str(), ModuleCase::default())).collect();
    let mut strays: BTreeMap<&str, ModuleCase<'_>> = BTreeMap::new();
    for violation in &outcome.violations {
        let name = violation.from_module.as_str();
        let case = match cases.get_mut(name) {
            Some(case) => case,
            None => strays.entry(name).or_default(),
        };
        if violation.baselined {
            case.baselined += 1;
        } else if violation.severity == Severity::Error {
            case.failing.push(violation);
        } else {
            case.warnings.push(violation);
        }
    }
    for suppressed in &outcome.suppressed {
        let violation = &suppressed.violation;
        let name = violation.from_module.as_str();
        let case = match cases.get_mut(name) {
            Some(case) => case,
            None => strays.entry(name).or_default(),
        };
        case.suppressed.push((violation, suppressed.reason.as_str()));
    }
    let tests = cases.len() + strays.len();
    let failures = cases.values().chain(strays.values()).filter(|case| !case.failing.is_empty()).count();
    let counts = format!("tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\"");

    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!("<testsuites name=\"seams\" {counts}>\n"));
    xml.push_str(&format!("  <testsuite name=\"{CLASS_NAME}\" {counts}>\n"));
    for (name, case) in cases.iter().chain(strays.iter()) {
        let name = if name.is_empty() { "(no module)" } else { name };
        write_case(&mut xml, name, case);
    }
    if !outcome.model.warnings.is_empty() {
        let lines: Vec<String> = outcome
            .model
            .warnings
            .iter()
            .map(|warning| {
                let position =
                    warning.site.as_ref().map(|site| format!(":{}:{}", site.line, site.column)).unwrap_or_default();
                format!("warning[{}] {}{position}: {}", warning.code.as_str(), warning.file, warning.message)
            })
            .collect();
        xml.push_str(&format!("    <system-err>{}</system-err>\n", escape_xml(&lines.join("\n"), XmlContext::Text)));
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}
