//! The reports against their documentation: the JSON example of `docs/output.md` has exactly the
//! keys the report emits, table-rule violations always carry `owner`, every warning with a
//! position is shown at it in human output, and `docs/configuration.md` lists every
//! configuration error kind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use seams::check::ConfigErrorKind;
use seams::diagnostic::RuleCode;
use seams::diagnostic::WarningCode;
use seams::report::human::HumanStyle;
use serde_json::Value;

use crate::fixtures::{check, fixtures_root};

fn read_doc(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Every passing and failing fixture.
fn fixture_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = ["pass", "fail"]
        .iter()
        .flat_map(|kind| std::fs::read_dir(fixtures_root().join(kind)).unwrap().filter_map(Result::ok))
        .map(|entry| entry.path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    cases.sort();
    cases
}

/// The JSON report of every fixture, and one more restricted with `--changed-since`, which is
/// the only way to get a `scope`.
fn reports() -> Vec<(String, Value)> {
    let mut reports: Vec<(String, Value)> = fixture_cases()
        .iter()
        .map(|case| {
            let outcome = check(case).unwrap_or_else(|error| panic!("{}: {error}", case.display()));
            (case.display().to_string(), serde_json::to_value(seams::report::json::build(&outcome)).unwrap())
        })
        .collect();
    let case = fixtures_root().join("fail/use_groups");
    let mut outcome = check(&case).unwrap();
    let changed: BTreeSet<String> = outcome.violations().iter().take(1).map(|v| v.source.file.clone()).collect();
    outcome.restrict_to_changed_files("HEAD~1", &changed);
    reports.push((
        "fail/use_groups --changed-since".to_owned(),
        serde_json::to_value(seams::report::json::build(&outcome)).unwrap(),
    ));
    reports
}

fn items<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> + 'a {
    value.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn keys_of(value: &Value) -> impl Iterator<Item = String> + '_ {
    value.as_object().into_iter().flat_map(|object| object.keys().cloned())
}

/// The keys of each kind of object in a report, by a name for the kind.
fn key_sets(report: &Value, into: &mut BTreeMap<&'static str, BTreeSet<String>>) {
    let mut add = |kind: &'static str, value: &Value| into.entry(kind).or_default().extend(keys_of(value));
    add("report", report);
    if let Some(scope) = report.get("scope") {
        add("scope", scope);
    }
    if let Some(stats) = report.get("stats") {
        add("stats", stats);
    }
    items(report, "violations").for_each(|violation| add("violation", violation));
    items(report, "suppressed").for_each(|suppressed| add("suppressed", suppressed));
    items(report, "warnings").for_each(|warning| add("warning", warning));
    for cycle in items(report, "cycles") {
        add("cycle", cycle);
        items(cycle, "suggested_cuts").for_each(|cut| add("cut", cut));
        for edge in items(cycle, "edges") {
            add("edge", edge);
            items(edge, "sites").for_each(|site| add("site", site));
        }
    }
}

/// The JSON example of the `--format json` section of docs/output.md.
fn documented_example() -> Value {
    let doc = read_doc("output.md");
    let section = &doc[doc.find("## `--format json`").expect("docs/output.md has a `--format json` section")..];
    let start = section.find("```json\n").expect("the section has a JSON example") + "```json\n".len();
    let end = start + section[start..].find("```").unwrap();
    serde_json::from_str(&section[start..end]).unwrap_or_else(|error| panic!("the example is not JSON: {error}"))
}

#[test]
fn the_documented_json_example_has_exactly_the_keys_the_report_emits() {
    let mut emitted = BTreeMap::new();
    for (_, report) in reports() {
        key_sets(&report, &mut emitted);
    }
    let mut documented = BTreeMap::new();
    key_sets(&documented_example(), &mut documented);
    let kinds: BTreeSet<&str> = emitted.keys().chain(documented.keys()).copied().collect();
    let mut differences = Vec::new();
    for kind in kinds {
        let (emitted, documented) =
            (emitted.get(kind).cloned().unwrap_or_default(), documented.get(kind).cloned().unwrap_or_default());
        let undocumented: Vec<&String> = emitted.difference(&documented).collect();
        let stale: Vec<&String> = documented.difference(&emitted).collect();
        if !undocumented.is_empty() || !stale.is_empty() {
            differences.push(format!(
                "{kind}: emitted but not documented {undocumented:?}, documented but never emitted {stale:?}"
            ));
        }
    }
    assert!(differences.is_empty(), "docs/output.md's JSON example is out of date:\n{}", differences.join("\n"));
    // The fixtures must reach every kind, or a key of the missing kind could go unchecked.
    for kind in ["report", "scope", "stats", "violation", "suppressed", "warning", "cycle", "cut", "edge", "site"] {
        assert!(emitted.contains_key(kind), "no fixture emits a {kind} object");
    }
}

