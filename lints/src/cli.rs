//! The command line shared by `cargo xtask check-boundaries` and `cargo seams check`.
//!
//! Both binaries are thin: they parse these arguments and call [`run_check_command`], which is
//! the only place that prints. The library's other modules return values and errors.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::baseline::BaselineUpdate;
use crate::check::{CheckError, CheckOptions, run_check};
use crate::diagnostic::{RuleCode, Severity};
use crate::report::human::HumanStyle;
use crate::timings::{self, Stage};

/// Exit code when no violation fails the run.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code when violations fail the run.
pub const EXIT_VIOLATIONS: u8 = 1;
/// Exit code for usage, configuration and tool errors.
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// miette diagnostics and a summary line.
    Human,
    /// One JSON object on stdout.
    Json,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// JUnit XML: one test case per module.
    Junit,
}

/// cargo's `--message-format`, for tools that read `cargo check`'s output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MessageFormat {
    /// The same as `--format human`.
    Human,
    /// One `file:line:column: level[code]: message` line per finding, as `rustc --error-format short`.
    Short,
    /// One JSON object per line in cargo's shape (`compiler-message`, then `build-finished`).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Check the module boundaries of a Cargo workspace.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Path to Cargo.toml of the workspace to check.
    #[arg(long, value_name = "PATH")]
    pub(crate) manifest_path: Option<PathBuf>,
    /// Path to boundaries.toml (default: the workspace root's).
    #[arg(long, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub(crate) format: OutputFormat,
    /// Print findings as `cargo check --message-format` does (for rust-analyzer and other
    /// readers of cargo's diagnostics); replaces --format.
    #[arg(long, value_enum, value_name = "FMT", conflicts_with = "format")]
    pub(crate) message_format: Option<MessageFormat>,
    /// When to use colour in human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) color: ColorChoice,
    /// Write a starter boundaries.toml with one module per workspace member, and exit.
    #[arg(long)]
    pub(crate) init: bool,
    /// Also write the report (in --format) to FILE; human output still goes to the terminal.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Record today's violations as the baseline (adds new ones, removes fixed ones), and exit.
    #[arg(long, conflicts_with = "prune_baseline")]
    pub(crate) update_baseline: bool,
    /// Lower or remove baseline entries that matched fewer sites; never adds any. Then exit.
    #[arg(long)]
    pub(crate) prune_baseline: bool,
    /// List the violations covered by the baseline instead of one summary line.
    #[arg(long)]
    pub(crate) show_baselined: bool,
    /// Report only violations in files changed since this git revision (the whole workspace is
    /// still analysed; cycles, unused dependencies and stale baseline entries are always reported).
    #[arg(long, value_name = "REV")]
    pub(crate) changed_since: Option<String>,
    /// Do not read or write the facts cache (under the workspace's target directory).
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Re-check on every save, re-parsing only the files that changed.
    #[arg(long, conflicts_with_all = ["init", "update_baseline", "prune_baseline", "message_format"])]
    pub(crate) watch: bool,
    /// Rewrite every `depends_on` of boundaries.toml to what the code uses today (as `cargo seams
    /// sync`), print the diff, and exit.
    #[arg(long, conflicts_with_all = ["init", "update_baseline", "prune_baseline", "watch"])]
    pub(crate) sync: bool,
    /// With --sync: write nothing, and exit 1 when boundaries.toml is out of date.
    #[arg(long, requires = "sync")]
    pub(crate) check: bool,
}

/// Rewrite every `depends_on` of boundaries.toml to what the code uses today.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// Path to Cargo.toml of the workspace.
    #[arg(long, value_name = "PATH")]
    pub(crate) manifest_path: Option<PathBuf>,
    /// Path to boundaries.toml (default: the workspace root's).
    #[arg(long, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Write nothing, print the diff, and exit 1 when boundaries.toml is out of date.
    #[arg(long)]
    pub(crate) check: bool,
    /// Do not read or write the facts cache (under the workspace's target directory).
    #[arg(long)]
    pub(crate) no_cache: bool,
}

impl CheckArgs {
    fn options(&self) -> CheckOptions {
        CheckOptions {
            manifest_path: self.manifest_path.clone(),
            config_path: self.config.clone(),
            use_cache: !self.no_cache,
            // Only --update-baseline may replace a missing or broken baseline: it records today's
            // violations and needs nothing from the old file. --prune-baseline must never add debt,
            // so it needs an old file to lower.
            rebuild_baseline: self.update_baseline,
        }
    }
}

