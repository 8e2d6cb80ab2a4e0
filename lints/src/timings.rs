//! Where a check spends its time, for profiling: set `SEAMS_TIMINGS=1` and the command line
//! prints, on stderr after the report, the wall time of each phase of the pipeline and the time
//! of each kind of per-file work summed over the parsing threads.
//!
//! Timing is off unless the variable is set, and then costs two clock reads per measured piece of
//! work. Nothing here changes what a check finds or prints otherwise.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A measured piece of the check. Phases run one after another and are timed by the wall clock;
/// the per-file kinds run on every parsing thread at once, and their times are added up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// `cargo metadata`.
    Workspace,
    /// Reading and validating `boundaries.toml`, and resolving its modules against the workspace.
    Config,
    /// Loading the facts cache from disk.
    CacheLoad,
    /// Walking every unit's module tree and analysing each file (the per-file kinds below).
    ParsePhase,
    /// Per file: reading the text.
    Read,
    /// Per file: the cache key (hashing the text) and the look-up.
    CacheLookup,
    /// Per file: turning the text into tokens (proc-macro2's lexer).
    Lex,
    /// Per file: turning the tokens into a syntax tree (syn).
    Parse,
    /// Per file: the two visitor passes that resolve paths and collect facts.
    Visit,
    /// Per file: parsing the SQL found in string literals.
    Sql,
    /// Per file: freeing the syntax tree.
    Free,
    /// Modules, ownership, the table catalog (with `.sql` files) and the module graph.
    Model,
    /// Every rule.
    Rules,
    /// Reading and applying the baseline.
    Baseline,
    /// Writing the facts cache to disk.
    CacheSave,
    /// Rendering the report.
    Report,
    /// Writing the report out.
    Output,
}

impl Stage {
    const ALL: [Stage; 17] = [
        Stage::Workspace,
        Stage::Config,
        Stage::CacheLoad,
        Stage::ParsePhase,
        Stage::Read,
        Stage::CacheLookup,
        Stage::Lex,
        Stage::Parse,
        Stage::Visit,
        Stage::Sql,
        Stage::Free,
        Stage::Model,
        Stage::Rules,
        Stage::Baseline,
        Stage::CacheSave,
        Stage::Report,
        Stage::Output,
    ];

    fn label(self) -> &'static str {
        match self {
            Stage::Workspace => "workspace (cargo metadata)",
            Stage::Config => "config and modules",
            Stage::CacheLoad => "facts cache: load",
            Stage::ParsePhase => "parse phase (all files)",
            Stage::Read => "  read",
            Stage::CacheLookup => "  cache key and look-up",
            Stage::Lex => "  lex (proc-macro2)",
            Stage::Parse => "  parse (syn)",
            Stage::Visit => "  visitor (resolve, facts)",
            Stage::Sql => "  SQL in literals",
            Stage::Free => "  free the syntax tree",
            Stage::Model => "model (modules, tables, graph)",
            Stage::Rules => "rules",
            Stage::Baseline => "baseline",
            Stage::CacheSave => "facts cache: save",
            Stage::Report => "report: render",
            Stage::Output => "report: write",
        }
    }

    /// Whether the stage is per-file work summed over threads rather than a phase's wall time.
    fn per_file(self) -> bool {
        matches!(
            self,
            Stage::Read | Stage::CacheLookup | Stage::Lex | Stage::Parse | Stage::Visit | Stage::Sql | Stage::Free
        )
    }
}

static ENABLED: LazyLock<bool> = LazyLock::new(|| std::env::var_os("SEAMS_TIMINGS").is_some_and(|value| value != "0"));

static NANOSECONDS: [AtomicU64; Stage::ALL.len()] = [const { AtomicU64::new(0) }; Stage::ALL.len()];

/// Runs `work`, adding its duration to `stage` when timings are on.
pub(crate) fn time<T>(stage: Stage, work: impl FnOnce() -> T) -> T {
    if !*ENABLED {
        return work();
    }
    let started = Instant::now();
    let value = work();
    add(stage, started.elapsed());
    value
}

/// Adds a duration measured by the caller to `stage`, when timings are on.
pub(crate) fn add(stage: Stage, elapsed: std::time::Duration) {
    if *ENABLED {
        let index = Stage::ALL.iter().position(|candidate| *candidate == stage).unwrap_or(0);
        NANOSECONDS[index].fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// The table of every stage's time, when timings are on.
pub(crate) fn summary() -> Option<String> {
    if !*ENABLED {
        return None;
    }
    let mut text = String::from(
        "seams timings (SEAMS_TIMINGS): phases in wall time; indented lines are per-file work added up over the parsing threads\n",
    );
    for (stage, nanoseconds) in Stage::ALL.iter().zip(&NANOSECONDS) {
        let milliseconds = nanoseconds.load(Ordering::Relaxed) as f64 / 1e6;
        let kind = if stage.per_file() { "cpu" } else { "wall" };
        text.push_str(&format!("{:<34} {milliseconds:>9.1} ms {kind}\n", stage.label()));
    }
    Some(text)
}
