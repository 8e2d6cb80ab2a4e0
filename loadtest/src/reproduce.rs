//! `cargo xtask reproduce`: each topology's capacity, the load sweep, the latency and cost tables at about 70% of
//! the monolith's capacity, the cross-check with wrk, the plot, and the extraction report.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::attack::Scenario;
use crate::budget::Placement;
use crate::capacity::{Capacity, HoldCriteria, SearchSettings, search};
use crate::deployment::{Binaries, log_in};
use crate::plot::{self, Curve};
use crate::postgres::{DatabaseKind, PostgresServer};
use crate::relay::{self, RelayProcess, RoundTrips};
use crate::report;
use crate::results::{
    LoadPoint, ProfileResult, Provenance, ReproduceOptions, Reproduction, TopologyResult, is_own_process,
};
use crate::run::{Deployment, LoadSettings, write_json};
use crate::wrk::{self, WrkResult};

/// The modules a team might extract, each measured on its own.
pub const MODULES: [&str; 6] = ["auth", "users", "business", "points", "audit", "analytics"];

/// The topologies of the tables and the sweep; the monolith comes first, since its capacity is the sweep's unit.
pub const MAIN_TOPOLOGIES: [&str; 3] = ["monolith", "services", "extract=points"];

/// The single-module extractions measured beside them (`extract=points` is one of the main topologies).
fn extraction_topologies() -> impl Iterator<Item = String> {
    MODULES.iter().filter(|module| **module != "points").map(|module| format!("extract={module}"))
}

/// The single-module extractions that put a hop on the dashboard's path, which an emulated network changes; audit
/// and analytics are off it, and their rows on loopback already show what they cost (the CPU of their processes).
fn extractions_on_the_dashboards_path() -> impl Iterator<Item = String> {
    MODULES
        .iter()
        .map(|module| format!("extract={module}"))
        .filter(|topology| crate::grid::dashboard_hops(topology) > 0)
}

