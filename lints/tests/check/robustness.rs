//! No input crashes the checker: pathological workspaces (huge, deeply nested, not UTF-8,
//! unreadable, looping, escaping, empty, broken), and a sweep over every crate source that cargo
//! has unpacked on this machine. A crash found by fuzzing (docs/fuzzing.md) becomes a test here;
//! the campaigns so far found none.
//!
//! Each case asserts the exact `expect.txt`-style lines of its outcome and the class of exit code
//! the command line gives for it. Cases that need megabytes of input are generated into a
//! temporary directory; the others are fixtures under `tests/fixtures/robust/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use seams::check::{CheckError, CheckOptions, CheckOutcome, run_check};
use seams::diagnostic::{RuleCode, WarningCode};

use crate::fixtures::{check, expectation_lines, fixtures_root};

/// What the command line's exit code says about a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExitClass {
    /// 0: no violation.
    Clean,
    /// 1: boundary violations.
    Violations,
    /// 2: the check could not run, or seams failed on a file.
    Error,
}

/// The exit class of a result, decided as `seams::cli::run_check_command` decides its exit code.
fn exit_class(result: &Result<CheckOutcome, CheckError>) -> ExitClass {
    match result {
        Err(_) => ExitClass::Error,
        Ok(outcome) if outcome.has_internal_error() => ExitClass::Error,
        Ok(outcome) if outcome.failing().next().is_some() => ExitClass::Violations,
        Ok(_) => ExitClass::Clean,
    }
}

fn robust_fixture(case: &str) -> PathBuf {
    fixtures_root().join("robust").join(case)
}

/// The violation that every generated and committed case plants in `src/a.rs`, so that each case
/// also shows that the run went past the pathological input and still checked the rest.
const PLANTED: &str = "internal-import src/a.rs:4:5 a -> b crate::b::internal::total";

/// A generated workspace: crate `shop` with modules `a`, `b` and `big`, where `src/big.rs` holds
/// the pathological text.
fn generated_workspace(big_rs: &[u8], extra_config: &str) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    std::fs::create_dir(root.join("src")).unwrap();
    let files: [(&str, &[u8]); 5] = [
        (
            "Cargo.toml",
            b"[package]\nname = \"shop\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n",
        ),
        ("src/lib.rs", b"//! Generated crate root.\n\npub mod a;\npub mod b;\npub mod big;\n"),
        ("src/a.rs", b"//! Generated.\n\npub fn run() -> u32 {\n    crate::b::internal::total()\n}\n"),
        (
            "src/b.rs",
            b"//! Generated.\n\npub mod api {\n    pub const K: u32 = 1;\n}\n\npub mod internal {\n    pub fn total() -> u32 {\n        0\n    }\n}\n",
        ),
        ("src/big.rs", big_rs),
    ];
    for (path, contents) in files {
        std::fs::write(root.join(path), contents).unwrap();
    }
    let config = format!(
        "[modules.a]\ncrate = \"shop\"\npath = \"a\"\n\n[modules.b]\ncrate = \"shop\"\npath = \"b\"\n{extra_config}\n\n[modules.big]\ncrate = \"shop\"\npath = \"big\"\n"
    );
    std::fs::write(root.join("boundaries.toml"), config).unwrap();
    directory
}

fn assert_lines(result: &Result<CheckOutcome, CheckError>, expected: &[String]) {
    let actual = expectation_lines(result);
    assert!(actual == expected, "expected:\n    {}\nactual:\n    {}", expected.join("\n    "), actual.join("\n    "));
}

