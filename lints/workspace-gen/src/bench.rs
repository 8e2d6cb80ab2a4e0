//! The check-speed benchmark behind `cargo xtask bench-check`: generate workspaces of several
//! sizes, run the release `cargo-seams check` on each as a separate process several times, take
//! medians of wall time and peak memory, verify that the findings are exactly the planted ones,
//! and write a markdown table and an SVG plot.
//!
//! Peak memory comes from `/usr/bin/time -v` (Debian package `time`) around the child, so that no
//! unsafe code is needed to call `wait4`; without it the column says so.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{GenOptions, Planted, differences, expectation_lines_from_json, generate};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The seams repository (for building `cargo-seams` and writing `docs/results/`).
    pub repository: PathBuf,
    /// Where generated workspaces go (never the source tree).
    pub work_dir: PathBuf,
    /// Rust lines of each generated workspace.
    pub sizes: Vec<usize>,
    /// Measured runs per size and mode.
    pub runs: usize,
    pub seed: u64,
    /// Where the markdown report and the SVG go.
    pub report_dir: PathBuf,
}

/// One measured run of the checker.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub wall: Duration,
    /// Peak resident set size in KiB, when `/usr/bin/time` could measure it.
    pub peak_rss_kib: Option<u64>,
    /// User plus system CPU time of the child: unlike wall time, it hardly grows when other
    /// processes compete for the cores.
    pub cpu: Option<Duration>,
}

/// The medians of one mode (cold, warm, after one change).
#[derive(Debug, Clone)]
pub struct Series {
    pub runs: Vec<Run>,
}

impl Series {
    pub fn median_wall(&self) -> Option<Duration> {
        let mut walls: Vec<Duration> = self.runs.iter().map(|run| run.wall).collect();
        walls.sort();
        walls.get(walls.len() / 2).copied().filter(|_| !walls.is_empty())
    }

    pub fn median_cpu(&self) -> Option<Duration> {
        let mut times: Vec<Duration> = self.runs.iter().filter_map(|run| run.cpu).collect();
        times.sort();
        times.get(times.len() / 2).copied()
    }

    pub fn median_rss_kib(&self) -> Option<u64> {
        let mut peaks: Vec<u64> = self.runs.iter().filter_map(|run| run.peak_rss_kib).collect();
        peaks.sort_unstable();
        peaks.get(peaks.len() / 2).copied()
    }
}

/// Everything measured for one size.
#[derive(Debug, Clone)]
pub struct SizeResult {
    pub requested_lines: usize,
    pub planted: Planted,
    /// Files and lines as the checker reported them.
    pub checked_files: u64,
    pub checked_lines: u64,
    pub generation: Duration,
    pub cold: Series,
    /// `None` while the checker has no cache.
    pub warm: Option<Series>,
    pub after_change: Option<Series>,
    /// Planted but not found, and found but not planted (empty when correct).
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub results: Vec<SizeResult>,
    pub cache_supported: bool,
    pub machine: String,
    pub load_before: String,
    pub load_after: String,
    pub date: String,
    pub runs: usize,
    pub seed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("the language server broke the protocol: {0}")]
    Protocol(String),
    #[error("building cargo-seams failed ({0})")]
    Build(String),
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cargo-seams exited with {code:?} on {workspace}: {stderr}")]
    Check { workspace: String, code: Option<i32>, stderr: String },
    #[error("the JSON report of {workspace} does not parse: {message}")]
    Json { workspace: String, message: String },
    #[error(transparent)]
    Generate(#[from] crate::GenError),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How many modules a workspace of `lines` lines gets: about 15k lines per module.
pub fn modules_for(lines: usize) -> usize {
    (lines / 15_000).clamp(8, 200)
}

/// Parses `100k`, `3m`, `250000`.
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim().to_ascii_lowercase();
    let (number, factor) = match text.strip_suffix('k') {
        Some(number) => (number, 1_000),
        None => match text.strip_suffix('m') {
            Some(number) => (number, 1_000_000),
            None => (text.as_str(), 1),
        },
    };
    let value: f64 = number.parse().ok()?;
    (value > 0.0).then(|| (value * f64::from(factor)) as usize)
}

