//! The SARIF 2.1.0 report, for GitHub code scanning and other SARIF viewers.
//!
//! One run, whose tool driver `seams` declares one reporting descriptor per rule code
//! ([`RuleCode::ALL`], in that order) followed by one per warning code. Each rule's help URI is
//! its section in `docs/rules.md`; the warnings share the section `#warnings`.
//!
//! Choices this report makes:
//! - Baselined violations are left out. SARIF could carry them as results with an `external`
//!   suppression, but GitHub code scanning ignores `suppressions` and would open an alert for
//!   every piece of recorded debt, which is what the baseline exists to avoid. The run's
//!   `properties.baselinedViolations` counts them instead, so the file still says they exist.
//! - Violations that a `seams:allow` comment suppressed are results with one `suppressions`
//!   entry of kind `inSource`, whose `justification` is the allow's reason and whose `location`
//!   is the comment: unlike the baseline, an allow is a decision written at the code, and SARIF
//!   viewers that honour suppressions show it as such.
//! - Warnings (a file syn cannot parse, SQL that no dialect parses, …) are results of level
//!   `warning` under their own descriptors, not tool notifications, because a file that is not
//!   read is a place whose violations are not found, and viewers show results next to the file.
//! - Columns are counted in Unicode code points, as every other seams report counts them, and
//!   the run says so with `columnKind: unicodeCodePoints` (SARIF's default is UTF-16 code units).
//!   `endColumn` is exclusive: it is the column of the character after the region.
//! - Paths are relative to the workspace root, under the base id `%SRCROOT%`, whose absolute
//!   location is deliberately not written: the file stays the same on every machine.
//! - `partialFingerprints["seams/v1"]` is the baseline's fingerprint (rule, from-module,
//!   to-module, file, target; for a dependency cycle, its component's modules) plus the site's
//!   rank among the sites that share it, so a result keeps its identity when code moves to other
//!   lines.
//! - Each rule's `defaultConfiguration.level` is the severity `[defaults] severity` gives it.
//! - With `--changed-since`, the run's `properties.scope` says that the whole workspace was
//!   analysed but only the changed files' violations are reported, as the JSON report does.
//! - Nothing depends on the clock: there are no timestamps and no durations.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::check::CheckOutcome;
use crate::diagnostic::LineIndex;
use crate::diagnostic::{RuleCode, Severity, Violation};
use crate::diagnostic::{Warning, WarningCode};

/// The schema every log produced here declares (the OASIS 2.1.0 schema with its errata).
pub(crate) const SARIF_SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The base id that every artifact location is relative to.
const SOURCE_ROOT: &str = "%SRCROOT%";

/// The key of the fingerprint this report writes into `partialFingerprints`.
const FINGERPRINT_KEY: &str = "seams/v1";

#[derive(Debug, Serialize)]
struct SarifLog {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    invocations: Vec<Invocation>,
    original_uri_base_ids: BTreeMap<&'static str, OriginalUriBase>,
    column_kind: &'static str,
    results: Vec<SarifResult>,
    properties: RunProperties,
}

#[derive(Debug, Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: &'static str,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Text,
    help_uri: String,
    default_configuration: Configuration,
    properties: DescriptorProperties,
}