#[test]
fn fifty_thousand_lines_in_one_file() {
    // 1,000 functions of 50 lines, each line a path into `b`'s public API, and one violation on the
    // very last line, so that line numbers are right at the end of a long file.
    // FIXME: the same 50,000 lines written as 50,000 one-line functions take about 150 s in a debug
    // build (10,000 take 7 s, 5,000 take 2 s): every reference is resolved against every scope of
    // the file, including each function body's block scope (`expand_through_file_scopes` in
    // extract.rs), so the cost is quadratic in the number of functions. That file shape is kept out
    // of this test only for its run time; the right cost is linear.
    let mut text = String::new();
    for function in 0..999 {
        let _ = writeln!(text, "pub fn f{function}() -> u32 {{");
        text.push_str("    let mut sum = 0;\n");
        for _ in 0..46 {
            text.push_str("    sum += crate::b::api::K;\n");
        }
        text.push_str("    sum\n}\n");
    }
    text.push_str(&"// This line only brings the file to 50,000 lines.\n".repeat(49));
    text.push_str("pub fn last() -> u32 { crate::b::internal::total() }\n");
    assert_eq!(text.lines().count(), 50_000);
    let workspace = generated_workspace(text.as_bytes(), "");
    let result = check(workspace.path());
    assert_lines(
        &result,
        &[PLANTED.to_owned(), "internal-import src/big.rs:50000:24 big -> b crate::b::internal::total".to_owned()],
    );
    // Every line is read, and every path is a reference into `b` (the module graph counts them).
    let view = seams::render::build_view(result.as_ref().unwrap(), &seams::render::ViewOptions::default()).unwrap();
    let big = view.nodes.iter().find(|node| node.name == "big").unwrap();
    assert_eq!((big.files, big.lines), (1, 50_000));
    let big_to_b = view.edges.iter().find(|edge| edge.from == "big" && edge.to == "b").unwrap();
    assert_eq!(big_to_b.reference_count, 999 * 46 + 1);
    assert_eq!(exit_class(&result), ExitClass::Violations);
}

/// How deep the generated expressions and blocks nest.
const NESTING: usize = 5_000;

#[test]
fn five_thousand_nested_parentheses() {
    let text = format!(
        "pub fn f() -> u32 {{\n{}crate::b::internal::total(){}\n}}\n",
        "(".repeat(NESTING),
        ")".repeat(NESTING)
    );
    let workspace = generated_workspace(text.as_bytes(), "");
    let result = check(workspace.path());
    assert_lines(
        &result,
        &[
            PLANTED.to_owned(),
            format!("internal-import src/big.rs:2:{} big -> b crate::b::internal::total", NESTING + 1),
        ],
    );
    assert_eq!(exit_class(&result), ExitClass::Violations);
}

#[test]
fn five_thousand_nested_blocks() {
    let text = format!(
        "pub fn f() -> u32 {{\n{}crate::b::internal::total(){}\n}}\n",
        "{".repeat(NESTING),
        "}".repeat(NESTING)
    );
    let workspace = generated_workspace(text.as_bytes(), "");
    let result = check(workspace.path());
    assert_lines(
        &result,
        &[
            PLANTED.to_owned(),
            format!("internal-import src/big.rs:2:{} big -> b crate::b::internal::total", NESTING + 1),
        ],
    );
    assert_eq!(exit_class(&result), ExitClass::Violations);
}

#[test]
fn deeply_nested_inline_modules() {
    // FIXME: 5,000 nested `mod m { … }` take about 50 s and 2.1 GB in a debug build, because every
    // scope keeps its full module path and each reference is matched against every scope, which is
    // quadratic in the depth. The right cost is linear, and then this case should nest 5,000 deep
    // like the others; it nests 1,000 deep only to keep the test's time and memory reasonable.
    const DEPTH: usize = 1_000;
    let opening = "mod m{";
    let text = format!("{}fn g()->u32{{crate::b::internal::total()}}{}\n", opening.repeat(DEPTH), "}".repeat(DEPTH));
    let column = opening.len() * DEPTH + "fn g()->u32{".len() + 1;
    // A module whose root is the innermost `m` exists (`missing-path` would say otherwise), and
    // the violation inside it is that module's.
    let deepest = format!("big{}", "::m".repeat(DEPTH));
    let workspace =
        generated_workspace(text.as_bytes(), &format!("\n[modules.deepest]\ncrate = \"shop\"\npath = \"{deepest}\""));
    let result = check(workspace.path());
    assert_lines(
        &result,
        &[PLANTED.to_owned(), format!("internal-import src/big.rs:1:{column} deepest -> b crate::b::internal::total")],
    );
    assert_eq!(exit_class(&result), ExitClass::Violations);
}