/// Builds the release `cargo-seams` once and returns its path.
pub fn build_checker(repository: &Path) -> Result<PathBuf, BenchError> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(repository)
        .args(["build", "--release", "--quiet", "--package", "seams", "--bin", "cargo-seams"])
        .status()
        .map_err(|source| BenchError::Spawn { program: "cargo".to_owned(), source })?;
    if !status.success() {
        return Err(BenchError::Build(status.to_string()));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repository.join("target"), PathBuf::from);
    let target = if target.is_absolute() { target } else { repository.join(target) };
    Ok(target.join("release").join("cargo-seams"))
}

/// Whether the checker has a cache to turn off (`--no-cache` in `check --help`).
pub fn cache_supported(checker: &Path) -> bool {
    Command::new(checker)
        .args(["check", "--help"])
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("--no-cache"))
}

const TIME: &str = "/usr/bin/time";

/// Runs the check once as a child process; returns the measurement and the JSON report.
fn run_check(checker: &Path, workspace: &Path, no_cache: bool) -> Result<(Run, serde_json::Value), BenchError> {
    let manifest = workspace.join("Cargo.toml");
    let rss_file = workspace.with_extension("time.txt");
    let measured_by_time = Path::new(TIME).is_file();
    let mut command = if measured_by_time {
        let mut command = Command::new(TIME);
        command.arg("-f").arg("%M %U %S").arg("-o").arg(&rss_file).arg(checker);
        command
    } else {
        Command::new(checker)
    };
    command.arg("check").arg("--manifest-path").arg(&manifest).args(["--format", "json"]);
    if no_cache {
        command.arg("--no-cache");
    }
    let started = Instant::now();
    let output =
        command.output().map_err(|source| BenchError::Spawn { program: checker.display().to_string(), source })?;
    let wall = started.elapsed();
    let workspace_name = workspace.display().to_string();
    // Exit code 1 means violations were found, which is what a planted workspace must give.
    if output.status.code() != Some(1) {
        return Err(BenchError::Check {
            workspace: workspace_name,
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).chars().take(2_000).collect(),
        });
    }
    // The last line of `time`'s output is "max-rss-KiB user-seconds system-seconds".
    let measured =
        if measured_by_time { std::fs::read_to_string(&rss_file).unwrap_or_default() } else { String::new() };
    let fields: Vec<&str> = measured.lines().last().unwrap_or("").split_whitespace().collect();
    let peak_rss_kib = fields.first().and_then(|field| field.parse().ok());
    let cpu =
        match (fields.get(1).and_then(|f| f.parse::<f64>().ok()), fields.get(2).and_then(|f| f.parse::<f64>().ok())) {
            (Some(user), Some(system)) => Some(Duration::from_secs_f64(user + system)),
            _ => None,
        };
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| BenchError::Json { workspace: workspace_name, message: error.to_string() })?;
    Ok((Run { wall, peak_rss_kib, cpu }, report))
}