#[derive(Debug, Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Debug, Serialize)]
struct DescriptorProperties {
    tags: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct Text {
    text: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
}

#[derive(Debug, Serialize)]
struct OriginalUriBase {
    description: Text,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties {
    baselined_violations: usize,
    /// With `--changed-since`: what the results cover, as the JSON report's `scope` says.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<Scope>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Scope {
    /// Always `workspace`: every file was analysed.
    analysed: &'static str,
    /// Always `changed-files`: results in changed files, plus every cycle, unused dependency and stale
    /// baseline entry.
    reported: &'static str,
    changed_since: String,
    changed_files: usize,
    violations_found: usize,
}

impl Scope {
    fn of(scope: &crate::check::ReportScope) -> Scope {
        let json = crate::report::json::JsonScope::of(scope);
        Scope {
            analysed: json.analysed,
            reported: json.reported,
            changed_since: json.changed_since,
            changed_files: json.changed_files,
            violations_found: json.violations_found,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    /// For a violation that a `seams:allow` comment suppressed: one `inSource` suppression with
    /// the allow's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<Vec<Suppression>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<ResultProperties>,
}

#[derive(Debug, Serialize)]
struct Suppression {
    kind: &'static str,
    justification: String,
    location: Location,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    from_module: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    to_module: String,
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    /// The chain of modules of a `layer-violation` or `forbidden-dependency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    chain: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

/// A text region: 1-based lines and columns in code points, `end_column` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Region {
    pub(crate) start_line: usize,
    pub(crate) start_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_column: Option<usize>,
}

/// Every warning code, in the order of their descriptors after the rules'.
const WARNING_CODES: &[WarningCode] = &[
    WarningCode::UnparsedFile,
    WarningCode::UnparsedSql,
    WarningCode::UnreadableFile,
    WarningCode::MissingModuleFile,
    WarningCode::InternalError,
    WarningCode::InvalidAllow,
];

/// A warning code's place in [`WARNING_CODES`] and its one-line description. The match is
/// exhaustive, so a new warning code cannot be added without a descriptor.
fn warning_descriptor(code: WarningCode) -> (usize, &'static str) {
    match code {
        WarningCode::UnparsedFile => (0, "syn cannot parse a file, so none of its references are checked"),
        WarningCode::UnparsedSql => {
            (1, "text that reads as SQL parses in no SQL dialect, so its tables are not checked")
        }
        WarningCode::UnreadableFile => (2, "a file cannot be read or is not UTF-8, so it is not checked"),
        WarningCode::MissingModuleFile => {
            (3, "a `mod` declaration or `#[path]` attribute names a file that does not exist")
        }
        WarningCode::InternalError => (4, "seams failed while analysing one file; the other files are still checked"),
        WarningCode::InvalidAllow => {
            (5, "a `seams:allow` comment names no rule, an unknown rule, or one that cannot be allowed in code")
        }
    }
}

/// `internal-import` as `InternalImport`: the descriptor's human-readable name.
fn pascal_case(code: &str) -> String {
    code.split('-')
        .map(|word| {
            let mut characters = word.chars();
            characters
                .next()
                .map(|first| first.to_uppercase().chain(characters).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The descriptors of every rule, at the severity the configuration gives it, then of every
/// warning code.
fn descriptors(config: &crate::config::Config) -> Vec<ReportingDescriptor> {
    let rules = RuleCode::ALL.iter().map(|rule| {
        let url = rule.help_url();
        ReportingDescriptor {
            id: rule.as_str(),
            name: pascal_case(rule.as_str()),
            short_description: Text { text: rule.description().to_owned() },
            full_description: Text { text: rule.description().to_owned() },
            help: Text { text: format!("what the rule checks, why it matters and how to fix it: {url}") },
            help_uri: url,
            default_configuration: Configuration { level: level(crate::rules::configured_severity(config, *rule)) },
            properties: DescriptorProperties { tags: vec!["architecture", "modularity"] },
        }
    });
    let warnings = WARNING_CODES.iter().map(|code| {
        let url = format!("{}#warnings", crate::diagnostic::DOCS_RULES_URL);
        let (_, description) = warning_descriptor(*code);
        ReportingDescriptor {
            id: code.as_str(),
            name: pascal_case(code.as_str()),
            short_description: Text { text: description.to_owned() },
            full_description: Text { text: description.to_owned() },
            help: Text { text: format!("what the warning means and what to do about it: {url}") },
            help_uri: url,
            default_configuration: Configuration { level: "warning" },
            properties: DescriptorProperties { tags: vec!["seams-warning"] },
        }
    });
    rules.chain(warnings).collect()
}

fn rule_index(rule: RuleCode) -> usize {
    RuleCode::ALL.iter().position(|code| *code == rule).unwrap_or_default()
}

/// Percent-encodes a relative path for a URI reference. Unreserved characters, sub-delimiters,
/// `@` and `/` stay as they are; `:` is encoded so that a first segment never reads as a scheme.
pub(crate) fn relative_uri(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => uri.push(char::from(byte)),
            b'-' | b'.' | b'_' | b'~' | b'/' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';'
            | b'=' | b'@' => uri.push(char::from(byte)),
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

/// The region a violation covers, from its byte range in its file's text.
pub(crate) fn violation_region(violation: &Violation, index: &LineIndex) -> Region {
    let text = violation.source.text.as_str();
    let (start_line, start_column) = index.line_column(text, violation.site.bytes.start);
    let end = violation.site.bytes.end.max(violation.site.bytes.start);
    let (end_line, end_column) = index.line_column(text, end);
    Region { start_line, start_column, end_line: Some(end_line), end_column: Some(end_column) }
}

fn location(file: &str, region: Option<Region>) -> Location {
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri: relative_uri(file), uri_base_id: SOURCE_ROOT },
            region,
        },
    }
}

fn violation_results(outcome: &CheckOutcome) -> Vec<SarifResult> {
    let mut line_indexes: HashMap<&str, LineIndex> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut results = Vec::new();
    let unsuppressed =
        outcome.violations.iter().filter(|violation| !violation.baselined).map(|violation| (violation, None));
    let suppressed = outcome.suppressed.iter().map(|suppressed| (&suppressed.violation, Some(suppressed)));
    for (violation, suppressed) in unsuppressed.chain(suppressed) {
        let index = line_indexes
            .entry(violation.source.file.as_str())
            .or_insert_with(|| LineIndex::new(&violation.source.text));
        let fingerprint = crate::baseline::Fingerprint::of(violation).key();
        let rank = seen.entry(fingerprint.clone()).or_default();
        *rank += 1;
        results.push(SarifResult {
            rule_id: violation.rule.as_str(),
            rule_index: rule_index(violation.rule),
            level: level(violation.severity),
            message: Text { text: format!("{}. Help: {}", violation.message, violation.help) },
            locations: vec![location(&violation.source.file, Some(violation_region(violation, index)))],
            partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, format!("{fingerprint}|{rank}"))]),
            suppressions: suppressed.map(|suppressed| {
                let allow = &suppressed.allow;
                let text = violation.source.text.as_str();
                let (end_line, end_column) = index.line_column(text, allow.bytes.end.max(allow.bytes.start));
                let region = Region {
                    start_line: allow.line,
                    start_column: allow.column,
                    end_line: Some(end_line),
                    end_column: Some(end_column),
                };
                vec![Suppression {
                    kind: "inSource",
                    justification: suppressed.reason.clone(),
                    location: location(&violation.source.file, Some(region)),
                }]
            }),
            properties: Some(ResultProperties {
                from_module: violation.from_module.clone(),
                to_module: violation.to_module.clone(),
                target: violation.target.clone(),
                owner: violation.owner().map(str::to_owned),
                chain: violation.chain().map(<[String]>::to_vec),
            }),
        });
    }
    results
}

fn warning_results(warnings: &[Warning]) -> Vec<SarifResult> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    warnings
        .iter()
        .map(|warning| {
            let (position, _) = warning_descriptor(warning.code);
            // Warnings carry a line and a character column but not their file's text, so their
            // region is the start point only.
            let region = warning.site.as_ref().map(|site| Region {
                start_line: site.line,
                start_column: site.column,
                end_line: None,
                end_column: None,
            });
            let fingerprint = [warning.code.as_str(), &warning.file].join("|");
            let rank = seen.entry(fingerprint.clone()).or_default();
            *rank += 1;
            SarifResult {
                rule_id: warning.code.as_str(),
                rule_index: RuleCode::ALL.len() + position,
                level: "warning",
                message: Text { text: warning.message.clone() },
                locations: vec![location(&warning.file, region)],
                partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, format!("{fingerprint}|{rank}"))]),
                suppressions: None,
                properties: None,
            }
        })
        .collect()
}