/// Runs the reproduction and writes its reports into `options.out`.
pub fn reproduce(binaries: &Binaries, options: &ReproduceOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.out).with_context(|| format!("creating {}", options.out.display()))?;
    let work = PathBuf::from("target/reproduce-work");
    // The CPU group is made (and what killed runs left is removed) before anything starts.
    let placement = Placement::with_budget(options.app_cpu);
    let provenance = Provenance {
        machine: machine(),
        date: seams_provenance::date_utc(),
        commit: seams_provenance::commit(),
        load_before: seams_provenance::load_average().join(" "),
        load_after: String::new(),
        cores: placement.cores.clone(),
        busy_processes: busy_processes(),
    };
    eprintln!("{}; load average {}", placement.describe(), provenance.load_before);
    if let Some(reason) = &placement.record.fallback_reason {
        eprintln!("no CPU budget ({reason}); falling back to pinning");
    }
    let loopback = options.networks.first().cloned().context("the run needs the loopback profile")?;
    let generator = measure_generator(binaries, options, &loopback, &work)?;
    // On PostgreSQL one server serves every deployment in turn, each in a database of its own, inside the app's
    // budget.
    let postgres = match options.db {
        DatabaseKind::Sqlite => None,
        DatabaseKind::Postgres => {
            Some(std::sync::Arc::new(PostgresServer::start(&std::path::absolute(&work)?.join("postgres"), &placement)?))
        }
    };
    let settings =
        LoadSettings { users: options.users, warmup_seconds: options.warmup_seconds, postgres, network: loopback };
    let criteria = options.criteria;

    let monolith =
        measure_topology(binaries, options, &placement, &settings, &criteria, MAIN_TOPOLOGIES[0], &work, None)?;
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
            &placement,
            &settings,
            &criteria,
            topology,
            &work,
            Some(monolith_capacity),
        )?);
    }
    let mut extraction = Vec::new();
    for topology in extraction_topologies() {
        extraction.push(measure_extraction(
            binaries, options, &placement, &settings, &criteria, &topology, &work, chosen_rps,
        )?);
    }
    let loopback_round_trips = measure_links(binaries, &settings.network)?;
    let mut profiles = Vec::new();
    for profile in options.networks.iter().skip(1) {
        let round_trips = measure_links(binaries, profile)?;
        eprintln!(
            "[{}] the relays add {:.0} µs to a round trip (the profile's is {:.0} µs)",
            profile.name,
            round_trips.added_us(),
            profile.round_trip_ms * 1000.0
        );
        let settings = LoadSettings { network: profile.clone(), ..settings.clone() };
        let mut topologies = Vec::new();
        for topology in GRID_TOPOLOGIES {
            let label = format!("{topology}@{}", profile.name);
            topologies.push(measure_topology(
                binaries,
                options,
                &placement,
                &settings,
                &criteria,
                topology,
                &work.join(&label),
                None,
            )?);
        }
        // The extraction report's rows across hosts, under the first emulated profile only (lan unless the run
        // names others): each row is one more deployment, and the run's wall time is counted in minutes.
        let extraction = if profiles.is_empty() {
            let mut points = Vec::new();
            // A quick run keeps to points, the extraction with the most hops, so that CI's run stays a few minutes.
            let extractions =
                extractions_on_the_dashboards_path().filter(|topology| !options.quick || topology == "extract=points");
            for topology in std::iter::once("monolith".to_owned()).chain(extractions) {
                let label = format!("{topology}@{}", profile.name);
                points.push(measure_at_load(
                    binaries,
                    options,
                    &placement,
                    &settings,
                    &topology,
                    &work.join(&label),
                    chosen_rps,
                )?);
            }
            points
        } else {
            Vec::new()
        };
        profiles.push(ProfileResult { profile: profile.clone(), round_trips, topologies, extraction });
    }
    drop(settings);
    let provenance = Provenance { load_after: seams_provenance::load_average().join(" "), ..provenance };
    let reproduction = Reproduction {
        provenance,
        options: options.clone(),
        monolith_capacity_rps: monolith_capacity,
        chosen_rps,
        main,
        extraction,
        budget: placement.record.clone(),
        generator: Some(generator),
        loopback_round_trips,
        profiles,
    };
    // The group goes now, with anything left in it; a failure before this point removes it on the way out.
    drop(placement);
    write_reports(&reproduction)?;
    let failed: Vec<&str> = reproduction
        .main
        .iter()
        .chain(&reproduction.extraction)
        .chain(reproduction.profiles.iter().flat_map(|profile| &profile.topologies))
        .filter(|result| !result.verify_passed)
        .map(|result| result.topology.as_str())
        .chain(
            reproduction
                .profiles
                .iter()
                .flat_map(|profile| &profile.extraction)
                .filter(|point| !point.verify_passed)
                .map(|point| point.topology.as_str()),
        )
        .collect();
    if !failed.is_empty() {
        bail!("rewards verify failed after the load on: {}", failed.join(", "));
    }
    check_outputs(&reproduction)
}

/// The topologies of the sensitivity grid, measured under every emulated profile.
pub const GRID_TOPOLOGIES: [&str; 2] = ["monolith", "services"];

/// The load generator's own capacity: goose against `/healthz` of a monolith that runs without a budget on the same
/// cores, so that what runs out first is the generator.
fn measure_generator(
    binaries: &Binaries,
    options: &ReproduceOptions,
    loopback: &crate::network::NetworkProfile,
    work: &Path,
) -> anyhow::Result<Capacity> {
    let unlimited = Placement::pinned_to_nothing();
    let settings = LoadSettings { users: options.users, warmup_seconds: 1, postgres: None, network: loopback.clone() };
    let mut deployment = Deployment::start(binaries, "monolith", &unlimited, &settings, &work.join("generator"))?;
    let search_settings = options.generator_search.context("the options name the generator's search")?;
    let capacity = search(&search_settings, |rate| {
        let measurement = deployment.measure(Scenario::Healthz, rate.round() as usize, options.probe_seconds, None)?;
        anyhow::Ok(options.criteria.holds(&measurement.summary))
    })?;
    eprintln!("[generator] capacity {:.0} requests/s against /healthz", capacity.rps);
    deployment.finish()?;
    Ok(capacity)
}

