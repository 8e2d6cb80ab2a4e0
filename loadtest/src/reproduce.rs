//! `cargo xtask reproduce`: each topology's capacity, the load sweep, the latency and cost tables at about 70% of
//! the monolith's capacity, the cross-check with wrk, the plot, and the extraction report.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::attack::Scenario;
use crate::capacity::{Capacity, HoldCriteria, SearchSettings, search};
use crate::deployment::{Binaries, Cores, log_in};
use crate::plot::{self, Curve};
use crate::postgres::{DatabaseKind, PostgresServer};
use crate::report;
use crate::run::{Deployment, LoadSettings, Measurement, write_json};
use crate::wrk::{self, WrkResult};

/// The modules a team might extract, each measured on its own.
pub const MODULES: [&str; 6] = ["auth", "users", "business", "points", "audit", "analytics"];

/// The topologies of the tables and the sweep; the monolith comes first, since its capacity is the sweep's unit.
pub const MAIN_TOPOLOGIES: [&str; 3] = ["monolith", "services", "extract=points"];

/// The single-module extractions measured beside them (`extract=points` is one of the main topologies).
fn extraction_topologies() -> impl Iterator<Item = String> {
    MODULES.iter().filter(|module| **module != "points").map(|module| format!("extract={module}"))
}

/// How much to measure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReproduceOptions {
    /// The short CI run.
    pub quick: bool,
    /// Where the reports go.
    pub out: PathBuf,
    /// Goose users.
    pub users: usize,
    /// Warm-up seconds per deployment.
    pub warmup_seconds: usize,
    /// Seconds per capacity probe.
    pub probe_seconds: usize,
    /// Seconds per sweep point.
    pub point_seconds: usize,
    /// The sweep's offered loads, as fractions of the monolith's capacity.
    pub fractions: Vec<f64>,
    /// The fraction the tables are printed at.
    pub chosen_fraction: f64,
    /// The capacity search of the three main topologies.
    pub search: SearchSettings,
    /// The capacity search of each single-module extraction.
    pub extraction_search: SearchSettings,
    /// When a probed rate counts as held.
    #[serde(default)]
    pub criteria: HoldCriteria,
    /// The database the app runs on.
    #[serde(default)]
    pub db: DatabaseKind,
}

impl ReproduceOptions {
    /// The settings of a quick (CI) or full run.
    pub fn new(quick: bool, out: PathBuf, db: DatabaseKind) -> ReproduceOptions {
        if quick {
            ReproduceOptions {
                quick,
                out,
                users: 16,
                warmup_seconds: 1,
                probe_seconds: 3,
                point_seconds: 3,
                fractions: vec![0.25, 0.7, 1.0],
                chosen_fraction: 0.7,
                search: SearchSettings {
                    start_rps: 200.0,
                    max_rps: 3_200.0,
                    growth: 2.0,
                    precision: 1.5,
                    max_probes: 4,
                },
                extraction_search: SearchSettings {
                    start_rps: 400.0,
                    max_rps: 3_200.0,
                    growth: 2.0,
                    precision: 2.0,
                    max_probes: 3,
                },
                criteria: HoldCriteria::default(),
                db,
            }
        } else {
            ReproduceOptions {
                quick,
                out,
                users: 32,
                warmup_seconds: 5,
                probe_seconds: 6,
                point_seconds: 10,
                fractions: vec![0.1, 0.25, 0.5, 0.7, 0.85, 1.0, 1.25],
                chosen_fraction: 0.7,
                search: SearchSettings {
                    start_rps: 250.0,
                    max_rps: 32_000.0,
                    growth: 2.0,
                    precision: 1.15,
                    max_probes: 9,
                },
                extraction_search: SearchSettings {
                    start_rps: 500.0,
                    max_rps: 32_000.0,
                    growth: 2.0,
                    precision: 1.25,
                    max_probes: 5,
                },
                criteria: HoldCriteria::default(),
                db,
            }
        }
    }
}

/// Everything measured on one topology.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopologyResult {
    /// The topology.
    pub topology: String,
    /// Its capacity.
    pub capacity: Capacity,
    /// The sweep, in increasing offered load (empty for extractions other than points).
    pub sweep: Vec<Measurement>,
    /// The measurement at the chosen load point.
    pub chosen: Measurement,
    /// wrk at the chosen load point, when wrk ran.
    pub wrk: Option<WrkResult>,
    /// Why wrk did not run, or what went wrong with it.
    pub wrk_note: Option<String>,
    /// Whether `rewards verify` passed after the load.
    pub verify_passed: bool,
    /// What verify printed.
    pub verify_output: String,
}

