//! One deployment under load: seed, start, warm up, measure at one or more rates, verify, stop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::attack::{AttackResult, MEASURED_REQUESTS, Scenario};
use crate::budget::{Cores, Placement};
use crate::deployment::{Binaries, RunningApp, Usage, clock_ticks_per_second, cpu_ticks, log_in_all, seed};
use crate::network::NetworkProfile;
use crate::postgres::{PostgresServer, database_name};
use crate::relay::RelayProcess;
use crate::stats::{Histogram, Summary, SummaryHeader};

/// What every measurement of a deployment shares.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// Goose users.
    pub users: usize,
    /// Seconds of warm-up load before the first measurement.
    pub warmup_seconds: usize,
    /// The PostgreSQL server the app runs on (a database of its own per deployment), or `None` for SQLite.
    pub postgres: Option<Arc<PostgresServer>>,
    /// The network every link pays (a relay on each link unless it is loopback).
    pub network: NetworkProfile,
}

/// The cost of the app's processes over one measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// CPU milliseconds per completed request, over every process of the app.
    pub cpu_ms_per_request: f64,
    /// CPU seconds used during the measurement.
    pub cpu_seconds: f64,
    /// The sum of the processes' peak resident memory, in MB.
    pub peak_rss_mb: f64,
    /// How many processes the app runs.
    pub processes: usize,
    /// CPU milliseconds per request of the relays that emulate the network (outside the app's budget; 0 on
    /// loopback).
    #[serde(default)]
    pub relay_cpu_ms_per_request: f64,
}

/// One measured load point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// The summary, in `summary.json`'s shape.
    pub summary: Summary,
    /// The corrected latency histogram of the measured requests, kept so that runs can be merged.
    pub histogram: Histogram,
    /// The dashboard requests alone (the same as `histogram` in the dashboard scenario).
    pub dashboard: Histogram,
    /// What the app's processes cost.
    pub cost: Cost,
}

/// A seeded, running deployment.
#[derive(Debug)]
pub struct Deployment {
    binaries: Binaries,
    /// The topology.
    pub topology: String,
    /// Where the app and the generator run.
    pub placement: Placement,
    /// The app.
    pub app: RunningApp,
    settings: LoadSettings,
    accounts_file: PathBuf,
    work_dir: PathBuf,
    runs: usize,
    /// `rewards --db=postgres --database-url=…` on PostgreSQL; empty on SQLite.
    database_arguments: Vec<String>,
}

impl Deployment {
    /// Seeds `work_dir/data` for `topology`, starts the app, and warms it up with the dashboard scenario.
    pub fn start(
        binaries: &Binaries,
        topology: &str,
        placement: &Placement,
        settings: &LoadSettings,
        work_dir: &Path,
    ) -> anyhow::Result<Deployment> {
        std::fs::create_dir_all(work_dir).with_context(|| format!("creating {}", work_dir.display()))?;
        let data_dir = work_dir.join("data");
        eprintln!("[{topology}] seeding {}", data_dir.display());
        let database_arguments = match &settings.postgres {
            Some(server) => {
                let deployment_name = work_dir.file_name().map(|name| name.to_string_lossy()).unwrap_or_default();
                let url = server.create_database(&database_name(&deployment_name))?;
                vec!["--db=postgres".to_owned(), format!("--database-url={url}")]
            }
            None => Vec::new(),
        };
        seed(binaries, &data_dir, topology, settings.users.max(50), &database_arguments)?;
        let relay = if settings.network.is_loopback() {
            None
        } else {
            Some(RelayProcess::start(&binaries.loadtest, settings.network.link_delay())?)
        };
        let app = RunningApp::start(
            binaries,
            &data_dir,
            topology,
            &database_arguments,
            placement,
            &work_dir.join("app.log"),
            relay,
        )?;
        eprintln!("[{topology}] serving on {} with {} process(es)", app.url, app.pids.len());
        let accounts_file = work_dir.join("sessions.json");
        write_json(&accounts_file, &log_in_all(&app.url, &data_dir.join("accounts.json"), settings.users)?)?;
        let mut deployment = Deployment {
            binaries: binaries.clone(),
            topology: topology.to_owned(),
            placement: placement.clone(),
            app,
            settings: settings.clone(),
            accounts_file,
            work_dir: work_dir.to_path_buf(),
            runs: 0,
            database_arguments,
        };
        if settings.warmup_seconds > 0 {
            // The same warm-up for every topology: connection pools, SQLite page caches and branch predictors.
            let rate = 50 * settings.users;
            deployment.attack(Scenario::Dashboard, rate, settings.warmup_seconds, None)?;
        }
        Ok(deployment)
    }