/// The round trip a link of `profile` pays: through a relay process of the profile against an echo server, beside
/// the same server reached directly.
fn measure_links(binaries: &Binaries, profile: &crate::network::NetworkProfile) -> anyhow::Result<RoundTrips> {
    let echo = relay::start_echo_server(2)?;
    if profile.is_loopback() {
        return Ok(relay::measure_round_trips(echo, echo, 500)?);
    }
    let mut relays = RelayProcess::start(&binaries.loadtest, profile.link_delay())?;
    let relayed: std::net::SocketAddr = relays.link(&echo.to_string())?.parse()?;
    Ok(relay::measure_round_trips(echo, relayed, 500)?)
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
    // Runs made before the extraction report had rows across hosts hold none; a run that has them must print them.
    if let Some(profile) = reproduction.profiles.iter().find(|profile| !profile.extraction.is_empty()) {
        let extraction = std::fs::read_to_string(reproduction.options.out.join("extraction.md"))?;
        if !extraction.contains(&format!("## Across hosts: `{}`", profile.profile.name)) {
            bail!("extraction.md does not hold the rows measured on {}", profile.profile.name);
        }
    }
    let latency = std::fs::read_to_string(reproduction.options.out.join("latency.md"))?;
    // A run whose generator was not twice as fast as the app says so instead of printing the latency table.
    let latency_part = match report::short_headroom(reproduction).filter(|short| !short.is_empty()) {
        Some(short) => report::short_headroom_statement(&short),
        None => report::latency_table(reproduction),
    };
    for (name, table) in [("latency", latency_part), ("cost", report::cost_table(reproduction))] {
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
    placement: &Placement,
    settings: &LoadSettings,
    criteria: &HoldCriteria,
    topology: &str,
    work: &Path,
    monolith_capacity: Option<f64>,
) -> anyhow::Result<TopologyResult> {
    let mut deployment = Deployment::start(binaries, topology, placement, settings, &work.join(file_name(topology)))?;
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
    // The grid compares each topology at the same distance from its own limit.
    let own_rps = ((capacity.rps.max(1.0) * options.chosen_fraction).round() as usize).max(1);
    let own_point = if own_rps == chosen_rps {
        chosen.clone()
    } else {
        deployment.measure(Scenario::Dashboard, own_rps, options.point_seconds, None)?
    };
    let (wrk, wrk_note) = if settings.network.is_loopback() {
        cross_check(&deployment, options, chosen_rps, &work.join(file_name(topology)))
    } else {
        (None, Some("wrk runs on loopback only".to_owned()))
    };
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
        own_point: Some(own_point),
    })
}

#[allow(clippy::too_many_arguments)] // As above.
fn measure_extraction(
    binaries: &Binaries,
    options: &ReproduceOptions,
    placement: &Placement,
    settings: &LoadSettings,
    criteria: &HoldCriteria,
    topology: &str,
    work: &Path,
    chosen_rps: usize,
) -> anyhow::Result<TopologyResult> {
    let mut deployment = Deployment::start(binaries, topology, placement, settings, &work.join(file_name(topology)))?;
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
        own_point: None,
    })
}