/// Where and when the run happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    /// CPU model, cores, memory and kernel.
    pub machine: String,
    /// UTC date and time at the start.
    pub date: String,
    /// The git commit (with `-dirty` when tracked files were modified).
    pub commit: String,
    /// Load average (1, 5, 15 minutes) before the run.
    pub load_before: String,
    /// Load average after the run.
    pub load_after: String,
    /// Process pinning.
    pub cores: Cores,
    /// Other processes that used much CPU when the run started.
    pub busy_processes: Vec<String>,
}

/// The whole reproduction, also written as `results.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reproduction {
    /// Where and when.
    pub provenance: Provenance,
    /// How much was measured.
    pub options: ReproduceOptions,
    /// The monolith's capacity, the unit of the sweep.
    pub monolith_capacity_rps: f64,
    /// The offered load of the tables.
    pub chosen_rps: usize,
    /// monolith, services and extract=points.
    pub main: Vec<TopologyResult>,
    /// extract=M for each other module.
    pub extraction: Vec<TopologyResult>,
}

/// Runs the reproduction and writes its reports into `options.out`.
pub fn reproduce(binaries: &Binaries, options: &ReproduceOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.out).with_context(|| format!("creating {}", options.out.display()))?;
    let work = PathBuf::from("target/reproduce-work");
    let cores = Cores::split();
    let provenance = Provenance {
        machine: machine(),
        date: command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        commit: commit(),
        load_before: load_average(),
        load_after: String::new(),
        cores: cores.clone(),
        busy_processes: busy_processes(),
    };
    eprintln!("{}; load average {}", cores.describe(), provenance.load_before);
    // On PostgreSQL one server serves every deployment in turn, each in a database of its own, on the app's cores.
    let postgres = match options.db {
        DatabaseKind::Sqlite => None,
        DatabaseKind::Postgres => Some(std::sync::Arc::new(PostgresServer::start(
            &std::path::absolute(&work)?.join("postgres"),
            cores.app.as_deref(),
        )?)),
    };
    let settings = LoadSettings { users: options.users, warmup_seconds: options.warmup_seconds, postgres };
    let criteria = options.criteria;

    let monolith = measure_topology(binaries, options, &cores, &settings, &criteria, MAIN_TOPOLOGIES[0], &work, None)?;
    let mut monolith_capacity = monolith.capacity.rps;
    if monolith_capacity <= 0.0 {
        // A machine too busy to hold even the lowest probe still gets its tables, at that probe's rate, so that a
        // CI run reports numbers (marked in the capacity table) instead of failing on a timing.
        monolith_capacity = monolith.capacity.probes.iter().map(|probe| probe.offered_rps).fold(f64::MAX, f64::min);
        eprintln!("[monolith] held no probed rate; the sweep uses the lowest probe, {monolith_capacity:.0}/s");
    }
    let chosen_rps = ((monolith_capacity * options.chosen_fraction).round() as usize).max(1);
    let mut main = vec![monolith];
    for topology in &MAIN_TOPOLOGIES[1..] {
        main.push(measure_topology(
            binaries,
            options,
            &cores,
            &settings,
            &criteria,
            topology,
            &work,
            Some(monolith_capacity),
        )?);
    }
    let mut extraction = Vec::new();
    for topology in extraction_topologies() {
        extraction
            .push(measure_extraction(binaries, options, &cores, &settings, &criteria, &topology, &work, chosen_rps)?);
    }
    let provenance = Provenance { load_after: load_average(), ..provenance };
    let reproduction = Reproduction {
        provenance,
        options: options.clone(),
        monolith_capacity_rps: monolith_capacity,
        chosen_rps,
        main,
        extraction,
    };
    write_reports(&reproduction)?;
    let failed: Vec<&str> = reproduction
        .main
        .iter()
        .chain(&reproduction.extraction)
        .filter(|result| !result.verify_passed)
        .map(|result| result.topology.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("rewards verify failed after the load on: {}", failed.join(", "));
    }
    check_outputs(&reproduction)
}