#[test]
fn ten_megabyte_string_literals() {
    // One plain literal and one that starts like SQL, each of 10 MB, before a violation and a
    // table that module `b` owns, named after the 10 MB of the second literal.
    const SIZE: usize = 10 * 1024 * 1024;
    let filler = "a".repeat(SIZE);
    let text = format!(
        "pub const PLAIN: &str = \"{filler}\";\npub const QUERY: &str = \"SELECT '{filler}' FROM b_ledger\";\npub fn last() -> u32 {{ crate::b::internal::total() }}\n"
    );
    let workspace = generated_workspace(text.as_bytes(), "tables = [\"b_*\"]");
    let result = check(workspace.path());
    let table_column = "pub const QUERY: &str = \"SELECT '".len() + SIZE + "' FROM ".len() + 1;
    assert_lines(
        &result,
        &[
            PLANTED.to_owned(),
            format!("foreign-table src/big.rs:2:{table_column} big -> b b_ledger"),
            "internal-import src/big.rs:3:24 big -> b crate::b::internal::total".to_owned(),
        ],
    );
    assert_eq!(exit_class(&result), ExitClass::Violations);
}

#[test]
fn bytes_that_are_not_utf8() {
    let result = check(&robust_fixture("non_utf8"));
    // `src/latin1.rs` holds the Latin-1 byte 0xE9 at offset 6: it is reported there, not parsed,
    // and the rest of the crate is still checked.
    // FIXME: `src/b/schema.sql` is not UTF-8 either, and is skipped without a word
    // (`std::fs::read_to_string(&path).ok()?` in tables.rs), so the table it creates is silently
    // lost. It should give `unreadable-file src/b/schema.sql:1:20` like a source file does.
    assert_lines(&result, &[PLANTED.to_owned(), "unreadable-file src/latin1.rs:1:7".to_owned()]);
    // A file that cannot be checked is a warning, and warnings never fail the run.
    assert_eq!(exit_class(&result), ExitClass::Violations);
}