#[test]
fn the_documented_json_keys_come_in_the_order_the_report_emits_them() {
    // serde_json's `Value` sorts keys, so the order is read from the report's own text.
    let outcome = check(&fixtures_root().join("fail/use_groups")).unwrap();
    let text = seams::report::json::render(&outcome);
    // `scope` is only emitted with --changed-since, so this fixture's report cannot place it.
    let position = |key: &str| {
        text.find(&format!("\n  \"{key}\"")).unwrap_or_else(|| panic!("the report has no top-level key {key}"))
    };
    let doc = read_doc("output.md");
    let example = &doc[doc.find("```json\n{").unwrap()..];
    let documented_position = |key: &str| example.find(&format!("\n  \"{key}\"")).unwrap();
    let mut emitted: Vec<&str> = vec!["violations", "suppressed", "cycles", "warnings", "unowned_tables", "stats"];
    emitted.sort_by_key(|key| position(key));
    let mut documented = emitted.clone();
    documented.sort_by_key(|key| documented_position(key));
    assert_eq!(documented, emitted);
}

/// Every warning code; the match fails to compile when a code is added, so that it is added here.
fn every_warning_code() -> Vec<WarningCode> {
    let codes = [
        WarningCode::UnparsedFile,
        WarningCode::UnparsedSql,
        WarningCode::UnreadableFile,
        WarningCode::MissingModuleFile,
        WarningCode::InvalidAllow,
        WarningCode::InternalError,
    ];
    for code in codes {
        match code {
            WarningCode::UnparsedFile
            | WarningCode::UnparsedSql
            | WarningCode::UnreadableFile
            | WarningCode::MissingModuleFile
            | WarningCode::InvalidAllow
            | WarningCode::InternalError => {}
        }
    }
    codes.to_vec()
}

#[test]
fn every_warning_code_is_documented() {
    let doc = read_doc("output.md");
    for code in every_warning_code() {
        assert!(
            doc.contains(&format!("- `{}`: ", code.as_str())),
            "docs/output.md does not describe `{}`",
            code.as_str()
        );
    }
}

#[test]
fn table_rule_violations_always_carry_an_owner() {
    let mut seen = BTreeSet::new();
    for (case, report) in reports() {
        for violation in items(&report, "violations") {
            let rule = violation["rule"].as_str().unwrap();
            let code = RuleCode::ALL.iter().copied().find(|code| code.as_str() == rule).unwrap();
            seen.insert(rule.to_owned());
            let owner = violation.get("owner");
            assert_eq!(owner.is_some(), code.is_table_rule(), "{case}: {rule} and its owner {owner:?}");
            assert_eq!(violation.get("claimants").is_some(), code == RuleCode::SharedTable, "{case}: {rule}");
            match code {
                RuleCode::ForeignTable | RuleCode::CrossModuleForeignKey => {
                    assert_eq!(
                        owner,
                        Some(&violation["to_module"]),
                        "{case}: {rule} is owned by the module it reaches"
                    );
                }
                RuleCode::UnownedTable => assert_eq!(owner, Some(&Value::Null), "{case}"),
                RuleCode::SharedTable => {
                    assert_eq!(owner, Some(&Value::Null), "{case}");
                    let claimants: Vec<&str> =
                        violation["claimants"].as_array().unwrap().iter().map(|name| name.as_str().unwrap()).collect();
                    let mut sorted = claimants.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    assert_eq!(claimants, sorted, "{case}: claimants are sorted and distinct");
                    assert!(claimants.len() >= 2, "{case}: {claimants:?}");
                    for module in [&violation["from_module"], &violation["to_module"]] {
                        assert!(claimants.contains(&module.as_str().unwrap()), "{case}: {module} claims the table");
                    }
                }
                _ => {}
            }
        }
    }
    for code in RuleCode::ALL.iter().filter(|code| code.is_table_rule()) {
        assert!(seen.contains(code.as_str()), "no fixture has a {} violation", code.as_str());
    }
}

#[test]
fn every_warning_with_a_position_is_shown_at_it() {
    let mut shown = 0;
    for case in fixture_cases() {
        let outcome = check(&case).unwrap();
        let human = seams::report::human::render(&outcome, HumanStyle::plain(100));
        for warning in outcome.warnings() {
            let Some(site) = &warning.site else { continue };
            let header = format!("[{}:{}:{}]", warning.file, site.line, site.column);
            assert!(human.contains(&header), "{}: no snippet at {header} in\n{human}", case.display());
            shown += 1;
        }
    }
    // unparsed_file and tables_unparsed (Rust literals and `.sql` files) have such warnings.
    assert!(shown >= 5, "only {shown} warnings with a position in the fixtures");
}

#[test]
fn every_configuration_error_kind_is_documented() {
    let doc = read_doc("configuration.md");
    for kind in ConfigErrorKind::ALL {
        assert!(
            doc.contains(&format!("| `{}` |", kind.as_str())),
            "docs/configuration.md does not list `{}`",
            kind.as_str()
        );
    }
}