/// What CI asserts of a reproduction (`cargo xtask reproduce --quick` in `.ci/run`): every topology ran and
/// answered requests, and every report was written. It says nothing of how fast anything was: timings are the
/// benchmark's output, never a pass condition.
pub fn check_outputs(reproduction: &Reproduction) -> anyhow::Result<()> {
    let expected: Vec<String> = MAIN_TOPOLOGIES.into_iter().map(str::to_owned).chain(extraction_topologies()).collect();
    let ran: Vec<&str> =
        reproduction.main.iter().chain(&reproduction.extraction).map(|result| result.topology.as_str()).collect();
    let missing: Vec<&String> = expected.iter().filter(|topology| !ran.contains(&topology.as_str())).collect();
    if !missing.is_empty() {
        bail!("these topologies did not run: {missing:?}");
    }
    let silent: Vec<&str> = reproduction
        .main
        .iter()
        .chain(&reproduction.extraction)
        .filter(|result| result.chosen.summary.requests == 0)
        .map(|result| result.topology.as_str())
        .collect();
    if !silent.is_empty() {
        bail!("no request completed at the chosen load point on: {}", silent.join(", "));
    }
    for file in ["latency.md", "extraction.md", "latency-vs-load.svg", "results.json"] {
        let path = reproduction.options.out.join(file);
        let size = std::fs::metadata(&path).map(|metadata| metadata.len()).unwrap_or(0);
        if size == 0 {
            bail!("{} was not written", path.display());
        }
    }
    let latency = std::fs::read_to_string(reproduction.options.out.join("latency.md"))?;
    for (name, table) in [("latency", report::latency_table(reproduction)), ("cost", report::cost_table(reproduction))]
    {
        if !latency.contains(&table) {
            bail!("latency.md does not hold the {name} table");
        }
    }
    eprintln!("checked: {} topologies ran, verify passed after each, and every report was written", ran.len());
    Ok(())
}

fn capacity_of(
    deployment: &mut Deployment,
    search_settings: &SearchSettings,
    criteria: &HoldCriteria,
    seconds: usize,
) -> anyhow::Result<Capacity> {
    search(search_settings, |rate| {
        let measurement = deployment.measure(Scenario::Dashboard, rate.round() as usize, seconds, None)?;
        anyhow::Ok(criteria.holds(&measurement.summary))
    })
}

#[allow(clippy::too_many_arguments)] // One call site per kind of topology; a struct would only rename these.
fn measure_topology(
    binaries: &Binaries,
    options: &ReproduceOptions,
    cores: &Cores,
    settings: &LoadSettings,
    criteria: &HoldCriteria,
    topology: &str,
    work: &Path,
    monolith_capacity: Option<f64>,
) -> anyhow::Result<TopologyResult> {
    let mut deployment = Deployment::start(binaries, topology, cores, settings, &work.join(file_name(topology)))?;
    let capacity = capacity_of(&mut deployment, &options.search, criteria, options.probe_seconds)?;
    eprintln!("[{topology}] capacity {:.0} requests/s", capacity.rps);
    // The sweep's unit is the monolith's capacity, so that every topology is offered the same loads.
    let unit = monolith_capacity.unwrap_or(capacity.rps).max(1.0);
    let chosen_rps = ((unit * options.chosen_fraction).round() as usize).max(1);
    let goose_reports = options.out.join("goose");
    std::fs::create_dir_all(&goose_reports)?;
    let mut sweep = Vec::new();
    let mut chosen = None;
    for fraction in &options.fractions {
        let rate = ((unit * fraction).round() as usize).max(1);
        let is_chosen = rate == chosen_rps;
        let stem = goose_reports.join(file_name(topology));
        let measurement = deployment.measure(
            Scenario::Dashboard,
            rate,
            options.point_seconds,
            if is_chosen { Some(stem.as_path()) } else { None },
        )?;
        if is_chosen {
            chosen = Some(measurement.clone());
        }
        sweep.push(measurement);
    }
    let chosen = match chosen {
        Some(chosen) => chosen,
        None => deployment.measure(Scenario::Dashboard, chosen_rps, options.point_seconds, None)?,
    };
    let (wrk, wrk_note) = cross_check(&deployment, options, chosen_rps, &work.join(file_name(topology)));
    let (verify_passed, verify_output) = deployment.finish()?;
    Ok(TopologyResult {
        topology: topology.to_owned(),
        capacity,
        sweep,
        chosen,
        wrk,
        wrk_note,
        verify_passed,
        verify_output,
    })
}

#[allow(clippy::too_many_arguments)] // As above.
fn measure_extraction(
    binaries: &Binaries,
    options: &ReproduceOptions,
    cores: &Cores,
    settings: &LoadSettings,
    criteria: &HoldCriteria,
    topology: &str,
    work: &Path,
    chosen_rps: usize,
) -> anyhow::Result<TopologyResult> {
    let mut deployment = Deployment::start(binaries, topology, cores, settings, &work.join(file_name(topology)))?;
    let chosen = deployment.measure(Scenario::Dashboard, chosen_rps, options.point_seconds, None)?;
    let capacity = capacity_of(&mut deployment, &options.extraction_search, criteria, options.probe_seconds)?;
    let (verify_passed, verify_output) = deployment.finish()?;
    Ok(TopologyResult {
        topology: topology.to_owned(),
        capacity,
        sweep: Vec::new(),
        chosen,
        wrk: None,
        wrk_note: None,
        verify_passed,
        verify_output,
    })
}