#[cfg(unix)]
#[test]
fn a_file_without_read_permission() {
    use std::os::unix::fs::PermissionsExt as _;

    let workspace = generated_workspace(b"pub fn last() -> u32 { crate::b::internal::total() }\n", "");
    let secret = workspace.path().join("src/big.rs");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root (as in the containers this suite runs in) reads a file whatever its mode says, so what
    // the checker must do depends on whether the file can be read at all, and both are asserted.
    let readable = std::fs::read(&secret).is_ok();
    let result = check(workspace.path());
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let expected = if readable {
        vec![PLANTED.to_owned(), "internal-import src/big.rs:1:24 big -> b crate::b::internal::total".to_owned()]
    } else {
        vec![PLANTED.to_owned(), "unreadable-file src/big.rs".to_owned()]
    };
    assert_lines(&result, &expected);
    if !readable {
        let warning = &result.as_ref().unwrap().warnings()[0];
        assert!(warning.message.starts_with("cannot read the file: "), "{}", warning.message);
    }
    assert_eq!(exit_class(&result), ExitClass::Violations);
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_and_a_path_loop() {
    let result = check(&robust_fixture("symlink_loop"));
    let outcome = result.as_ref().unwrap();
    // `src/loop` points at `src`, and `src/again.rs` loads `loop/again.rs` as its own child. Each
    // level's path names one more `loop/`, until the operating system refuses to follow that many
    // symlinks (40 on Linux) and the child is reported as missing.
    // FIXME: the loop should be reported at its first repetition, as rustc's "circular modules"
    // error does, instead of loading the same file 40 times and then calling it missing.
    let loop_warnings: Vec<&seams::diagnostic::Warning> =
        outcome.warnings().iter().filter(|warning| warning.code == WarningCode::MissingModuleFile).collect();
    assert_eq!(loop_warnings.len(), 1, "{loop_warnings:?}");
    let looped = &loop_warnings[0].file;
    let depth = looped.matches("loop/").count();
    assert_eq!(looped, &format!("src/{}again.rs", "loop/".repeat(depth)));
    assert!(depth >= 8, "the OS stopped following `src/loop` after {depth} levels");
    let again_files = outcome.file_paths().filter(|file| file.ends_with("again.rs")).count();
    assert_eq!(again_files, depth);

    // `src/itself.rs` loads itself through `#[path = "itself.rs"]` with no symlink at all. Module
    // paths only grow, so the depth limit cuts the loop, silently, after 64 levels; the violation
    // in that file is reported once per level, at the same site.
    // FIXME: right is one warning for the circular module and one `internal-import` at
    // src/itself.rs:8:5.
    let itself_files = outcome.file_paths().filter(|file| *file == "src/itself.rs").count();
    assert_eq!(itself_files, 64);
    let mut expected = vec![PLANTED.to_owned()];
    expected.extend(std::iter::repeat_n(
        "internal-import src/itself.rs:8:5 itself -> b crate::b::internal::total".to_owned(),
        64,
    ));
    expected.push(format!("missing-module-file {looped}:5:9"));
    expected.sort();
    let mut actual = expectation_lines(&result);
    actual.sort();
    assert_eq!(actual, expected);
    assert_eq!(exit_class(&result), ExitClass::Violations);
}

#[test]
fn a_path_attribute_outside_the_workspace_and_one_at_a_missing_file() {
    let case = robust_fixture("path_escapes");
    let result = check(&case);
    // `#[path = "../../outside/shared.rs"]` leaves the workspace; rustc compiles such a file, and
    // so it is checked. `#[path = "nowhere/gone.rs"]` names a file that does not exist.
    // FIXME: the file outside is reported by its absolute path with a doubled leading slash
    // (`//work/…/robust/outside/shared.rs`), from `Workspace::relative_path` joining the root
    // component `/` with `/`. That is machine-specific, and breaks baselines and GitHub
    // annotations; right is the path relative to the workspace root, `../outside/shared.rs`.
    let outside = std::fs::canonicalize(case.join("../outside/shared.rs")).unwrap();
    let reported_outside = format!("/{}", outside.display());
    let mut expected = vec![
        PLANTED.to_owned(),
        format!("internal-import {reported_outside}:4:5 shared -> b crate::b::internal::total"),
        "missing-module-file src/lib.rs:8:9".to_owned(),
    ];
    expected.sort();
    let mut actual = expectation_lines(&result);
    actual.sort();
    assert_eq!(actual, expected);
    let missing = result.as_ref().unwrap().warnings().iter().find(|warning| warning.file == "src/lib.rs").unwrap();
    assert_eq!(missing.message, "module `gone` has no file (looked for src/nowhere/gone.rs)");
    assert_eq!(exit_class(&result), ExitClass::Violations);
}

#[test]
fn an_empty_workspace() {
    // A virtual manifest with no members is clean: there is nothing to check, and nothing wrong.
    let result = check(&robust_fixture("empty_workspace"));
    assert_lines(&result, &[]);
    let outcome = result.as_ref().unwrap();
    assert_eq!((outcome.stats().files, outcome.stats().modules), (0, 0));
    assert_eq!(exit_class(&result), ExitClass::Clean);
}

#[test]
fn a_manifest_that_cargo_cannot_read() {
    let case = robust_fixture("broken_manifest");
    let result = check(&case);
    assert_eq!(exit_class(&result), ExitClass::Error);
    let Err(error) = &result else { panic!("a broken manifest must stop the check") };
    assert!(matches!(error, CheckError::Workspace(_)), "{error:?}");
    // The diagnostic names the manifest, and carries Cargo's own explanation with its position.
    // Wide enough that no line of the diagnostic wraps.
    let rendered = seams::report::human::render_diagnostic(error, seams::report::human::HumanStyle::plain(1_000));
    let manifest = case.join("Cargo.toml").display().to_string();
    assert!(rendered.contains(&format!("`cargo metadata` failed for {manifest}")), "{rendered}");
    assert!(rendered.contains("missing comma between array elements"), "{rendered}");
    assert!(rendered.contains("Cargo.toml:8:1"), "{rendered}");
}

/// The unpacked crate sources of cargo's registry cache: `$CARGO_HOME/registry/src/*/*/`.
fn registry_crates() -> Vec<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .unwrap_or_default();
    let mut crates = Vec::new();
    for registry in std::fs::read_dir(cargo_home.join("registry/src")).into_iter().flatten().flatten() {
        for entry in std::fs::read_dir(registry.path()).into_iter().flatten().flatten() {
            if entry.path().join("Cargo.toml").is_file() {
                crates.push(entry.path());
            }
        }
    }
    crates.sort();
    crates
}

