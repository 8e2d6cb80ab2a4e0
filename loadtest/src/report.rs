//! The tables and markdown reports of a reproduction: latency beside the published figures, cost, the sweep,
//! the wrk cross-check, and what extracting each module costs.

use std::fmt::Write;

use crate::budget::{Cores, count_cores};
use crate::grid::{self, PUBLISHED_MONOLITH, PUBLISHED_SERVICES, dashboard_hops};
use crate::postgres::DatabaseKind;
use crate::results::{Reproduction, TopologyResult};
use crate::run::Measurement;
use crate::stats::Summary;

fn find<'a>(results: &'a [TopologyResult], topology: &str) -> Option<&'a TopologyResult> {
    results.iter().find(|result| result.topology == topology)
}

fn ratio(numerator: f64, denominator: f64) -> String {
    if denominator > 0.0 { format!("{:.1}×", numerator / denominator) } else { "n/a".to_owned() }
}

/// The latency table at the chosen load, with the ratio row and the published figures beside ours.
pub fn latency_table(reproduction: &Reproduction) -> String {
    let mut table = String::from(
        "| Architecture | Avg Latency (ms) | 99th Percentile (ms) | Published avg (ms) | Published p99 (ms) |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    let services = find(&reproduction.main, "services");
    let monolith = find(&reproduction.main, "monolith");
    let row = |name: &str, result: Option<&TopologyResult>, published: Option<(f64, f64)>| {
        let (avg, p99) =
            result.map_or((f64::NAN, f64::NAN), |result| (result.chosen.summary.avg_ms, result.chosen.summary.p99_ms));
        let (published_avg, published_p99) =
            published.map_or(("".to_owned(), "".to_owned()), |(avg, p99)| (format!("{avg:.0}"), format!("{p99:.0}")));
        format!("| {name} | {avg:.2} | {p99:.2} | {published_avg} | {published_p99} |\n")
    };
    table.push_str(&row("Microservices (`services`)", services, Some(PUBLISHED_SERVICES)));
    table.push_str(&row("Modular Monolith (`monolith`)", monolith, Some(PUBLISHED_MONOLITH)));
    if let (Some(services), Some(monolith)) = (services, monolith) {
        let _ = writeln!(
            table,
            "| Ratio (services / monolith) | {} | {} | {} | {} |",
            ratio(services.chosen.summary.avg_ms, monolith.chosen.summary.avg_ms),
            ratio(services.chosen.summary.p99_ms, monolith.chosen.summary.p99_ms),
            ratio(PUBLISHED_SERVICES.0, PUBLISHED_MONOLITH.0),
            ratio(PUBLISHED_SERVICES.1, PUBLISHED_MONOLITH.1),
        );
    }
    if let Some(extracted) = find(&reproduction.main, "extract=points") {
        table.push_str(&row("One service extracted (`extract=points`)", Some(extracted), None));
    }
    table
}

/// What each topology costs to run at the chosen load.
pub fn cost_table(reproduction: &Reproduction) -> String {
    let mut table =
        String::from("| Architecture | CPU ms / request | Peak memory (MB) | Processes |\n| --- | --- | --- | --- |\n");
    for result in &reproduction.main {
        let cost = &result.chosen.cost;
        let _ = writeln!(
            table,
            "| `{}` | {:.3} | {:.1} | {} |",
            result.topology, cost.cpu_ms_per_request, cost.peak_rss_mb, cost.processes
        );
    }
    if let (Some(services), Some(monolith)) =
        (find(&reproduction.main, "services"), find(&reproduction.main, "monolith"))
    {
        let _ = writeln!(
            table,
            "| Ratio (services / monolith) | {} | {} | {} |",
            ratio(services.chosen.cost.cpu_ms_per_request, monolith.chosen.cost.cpu_ms_per_request),
            ratio(services.chosen.cost.peak_rss_mb, monolith.chosen.cost.peak_rss_mb),
            ratio(services.chosen.cost.processes as f64, monolith.chosen.cost.processes as f64),
        );
    }
    table
}

/// Capacity per topology, with the probes that found it.
pub fn capacity_table(results: &[TopologyResult]) -> String {
    let mut table =
        String::from("| Topology | Capacity (requests/s) | Probes (offered: held?) |\n| --- | --- | --- |\n");
    for result in results {
        let probes: Vec<String> = result
            .capacity
            .probes
            .iter()
            .map(|probe| format!("{:.0}: {}", probe.offered_rps, if probe.held { "yes" } else { "no" }))
            .collect();
        let mut capacity = format!("{:.0}", result.capacity.rps);
        if result.capacity.capped {
            capacity.push_str(" (at the search's cap)");
        } else if result.capacity.out_of_probes {
            capacity.push_str(" (probe budget spent; a lower bound)");
        }
        let _ = writeln!(table, "| `{}` | {} | {} |", result.topology, capacity, probes.join(", "));
    }
    table
}

/// Every load point of the sweep.
pub fn sweep_table(results: &[TopologyResult]) -> String {
    let mut table = String::from(
        "| Topology | Offered (req/s) | Achieved (req/s) | Avg (ms) | p50 (ms) | p90 (ms) | p99 (ms) | Max (ms) | p99 with goose's CO back-fill (ms) | Errors | CPU ms / request | App CPU (cores) |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for result in results {
        for point in &result.sweep {
            let summary = &point.summary;
            let _ = writeln!(
                table,
                "| `{}` | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {} | {:.3} | {:.2} |",
                result.topology,
                summary.offered_rps,
                summary.achieved_rps,
                summary.avg_ms,
                summary.p50_ms,
                summary.p90_ms,
                summary.p99_ms,
                summary.max_ms,
                summary.co_p99_ms,
                summary.errors,
                point.cost.cpu_ms_per_request,
                app_cores_busy(point)
            );
        }
    }
    table
}

/// The cores the app's processes kept busy during a measurement.
fn app_cores_busy(point: &Measurement) -> f64 {
    point.cost.cpu_ms_per_request * point.summary.achieved_rps / 1000.0
}

/// How many cores `taskset -c` gave the app ("0", "0-1", "0,2").
fn app_core_count(cores: &Cores) -> usize {
    cores.app.as_deref().map_or(cores.available.max(1), count_cores)
}

/// The app's CPU budget in cores: the group's quota, or the cores it was pinned to.
fn app_budget_cores(reproduction: &Reproduction) -> f64 {
    if reproduction.budget.app_cores > 0.0 {
        reproduction.budget.app_cores
    } else {
        app_core_count(&reproduction.provenance.cores) as f64
    }
}

/// The headroom the reports require: the generator at least this many times the app's capacity.
pub const MIN_HEADROOM: f64 = 2.0;

/// Every topology's capacity under every profile, with the generator's capacity over it.
pub fn headroom_rows(reproduction: &Reproduction) -> Vec<(String, f64, f64)> {
    let Some(generator) = &reproduction.generator else { return Vec::new() };
    let main = reproduction.main.iter().map(|result| (format!("`{}` on loopback", result.topology), result));
    let profiles = reproduction.profiles.iter().flat_map(|profile| {
        profile
            .topologies
            .iter()
            .map(move |result| (format!("`{}` on `{}`", result.topology, profile.profile.name), result))
    });
    main.chain(profiles)
        .map(|(label, result)| {
            let capacity = result.capacity.rps;
            (label, capacity, if capacity > 0.0 { generator.rps / capacity } else { f64::INFINITY })
        })
        .collect()
}

/// The topologies whose capacity was within [`MIN_HEADROOM`] of the generator's, or `None` when the generator's
/// capacity was not measured.
pub fn short_headroom(reproduction: &Reproduction) -> Option<Vec<(String, f64, f64)>> {
    reproduction.generator.as_ref()?;
    Some(headroom_rows(reproduction).into_iter().filter(|(_, _, ratio)| *ratio < MIN_HEADROOM).collect())
}

/// The statement that replaces the latency table when the generator was not at least twice as fast as the app.
pub fn short_headroom_statement(short: &[(String, f64, f64)]) -> String {
    let list: Vec<String> = short.iter().map(|(label, _, ratio)| format!("{label} ({ratio:.1}×)")).collect();
    format!(
        "**The load generator was not at least {MIN_HEADROOM:.0}× as fast as the app**: {}. Where it was not, a \
         capacity and the latency at a fraction of it can be the generator's rather than the app's, so the latency \
         table is not printed; lower the app's budget (`--app-cpu`) or give the generator more cores, and run again.",
        list.join(", ")
    )
}

/// The generator's capacity beside each topology's, with the ratio.
pub fn headroom_table(reproduction: &Reproduction) -> String {
    let Some(generator) = &reproduction.generator else {
        return "The load generator's own capacity was not measured in this run.\n".to_owned();
    };
    let mut table = String::from(
        "| Topology and network | Capacity (requests/s) | Generator capacity (requests/s) | Headroom (generator / app) |\n\
         | --- | --- | --- | --- |\n",
    );
    for (label, capacity, ratio) in headroom_rows(reproduction) {
        let mark = if ratio < MIN_HEADROOM { " (below 2×)" } else { "" };
        let _ = writeln!(table, "| {label} | {capacity:.0} | {:.0} | {ratio:.1}×{mark} |", generator.rps);
    }
    table
}

/// Whose limit a topology's capacity is. Goose is closed-loop and runs on its own core, so a rate that is not held
/// is either the app saturating or the generator running out of CPU; the app's own CPU use at the first sweep
/// point that was not held tells which.
pub fn capacity_limits(reproduction: &Reproduction) -> String {
    let cores = app_budget_cores(reproduction);
    let mut text = String::new();
    for result in &reproduction.main {
        let not_held = result.sweep.iter().find(|point| !reproduction.options.criteria.holds(&point.summary));
        let Some(point) = not_held else { continue };
        let busy = app_cores_busy(point);
        let whose = if busy < 0.8 * cores {
            "the load generator's limit, not the app's: the app had CPU to spare, so this topology's capacity is \
             higher than the table says"
        } else {
            "the app's own limit: its cores were saturated"
        };
        let _ = writeln!(
            text,
            "- `{}`: first not held at {:.0} requests/s offered ({:.0} achieved) with the app using {:.2} of its \
             {cores:.2} core(s); that is {whose}.",
            result.topology, point.summary.offered_rps, point.summary.achieved_rps, busy
        );
    }
    text
}

/// goose and wrk side by side at the chosen load.
pub fn cross_check_table(results: &[TopologyResult]) -> String {
    let mut table = String::from(
        "| Topology | goose p50 (ms) | wrk p50 (ms) | goose p99 (ms) | wrk p99 (ms) | wrk achieved (req/s) | Note |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for result in results {
        let goose = &result.chosen.summary;
        match (&result.wrk, &result.wrk_note) {
            (Some(wrk), _) => {
                let difference = |ours: f64, theirs: f64| {
                    let relative = if ours > 0.0 { (theirs - ours) / ours } else { 0.0 };
                    if relative.abs() > 0.2 { format!("{:+.0}%", relative * 100.0) } else { String::new() }
                };
                let notes: Vec<String> =
                    [("p50", difference(goose.p50_ms, wrk.p50_ms)), ("p99", difference(goose.p99_ms, wrk.p99_ms))]
                        .into_iter()
                        .filter(|(_, text)| !text.is_empty())
                        .map(|(label, text)| format!("wrk {label} {text}"))
                        .collect();
                let _ = writeln!(
                    table,
                    "| `{}` | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {} |",
                    result.topology,
                    goose.p50_ms,
                    wrk.p50_ms,
                    goose.p99_ms,
                    wrk.p99_ms,
                    wrk.achieved_rps,
                    notes.join("; ")
                );
            }
            (None, note) => {
                let _ = writeln!(
                    table,
                    "| `{}` | {:.2} | | {:.2} | | | {} |",
                    result.topology,
                    goose.p50_ms,
                    goose.p99_ms,
                    note.as_deref().unwrap_or("not run")
                );
            }
        }
    }
    table
}

/// The tables printed at the end of a run.
pub fn terminal_tables(reproduction: &Reproduction) -> String {
    format!(
        "GET /v1/dashboard at {} requests/s offered ({:.0}% of the monolith's capacity of {:.0} requests/s):\n\n{}\n{}\n{}\n{}",
        reproduction.chosen_rps,
        reproduction.options.chosen_fraction * 100.0,
        reproduction.monolith_capacity_rps,
        latency_table(reproduction),
        cost_table(reproduction),
        capacity_table(&reproduction.main),
        cross_check_table(&reproduction.main),
    )
}

fn command_line(reproduction: &Reproduction) -> String {
    let options = &reproduction.options;
    let mut command = String::from("cargo xtask reproduce");
    if options.db == DatabaseKind::Postgres {
        command.push_str(" --db postgres");
    }
    if options.quick {
        command.push_str(" --quick");
    }
    let names: Vec<&str> = options.networks.iter().map(|profile| profile.name.as_str()).collect();
    let default: Vec<String> =
        crate::results::ReproduceOptions::new(options.quick, options.out.clone(), options.db, &[], None)
            .map(|defaults| defaults.networks.into_iter().map(|profile| profile.name).collect())
            .unwrap_or_default();
    if !names.is_empty() && names != default {
        command.push_str(&format!(" --network {}", names.join(",")));
    }
    if options.app_cpu > 0.0 && options.app_cpu != crate::results::DEFAULT_APP_CPU {
        command.push_str(&format!(" --app-cpu {}", options.app_cpu));
    }
    command
}

/// `latency.md`.
pub fn latency_markdown(reproduction: &Reproduction) -> String {
    let provenance = &reproduction.provenance;
    let options = &reproduction.options;
    let mut text = String::new();
    let _ = writeln!(text, "# Dashboard latency: monolith against services\n");
    let _ = writeln!(
        text,
        "Generated by `{}`; see [benchmarks.md](../benchmarks.md) for how the run works and where the difference \
         comes from. Do not edit by hand.\n",
        command_line(reproduction)
    );
    let short = short_headroom(reproduction);
    if let Some(short) = short.as_ref().filter(|short| !short.is_empty()) {
        let _ = writeln!(text, "{}\n", short_headroom_statement(short));
    }
    let _ = writeln!(text, "## How this was measured\n");
    let _ = writeln!(text, "- Machine: {}", provenance.machine);
    let _ = writeln!(text, "- Date: {}", provenance.date);
    let _ = writeln!(text, "- Commit: `{}`", provenance.commit);
    let budget = &reproduction.budget;
    if budget.quota_us > 0 {
        let _ = writeln!(
            text,
            "- CPU budget: every process of the app (the gateway, each service{}) in one CPU group of {:.2} core(s), \
             {} of {} µs every {} µs, the same for every topology; the load generator and the network relays run \
             outside it, on the rest of the machine.",
            if options.db == DatabaseKind::Postgres { ", the PostgreSQL server" } else { "" },
            budget.app_cores,
            budget.method,
            budget.quota_us,
            budget.period_us
        );
    } else {
        let _ = writeln!(text, "- Pinning: {}", provenance.cores.describe());
    }
    if let Some(reason) = &budget.fallback_reason {
        let _ = writeln!(text, "- No CPU budget: {reason}; the run fell back to pinning with taskset.");
    }
    let _ = writeln!(
        text,
        "- Load average (1, 5, 15 min): {} before, {} after",
        provenance.load_before, provenance.load_after
    );
    let busy: Vec<&str> = provenance
        .busy_processes
        .iter()
        .map(String::as_str)
        .filter(|busy| !crate::results::is_own_process(busy))
        .collect();
    if !busy.is_empty() {
        let _ = writeln!(
            text,
            "- Other busy processes at the start: {}. The machine was not quiet, so absolute numbers are pessimistic \
             and noisy; both topologies ran under the same conditions, one after the other.",
            busy.join(", ")
        );
    }
    let _ = writeln!(
        text,
        "- Database: {}.",
        match options.db {
            DatabaseKind::Sqlite => "SQLite, one file per process in each deployment's data directory",
            DatabaseKind::Postgres =>
                "PostgreSQL, a throw-away server on loopback started with `.ci/postgres` on the app's cores (durability \
                 off: `fsync`, `synchronous_commit` and `full_page_writes`), one database per deployment",
        }
    );
    let _ = writeln!(
        text,
        "- Load: goose, {} users, coordinated-omission mitigation `average`, scenario `dashboard`, {} s warm-up per \
         deployment, {} s per capacity probe, {} s per sweep point. Seeded with `rewards seed` (members, 10 \
         businesses, 5 offers each; `--password-hashing fast`); per-client rate limit raised out of the way; \
         `RUST_LOG=warn`.",
        options.users, options.warmup_seconds, options.probe_seconds, options.point_seconds
    );
    let _ = writeln!(
        text,
        "- Capacity: the highest offered rate with p99 under {:.0} ms, errors under {:.0}%, and at least {:.0}% of \
         the rate achieved (goose is closed-loop, so a saturated app shows first as a shortfall; its users pace \
         themselves to absolute deadlines, which deliver 97% to 101% of the offer far below capacity).\n",
        options.criteria.max_p99_ms,
        options.criteria.max_error_rate * 100.0,
        options.criteria.min_achieved_share * 100.0
    );
    let _ = writeln!(text, "Commands:\n\n```sh\n{}\n# which runs:", command_line(reproduction));
    let _ = writeln!(text, "cargo build --release -p rewards -p seams-loadtest");
    let _ = writeln!(
        text,
        "target/release/seams-loadtest reproduce{} --out {}",
        if options.quick { " --quick" } else { "" },
        options.out.display()
    );
    let _ = writeln!(text, "# and for each topology T:");
    let _ = writeln!(
        text,
        "rewards seed --data-dir DIR --topology T --members N --businesses 10 --offers 5 --password-hashing=fast"
    );
    let app_prefix = match (&provenance.cores.app, budget.quota_us) {
        (_, quota) if quota > 0 => "# in the app's CPU group:\n".to_owned(),
        (Some(cores), _) => format!("taskset -c {cores} "),
        (None, _) => String::new(),
    };
    let _ = writeln!(
        text,
        "{app_prefix}rewards serve --listen 127.0.0.1:0 --topology T --data-dir DIR --password-hashing=fast \
         --rate-limit-per-second=1000000 --rate-limit-burst=1000000 --auth-rate-limit-per-minute=1000000 \
         --auth-rate-limit-burst=1000000"
    );
    let _ = writeln!(
        text,
        "{}seams-loadtest attack --host URL --accounts DIR/accounts.json --scenario dashboard --users {} --rate R \
         --seconds S --result FILE",
        provenance.cores.load.as_deref().map(|cores| format!("taskset -c {cores} ")).unwrap_or_default(),
        options.users
    );
    let _ = writeln!(text, "rewards verify --data-dir DIR --wait 10   # 0 for the monolith\n```\n");
    let _ = writeln!(text, "## The load generator's headroom\n");
    let _ = writeln!(
        text,
        "Before the app ran under its budget, goose's own capacity was measured against `/healthz` of a monolith \
         with no budget on the same cores. Every topology's capacity should be at most half of it, so that what \
         saturates first is the app.\n"
    );
    text.push_str(&headroom_table(reproduction));
    let _ = writeln!(
        text,
        "\n## The table\n\nOn loopback, at **{} requests/s** offered, about {:.0}% of the monolith's measured capacity \
         of {:.0} requests/s:\n",
        reproduction.chosen_rps,
        options.chosen_fraction * 100.0,
        reproduction.monolith_capacity_rps
    );
    match short.as_ref().filter(|short| !short.is_empty()) {
        Some(short) => {
            let _ = writeln!(text, "{}", short_headroom_statement(short));
        }
        None => text.push_str(&latency_table(reproduction)),
    }
    let _ = writeln!(
        text,
        "\nThe published figures come from a write-up measured with wrk on a different app and machine; only the \
         ratios are comparable.\n"
    );
    text.push('\n');
    text.push_str(&grid::markdown(reproduction));
    let _ = writeln!(text, "\n## What it costs to run\n");
    text.push_str(&cost_table(reproduction));
    let _ = writeln!(
        text,
        "\nCPU is user plus system time of every process of the app (the gateway and each service, children \
         included) during the measurement, from `/proc/PID/stat`, divided by the requests completed. Memory is the \
         sum of each process's peak resident set (`VmHWM`).{}\n",
        match reproduction.options.db {
            DatabaseKind::Sqlite => "",
            DatabaseKind::Postgres =>
                " On PostgreSQL the CPU also counts the server's processes (the postmaster and every backend and \
                 worker it forked), which run on the app's cores; their memory, mostly shared buffers, is not added.",
        }
    );
    let _ = writeln!(text, "## Capacity\n");
    text.push_str(&capacity_table(&reproduction.main));
    let limits = capacity_limits(reproduction);
    if !limits.is_empty() {
        let _ = write!(text, "\nWhose limit each capacity is (from the sweep below):\n\n{limits}");
    }
    let _ = writeln!(text, "\n## Latency against load\n\n![p50 and p99 against offered load](latency-vs-load.svg)\n");
    text.push_str(&sweep_table(&reproduction.main));
    let _ = writeln!(text, "\n## Cross-check with wrk\n");
    text.push_str(&cross_check_table(&reproduction.main));
    let _ = writeln!(
        text,
        "\nwrk 4 (Debian) has no rate option: each of its {} connections waits a fixed delay after every answer, so \
         it is closed-loop like goose, and neither generator's figures here are back-filled for coordinated \
         omission. Differences over 20% are marked. Where wrk achieved less than goose, it offered less load (a \
         connection's cycle is its delay plus the latency, so a slower app is offered fewer requests), and its \
         latencies are lower for that reason. Where both achieved about the same rate, a lower wrk p50 is goose's \
         own overhead per request (its metrics channel and reqwest client, on a core it shares), which goose's \
         timings include and wrk's lean C client mostly avoids.\n",
        options.users
    );
    let _ = writeln!(text, "## verify after each run\n");
    for result in reproduction.main.iter().chain(&reproduction.extraction) {
        let _ = writeln!(
            text,
            "- `{}`: {} ({})",
            result.topology,
            if result.verify_passed { "passed" } else { "FAILED" },
            result.verify_output.lines().next().unwrap_or("")
        );
    }
    for profile in &reproduction.profiles {
        for point in &profile.extraction {
            let _ = writeln!(
                text,
                "- `{}` on `{}`: {} ({})",
                point.topology,
                profile.profile.name,
                if point.verify_passed { "passed" } else { "FAILED" },
                point.verify_output.lines().next().unwrap_or("")
            );
        }
    }
    text
}

/// `extraction.md`: what extracting each module alone adds to the dashboard and takes from capacity.
pub fn extraction_markdown(reproduction: &Reproduction) -> String {
    let mut text = String::from("# What extracting one module costs\n\n");
    let _ = writeln!(
        text,
        "Generated by `{}` on {} at commit `{}` ({}). Each row runs the app with one module moved into its own \
         process (`--topology extract=M`), at the same offered load as the monolith row: {} dashboard requests/s, \
         about {:.0}% of the monolith's capacity. Read it before extracting a service: it is what the network alone \
         costs, before any team or deployment benefit.\n",
        command_line(reproduction),
        reproduction.provenance.date,
        reproduction.provenance.commit,
        reproduction.provenance.machine,
        reproduction.chosen_rps,
        reproduction.options.chosen_fraction * 100.0,
    );
    let Some(monolith) = find(&reproduction.main, "monolith") else {
        return text;
    };
    let base = &monolith.chosen.summary;
    let _ = writeln!(
        text,
        "| Topology | Dashboard hops | p50 (ms) | Added p50 (ms) | p99 (ms) | Added p99 (ms) | Capacity (req/s) | Capacity lost | CPU ms / request |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    let _ = writeln!(
        text,
        "| `monolith` | 0 | {:.2} | | {:.2} | | {:.0} | | {:.3} |",
        base.p50_ms, base.p99_ms, monolith.capacity.rps, monolith.chosen.cost.cpu_ms_per_request
    );
    let mut rows: Vec<&TopologyResult> = reproduction.extraction.iter().collect();
    if let Some(points) = find(&reproduction.main, "extract=points") {
        rows.push(points);
    }
    rows.sort_by(|left, right| left.topology.cmp(&right.topology));
    for result in rows {
        let summary = &result.chosen.summary;
        let lost = if monolith.capacity.rps > 0.0 {
            format!("{:.0}%", (1.0 - result.capacity.rps / monolith.capacity.rps) * 100.0)
        } else {
            String::new()
        };
        let mut capacity = format!("{:.0}", result.capacity.rps);
        if result.capacity.out_of_probes || result.capacity.capped {
            capacity.push_str(" (bound)");
        }
        let cpu_ms = result.chosen.cost.cpu_ms_per_request;
        extraction_row(&mut text, &result.topology, summary, base, [&capacity, &lost], cpu_ms);
    }
    let _ = writeln!(
        text,
        "\nDashboard hops counts the network calls one dashboard makes in that topology (auth verify, users profile, \
         points balance and movements, business offers). Audit and analytics are not on the dashboard's path, so \
         extracting them changes its latency only through the CPU their processes take from the same cores (the \
         outbox relay polls them). Capacities marked *bound* come from a short search that ran out of probes or hit \
         its cap, so they are a lower bound within a factor of the search's precision.\n"
    );
    for profile in reproduction.profiles.iter().filter(|profile| !profile.extraction.is_empty()) {
        text.push_str(&extraction_across_hosts(reproduction, profile));
    }
    text
}

/// The extraction report's rows under an emulated profile: the same offered load, every link through the relays.
fn extraction_across_hosts(reproduction: &Reproduction, profile: &crate::results::ProfileResult) -> String {
    let mut text = String::new();
    let name = &profile.profile.name;
    let _ = writeln!(
        text,
        "## Across hosts: `{name}`\n\n\
         The rows of the dashboard's path again, with every link between processes paying the `{name}` profile's \
         round trip of {:.2} ms (± {:.2} ms jitter; the relays added {:.0} µs to a measured round trip), the load \
         generator's link included, for every row alike: the same {} dashboard requests/s, and a monolith row \
         measured under the same profile, so that *Added* is what the extraction's hops cost across hosts. *Added \
         on loopback* repeats the table above for comparison. Capacity is not searched again: the app's CPU budget \
         sets it and the relays run outside that budget (the grid in [latency.md](latency.md) measures the \
         monolith's and the services' capacity under each profile).\n",
        profile.profile.round_trip_ms,
        profile.profile.jitter_ms,
        profile.round_trips.added_us(),
        reproduction.chosen_rps,
    );
    let Some(monolith) = profile.extraction.iter().find(|point| point.topology == "monolith") else {
        return text;
    };
    let base = &monolith.measurement.summary;
    let loopback_base = find(&reproduction.main, "monolith").map(|result| &result.chosen.summary);
    let _ = writeln!(
        text,
        "| Topology | Dashboard hops | p50 (ms) | Added p50 (ms) | p99 (ms) | Added p99 (ms) | Added p50 on loopback (ms) | Added p99 on loopback (ms) | CPU ms / request |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    let _ = writeln!(
        text,
        "| `monolith` | 0 | {:.2} | | {:.2} | | | | {:.3} |",
        base.p50_ms, base.p99_ms, monolith.measurement.cost.cpu_ms_per_request
    );
    let mut rows: Vec<_> = profile.extraction.iter().filter(|point| point.topology != "monolith").collect();
    rows.sort_by(|left, right| left.topology.cmp(&right.topology));
    for point in rows {
        let summary = &point.measurement.summary;
        let on_loopback = find(&reproduction.extraction, &point.topology)
            .or_else(|| find(&reproduction.main, &point.topology))
            .zip(loopback_base)
            .map(|(result, base)| {
                (
                    format!("{:+.2}", result.chosen.summary.p50_ms - base.p50_ms),
                    format!("{:+.2}", result.chosen.summary.p99_ms - base.p99_ms),
                )
            })
            .unwrap_or_default();
        let cpu_ms = point.measurement.cost.cpu_ms_per_request;
        extraction_row(&mut text, &point.topology, summary, base, [&on_loopback.0, &on_loopback.1], cpu_ms);
    }
    text.push('\n');
    text
}

/// One row of an extraction table: the topology, its dashboard hops, its p50 and p99 with what each
/// adds to the monolith's, the two columns that differ between the tables, and its CPU per request.
fn extraction_row(
    text: &mut String,
    topology: &str,
    summary: &Summary,
    base: &Summary,
    columns: [&str; 2],
    cpu_ms: f64,
) {
    let _ = writeln!(
        text,
        "| `{topology}` | {} | {:.2} | {:+.2} | {:.2} | {:+.2} | {} | {} | {cpu_ms:.3} |",
        dashboard_hops(topology),
        summary.p50_ms,
        summary.p50_ms - base.p50_ms,
        summary.p99_ms,
        summary.p99_ms - base.p99_ms,
        columns[0],
        columns[1],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_cores_are_counted_from_the_taskset_list() {
        let cores = |app: Option<&str>| Cores { app: app.map(str::to_owned), load: None, available: 8 };
        assert_eq!(app_core_count(&cores(Some("0"))), 1);
        assert_eq!(app_core_count(&cores(Some("0-3"))), 4);
        assert_eq!(app_core_count(&cores(Some("0,2-3"))), 3);
        assert_eq!(app_core_count(&cores(None)), 8, "without pinning the app may use every core");
    }
}
