//! The SARIF and JUnit reports: SARIF validated against the official SARIF 2.1.0 schema and
//! checked against the JSON report's positions, JUnit parsed as XML and checked against the
//! modules that have violations, and both snapshotted for one fixture.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use seams::check::CheckOutcome;
use seams::report::{json, junit, sarif};
use serde_json::Value;

use crate::fixtures::{check, fixtures_root};

/// The cases the brief of these reports names: nested `use` groups, SQL table uses (with
/// non-ASCII text before the offending table on some lines), and a dependency cycle next to a
/// file that syn cannot parse.
const NAMED_CASES: &[&str] = &["fail/use_groups", "fail/tables_literal_positions", "fail/unparsed_file"];

fn outcome(case: &str) -> CheckOutcome {
    check(&fixtures_root().join(case)).unwrap_or_else(|error| panic!("{case}: the check failed: {error}"))
}

/// Every failing fixture, so that every rule and warning that has a fixture goes through both
/// reports.
pub fn failing_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures_root().join("fail"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    cases.sort();
    cases
}

fn name_of(case: &Path) -> String {
    case.strip_prefix(fixtures_root()).unwrap_or(case).display().to_string()
}

/// The SARIF 2.1.0 schema as published by OASIS, compiled once for every test.
fn sarif_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
        let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        // The published pattern of `language` (on `run` and on `toolComponent`) has a bare `]`,
        // which ECMA-262 reads as a literal and the Rust regex engines reject, so the draft-07
        // meta-schema check would refuse the schema. Escaping it keeps its ECMA meaning; the
        // vendored file stays as published.
        assert_eq!(escape_bare_brackets(&mut schema), 2);
        // Formats are checked too, so that every URI must be a URI.
        jsonschema::options().should_validate_formats(true).build(&schema).unwrap()
    })
}