/// What happened to one crate of the registry sweep.
enum SweepResult {
    Checked {
        files: usize,
        unparsed: Vec<String>,
        internal_errors: Vec<String>,
        /// `internal-import` and `undeclared-dependency` findings with the `--init` configuration,
        /// which must never have any: a first run passes on any crate that compiles.
        first_run_findings: Vec<String>,
    },
    /// The crate could not be loaded offline; the reason is counted, not failed.
    Skipped(String),
    /// The check stopped with an error after the workspace loaded, or panicked.
    Failed(String),
}

/// Checks one registry crate in place with an `--init` configuration written to a temporary
/// file, so that nothing is written into the registry.
fn sweep_crate(crate_dir: &Path) -> SweepResult {
    let manifest = crate_dir.join("Cargo.toml");
    let starter = match std::panic::catch_unwind(|| seams::init::starter_config_for(&manifest)) {
        Ok(Ok(starter)) => starter.text,
        Ok(Err(CheckError::Workspace(error))) => {
            let reason = format!("{:?}", miette::Report::new(error));
            let first_cargo_line = reason
                .lines()
                .find(|line| line.contains("error:"))
                .unwrap_or("cargo metadata failed")
                .trim()
                .to_owned();
            return SweepResult::Skipped(first_cargo_line);
        }
        Ok(Err(error)) => return SweepResult::Failed(format!("--init: {error}")),
        Err(_) => return SweepResult::Failed("--init panicked".to_owned()),
    };
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), &starter).unwrap();
    let options = CheckOptions {
        manifest_path: Some(manifest),
        config_path: Some(config.path().to_owned()),
        // The cache lives under the checked workspace's target directory: never in the registry.
        use_cache: false,
        ..CheckOptions::default()
    };
    let outcome = match std::panic::catch_unwind(|| run_check(&options)) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => return SweepResult::Failed(format!("{error}\n{starter}")),
        Err(_) => return SweepResult::Failed("the check panicked".to_owned()),
    };
    let with_code = |code: WarningCode| -> Vec<String> {
        outcome
            .warnings()
            .iter()
            .filter(|warning| warning.code == code)
            .map(|warning| format!("{}/{}: {}", crate_dir.display(), warning.file, warning.message))
            .collect()
    };
    let first_run_findings = outcome
        .violations()
        .iter()
        .filter(|violation| matches!(violation.rule, RuleCode::InternalImport | RuleCode::UndeclaredDependency))
        .map(|violation| {
            format!("{}/{}:{}: {}", crate_dir.display(), violation.source.file, violation.site.line, violation.message)
        })
        .collect();
    SweepResult::Checked {
        files: outcome.stats().files,
        unparsed: with_code(WarningCode::UnparsedFile),
        internal_errors: with_code(WarningCode::InternalError),
        first_run_findings,
    }
}