fn cross_check(
    deployment: &Deployment,
    options: &ReproduceOptions,
    rate: usize,
    work: &Path,
) -> (Option<WrkResult>, Option<String>) {
    if !wrk::available() {
        return (None, Some("wrk is not installed (Debian package `wrk`)".to_owned()));
    }
    let attempt = || -> anyhow::Result<WrkResult> {
        let accounts = crate::attack::read_accounts(&deployment.app.data_dir.join("accounts.json"))?;
        let token = log_in(&deployment.app.url, &accounts.member_emails[0], &accounts.password)?;
        wrk::run(
            &deployment.app.url,
            &token,
            options.users,
            rate,
            options.point_seconds,
            deployment.cores.load.as_deref(),
            work,
        )
    };
    match attempt() {
        Ok(result) => (Some(result), None),
        Err(error) => (None, Some(format!("wrk failed: {error:#}"))),
    }
}

fn file_name(topology: &str) -> String {
    topology.replace(['=', ','], "-")
}

/// Writes the plot, `latency.md`, `extraction.md` and `results.json` into the reproduction's output directory.
pub fn write_reports(reproduction: &Reproduction) -> anyhow::Result<()> {
    let out = &reproduction.options.out;
    let curves: Vec<Curve> = reproduction
        .main
        .iter()
        .map(|result| Curve {
            topology: result.topology.clone(),
            points: result
                .sweep
                .iter()
                .map(|point| (point.summary.offered_rps, point.summary.p50_ms, point.summary.p99_ms))
                .collect(),
        })
        .collect();
    plot::draw(&out.join("latency-vs-load.svg"), "GET /v1/dashboard: latency against offered load", &curves)?;
    let latency = report::latency_markdown(reproduction);
    std::fs::write(out.join("latency.md"), &latency).context("writing latency.md")?;
    std::fs::write(out.join("extraction.md"), report::extraction_markdown(reproduction))
        .context("writing extraction.md")?;
    let mut slim = reproduction.clone();
    for result in slim.main.iter_mut().chain(slim.extraction.iter_mut()) {
        // The histograms make the file large and are only needed to merge runs, which happens before this point.
        for measurement in result.sweep.iter_mut().chain(std::iter::once(&mut result.chosen)) {
            measurement.histogram = Default::default();
            measurement.dashboard = Default::default();
        }
    }
    write_json(&out.join("results.json"), &slim)?;
    println!("{}", report::terminal_tables(reproduction));
    println!("reports in {}", out.display());
    Ok(())
}

fn command_output(program: &str, arguments: &[&str]) -> String {
    Command::new(program)
        .args(arguments)
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn commit() -> String {
    let hash = command_output("git", &["rev-parse", "--short=12", "HEAD"]);
    let dirty = !command_output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    if hash.is_empty() {
        "unknown".to_owned()
    } else if dirty {
        format!("{hash}-dirty")
    } else {
        hash
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, model)| model.trim())
        })
        .unwrap_or("unknown CPU");
    let cores = std::thread::available_parallelism().map_or(1, |count| count.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| line.strip_prefix("MemTotal:").map(|rest| rest.trim().to_owned()))
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cores} cores available, {memory} memory, Linux {}", kernel.trim())
}

/// Processes using much CPU at the start, so that the report can say when the machine was not quiet.
fn busy_processes() -> Vec<String> {
    let text = command_output("ps", &["-eo", "pcpu=,comm=", "--sort=-pcpu"]);
    text.lines()
        .filter_map(|line| {
            let (cpu, name) = line.trim().split_once(' ')?;
            let cpu: f64 = cpu.parse().ok()?;
            (cpu >= 20.0 && !is_own_process(name.trim())).then(|| format!("{} ({cpu:.0}% CPU)", name.trim()))
        })
        .take(8)
        .collect()
}

/// Whether a busy process is this run itself: `ps` gives CPU use over a process's lifetime, so the launcher chain
/// that has just started (cargo, xtask, this binary) always looks busy.
pub fn is_own_process(busy: &str) -> bool {
    let name = busy.split(" (").next().unwrap_or(busy);
    matches!(name, "seams-loadtest" | "xtask" | "cargo")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_reproduction() -> Reproduction {
        let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results");
        let text = std::fs::read_to_string(results.join("results.json")).unwrap();
        let mut reproduction: Reproduction = serde_json::from_str(&text).unwrap();
        reproduction.options.out = results;
        reproduction
    }

    #[test]
    fn the_committed_reports_pass_the_ci_check_and_hold_the_tables_of_their_results() {
        check_outputs(&committed_reproduction()).unwrap();
    }

    #[test]
    fn a_reproduction_without_a_topology_fails_the_check() {
        let mut reproduction = committed_reproduction();
        reproduction.extraction.retain(|result| result.topology != "extract=audit");
        let error = check_outputs(&reproduction).unwrap_err().to_string();
        assert!(error.contains("extract=audit"), "{error}");
    }
}