    fn attack(
        &mut self,
        scenario: Scenario,
        rate: usize,
        seconds: usize,
        report_stem: Option<&Path>,
    ) -> anyhow::Result<AttackResult> {
        self.runs += 1;
        let result_file = self.work_dir.join(format!("attack-{}.json", self.runs));
        let mut command = self.placement.load_command(&self.binaries.loadtest);
        command
            .args(["attack", "--host", &self.app.url, "--accounts"])
            .arg(&self.accounts_file)
            .args(["--scenario", scenario.as_str(), "--users", &self.settings.users.to_string()])
            .args(["--rate", &rate.to_string(), "--seconds", &seconds.to_string(), "--result"])
            .arg(&result_file)
            .stdin(Stdio::null());
        if let Some(stem) = report_stem {
            command.arg("--report-stem").arg(stem);
        }
        let status = command.status().context("running the goose attack")?;
        if !status.success() {
            bail!("the goose attack on {} failed ({status})", self.topology);
        }
        let text =
            std::fs::read_to_string(&result_file).with_context(|| format!("reading {}", result_file.display()))?;
        serde_json::from_str(&text).context("parsing the attack's result")
    }

    /// Measures `scenario` at `rate` requests per second for `seconds`, with goose's reports at `report_stem`.
    pub fn measure(
        &mut self,
        scenario: Scenario,
        rate: usize,
        seconds: usize,
        report_stem: Option<&Path>,
    ) -> anyhow::Result<Measurement> {
        let before = self.usage();
        let relay_before = self.relay_cpu_seconds();
        let result = self.attack(scenario, rate, seconds, report_stem)?;
        let after = self.usage();
        let relay_seconds = self.relay_cpu_seconds() - relay_before;
        let mut measurement = summarise(&self.topology, scenario, self.settings.users, rate, &result, before, after);
        if measurement.summary.requests > 0 {
            measurement.cost.relay_cpu_ms_per_request = relay_seconds * 1000.0 / measurement.summary.requests as f64;
        }
        eprintln!(
            "[{}] {} at {rate}/s: achieved {:.0}/s, p50 {:.2} ms, p99 {:.2} ms (corrected {:.2}), errors {}, {:.2} CPU ms/request",
            self.topology,
            scenario.as_str(),
            measurement.summary.achieved_rps,
            measurement.summary.p50_ms,
            measurement.summary.p99_ms,
            measurement.summary.co_p99_ms,
            measurement.summary.errors,
            measurement.cost.cpu_ms_per_request
        );
        Ok(measurement)
    }

    /// What the app's processes have used so far, with the PostgreSQL server's CPU when the app runs on one: the
    /// database's work is the app's work, wherever it runs.
    fn usage(&self) -> Usage {
        let mut usage = self.app.usage();
        if let Some(server) = &self.settings.postgres {
            usage.cpu_seconds += server.cpu_seconds();
        }
        usage
    }

    /// CPU seconds the relay process has used so far (0 without one).
    fn relay_cpu_seconds(&self) -> f64 {
        self.app.relay_pid().and_then(cpu_ticks).map_or(0.0, |ticks| ticks as f64 / clock_ticks_per_second())
    }

    /// Runs `verify` (letting the outbox drain when modules are remote), then stops every process.
    pub fn finish(mut self) -> anyhow::Result<(bool, String)> {
        let wait = if self.topology == "monolith" { 0 } else { 10 };
        let verdict = self.app.verify(&self.binaries, wait, &self.database_arguments);
        self.app.stop();
        verdict
    }
}