#[test]
fn every_crate_in_the_registry_cache() {
    let crates = registry_crates();
    assert!(
        !crates.is_empty(),
        "no crate sources under $CARGO_HOME/registry/src; building this workspace unpacks several hundred there"
    );
    let started = std::time::Instant::now();
    // Loading a crate's metadata is a `cargo metadata` process, so a few crates are in flight at
    // once; each check parses its files in parallel on its own.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(PathBuf, SweepResult)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some(crate_dir) = crates.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = sweep_crate(crate_dir);
                    results.lock().unwrap().push((crate_dir.clone(), result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let (mut checked, mut files) = (0, 0);
    let (mut unparsed, mut internal_errors, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_run_findings = Vec::new();
    let mut skipped: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for (crate_dir, result) in results {
        let name = crate_dir.file_name().unwrap().to_string_lossy().into_owned();
        match result {
            SweepResult::Checked {
                files: crate_files,
                unparsed: crate_unparsed,
                internal_errors: crate_errors,
                first_run_findings: crate_findings,
            } => {
                checked += 1;
                first_run_findings.extend(crate_findings);
                files += crate_files;
                unparsed.extend(crate_unparsed);
                internal_errors.extend(crate_errors);
            }
            SweepResult::Skipped(reason) => skipped.entry(reason).or_default().push(name),
            SweepResult::Failed(reason) => failures.push(format!("{name}: {reason}")),
        }
    }
    let skipped_count: usize = skipped.values().map(Vec::len).sum();
    let rate = unparsed.len() as f64 / files.max(1) as f64;
    // The numbers are printed for the closing notes of a run (`--nocapture`); none is a pass
    // condition except the rate and the absence of failures.
    println!(
        "registry sweep: {} crates found, {checked} checked, {skipped_count} skipped, {} failed; {files} files, {} unparsed ({:.3}%), {} internal errors; {:.1} s",
        crates.len(),
        failures.len(),
        unparsed.len(),
        rate * 100.0,
        internal_errors.len(),
        started.elapsed().as_secs_f64()
    );
    for (reason, names) in &skipped {
        println!("skipped ({}): {reason}: {}", names.len(), names.join(", "));
    }
    for file in &unparsed {
        println!("unparsed: {file}");
    }
    assert!(checked > 0, "no registry crate could be loaded offline; skipped: {skipped:?}");
    assert!(failures.is_empty(), "the check failed on registry crates:\n{}", failures.join("\n"));
    assert!(
        first_run_findings.is_empty(),
        "--init then check reported boundary findings on registry crates:\n{}",
        first_run_findings.join("\n")
    );
    assert!(internal_errors.is_empty(), "seams failed on registry files:\n{}", internal_errors.join("\n"));
    assert!(rate < 0.01, "{} of {files} registry files did not parse:\n{}", unparsed.len(), unparsed.join("\n"));
}

/// Every hand-picked fuzzing seed passes its target's checks (`seams::fuzzing`), so that the
/// targets' entry points keep compiling and holding between campaigns.
#[test]
fn every_fuzzing_seed_passes_its_target() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (target, run) in [
        ("config", seams::fuzzing::config as fn(&str)),
        ("sql", seams::fuzzing::sql),
        ("source", seams::fuzzing::source),
    ] {
        let mut count = 0;
        for entry in std::fs::read_dir(seeds.join(target)).unwrap() {
            let path = entry.unwrap().path();
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let outcome = std::thread::Builder::new()
                .stack_size(seams::fuzzing::PARSER_STACK_BYTES)
                .spawn(move || run(&text))
                .unwrap()
                .join();
            assert!(outcome.is_ok(), "{target}: seed {} fails the target's checks", path.display());
            count += 1;
        }
        assert!(count > 0, "no seeds for the {target} target");
    }
}
