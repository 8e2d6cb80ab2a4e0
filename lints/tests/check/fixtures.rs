//! Runs the checker on every fixture workspace and compares the result with the case's
//! hand-written `expect.txt`, and with reviewed snapshots of the JSON and human reports.

use std::path::{Path, PathBuf};

use seams::check::ConfigError;
use seams::check::{CheckError, CheckOptions, CheckOutcome, run_check};
use seams::report::human::HumanStyle;

/// The width at which human output is rendered in snapshots.
const SNAPSHOT_WIDTH: usize = 100;

pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A finding as `expect.txt` writes it: rule, site, modules and target.
fn finding_line(violation: &seams::diagnostic::Violation) -> String {
    format!(
        "{} {}:{}:{} {} -> {} {}",
        violation.rule.as_str(),
        violation.source.file,
        violation.site.line,
        violation.site.column,
        violation.from_module,
        if violation.to_module.is_empty() { "-" } else { violation.to_module.as_str() },
        violation.target
    )
}

/// Runs the check on a fixture folder. This is the only place the tests call the check API.
pub fn check(case: &Path) -> Result<CheckOutcome, CheckError> {
    run_check(&CheckOptions { manifest_path: Some(case.join("Cargo.toml")), config_path: None, ..Default::default() })
}

/// The lines an outcome gives in `expect.txt` form, sorted as the format says.
pub fn expectation_lines(result: &Result<CheckOutcome, CheckError>) -> Vec<String> {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(CheckError::Config(error)) => {
            return vec![match error.line_column() {
                Some((line, column)) => {
                    format!("config-error {} boundaries.toml:{line}:{column}", error.kind().as_str())
                }
                None => format!("config-error {}", error.kind().as_str()),
            }];
        }
        Err(other) => return vec![format!("tool-error {other}")],
    };
    // Cycles and their cuts as the JSON report gives them.
    let mut cycle_lines: std::collections::BTreeMap<(String, String), Vec<String>> = std::collections::BTreeMap::new();
    for cycle in seams::report::json::build(outcome).cycles {
        let path = &cycle.cycle;
        let mut lines = vec![format!("cycle {}", path.join(" -> "))];
        for cut in &cycle.suggested_cuts {
            lines.push(format!("cut {} -> {} {}", cut.from, cut.to, cut.count));
        }
        cycle_lines.insert((path[0].clone(), path[1].clone()), lines);
    }
    let mut entries: Vec<((String, usize, usize, String), String)> = Vec::new();
    for violation in outcome.violations() {
        let key = (
            violation.source.file.clone(),
            violation.site.line,
            violation.site.column,
            violation.rule.as_str().to_owned(),
        );
        let line = finding_line(violation);
        let line = if violation.baselined { format!("{line} (baselined)") } else { line };
        let line = match violation.rule {
            seams::diagnostic::RuleCode::DependencyCycle => {
                let pair = (violation.from_module.clone(), violation.to_module.clone());
                std::iter::once(line)
                    .chain(cycle_lines.get(&pair).cloned().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            _ => line,
        };
        entries.push((key, line));
    }
    // A suppressed finding is its violation's line with `suppressed` in front and the reason after.
    for suppressed in outcome.suppressed() {
        let violation = &suppressed.violation;
        let key = (
            violation.source.file.clone(),
            violation.site.line,
            violation.site.column,
            format!("suppressed {}", violation.rule.as_str()),
        );
        let line = format!("suppressed {}: {}", finding_line(violation), suppressed.reason);
        entries.push((key, line));
    }
    for warning in outcome.warnings() {
        let (line, column) = warning.site.as_ref().map_or((0, 0), |site| (site.line, site.column));
        let key = (warning.file.clone(), line, column, warning.code.as_str().to_owned());
        let text = match &warning.site {
            Some(_) => format!("{} {}:{line}:{column}", warning.code.as_str(), warning.file),
            None => format!("{} {}", warning.code.as_str(), warning.file),
        };
        entries.push((key, text));
    }
    entries.sort();
    entries.into_iter().flat_map(|(_, line)| line.lines().map(str::to_owned).collect::<Vec<_>>()).collect()
}

/// The non-comment lines of a case's `expect.txt` (none when the file is absent).
fn expected_lines(case: &Path) -> Vec<String> {
    std::fs::read_to_string(case.join("expect.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The JSON report with its one timing zeroed, so that snapshots are stable.
fn stable_json(outcome: &CheckOutcome) -> serde_json::Value {
    let mut report = seams::report::json::build(outcome);
    report.stats.elapsed_ms = 0;
    serde_json::to_value(&report).unwrap()
}

/// Human output with the run time on the success line replaced.
fn stable_human(text: &str) -> String {
    text.lines()
        .map(|line| match (line.starts_with("ok: "), line.rfind(", ")) {
            (true, Some(index)) => format!("{}, [time])", &line[..index]),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The case folders of a kind (`pass`, `fail`, `config`), sorted by name.
fn case_folders(kind: &str) -> Vec<String> {
    let mut folders: Vec<String> = std::fs::read_dir(fixtures_root().join(kind))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    folders
}

/// Runs one fixture case: its findings against `expect.txt`, then its reviewed snapshots (the
/// JSON and human reports for `pass` and `fail`, the rendered diagnostic for `config`).
fn run_case(kind: &str, name: &str) {
    let case = fixtures_root().join(kind).join(name);
    let expected = expected_lines(&case);
    match kind {
        "pass" => assert!(expected.is_empty(), "{}: a pass case must expect nothing", case.display()),
        "fail" => assert!(!expected.is_empty(), "{}: a fail case must expect something", case.display()),
        _ => {}
    }
    let result = check(&case);
    let actual = expectation_lines(&result);
    assert!(
        actual == expected,
        "{}:\n  expected:\n    {}\n  actual:\n    {}",
        case.display(),
        expected.join("\n    "),
        actual.join("\n    ")
    );

    // The snapshots keep the names `insta::glob!` gave them when all cases ran in one test.
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_suffix(format!("{name}__Cargo.toml"));
    settings.set_input_file(case.join("Cargo.toml"));
    settings.bind(|| match result {
        Ok(outcome) => {
            insta::assert_json_snapshot!("check__fixtures__json", stable_json(&outcome));
            let human = seams::report::human::render(&outcome, HumanStyle::plain(SNAPSHOT_WIDTH));
            insta::assert_snapshot!("check__fixtures__human", stable_human(&human));
        }
        Err(mut error) => {
            assert_eq!(kind, "config", "{}: the check failed: {error}", case.display());
            // The missing-file message holds the absolute path of the clone, whose length would
            // change where miette wraps the line; the path is asserted, then replaced before rendering.
            if let CheckError::Config(ConfigError::Missing { path }) = &mut error {
                assert_eq!(*path, case.join("boundaries.toml"));
                *path = Path::new("<fixture>").join("boundaries.toml");
            }
            let rendered = seams::report::human::render_diagnostic(&error, HumanStyle::plain(SNAPSHOT_WIDTH));
            insta::assert_snapshot!("check__fixtures__config_error", rendered);
        }
    });
}

/// One `#[test]` per fixture case, in a module per kind (`fixtures::fail::aliases`), so that
/// each case passes or fails on its own; `every_fixture_folder_is_a_test` keeps the list whole.
macro_rules! fixture_cases {
    ($($kind:ident: [$($case:ident),* $(,)?];)*) => {
        $(
            mod $kind {
                $(
                    #[test]
                    fn $case() {
                        super::run_case(stringify!($kind), stringify!($case));
                    }
                )*
            }
        )*

        /// The cases listed above, by kind.
        const LISTED_CASES: &[(&str, &[&str])] = &[$((stringify!($kind), &[$(stringify!($case)),*])),*];
    };
}

fixture_cases! {
    pass: [
        composition_root, cycles_composition_root, cycles_none, cycles_test_code_excluded,
        external_dependency_near_misses, graph_declared_dependencies, local_module_shadows_crate, local_names, own_internals, public_paths,
        strings_and_comments, tables_composition_root, tables_english, tables_own_only,
        tables_sql_test_dirs, tables_test_only, tables_unowned_default, test_code_excluded, unused_dependency_tests_included,
    ];
    fail: [
        aliases, allows, bin_only_package, block_scoped_use, cfg_not_test, crate_names, cycles_exact_cut,
        cycles_glob_imports, cycles_greedy_cut, cycles_nested_whole_crate, cycles_order_by_site,
        cycles_reaching_module, cycles_reexport, cycles_reference_kinds, cycles_shared_edge,
        cycles_shortest_elsewhere, cycles_test_code_included, cycles_three_modules,
        cycles_tie_alphabetical, cycles_tie_fewer_edges, cycles_two_components, cycles_two_edge_cut,
        cycles_two_modules, cycles_with_internal_import, defaults_public, dependency_rename,
        dev_dependency_test_code, extern_crate_alias, extern_crate_self, external_dependency, external_dependency_manifest, external_dependency_tests, forbid, glob_imports,
        impl_test_method_scopes, include_tests, inline_module, inline_module_cfg_variants, inline_scopes, internal_public_reexport, layers,
        longest_prefix, macro_aliases, macros, mixed_shapes, module_files, nested_in_whole_crate,
        path_attr, path_attr_cfg_variants, path_attr_children, paths_in_code, paths_in_types, public_override, public_star,
        reexports, shared_file_twice, stale_baseline, tables_claims, tables_crlf, tables_cross_fk,
        tables_cte_shadowing, tables_ddl, tables_dml, tables_include_tests, tables_keyword_detection,
        tables_literal_positions, tables_macros, tables_names, tables_nested_modules,
        tables_nested_packages, tables_placeholders, tables_select_joins, tables_shared_config,
        tables_shared_create, tables_shared_orm, tables_sql_files, tables_sql_test_dirs_included,
        tables_unowned_required, tables_unparsed, tables_unparsed_shapes, undeclared_dependency,
        unparsed_file, unused_dependency, use_groups, use_simple, whole_crate_targets,
    ];
    config: [
        bad_glob, duplicate_root_crate, duplicate_root_path, external_contradiction, external_empty_pattern,
        external_forbids_std, forbid_contradicts_depends_on, forbid_unknown_module,
        invalid_toml, layer_twice, layer_unknown_module, missing_config, missing_path, unknown_crate,
        unknown_dependency, unknown_key_defaults, unknown_key_module, unknown_key_top,
    ];
}

/// A fixture folder without a test would never run: every folder is listed above, and every
/// listed case has its folder.
#[test]
fn every_fixture_folder_is_a_test() {
    for (kind, listed) in LISTED_CASES {
        assert_eq!(
            case_folders(kind),
            listed.iter().map(|case| (*case).to_owned()).collect::<Vec<_>>(),
            "the cases of `fixture_cases!` in lints/tests/check/fixtures.rs differ from the folders of \
             lints/tests/fixtures/{kind}/"
        );
    }
}