/// Turns goose's result and the processes' usage into a measurement.
pub fn summarise(
    topology: &str,
    scenario: Scenario,
    users: usize,
    rate: usize,
    result: &AttackResult,
    before: Usage,
    after: Usage,
) -> Measurement {
    // Request kinds are pooled by merging their histograms, so the percentiles are those of all requests.
    let mut histogram = Histogram::default();
    let mut corrected = Histogram::default();
    for name in MEASURED_REQUESTS {
        if let Some(part) = result.histograms.get(name) {
            histogram.merge(part);
        }
        if let Some(part) = result.corrected.get(name) {
            corrected.merge(part);
        }
    }
    let requests: u64 = result.requests.values().sum();
    let errors: u64 = result.errors.values().sum();
    let header = SummaryHeader {
        topology: topology.to_owned(),
        scenario: scenario.as_str().to_owned(),
        users,
        offered_rps: rate as f64,
    };
    let summary = Summary::from_histogram(header, &histogram, &corrected, requests, errors, result.seconds);
    let cpu_seconds = (after.cpu_seconds - before.cpu_seconds).max(0.0);
    let cost = Cost {
        cpu_ms_per_request: if requests > 0 { cpu_seconds * 1000.0 / requests as f64 } else { 0.0 },
        cpu_seconds,
        peak_rss_mb: after.peak_rss_mb,
        processes: after.processes,
        relay_cpu_ms_per_request: 0.0,
    };
    Measurement { summary, dashboard: result.histograms.get("dashboard").cloned().unwrap_or_default(), histogram, cost }
}

/// `cargo xtask loadtest`: one topology, one scenario, one rate.
#[derive(Debug, Clone)]
pub struct SingleRun {
    /// The topology.
    pub topology: String,
    /// The scenario.
    pub scenario: Scenario,
    /// Goose users.
    pub users: usize,
    /// Offered requests per second.
    pub rate: usize,
    /// Measured seconds.
    pub seconds: usize,
    /// Warm-up seconds.
    pub warmup_seconds: usize,
    /// Where the reports go.
    pub out: PathBuf,
}

/// What `run.json` records beside `summary.json`.
#[derive(Debug, Serialize)]
struct RunRecord<'a> {
    summary: &'a Summary,
    cost: &'a Cost,
    cores: &'a Cores,
    verify_passed: bool,
    verify_output: &'a str,
}

/// Runs one load test end to end and writes `summary.json`, `run.json` and goose's `report.html`/`report.json`.
pub fn single(binaries: &Binaries, run: &SingleRun) -> anyhow::Result<Summary> {
    std::fs::create_dir_all(&run.out).with_context(|| format!("creating {}", run.out.display()))?;
    let placement = Placement::pinned();
    let cores = placement.cores.clone();
    eprintln!("{}", placement.describe());
    let settings = LoadSettings {
        users: run.users,
        warmup_seconds: run.warmup_seconds,
        postgres: None,
        network: crate::network::select(&["loopback".to_owned()])?.remove(0),
    };
    let mut deployment = Deployment::start(binaries, &run.topology, &placement, &settings, &run.out.join("work"))?;
    let measured = deployment.measure(run.scenario, run.rate, run.seconds, Some(&run.out.join("report")));
    let (passed, output) = deployment.finish()?;
    let measurement = measured?;
    write_json(&run.out.join("summary.json"), &measurement.summary)?;
    write_json(
        &run.out.join("run.json"),
        &RunRecord {
            summary: &measurement.summary,
            cost: &measurement.cost,
            cores: &cores,
            verify_passed: passed,
            verify_output: &output,
        },
    )?;
    eprintln!("{output}");
    if !passed {
        bail!("rewards verify failed after the run:\n{output}");
    }
    Ok(measurement.summary)
}

/// Writes pretty JSON with a final newline.
pub fn write_json<T: Serialize>(file: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))
}
