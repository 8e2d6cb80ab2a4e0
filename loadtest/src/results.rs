//! The results of a reproduction, as `results.json` holds them: what was asked for (`ReproduceOptions`), where and
//! when it ran (`Provenance`), and what each topology measured. `reproduce` fills them and `report` renders them;
//! neither needs the other's code to read them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::budget::{BudgetRecord, Cores};
use crate::capacity::{Capacity, HoldCriteria, SearchSettings};
use crate::network::NetworkProfile;
use crate::postgres::DatabaseKind;
use crate::relay::RoundTrips;
use crate::run::Measurement;
use crate::wrk::WrkResult;

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
    /// The network profiles measured, loopback first (the latency table's); the others make the sensitivity grid.
    #[serde(default)]
    pub networks: Vec<NetworkProfile>,
    /// The app's CPU budget asked for, in cores (the same for every topology).
    #[serde(default)]
    pub app_cpu: f64,
    /// The capacity search of the load generator alone, against `/healthz`.
    #[serde(default)]
    pub generator_search: Option<SearchSettings>,
}

/// The app's CPU budget when none is given: 0.15 of a core. Goose (32 users) reached 2,828 requests/s against
/// `/healthz` on the two-core machine of the committed run; at a quarter of a core the monolith (about 0.15 to 0.2 CPU
/// ms per dashboard) came within 2× of that, and at 0.15 every topology stayed at least 2.4× under it.
pub const DEFAULT_APP_CPU: f64 = 0.15;

impl ReproduceOptions {
    /// The settings of a quick (CI) or full run.
    pub fn new(
        quick: bool,
        out: PathBuf,
        db: DatabaseKind,
        networks: &[String],
        app_cpu: Option<f64>,
    ) -> anyhow::Result<ReproduceOptions> {
        let mut names: Vec<String> = if networks.is_empty() {
            if quick {
                vec!["loopback".to_owned(), "lan".to_owned()]
            } else {
                crate::network::profiles().into_iter().map(|profile| profile.name).collect()
            }
        } else {
            networks.to_vec()
        };
        // Loopback always runs: the latency table, the sweep and the extraction report are measured on it.
        names.retain(|name| name != "loopback");
        names.insert(0, "loopback".to_owned());
        let networks = crate::network::select(&names)?;
        let app_cpu = app_cpu.unwrap_or(DEFAULT_APP_CPU);
        if app_cpu.is_nan() || app_cpu <= 0.0 || app_cpu.is_infinite() {
            anyhow::bail!("--app-cpu must be a positive number of cores, got {app_cpu}");
        }
        Ok(if quick {
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
                    start_rps: 150.0,
                    max_rps: 3_200.0,
                    growth: 2.0,
                    precision: 1.5,
                    max_probes: 4,
                },
                extraction_search: SearchSettings {
                    start_rps: 200.0,
                    max_rps: 3_200.0,
                    growth: 2.0,
                    precision: 2.0,
                    max_probes: 3,
                },
                criteria: HoldCriteria::default(),
                db,
                networks,
                app_cpu,
                generator_search: Some(SearchSettings {
                    start_rps: 2_000.0,
                    max_rps: 64_000.0,
                    growth: 2.0,
                    precision: 1.5,
                    max_probes: 4,
                }),
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
                    start_rps: 125.0,
                    max_rps: 32_000.0,
                    growth: 2.0,
                    precision: 1.15,
                    max_probes: 9,
                },
                extraction_search: SearchSettings {
                    start_rps: 250.0,
                    max_rps: 32_000.0,
                    growth: 2.0,
                    precision: 1.25,
                    max_probes: 5,
                },
                criteria: HoldCriteria::default(),
                db,
                networks,
                app_cpu,
                generator_search: Some(SearchSettings {
                    start_rps: 2_000.0,
                    max_rps: 64_000.0,
                    growth: 2.0,
                    precision: 1.15,
                    max_probes: 7,
                }),
            }
        })
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
    /// The measurement at the chosen fraction of this topology's own capacity (the sensitivity grid's cell).
    #[serde(default)]
    pub own_point: Option<Measurement>,
}

/// Monolith and services under one emulated network profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileResult {
    /// The profile.
    pub profile: NetworkProfile,
    /// The round trip its relays added, measured before the topologies ran.
    pub round_trips: RoundTrips,
    /// monolith and services, each swept at fractions of its own capacity under this profile.
    pub topologies: Vec<TopologyResult>,
    /// Under the run's first emulated profile only: the monolith and each extraction on the dashboard's path at the
    /// tables' offered load, the rows of `extraction.md` under this profile.
    #[serde(default)]
    pub extraction: Vec<LoadPoint>,
}

/// One topology measured at one offered load, without a capacity search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadPoint {
    /// The topology.
    pub topology: String,
    /// The measurement.
    pub measurement: Measurement,
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
    /// Process pinning (none when the app ran in a CPU group).
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
    /// How the app's CPU was limited.
    #[serde(default)]
    pub budget: BudgetRecord,
    /// The load generator's own capacity against `/healthz`, measured first (absent in runs made before it was).
    #[serde(default)]
    pub generator: Option<Capacity>,
    /// The round trip of a link on loopback (no relay), the base of the per-hop prediction.
    #[serde(default)]
    pub loopback_round_trips: RoundTrips,
    /// The emulated network profiles, each with monolith and services.
    #[serde(default)]
    pub profiles: Vec<ProfileResult>,
}

/// Whether a busy process is this run itself: `ps` gives CPU use over a process's lifetime, so the launcher chain
/// that has just started (cargo, xtask, this binary) always looks busy.
pub fn is_own_process(busy: &str) -> bool {
    let name = busy.split(" (").next().unwrap_or(busy);
    matches!(name, "seams-loadtest" | "xtask" | "cargo")
}
