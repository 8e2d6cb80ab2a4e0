//! `--message-format json` read back by the `cargo_metadata` crate's parser of cargo's message
//! stream, the parser that cargo's tools use: every finding of every failing fixture must come
//! through as a `compiler-message` whose primary span points at exactly the text the finding's
//! site covers, and the stream must end with `build-finished`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use cargo_metadata::Message;
use cargo_metadata::diagnostic::{DiagnosticLevel, DiagnosticSpan};
use seams::diagnostic::Severity;
use seams::report::cargo;

use crate::fixtures::{check, fixtures_root};
use crate::lsp::{read_messages, send};
use crate::reports::failing_cases;

/// The text a span's byte range covers, read from the file as the editor would.
fn covered(root: &Path, span: &DiagnosticSpan) -> String {
    let text = std::fs::read(root.join(&span.file_name)).unwrap_or_else(|error| panic!("{}: {error}", span.file_name));
    String::from_utf8_lossy(&text[span.byte_start as usize..span.byte_end as usize]).into_owned()
}

/// The text the span's `text` lines highlight, joined by newlines: rustc's columns are 1-based
/// and count characters, so this must equal the byte range's text.
fn highlighted(span: &DiagnosticSpan) -> String {
    let parts: Vec<String> = span
        .text
        .iter()
        .map(|line| {
            line.text.chars().skip(line.highlight_start - 1).take(line.highlight_end - line.highlight_start).collect()
        })
        .collect();
    parts.join("\n")
}