/// Rewrites the published `language` pattern with its `]` escaped, wherever it appears, and
/// says how many it rewrote.
fn escape_bare_brackets(schema: &mut Value) -> usize {
    const PUBLISHED: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match schema {
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, value)| {
                if key == "pattern" && value == PUBLISHED {
                    *value = Value::from(r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$");
                    1
                } else {
                    escape_bare_brackets(value)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(escape_bare_brackets).sum(),
        _ => 0,
    }
}

/// Every way a SARIF log breaks the schema, as readable lines.
fn schema_errors(log: &Value) -> Vec<String> {
    sarif_validator().iter_errors(log).map(|error| format!("{} at {}", error, error.instance_path())).collect()
}

/// Everything wrong with one case's SARIF log, compared with its JSON report.
fn sarif_problems(case: &str, outcome: &CheckOutcome) -> Vec<String> {
    let text = sarif::render(outcome);
    let log: Value = serde_json::from_str(&text).unwrap();
    let mut problems: Vec<String> =
        schema_errors(&log).into_iter().map(|error| format!("{case}: schema: {error}")).collect();

    let run = &log["runs"][0];
    if run["columnKind"] != "unicodeCodePoints" {
        problems.push(format!("{case}: columnKind is {}", run["columnKind"]));
    }
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();

    let report: Value = serde_json::to_value(json::build(outcome)).unwrap();
    // Suppressed findings are results too, after the violations, each with its suppression.
    let suppressed = report["suppressed"].as_array().unwrap();
    let violations: Vec<&Value> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|violation| violation["baselined"] == false)
        .chain(suppressed)
        .collect();
    let warnings = report["warnings"].as_array().unwrap();
    for (result, found) in results.iter().skip(violations.len() - suppressed.len()).zip(suppressed) {
        let suppression = &result["suppressions"][0];
        if suppression["kind"] != "inSource" || suppression["justification"] != found["reason"] {
            problems
                .push(format!("{case}: the suppression {suppression} does not carry the reason {}", found["reason"]));
        }
        if suppression["location"]["physicalLocation"]["region"]["startLine"] != found["allow_line"] {
            problems.push(format!("{case}: the suppression {suppression} is not at the allow's line"));
        }
    }
    for result in results.iter().take(violations.len() - suppressed.len()) {
        if !result["suppressions"].is_null() {
            problems.push(format!("{case}: a violation that fails the run has suppressions: {result}"));
        }
    }
    if results.len() != violations.len() + warnings.len() {
        problems.push(format!(
            "{case}: {} results for {} violations and {} warnings",
            results.len(),
            violations.len(),
            warnings.len()
        ));
        return problems;
    }

    for (result, rule) in results.iter().zip(
        violations.iter().map(|violation| &violation["rule"]).chain(warnings.iter().map(|warning| &warning["code"])),
    ) {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        if result["ruleId"] != *rule || rules[index]["id"] != *rule {
            problems.push(format!("{case}: result for {rule} has ruleId {} and ruleIndex {index}", result["ruleId"]));
        }
    }

    for (result, violation) in results.iter().zip(&violations) {
        let location = &result["locations"][0]["physicalLocation"];
        let region = &location["region"];
        let expected = (violation["file"].as_str().unwrap(), &violation["line"], &violation["column"]);
        let actual =
            (location["artifactLocation"]["uri"].as_str().unwrap(), &region["startLine"], &region["startColumn"]);
        if actual != expected {
            problems.push(format!(
                "{case}: the region {actual:?} is not where the JSON report puts the violation, {expected:?}"
            ));
        }
        if location["artifactLocation"]["uriBaseId"] != "%SRCROOT%" {
            problems.push(format!("{case}: a location is not relative to %SRCROOT%"));
        }
        let start = (region["startLine"].as_u64().unwrap(), region["startColumn"].as_u64().unwrap());
        let end = (region["endLine"].as_u64().unwrap(), region["endColumn"].as_u64().unwrap());
        if end < start {
            problems.push(format!("{case}: a region ends at {end:?}, before its start {start:?}"));
        }
        let message = result["message"]["text"].as_str().unwrap();
        let (words, help) = (violation["message"].as_str().unwrap(), violation["help"].as_str().unwrap());
        if !message.contains(words) || !message.contains(help) {
            problems.push(format!("{case}: the message {message:?} lacks the violation's message or help"));
        }
    }

    for (result, warning) in results[violations.len()..].iter().zip(warnings) {
        let region = &result["locations"][0]["physicalLocation"]["region"];
        let (line, column) = (&warning["line"], &warning["column"]);
        let matches = if line.is_null() {
            region.is_null()
        } else {
            region["startLine"] == *line && region["startColumn"] == *column
        };
        if !matches {
            problems.push(format!("{case}: the warning's region {region} is not at {line}:{column}"));
        }
    }

    let fingerprints: Vec<&Value> = results.iter().map(|result| &result["partialFingerprints"]["seams/v1"]).collect();
    let unique: BTreeSet<String> = fingerprints.iter().map(|fingerprint| fingerprint.to_string()).collect();
    if fingerprints.iter().any(|fingerprint| !fingerprint.is_string()) || unique.len() != fingerprints.len() {
        problems.push(format!("{case}: fingerprints are missing or repeated: {fingerprints:?}"));
    }
    problems
}

#[test]
fn sarif_of_every_failing_fixture_is_valid_and_points_where_json_does() {
    let cases = failing_cases();
    assert!(cases.len() >= NAMED_CASES.len());
    let mut problems = Vec::new();
    for case in &cases {
        problems.extend(sarif_problems(&name_of(case), &check(case).unwrap()));
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn sarif_of_the_named_fixtures_is_valid_and_has_results() {
    for case in NAMED_CASES {
        let outcome = outcome(case);
        assert!(!outcome.violations().is_empty(), "{case}: the fixture reports nothing");
        let problems = sarif_problems(case, &outcome);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[test]
fn a_changed_since_log_is_valid_and_says_what_it_covers() {
    let mut outcome = outcome("fail/unparsed_file");
    outcome.restrict_to_changed_files("origin/main", &BTreeSet::from(["src/a/fine.rs".to_owned()]));
    let problems = sarif_problems("fail/unparsed_file (changed since origin/main)", &outcome);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let log: Value = serde_json::from_str(&sarif::render(&outcome)).unwrap();
    let scope = &log["runs"][0]["properties"]["scope"];
    assert_eq!((&scope["changedSince"], &scope["changedFiles"]), (&Value::from("origin/main"), &Value::from(1)));
}

#[test]
fn the_schema_check_rejects_a_broken_log() {
    // The validator must be able to fail: a log whose region starts at line 0 and whose result
    // has an unknown level is not SARIF.
    let mut log: Value = serde_json::from_str(&sarif::render(&outcome("fail/use_groups"))).unwrap();
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = Value::from(0);
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert_eq!(schema_errors(&log).len(), 2, "{:?}", schema_errors(&log));
}

#[test]
fn sarif_declares_every_rule_and_warning_code() {
    let log: Value = serde_json::from_str(&sarif::render(&outcome("fail/use_groups"))).unwrap();
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "seams");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    for (index, rule) in seams::diagnostic::RuleCode::ALL.iter().enumerate() {
        assert_eq!(rules[index]["id"], rule.as_str());
        assert_eq!(rules[index]["shortDescription"]["text"], rule.description());
        assert_eq!(rules[index]["helpUri"], rule.help_url());
        let level = match rule.default_severity() {
            seams::diagnostic::Severity::Error => "error",
            seams::diagnostic::Severity::Warning => "warning",
        };
        assert_eq!(rules[index]["defaultConfiguration"]["level"], level);
    }
    let warning_ids: Vec<&str> =
        rules[seams::diagnostic::RuleCode::ALL.len()..].iter().map(|rule| rule["id"].as_str().unwrap()).collect();
    assert_eq!(
        warning_ids,
        ["unparsed-file", "unparsed-sql", "unreadable-file", "missing-module-file", "internal-error", "invalid-allow"]
    );
}

#[test]
fn sarif_columns_count_code_points_not_utf16_units() {
    // Line 32 of the fixture is `conn.query("SELECT '🧾 reçu' AS label FROM payments_ledger");`.
    // The receipt emoji is one code point but two UTF-16 units, so the two counts differ by one.
    let case = "fail/tables_literal_positions";
    let outcome = outcome(case);
    let source = std::fs::read_to_string(fixtures_root().join(case).join("src/ops.rs")).unwrap();
    let line = source.lines().nth(31).unwrap();
    let byte = line.find("payments_ledger").unwrap();
    let code_points = line[..byte].chars().count() + 1;
    let utf16_units = line[..byte].encode_utf16().count() + 1;
    assert_ne!(code_points, utf16_units);

    let log: Value = serde_json::from_str(&sarif::render(&outcome)).unwrap();
    let region = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| &result["locations"][0]["physicalLocation"]["region"])
        .find(|region| region["startLine"] == 32)
        .unwrap();
    assert_eq!(region["startColumn"], code_points);
    assert_eq!(region["endLine"], 32);
    assert_eq!(region["endColumn"], code_points + "payments_ledger".len());
}

#[test]
fn sarif_fingerprints_have_no_line_numbers() {
    let log: Value = serde_json::from_str(&sarif::render(&outcome("fail/use_groups"))).unwrap();
    let fingerprints: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["partialFingerprints"]["seams/v1"].as_str().unwrap())
        .collect();
    // `src/a.rs` imports `crate::b::internal` twice (lines 8 and 10); the two sites differ only
    // by their rank, never by their line.
    assert!(fingerprints.contains(&"internal-import|a|b|src/a.rs|crate::b::internal|1"), "{fingerprints:?}");
    assert!(fingerprints.contains(&"internal-import|a|b|src/a.rs|crate::b::internal|2"), "{fingerprints:?}");
}

/// Everything wrong with one case's JUnit document.
fn junit_problems(case: &str, outcome: &CheckOutcome) -> Vec<String> {
    let text = junit::render(outcome);
    let document = match roxmltree::Document::parse(&text) {
        Ok(document) => document,
        Err(error) => return vec![format!("{case}: not XML: {error}")],
    };
    let mut problems = Vec::new();
    let suite = document.descendants().find(|node| node.has_tag_name("testsuite")).unwrap();
    let cases: Vec<roxmltree::Node> = suite.children().filter(|node| node.has_tag_name("testcase")).collect();
    let failing: BTreeSet<&str> = cases
        .iter()
        .filter(|node| node.children().any(|child| child.has_tag_name("failure")))
        .map(|node| node.attribute("name").unwrap())
        .collect();
    let expected_failing: BTreeSet<&str> = outcome.failing().map(|violation| violation.from_module.as_str()).collect();
    if failing != expected_failing {
        problems.push(format!("{case}: failing test cases {failing:?}, modules with violations {expected_failing:?}"));
    }
    let names: BTreeSet<&str> = cases.iter().map(|node| node.attribute("name").unwrap()).collect();
    let modules: BTreeSet<&str> = outcome.module_names().collect();
    if !modules.is_subset(&names) || names.len() != cases.len() {
        problems.push(format!("{case}: test cases {names:?} for modules {modules:?}"));
    }
    for root in [document.root_element(), suite] {
        let count = |attribute: &str| root.attribute(attribute).and_then(|value| value.parse::<usize>().ok());
        if count("tests") != Some(cases.len()) || count("failures") != Some(failing.len()) {
            problems.push(format!(
                "{case}: <{}> counts {:?}/{:?} for {} cases, {} failing",
                root.tag_name().name(),
                count("tests"),
                count("failures"),
                cases.len(),
                failing.len()
            ));
        }
    }
    if cases.iter().any(|node| node.attribute("classname") != Some("seams.boundaries")) {
        problems.push(format!("{case}: a test case has another class name"));
    }
    for violation in outcome.failing() {
        let failure = cases
            .iter()
            .find(|node| node.attribute("name") == Some(violation.from_module.as_str()))
            .and_then(|node| node.children().find(|child| child.has_tag_name("failure")))
            .and_then(|node| node.text())
            .unwrap_or_default();
        let place = format!("{}:{}:{}", violation.source.file, violation.site.line, violation.site.column);
        for part in [violation.rule.as_str(), &place, &violation.message, &violation.help] {
            if !failure.contains(part) {
                problems.push(format!("{case}: the failure of {} lacks {part:?}", violation.from_module));
            }
        }
    }
    let system_err = suite.children().find(|node| node.has_tag_name("system-err")).and_then(|node| node.text());
    for warning in outcome.warnings() {
        if !system_err.is_some_and(|text| text.contains(&warning.file) && text.contains(&warning.message)) {
            problems.push(format!("{case}: <system-err> lacks the warning for {}", warning.file));
        }
    }
    problems
}

#[test]
fn junit_of_every_failing_fixture_fails_exactly_the_offending_modules() {
    let mut problems = Vec::new();
    for case in failing_cases() {
        problems.extend(junit_problems(&name_of(&case), &check(&case).unwrap()));
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn junit_of_the_named_fixtures_has_failures_and_warnings() {
    for case in NAMED_CASES {
        let outcome = outcome(case);
        let problems = junit_problems(case, &outcome);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert!(junit::render(&outcome).contains("<failure "), "{case}: nothing fails");
    }
    assert!(
        junit::render(&outcome("fail/unparsed_file"))
            .contains("<system-err>warning[unparsed-file] src/a/broken.rs:6:17: ")
    );
}

#[test]
fn junit_of_a_passing_fixture_passes_every_module() {
    let outcome = outcome("pass/own_internals");
    let text = junit::render(&outcome);
    let document = roxmltree::Document::parse(&text).unwrap();
    let root = document.root_element();
    assert_eq!(root.attribute("failures"), Some("0"));
    assert_eq!(root.attribute("tests"), Some(outcome.stats().modules.to_string().as_str()));
    assert!(!text.contains("<failure"));
}

#[test]
fn reports_are_the_same_on_every_run() {
    for case in NAMED_CASES {
        let (first, second) = (outcome(case), outcome(case));
        assert_eq!(sarif::render(&first), sarif::render(&second), "{case}");
        assert_eq!(junit::render(&first), junit::render(&second), "{case}");
    }
}

#[test]
fn reports_match_snapshots() {
    let outcome = outcome("fail/unparsed_file");
    insta::assert_snapshot!("sarif_unparsed_file", sarif::render(&outcome));
    insta::assert_snapshot!("junit_unparsed_file", junit::render(&outcome));
}

#[test]
fn baselined_violations_are_counted_not_reported() {
    // Three sites are covered by the baseline; a glob import and a stale entry are not.
    let outcome = outcome("fail/stale_baseline");
    let log: Value = serde_json::from_str(&sarif::render(&outcome)).unwrap();
    let run = &log["runs"][0];
    assert_eq!(run["properties"]["baselinedViolations"], 3);
    let reported: Vec<(&str, &str)> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
            (result["ruleId"].as_str().unwrap(), uri)
        })
        .collect();
    assert_eq!(reported, [("stale-baseline", "boundaries-baseline.toml"), ("internal-import", "src/a.rs")]);

    let text = junit::render(&outcome);
    let document = roxmltree::Document::parse(&text).unwrap();
    let module_a = document.descendants().find(|node| node.attribute("name") == Some("a")).unwrap();
    let failure = module_a.children().find(|node| node.has_tag_name("failure")).unwrap();
    assert_eq!(failure.attribute("message"), Some("2 boundary violations in module a"));
    let system_out = module_a.children().find(|node| node.has_tag_name("system-out")).and_then(|node| node.text());
    assert_eq!(system_out, Some("3 known violations in the baseline"));
}