/// Runs the check and prints its report; returns the process exit code.
pub fn run_check_command(args: &CheckArgs) -> ExitCode {
    let stderr_is_terminal = std::io::stderr().is_terminal();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stderr_is_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let width = terminal_width();
    let style = HumanStyle { color, width, show_baselined: false };
    if args.init {
        return match crate::init::write_starter_config(&args.options()) {
            Ok(written) => {
                println!("{}\n{}", written.text, written.summary);
                ExitCode::from(EXIT_CLEAN)
            }
            Err(error) => print_error(&error, style),
        };
    }
    if args.watch {
        return watch(args, style);
    }
    if args.sync {
        return run_sync_command(&SyncArgs {
            manifest_path: args.manifest_path.clone(),
            config: args.config.clone(),
            check: args.check,
            no_cache: args.no_cache,
        });
    }
    let mut outcome = match run_check(&args.options()) {
        Ok(outcome) => outcome,
        Err(error) => return print_error(&error, style),
    };
    if args.update_baseline || args.prune_baseline {
        return write_baseline(args, &outcome);
    }
    let mut notes = Vec::new();
    if let Some(revision) = &args.changed_since {
        match crate::changes::changed_files(&outcome.model.workspace.root, revision) {
            Ok(changed) => {
                outcome.restrict_to_changed_files(revision, &changed);
                let found = outcome.scope.as_ref().map_or(0, |scope| scope.violations_found);
                notes.push(format!(
                    "note: the whole workspace was analysed; reporting only violations in the {} files changed since {revision} ({} of {found} findings; a chain is reported when any of its steps changed; cycles, unused dependencies and stale baseline entries are always reported)",
                    changed.len(),
                    outcome.violations.len()
                ));
            }
            Err(message) => {
                eprintln!("error: --changed-since {revision}: {message}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    let human_style = HumanStyle { show_baselined: args.show_baselined, ..style };
    let human = || {
        let mut text = notes.iter().map(|note| format!("{note}\n")).collect::<String>();
        text.push_str(&crate::report::human::render(&outcome, human_style));
        text
    };
    let text = timings::time(Stage::Report, || match (args.message_format, args.format) {
        (Some(MessageFormat::Json), _) => crate::report::cargo::render_json(&outcome),
        (Some(MessageFormat::Short), _) => crate::report::cargo::render_short(&outcome),
        (Some(MessageFormat::Human), _) | (None, OutputFormat::Human) => human(),
        (None, OutputFormat::Json) => crate::report::json::render(&outcome) + "\n",
        (None, OutputFormat::Github) => crate::report::github::render(&outcome),
        (None, OutputFormat::Sarif) => crate::report::sarif::render(&outcome),
        (None, OutputFormat::Junit) => crate::report::junit::render(&outcome),
    });
    // Diagnostics for people go to stderr, like a compiler's; cargo's JSON goes to stdout.
    let for_people = matches!(
        (args.message_format, args.format),
        (Some(MessageFormat::Human | MessageFormat::Short), _) | (None, OutputFormat::Human)
    );
    let written = timings::time(Stage::Output, || match &args.output {
        // With --output, the report goes to the file and people still read diagnostics.
        Some(path) => {
            std::fs::write(path, text.as_bytes()).and_then(|()| std::io::stderr().write_all(human().as_bytes()))
        }
        None if for_people => std::io::stderr().write_all(text.as_bytes()),
        None => {
            for note in &notes {
                eprintln!("{note}");
            }
            std::io::stdout().write_all(text.as_bytes())
        }
    });
    if let Some(summary) = timings::summary() {
        eprint!("{summary}");
    }
    if let Err(error) = written {
        eprintln!("error: cannot write the report: {error}");
        return ExitCode::from(EXIT_ERROR);
    }
    let code = exit_code(&outcome);
    // The process ends with this call: freeing the model's millions of small allocations one by
    // one would only delay the exit, and the operating system takes the memory back at once.
    std::mem::forget(outcome);
    code
}

/// `sync` (and `check --sync`): plans the new `depends_on` arrays, prints the diff and what changed,
/// and writes the file unless `--check`. Exits 1 when `--check` finds the file out of date, or when
/// the code uses a module that `forbid` or `[layers]` refuse (sync leaves it out: the fix is in the
/// code); 2 when the check cannot run or a file could not be read.
pub fn run_sync_command(args: &SyncArgs) -> ExitCode {
    let style = HumanStyle::plain(terminal_width());
    let options = CheckOptions {
        manifest_path: args.manifest_path.clone(),
        config_path: args.config.clone(),
        use_cache: !args.no_cache,
        // The baseline plays no part in what the code uses.
        rebuild_baseline: true,
    };
    let outcome = match run_check(&options) {
        Ok(outcome) => outcome,
        Err(error) => return print_error(&error, style),
    };
    let plan = match crate::sync::plan(&outcome) {
        Ok(plan) => plan,
        Err(error) => return print_error(&error, style),
    };
    let path = outcome.model.config.path.clone();
    let file = outcome.model.workspace.relative_path(&path);
    print!("{}", crate::sync::diff(&plan, &file));
    for line in crate::sync::describe(&plan) {
        eprintln!("{line}");
    }
    let refused = plan.refused().next().is_some();
    if plan.is_up_to_date() {
        eprintln!("{file} is up to date: every `depends_on` is what the code uses");
    } else if args.check {
        eprintln!(
            "{file} is out of date: run `cargo seams sync` (or `cargo xtask check-boundaries --sync`) to write it"
        );
        return ExitCode::from(EXIT_VIOLATIONS);
    } else {
        if let Err(error) = std::fs::write(&path, &plan.new_text) {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitCode::from(EXIT_ERROR);
        }
        eprintln!("wrote {file}");
    }
    if refused { ExitCode::from(EXIT_VIOLATIONS) } else { ExitCode::from(EXIT_CLEAN) }
}

/// `--watch`: checks, then re-checks on every change under the workspace root, with the facts of
/// unchanged files kept in memory so that only changed files are parsed again.
fn watch(args: &CheckArgs, style: HumanStyle) -> ExitCode {
    use notify::Watcher;
    let mut engine = crate::check::Engine::in_memory(args.options());
    let (sender, events) = std::sync::mpsc::channel();
    let mut watcher = match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let _ = sender.send(event);
    }) {
        Ok(watcher) => watcher,
        Err(error) => {
            eprintln!("error: cannot watch files: {error}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let mut watched_root: Option<PathBuf> = None;
    loop {
        let started = std::time::Instant::now();
        match engine.check() {
            Ok(outcome) => {
                // Watch before saying so: a save made as soon as "watching for changes" is
                // printed must not be missed.
                if watched_root.is_none() {
                    let root = outcome.model.workspace.root.clone();
                    if let Err(error) = watcher.watch(&root, notify::RecursiveMode::Recursive) {
                        eprintln!("error: cannot watch {}: {error}", root.display());
                        return ExitCode::from(EXIT_ERROR);
                    }
                    watched_root = Some(root);
                }
                let crate::parse::ParseCounts { from_cache, parsed } = engine.parse_counts();
                eprint!(
                    "{}",
                    crate::report::human::render(&outcome, HumanStyle { show_baselined: args.show_baselined, ..style })
                );
                eprintln!(
                    "checked in {} ms ({parsed} files parsed, {from_cache} from the cache); watching for changes (Ctrl-C to stop)",
                    started.elapsed().as_millis()
                );
            }
            Err(error) => {
                eprint!("{}", crate::report::human::render_diagnostic(&error, style));
                if watched_root.is_none() {
                    return ExitCode::from(EXIT_ERROR);
                }
            }
        }
        let relevant = |event: &notify::Event| {
            !matches!(event.kind, notify::EventKind::Access(_))
                && event.paths.iter().any(|path| {
                    !path
                        .components()
                        .any(|component| matches!(component.as_os_str().to_str(), Some("target" | ".git")))
                })
        };
        // Wait for a change that matters, then let a burst of saves settle.
        loop {
            match events.recv() {
                Ok(Ok(event)) if relevant(&event) => break,
                Ok(_) => continue,
                Err(_) => return ExitCode::from(EXIT_ERROR),
            }
        }
        while events.recv_timeout(std::time::Duration::from_millis(100)).is_ok() {}
    }
}

/// The exit code an outcome deserves.
pub(crate) fn exit_code(outcome: &crate::check::CheckOutcome) -> ExitCode {
    // A file that seams failed to analyse is a bug in seams: it must never pass silently.
    if outcome.has_internal_error() {
        ExitCode::from(EXIT_ERROR)
    } else if outcome.passes() {
        ExitCode::from(EXIT_CLEAN)
    } else {
        ExitCode::from(EXIT_VIOLATIONS)
    }
}

/// `--update-baseline` and `--prune-baseline`: writes the new baseline and says what changed.
fn write_baseline(args: &CheckArgs, outcome: &crate::check::CheckOutcome) -> ExitCode {
    let mode = if args.prune_baseline { BaselineUpdate::Prune } else { BaselineUpdate::Update };
    let path = outcome.baseline.as_ref().map(|baseline| baseline.path.clone()).unwrap_or_else(|| {
        match &outcome.model.config.defaults.baseline {
            Some(configured) => outcome.model.workspace.root.join(configured.get_ref()),
            None => outcome.model.workspace.root.join(crate::baseline::DEFAULT_BASELINE_FILE),
        }
    });
    if let Some(error) = &outcome.unusable_baseline {
        eprintln!("note: {error}; writing a new baseline from today's violations");
    }
    let text = crate::baseline::render(&outcome.violations, outcome.baseline.as_ref(), mode);
    if let Err(error) = std::fs::write(&path, &text) {
        eprintln!("error: cannot write {}: {error}", path.display());
        return ExitCode::from(EXIT_ERROR);
    }
    let recorded = outcome
        .violations
        .iter()
        .filter(|violation| violation.rule != RuleCode::StaleBaseline && violation.severity == Severity::Error)
        .count();
    let stale = outcome.violations.iter().filter(|violation| violation.rule == RuleCode::StaleBaseline).count();
    let verb = if mode == BaselineUpdate::Prune { "pruned" } else { "wrote" };
    eprintln!(
        "{verb} {} ({recorded} current violations, {stale} stale entries removed or lowered)",
        outcome.model.workspace.relative_path(&path)
    );
    if outcome.model.config.defaults.baseline.is_none() {
        eprintln!(
            "hint: add `baseline = \"{}\"` to [defaults] in boundaries.toml, so that a deleted baseline fails the check instead of passing",
            crate::baseline::DEFAULT_BASELINE_FILE
        );
    }
    ExitCode::from(EXIT_CLEAN)
}

/// Prints an error that stops the run, and returns exit code 2.
pub(crate) fn print_error(error: &dyn miette::Diagnostic, style: HumanStyle) -> ExitCode {
    eprint!("{}", crate::report::human::render_diagnostic(error, style));
    ExitCode::from(EXIT_ERROR)
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|columns| columns.parse().ok()).unwrap_or(100)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    /// A Mermaid flowchart, for GitHub markdown.
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// A standalone SVG drawing (laid out by seams, no Graphviz needed).
    Svg,
    /// One self-contained HTML page: the drawing, metrics and extraction blockers.
    Html,
    /// Nodes, edges, cycles and metrics as JSON.
    Json,
}

/// Draw the module graph of a workspace.
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Path to Cargo.toml of the workspace.
    #[arg(long, value_name = "PATH")]
    pub(crate) manifest_path: Option<PathBuf>,
    /// Path to boundaries.toml (default: the workspace root's).
    #[arg(long, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "mermaid")]
    pub(crate) format: GraphFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Draw only this module and its direct neighbours.
    #[arg(long, value_name = "MODULE")]
    pub(crate) focus: Option<String>,
    /// Add tables: ownership and cross-module access.
    #[arg(long)]
    pub(crate) tables: bool,
    /// Title of the drawing (default: the workspace directory's name).
    #[arg(long)]
    pub(crate) title: Option<String>,
}

/// Why `graph` drew nothing: the check itself failed (printed as its diagnostic), or the view
/// could not be built or drawn (printed as one line).
#[derive(Debug, thiserror::Error)]
enum GraphError {
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    View(#[from] crate::render::ViewError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
}

/// Renders the module graph in the chosen format. Violations do not fail it: the graph is for
/// looking at them.
fn render_graph(args: &GraphArgs) -> Result<String, GraphError> {
    let options = CheckOptions {
        manifest_path: args.manifest_path.clone(),
        config_path: args.config.clone(),
        use_cache: true,
        ..CheckOptions::default()
    };
    let outcome = run_check(&options)?;
    let view_options =
        crate::render::ViewOptions { focus: args.focus.clone(), tables: args.tables, title: args.title.clone() };
    let view = crate::render::build_view(&outcome, &view_options)?;
    use crate::render;
    match args.format {
        GraphFormat::Mermaid => Ok(render::render_mermaid(&view)),
        GraphFormat::Dot => Ok(render::render_dot(&view)),
        GraphFormat::Svg => Ok(render::render_svg(&view)?),
        GraphFormat::Html => Ok(render::render_html(&view)?),
        GraphFormat::Json => Ok(render::render_json(&view)),
    }
}

/// `graph`: renders and writes the graph; returns the process exit code.
pub fn run_graph_command(args: &GraphArgs) -> ExitCode {
    let text = match render_graph(args) {
        Ok(text) => text,
        Err(GraphError::Check(error)) => return print_error(&error, HumanStyle::plain(terminal_width())),
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, &text).map(|()| eprintln!("wrote {}", path.display())),
        None => std::io::stdout().write_all(text.as_bytes()),
    };
    match written {
        Ok(()) => ExitCode::from(EXIT_CLEAN),
        Err(error) => {
            eprintln!("cannot write the graph: {error}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