#[test]
fn every_finding_of_every_failing_fixture_parses_as_a_cargo_message_with_exact_spans() {
    let cases = failing_cases();
    let mut spans_checked = 0;
    let mut suggestions = 0;
    for case in &cases {
        let name = case.display().to_string();
        let Ok(outcome) = check(case) else { continue };
        let text = cargo::render_json(&outcome);
        let messages: Vec<Message> = Message::parse_stream(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(
            messages.iter().all(|message| !matches!(message, Message::TextLine(_))),
            "{name}: a line is not a cargo message:\n{text}"
        );
        let Some(Message::BuildFinished(finished)) = messages.last() else { panic!("{name}: no build-finished last") };
        assert_eq!(finished.success, outcome.passes(), "{name}");

        // Each reported finding once, keyed by code, file and primary position.
        let mut expected: BTreeMap<(String, String, usize, usize), usize> = BTreeMap::new();
        for violation in outcome.violations().iter().filter(|violation| !violation.baselined) {
            let key = (
                violation.rule.as_str().to_owned(),
                violation.source.file.clone(),
                violation.site.line,
                violation.site.column,
            );
            *expected.entry(key).or_default() += 1;
        }
        for warning in outcome.warnings() {
            if let Some(site) = &warning.site {
                let key = (warning.code.as_str().to_owned(), warning.file.clone(), site.line, site.column);
                *expected.entry(key).or_default() += 1;
            }
        }
        let mut found: BTreeMap<(String, String, usize, usize), usize> = BTreeMap::new();
        for message in &messages {
            let Message::CompilerMessage(compiler) = message else { continue };
            let diagnostic = &compiler.message;
            let code =
                diagnostic.code.as_ref().unwrap_or_else(|| panic!("{name}: a message without a code")).code.clone();
            assert!(diagnostic.rendered.as_deref().is_some_and(|rendered| rendered.contains(&code)), "{name}: {code}");
            assert!(
                std::path::Path::new(compiler.target.src_path.as_str()).is_file(),
                "{name}: target {} has no source file",
                compiler.target.src_path
            );
            let Some(span) = diagnostic.spans.iter().find(|span| span.is_primary) else {
                // A warning about a file whose text was not at hand: it says where in its message.
                assert_eq!(diagnostic.level, DiagnosticLevel::Warning, "{name}: {code} has no span");
                continue;
            };
            assert_eq!(
                covered(case, span),
                highlighted(span),
                "{name}: {code} at {}:{}",
                span.file_name,
                span.line_start
            );
            assert!(span.line_start <= span.line_end && span.column_start >= 1, "{name}: {span:?}");
            spans_checked += 1;
            // A fix comes as rustc gives one: a help child whose span is the finding's, with the
            // replacement that its help line names.
            for child in &diagnostic.children {
                for fix in child.spans.iter().filter(|fix| fix.suggested_replacement.is_some()) {
                    let replacement = fix.suggested_replacement.as_deref().unwrap_or_default();
                    assert_eq!((fix.byte_start, fix.byte_end), (span.byte_start, span.byte_end), "{name}");
                    assert!(child.message.contains(&format!("`{replacement}`")), "{name}: {}", child.message);
                    suggestions += 1;
                }
            }
            *found.entry((code, span.file_name.clone(), span.line_start, span.column_start)).or_default() += 1;
        }
        assert_eq!(found, expected, "{name}: the messages are not the findings");

        // Levels follow severities.
        let errors = outcome.violations().iter().filter(|v| !v.baselined && v.severity == Severity::Error).count();
        let error_messages = messages
            .iter()
            .filter(
                |message| matches!(message, Message::CompilerMessage(m) if m.message.level == DiagnosticLevel::Error),
            )
            .count();
        assert_eq!(error_messages, errors, "{name}");
    }
    assert!(spans_checked > 100, "only {spans_checked} spans were checked");
    assert!(suggestions > 0, "no fixture gave a fix (fail/internal_public_reexport should)");
}

#[test]
fn the_binary_prints_only_cargo_messages_on_stdout_and_keeps_its_exit_codes() {
    let manifest = fixtures_root().join("fail/use_simple/Cargo.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
        .args(["seams", "check", "--message-format", "json", "--manifest-path"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let messages: Vec<Message> = Message::parse_stream(output.stdout.as_slice()).collect::<Result<_, _>>().unwrap();
    let compiler: Vec<_> = messages
        .iter()
        .filter_map(|message| match message {
            Message::CompilerMessage(compiler) => Some(compiler),
            _ => None,
        })
        .collect();
    assert!(!compiler.is_empty());
    // Each message names a package and target of the fixture as `cargo metadata` names them.
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .no_deps()
        .other_options(vec!["--offline".to_owned()])
        .exec()
        .unwrap();
    for message in &compiler {
        assert_eq!(message.message.code.as_ref().map(|code| code.code.as_str()), Some("internal-import"));
        let package = metadata.packages.iter().find(|package| package.id == message.package_id);
        let package = package.unwrap_or_else(|| panic!("{} is not a package of the fixture", message.package_id));
        assert!(
            package.targets.iter().any(|target| target.src_path == message.target.src_path),
            "{:?}",
            message.target
        );
    }
    assert!(matches!(messages.last(), Some(Message::BuildFinished(finished)) if !finished.success));

    let short = Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
        .args(["seams", "check", "--message-format", "short", "--manifest-path"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&short.stderr);
    let first = stderr.lines().next().unwrap();
    let site = &compiler[0].message.spans[0];
    assert_eq!(
        first,
        format!(
            "{}:{}:{}: error[internal-import]: {}",
            site.file_name, site.line_start, site.column_start, compiler[0].message.message
        )
    );

    let both = Command::new(env!("CARGO_BIN_EXE_cargo-seams"))
        .args(["seams", "check", "--message-format", "json", "--format", "sarif", "--manifest-path"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2), "--message-format replaces --format; both is a usage error");
}

/// rust-analyzer, when its rustup component is installed: the proxy exists without it and fails.
fn rust_analyzer() -> Option<()> {
    let output = Command::new("rust-analyzer").arg("--version").output().ok()?;
    output.status.success().then_some(())
}

#[test]
fn rust_analyzer_shows_a_violation_inline() {
    use serde_json::json;
    use std::time::{Duration, Instant};
    if rust_analyzer().is_none() {
        println!("skipped: rust-analyzer is not installed (rustup component add rust-analyzer)");
        return;
    }
    let workspace = tempfile::tempdir().unwrap();
    let fixture = fixtures_root().join("fail/use_simple");
    for entry in walkdir::WalkDir::new(&fixture).into_iter().filter_map(Result::ok) {
        let relative = entry.path().strip_prefix(&fixture).unwrap();
        if relative.starts_with("target") {
            continue;
        }
        let destination = workspace.path().join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&destination).unwrap();
        } else {
            std::fs::copy(entry.path(), &destination).unwrap();
        }
    }
    let root = workspace.path().canonicalize().unwrap();
    // The ranges rust-analyzer must show: the cargo messages' spans, 0-based (all ASCII here, so
    // UTF-16 columns are character columns).
    let outcome = check(&root).unwrap();
    let mut expected: Vec<[usize; 4]> = outcome
        .violations()
        .iter()
        .filter(|violation| violation.source.file == "src/a.rs")
        .map(|violation| {
            let (end_line, end_column) = seams_line_column(&violation.source.text, violation.site.bytes.end);
            [violation.site.line - 1, violation.site.column - 1, end_line - 1, end_column - 1]
        })
        .collect();
    expected.sort_unstable();
    assert!(!expected.is_empty());

    let mut server = Command::new("rust-analyzer")
        .current_dir(&root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = server.stdin.take().unwrap();
    let (sender, messages) = std::sync::mpsc::channel();
    let stdout = server.stdout.take().unwrap();
    std::thread::spawn(move || read_messages(stdout, sender));
    let root_uri = format!("file://{}", root.display());
    let file_uri = format!("{root_uri}/src/a.rs");
    let command = [env!("CARGO_BIN_EXE_cargo-seams"), "seams", "check", "--message-format", "json"];
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": null, "rootUri": root_uri, "capabilities": {},
            "initializationOptions": {"check": {"overrideCommand": command}, "cachePriming": {"enable": false}},
        }}),
    );
    send(&mut stdin, &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let text = std::fs::read_to_string(root.join("src/a.rs")).unwrap();
    send(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": file_uri, "languageId": "rust", "version": 1, "text": text},
        }}),
    );
    // A save before the workspace has loaded may start no check, so save again until one does.
    let save =
        json!({"jsonrpc": "2.0", "method": "textDocument/didSave", "params": {"textDocument": {"uri": file_uri}}});
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut next_save = Instant::now();
    let mut shown: Option<Vec<[usize; 4]>> = None;
    let mut last_seen = Vec::new();
    while Instant::now() < deadline && shown.is_none() {
        if Instant::now() >= next_save {
            send(&mut stdin, &save);
            next_save = Instant::now() + Duration::from_secs(5);
        }
        let Ok(message) = messages.recv_timeout(Duration::from_millis(500)) else { continue };
        if message.get("id").is_some() && message.get("method").is_some() {
            // A request from the server (progress tokens, configuration): answer it.
            send(&mut stdin, &json!({"jsonrpc": "2.0", "id": message["id"], "result": null}));
            continue;
        }
        if message["method"] != "textDocument/publishDiagnostics" || message["params"]["uri"] != file_uri.as_str() {
            continue;
        }
        let diagnostics = message["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
        let mut ranges: Vec<[usize; 4]> = diagnostics
            .iter()
            .filter(|diagnostic| diagnostic["code"] == "internal-import")
            .map(|diagnostic| {
                let range = &diagnostic["range"];
                let at = |point: &str, key: &str| range[point][key].as_u64().unwrap() as usize;
                [at("start", "line"), at("start", "character"), at("end", "line"), at("end", "character")]
            })
            .collect();
        // rust-analyzer publishes as the check's messages stream in: wait for all of them.
        ranges.sort_unstable();
        if ranges == expected {
            shown = Some(ranges);
        } else {
            last_seen = ranges;
        }
    }
    send(&mut stdin, &json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": null}));
    send(&mut stdin, &json!({"jsonrpc": "2.0", "method": "exit", "params": null}));
    drop(stdin);
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        shown.is_some(),
        "rust-analyzer did not show the findings {expected:?} within 180 s; the last it showed: {last_seen:?}"
    );
}

/// The 1-based line and column of a byte offset, as the checker counts them.
fn seams_line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}