/// The file that "one change" edits: a service file of the workspace's last module.
fn file_to_change(workspace: &Path) -> Option<PathBuf> {
    let crates = workspace.join("crates");
    let mut service_files: Vec<PathBuf> =
        walk(&crates).into_iter().filter(|path| path.file_name().is_some_and(|name| name == "service_0.rs")).collect();
    service_files.sort();
    service_files.pop()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Measures one size: generation, cold runs, and (with a cache) warm and after-one-change runs.
pub fn measure_size(
    checker: &Path,
    options: &BenchOptions,
    lines: usize,
    cache: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<SizeResult, BenchError> {
    let workspace = options.work_dir.join(format!("ws-{lines}"));
    if workspace.exists() {
        std::fs::remove_dir_all(&workspace).map_err(|source| BenchError::Io { path: workspace.clone(), source })?;
    }
    let started = Instant::now();
    let planted =
        generate(&GenOptions { lines, modules: modules_for(lines), seed: options.seed, out_dir: workspace.clone() })?;
    let generation = started.elapsed();
    progress(&format!(
        "{lines} lines: generated {} files, {} Rust lines, {} planted findings in {:.1} s",
        planted.files,
        planted.rust_lines,
        planted.expected.len(),
        generation.as_secs_f64()
    ));

    let mut cold = Vec::new();
    let mut first_report = None;
    for run in 0..options.runs {
        let (measured, report) = run_check(checker, &workspace, cache)?;
        progress(&format!(
            "  cold run {}: {:.3} s wall, {:.3} s CPU, {} KiB",
            run + 1,
            measured.wall.as_secs_f64(),
            measured.cpu.unwrap_or_default().as_secs_f64(),
            measured.peak_rss_kib.unwrap_or(0)
        ));
        cold.push(measured);
        first_report.get_or_insert(report);
    }
    let report = first_report.unwrap_or(serde_json::Value::Null);
    let found = expectation_lines_from_json(&report);
    let (missing, unexpected) = differences(&planted.expected, &found);
    let stat = |key: &str| report.pointer(&format!("/stats/{key}")).and_then(serde_json::Value::as_u64).unwrap_or(0);

    let (mut warm, mut after_change) = (None, None);
    if cache {
        // One run fills the cache; the measured runs then find everything unchanged.
        run_check(checker, &workspace, false)?;
        let mut runs = Vec::new();
        for _ in 0..options.runs {
            runs.push(run_check(checker, &workspace, false)?.0);
        }
        warm = Some(Series { runs });
        if let Some(path) = file_to_change(&workspace) {
            let original =
                std::fs::read_to_string(&path).map_err(|source| BenchError::Io { path: path.clone(), source })?;
            let mut runs = Vec::new();
            for run in 0..options.runs {
                // A comment appended at the end changes the file's hash but no finding's place.
                let changed = format!("{original}// edited for run {run}\n");
                std::fs::write(&path, changed).map_err(|source| BenchError::Io { path: path.clone(), source })?;
                runs.push(run_check(checker, &workspace, false)?.0);
            }
            std::fs::write(&path, original).map_err(|source| BenchError::Io { path: path.clone(), source })?;
            after_change = Some(Series { runs });
        }
    }
    Ok(SizeResult {
        requested_lines: lines,
        checked_files: stat("files"),
        checked_lines: stat("lines"),
        planted,
        generation,
        cold: Series { runs: cold },
        warm,
        after_change,
        missing,
        unexpected,
    })
}

/// Runs the whole benchmark and writes the report.
pub fn run(options: &BenchOptions, progress: &mut dyn FnMut(&str)) -> Result<BenchReport, BenchError> {
    let load_before = load_average();
    progress("building cargo-seams (release)");
    let checker = build_checker(&options.repository)?;
    let cache = cache_supported(&checker);
    progress(if cache {
        "the checker has a cache: measuring cold (--no-cache), warm and after one change"
    } else {
        "the checker has no cache yet: every run is cold"
    });
    std::fs::create_dir_all(&options.work_dir)
        .map_err(|source| BenchError::Io { path: options.work_dir.clone(), source })?;
    let mut results = Vec::new();
    for lines in &options.sizes {
        results.push(measure_size(&checker, options, *lines, cache, progress)?);
    }
    let report = BenchReport {
        results,
        cache_supported: cache,
        machine: machine_description(),
        load_before,
        load_after: load_average(),
        date: seams_provenance::date_utc(),
        runs: options.runs,
        seed: options.seed,
    };
    std::fs::create_dir_all(&options.report_dir)
        .map_err(|source| BenchError::Io { path: options.report_dir.clone(), source })?;
    let markdown_path = options.report_dir.join("check-speed.md");
    std::fs::write(&markdown_path, render_markdown(&report))
        .map_err(|source| BenchError::Io { path: markdown_path, source })?;
    let svg_path = options.report_dir.join("check-speed.svg");
    std::fs::write(&svg_path, render_svg(&report)).map_err(|source| BenchError::Io { path: svg_path, source })?;
    Ok(report)
}

/// The 1-, 5- and 15-minute load averages, as `uptime` shows them.
pub fn load_average() -> String {
    seams_provenance::load_average().join(", ")
}

pub fn machine_description() -> String {
    let machine = seams_provenance::Machine::read();
    let memory = machine.memory_gib().map(|gib| format!("{gib:.1} GiB RAM")).unwrap_or_default();
    format!("{} cores ({}), {memory}", machine.cores, machine.cpu)
}

fn seconds(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "–".to_owned(), |duration| format!("{:.3} s", duration.as_secs_f64()))
}

fn size_label(lines: usize) -> String {
    if lines >= 1_000_000 && lines % 1_000_000 == 0 {
        format!("{}M", lines / 1_000_000)
    } else if lines >= 1_000 && lines % 1_000 == 0 {
        format!("{}k", lines / 1_000)
    } else {
        lines.to_string()
    }
}

/// The markdown report.
pub fn render_markdown(report: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Check speed\n");
    let _ = writeln!(
        out,
        "Written by `cargo xtask bench-check` on {}, on {}. Load average (1, 5, 15 min) before the run: {}; after it: {}.",
        report.date, report.machine, report.load_before, report.load_after
    );
    let _ = writeln!(
        out,
        "Each size is a workspace written by `seams-workspace-gen` (seed {}, about 15k lines per module), checked \
         {} time(s) per mode by the release `cargo-seams check --format json` as a separate process; times are medians of \
         wall time, and peak memory is the median of the children's maximum resident set size (`/usr/bin/time`).\n",
        report.seed, report.runs
    );
    let cache_note = "cache not implemented yet";
    let _ = writeln!(
        out,
        "| size | files | lines | cold median | cold CPU (user+sys) | warm median | after one change | peak RSS (cold) | findings = planted |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|:---|");
    for result in &report.results {
        let warm = match &result.warm {
            Some(series) => seconds(series.median_wall()),
            None => cache_note.to_owned(),
        };
        let after = match &result.after_change {
            Some(series) => seconds(series.median_wall()),
            None => cache_note.to_owned(),
        };
        let rss = result
            .cold
            .median_rss_kib()
            .map_or_else(|| "not measured".to_owned(), |kib| format!("{:.0} MB", kib as f64 / 1024.0));
        let correct = if result.missing.is_empty() && result.unexpected.is_empty() {
            format!("yes ({} lines)", result.planted.expected.len())
        } else {
            format!("**no**: {} missing, {} unexpected", result.missing.len(), result.unexpected.len())
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {warm} | {after} | {rss} | {correct} |",
            size_label(result.requested_lines),
            result.checked_files,
            result.checked_lines,
            seconds(result.cold.median_wall()),
            seconds(result.cold.median_cpu()),
        );
    }
    let _ = writeln!(out, "| **target** (issue 8) | | ≈600k | ≤ 1.5 s | | ≤ 0.2 s | ≤ 0.3 s | ≤ 300 MB | exactly |\n");

    let by_size = |lines: usize| report.results.iter().find(|result| result.requested_lines == lines);
    if let (Some(small), Some(large)) = (by_size(600_000), by_size(3_000_000))
        && let (Some(small_time), Some(large_time)) = (small.cold.median_wall(), large.cold.median_wall())
    {
        let line_ratio = large.checked_lines as f64 / small.checked_lines.max(1) as f64;
        let time_ratio = large_time.as_secs_f64() / small_time.as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "Scaling, cold: {line_ratio:.2}× the lines (600k → 3M) took {time_ratio:.2}× the wall time (target: 5× the lines in ≤ 5.5× the time)."
        );
        if let (Some(small_cpu), Some(large_cpu)) = (small.cold.median_cpu(), large.cold.median_cpu()) {
            let cpu_ratio = large_cpu.as_secs_f64() / small_cpu.as_secs_f64().max(1e-9);
            let _ = writeln!(out, "In CPU time, which other load on the machine hardly changes: {cpu_ratio:.2}×.");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "![Cold check time against workspace size](check-speed.svg)\n");
    for result in &report.results {
        if result.missing.is_empty() && result.unexpected.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## Differences at {}\n", size_label(result.requested_lines));
        let _ = writeln!(out, "```text");
        for line in result.missing.iter().take(50) {
            let _ = writeln!(out, "missing    {line}");
        }
        for line in result.unexpected.iter().take(50) {
            let _ = writeln!(out, "unexpected {line}");
        }
        let _ = writeln!(out, "```\n");
    }
    let _ = writeln!(
        out,
        "Reproduce with `cargo xtask bench-check` (all sizes) or `cargo xtask bench-check --quick`; the generated \
         workspaces are left under `target/bench-check/`."
    );
    out
}

/// A named, coloured line of (lines, seconds) points.
type PlotSeries<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// A line plot of median check time against lines, written by hand (no plotting dependency).
pub fn render_svg(report: &BenchReport) -> String {
    let (width, height) = (640.0_f64, 400.0_f64);
    let (left, right, top, bottom) = (70.0, 20.0, 40.0, 50.0);
    let series: Vec<PlotSeries<'_>> = {
        let points = |pick: &dyn Fn(&SizeResult) -> Option<Duration>| -> Vec<(f64, f64)> {
            report
                .results
                .iter()
                .filter_map(|result| pick(result).map(|time| (result.checked_lines as f64, time.as_secs_f64())))
                .collect()
        };
        vec![
            ("cold", "#c0392b", points(&|result| result.cold.median_wall())),
            ("warm", "#2471a3", points(&|result| result.warm.as_ref().and_then(Series::median_wall))),
            (
                "after one change",
                "#229954",
                points(&|result| result.after_change.as_ref().and_then(Series::median_wall)),
            ),
        ]
    };
    let max_lines = series.iter().flat_map(|(_, _, points)| points.iter().map(|point| point.0)).fold(1.0, f64::max);
    let max_time =
        series.iter().flat_map(|(_, _, points)| points.iter().map(|point| point.1)).fold(1.5, f64::max) * 1.1;
    let x = |lines: f64| left + lines / max_lines * (width - left - right);
    let y = |time: f64| height - bottom - time / max_time * (height - top - bottom);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">seams check: median wall time against workspace size</text>"#,
        width / 2.0
    );
    // Axes with ticks.
    let _ = writeln!(
        svg,
        r#"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
        height - bottom,
        width - right,
        height - bottom
    );
    let _ = writeln!(svg, r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/>"#, height - bottom);
    for step in 0..=5 {
        let lines = max_lines * f64::from(step) / 5.0;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{:.0}k</text>"#,
            x(lines),
            height - bottom + 18.0,
            lines / 1000.0
        );
        let time = max_time * f64::from(step) / 5.0;
        let _ =
            writeln!(svg, r#"<text x="{}" y="{:.1}" text-anchor="end">{time:.1} s</text>"#, left - 6.0, y(time) + 4.0);
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="#dddddd"/>"##,
            y(time),
            width - right,
            y(time)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">lines of Rust checked</text>"#,
        (left + width - right) / 2.0,
        height - 12.0
    );
    // The target of the issue: 600k lines in 1.5 s.
    let _ = writeln!(
        svg,
        r##"<circle cx="{:.1}" cy="{:.1}" r="5" fill="none" stroke="#7d3c98" stroke-width="2"/><text x="{:.1}" y="{:.1}" fill="#7d3c98">target: 600k in 1.5 s</text>"##,
        x(600_000.0),
        y(1.5),
        x(600_000.0) + 8.0,
        y(1.5) - 8.0
    );
    for (index, (name, colour, points)) in series.iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        let path: Vec<String> =
            points.iter().map(|(lines, time)| format!("{:.1},{:.1}", x(*lines), y(*time))).collect();
        let _ =
            writeln!(svg, r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#, path.join(" "));
        for (lines, time) in points {
            let _ = writeln!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"/>"#, x(*lines), y(*time));
        }
        let legend_y = top + 10.0 + 18.0 * index as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{}" y1="{legend_y}" x2="{}" y2="{legend_y}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{name}</text>"#,
            left + 15.0,
            left + 35.0,
            left + 40.0,
            legend_y + 4.0
        );
    }
    let _ = writeln!(svg, "</svg>");
    svg
}