/// One topology at the tables' offered load, for the extraction report under an emulated profile: the latency a
/// team would read there, and its CPU. No capacity search: the app's capacity is set by its CPU budget, which the
/// relays (outside it) do not spend, and the loopback table gives it.
fn measure_at_load(
    binaries: &Binaries,
    options: &ReproduceOptions,
    placement: &Placement,
    settings: &LoadSettings,
    topology: &str,
    work: &Path,
    rps: usize,
) -> anyhow::Result<LoadPoint> {
    let mut deployment = Deployment::start(binaries, topology, placement, settings, &work.join(file_name(topology)))?;
    let measurement = deployment.measure(Scenario::Dashboard, rps, options.point_seconds, None)?;
    let (verify_passed, verify_output) = deployment.finish()?;
    Ok(LoadPoint { topology: topology.to_owned(), measurement, verify_passed, verify_output })
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
            deployment.placement.cores.load.as_deref(),
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
    let curve = |label: String, result: &TopologyResult| Curve {
        topology: label,
        points: result
            .sweep
            .iter()
            .map(|point| (point.summary.offered_rps, point.summary.p50_ms, point.summary.p99_ms))
            .collect(),
    };
    // One curve per topology on loopback, and one per topology and emulated profile.
    let curves: Vec<Curve> = reproduction
        .main
        .iter()
        .map(|result| curve(result.topology.clone(), result))
        .chain(reproduction.profiles.iter().flat_map(|profile| {
            profile
                .topologies
                .iter()
                .map(|result| curve(format!("{} on {}", result.topology, profile.profile.name), result))
        }))
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
    for point in slim.profiles.iter_mut().flat_map(|profile| profile.extraction.iter_mut()) {
        point.measurement.histogram = Default::default();
        point.measurement.dashboard = Default::default();
    }
    write_json(&out.join("results.json"), &slim)?;
    println!("{}", report::terminal_tables(reproduction));
    println!("reports in {}", out.display());
    Ok(())
}

fn machine() -> String {
    let machine = seams_provenance::Machine::read();
    let memory = machine.memory_kib.map(|kib| format!("{kib} kB")).unwrap_or_default();
    format!("{}, {} cores available, {memory} memory, Linux {}", machine.cpu, machine.cores, machine.kernel)
}

/// Processes using much CPU at the start, so that the report can say when the machine was not quiet.
fn busy_processes() -> Vec<String> {
    let text = seams_provenance::command_output("ps", &["-eo", "pcpu=,comm=", "--sort=-pcpu"]);
    text.lines()
        .filter_map(|line| {
            let (cpu, name) = line.trim().split_once(' ')?;
            let cpu: f64 = cpu.parse().ok()?;
            (cpu >= 20.0 && !is_own_process(name.trim())).then(|| format!("{} ({cpu:.0}% CPU)", name.trim()))
        })
        .take(8)
        .collect()
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
    fn the_extraction_report_prints_the_rows_measured_across_hosts() {
        let mut reproduction = committed_reproduction();
        let point = |result: &TopologyResult| LoadPoint {
            topology: result.topology.clone(),
            measurement: result.chosen.clone(),
            verify_passed: true,
            verify_output: "verify: ok".to_owned(),
        };
        let monolith = point(&reproduction.main[0]);
        let points = point(reproduction.main.iter().find(|result| result.topology == "extract=points").unwrap());
        reproduction.profiles[0].extraction = vec![monolith, points];
        let name = reproduction.profiles[0].profile.name.clone();
        let text = report::extraction_markdown(&reproduction);
        let section = text.split(&format!("## Across hosts: `{name}`")).nth(1).expect("the section");
        let row = section.lines().find(|line| line.starts_with("| `extract=points`")).expect("the points row");
        // Measured as on loopback here, so what it adds under the profile is what it added on loopback.
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[2], "2", "{row}");
        assert_eq!(cells[4], cells[7], "{row}");
        assert_eq!(cells[6], cells[8], "{row}");
    }

    #[test]
    fn a_reproduction_without_a_topology_fails_the_check() {
        let mut reproduction = committed_reproduction();
        reproduction.extraction.retain(|result| result.topology != "extract=audit");
        let error = check_outputs(&reproduction).unwrap_err().to_string();
        assert!(error.contains("extract=audit"), "{error}");
    }
}