/// The report as a SARIF log, ready to serialise.
fn build(outcome: &CheckOutcome) -> SarifLog {
    let mut results = violation_results(outcome);
    results.extend(warning_results(&outcome.model.warnings));
    let version = env!("CARGO_PKG_VERSION");
    SarifLog {
        schema: SARIF_SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "seams",
                    version,
                    semantic_version: version,
                    information_uri: env!("CARGO_PKG_REPOSITORY"),
                    rules: descriptors(&outcome.model.config),
                },
            },
            invocations: vec![Invocation { execution_successful: true }],
            original_uri_base_ids: BTreeMap::from([(
                SOURCE_ROOT,
                OriginalUriBase { description: Text { text: "the root of the checked Cargo workspace".to_owned() } },
            )]),
            column_kind: "unicodeCodePoints",
            results,
            properties: RunProperties {
                baselined_violations: outcome.violations.iter().filter(|violation| violation.baselined).count(),
                scope: outcome.scope.as_ref().map(Scope::of),
            },
        }],
    }
}

/// The report as pretty-printed SARIF, ending in a newline.
pub fn render(outcome: &CheckOutcome) -> String {
    let mut text =
        serde_json::to_string_pretty(&build(outcome)).unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_codes_are_listed_once_in_descriptor_order() {
        assert_eq!(WARNING_CODES.len(), 6);
        for (position, code) in WARNING_CODES.iter().enumerate() {
            assert_eq!(warning_descriptor(*code).0, position, "{}", code.as_str());
        }
    }

    #[test]
    fn descriptor_ids_are_unique_and_in_rule_order() {
        let config = crate::config::Config::parse(std::path::Path::new("boundaries.toml"), String::new()).unwrap();
        let descriptors = descriptors(&config);
        let ids: Vec<&str> = descriptors.iter().map(|descriptor| descriptor.id).collect();
        let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len());
        for rule in RuleCode::ALL {
            assert_eq!(ids[rule_index(*rule)], rule.as_str());
        }
    }

    #[test]
    fn names_are_pascal_case() {
        assert_eq!(pascal_case("cross-module-foreign-key"), "CrossModuleForeignKey");
        assert_eq!(pascal_case("unparsed-file"), "UnparsedFile");
    }

    #[test]
    fn uris_encode_what_a_uri_reference_cannot_hold() {
        assert_eq!(relative_uri("src/a.rs"), "src/a.rs");
        assert_eq!(relative_uri("my crate/src/ñ.rs"), "my%20crate/src/%C3%B1.rs");
        assert_eq!(relative_uri("a:b/c#d?e%f.rs"), "a%3Ab/c%23d%3Fe%25f.rs");
    }
}
