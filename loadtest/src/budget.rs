//! The app's CPU budget: every process of a topology (and the PostgreSQL server with `--db postgres`) runs in one
//! cgroup with a CPU quota, the same fraction of a core for every topology, while the load generator and the network
//! relays keep the rest of the machine. cgroup v2 (`cpu.max`) is used where it offers the `cpu` controller, else v1
//! (`cpu.cfs_quota_us`). Where neither can be written (no root, none mounted), the run falls back to pinning the app
//! to half the cores with `taskset`, and the report says so.
//!
//! A run's group is named `seams-loadtest-PID` after the process that made it. It is removed at the end, with any
//! process left in it; a run that was killed leaves its group behind, and the next run removes every such group whose
//! owner is gone ([`clean_leftovers`]), killing what still runs in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The prefix of the groups this code makes.
pub const GROUP_PREFIX: &str = "seams-loadtest-";

/// The CFS period of the quota. Short, because a group that has spent its quota waits for the next period: with
/// the default 100 ms a quarter of a core would stall every request for up to 75 ms. The kernel wants a quota of at
/// least 1 ms, so budgets below a fifth of a core get a longer period.
const PERIOD_US: u64 = 5_000;
const MIN_QUOTA_US: u64 = 1_000;

/// Which cgroup interface holds the `cpu` controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Controller {
    /// cgroup v2: the unified hierarchy's root, where `cgroup.controllers` lists `cpu`.
    V2(PathBuf),
    /// cgroup v1: the mount of the `cpu` controller.
    V1(PathBuf),
}

impl Controller {
    /// The writable `cpu` controller of this machine, if any: v2 first, then v1. Writability is tried by making and
    /// removing a group, since being root is neither necessary (delegation) nor sufficient (read-only mounts).
    pub fn find() -> Option<Controller> {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut candidates = Vec::new();
        for line in mounts.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(path), Some(kind), Some(options)) = (fields.get(1), fields.get(2), fields.get(3)) else {
                continue;
            };
            let path = PathBuf::from(path);
            match *kind {
                "cgroup2" => {
                    let controllers = std::fs::read_to_string(path.join("cgroup.controllers")).unwrap_or_default();
                    if controllers.split_whitespace().any(|controller| controller == "cpu") {
                        candidates.insert(0, Controller::V2(path));
                    }
                }
                "cgroup" if options.split(',').any(|option| option == "cpu") => {
                    candidates.push(Controller::V1(path));
                }
                _ => {}
            }
        }
        candidates.into_iter().find(Controller::is_writable)
    }

    fn root(&self) -> &Path {
        match self {
            Controller::V2(root) | Controller::V1(root) => root,
        }
    }

    fn is_writable(&self) -> bool {
        let probe = self.root().join(format!("{GROUP_PREFIX}probe-{}", std::process::id()));
        let made = std::fs::create_dir(&probe).is_ok();
        if made {
            let _ = std::fs::remove_dir(&probe);
        }
        made
    }

    /// How reports name it.
    pub fn describe(&self) -> &'static str {
        match self {
            Controller::V2(_) => "cgroup v2 `cpu.max`",
            Controller::V1(_) => "cgroup v1 `cpu.cfs_quota_us`",
        }
    }
}

/// Which cores the app and the load generator may use; `None` when they share every core.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cores {
    /// The app's cores, as `taskset -c` takes them.
    pub app: Option<String>,
    /// The load generator's cores.
    pub load: Option<String>,
    /// Cores on the machine.
    pub available: usize,
}

impl Cores {
    /// Splits the machine in two halves, the first for the app, when there are at least two cores and `taskset`
    /// exists. Both topologies get the same half, so they have the same CPU budget.
    pub fn split() -> Cores {
        let available = std::thread::available_parallelism().map_or(1, |count| count.get());
        let has_taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if available < 2 || !has_taskset {
            return Cores { app: None, load: None, available };
        }
        let half = available / 2;
        let range = |first: usize, last: usize| {
            if first == last { first.to_string() } else { format!("{first}-{last}") }
        };
        Cores { app: Some(range(0, half - 1)), load: Some(range(half, available - 1)), available }
    }

    /// A human description for reports.
    pub fn describe(&self) -> String {
        match (&self.app, &self.load) {
            (Some(app), Some(load)) => format!("app on core(s) {app}, load generator on core(s) {load} (taskset)"),
            _ => format!("app and load generator share all {} core(s) (no pinning)", self.available),
        }
    }
}

/// A command, run under `taskset -c cores` when cores are given.
pub fn pinned(program: &Path, cores: Option<&str>) -> Command {
    match cores {
        Some(cores) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cores).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Where the app's processes and the load generator run: the app in a CPU group when one could be made, else
/// pinned to half the cores.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The cores of each side when pinning (both `None` with a group: the generator keeps what the group leaves).
    pub cores: Cores,
    /// The app's CPU group, when there is one.
    pub group: Option<Arc<CpuGroup>>,
    /// How the budget was set, for the reports.
    pub record: BudgetRecord,
}

impl Placement {
    /// A CPU group of `cores` for the app when a controller can be written, else today's pinning with the reason.
    pub fn with_budget(cores: f64) -> Placement {
        let available = std::thread::available_parallelism().map_or(1, |count| count.get());
        let fallback = |reason: String| {
            let cores = Cores::split();
            let app_cores = cores.app.as_deref().map_or(available as f64, |list| count_cores(list) as f64);
            let record = BudgetRecord {
                method: format!("taskset pinning ({})", cores.describe()),
                app_cores,
                quota_us: 0,
                period_us: 0,
                fallback_reason: Some(reason),
            };
            Placement { cores, group: None, record }
        };
        let Some(controller) = Controller::find() else {
            return fallback(
                "no CPU controller of cgroup v1 or v2 could be written (not root, or none mounted)".into(),
            );
        };
        match clean_leftovers(&controller) {
            Ok(removed) if !removed.is_empty() => eprintln!("removed CPU groups left by killed runs: {removed:?}"),
            Ok(_) => {}
            Err(error) => eprintln!("warning: cleaning CPU groups left by killed runs: {error:#}"),
        }
        match CpuGroup::create(&controller, "", cores) {
            Ok(group) => {
                let record = group.record();
                Placement { cores: Cores { app: None, load: None, available }, group: Some(Arc::new(group)), record }
            }
            Err(error) => fallback(format!("{error:#}")),
        }
    }

    /// Today's pinning alone, without a budget (`seams-loadtest run`).
    pub fn pinned() -> Placement {
        let cores = Cores::split();
        let record = BudgetRecord {
            method: format!("taskset pinning ({})", cores.describe()),
            app_cores: cores.app.as_deref().map_or(cores.available as f64, |list| count_cores(list) as f64),
            ..BudgetRecord::default()
        };
        Placement { cores, group: None, record }
    }

    /// No budget and no pinning: the app and the generator share every core (the generator's own capacity is
    /// measured so, against an app that is not the limit).
    pub fn pinned_to_nothing() -> Placement {
        let available = std::thread::available_parallelism().map_or(1, |count| count.get());
        let record = BudgetRecord { method: "none".to_owned(), app_cores: available as f64, ..BudgetRecord::default() };
        Placement { cores: Cores { app: None, load: None, available }, group: None, record }
    }

    /// A command that starts an app process (or the database server) inside the app's budget.
    pub fn app_command(&self, program: &Path) -> Command {
        match &self.group {
            Some(group) => group.command(program),
            None => pinned(program, self.cores.app.as_deref()),
        }
    }

    /// A command that starts a load generator outside the app's budget.
    pub fn load_command(&self, program: &Path) -> Command {
        pinned(program, self.cores.load.as_deref())
    }

    /// A human description for reports.
    pub fn describe(&self) -> String {
        match &self.group {
            Some(group) => format!(
                "app in a CPU group of {:.2} core(s) ({}: {} µs every {} µs); load generator and relays outside it",
                group.cores(),
                self.record.method,
                self.record.quota_us,
                self.record.period_us
            ),
            None => self.cores.describe(),
        }
    }
}

/// How many cores a `taskset -c` list names ("0", "0-1", "0,2").
pub fn count_cores(list: &str) -> usize {
    list.split(',')
        .map(|part| match part.split_once('-') {
            Some((first, last)) => {
                last.trim().parse::<usize>().unwrap_or(0).saturating_sub(first.trim().parse().unwrap_or(0)) + 1
            }
            None => 1,
        })
        .sum::<usize>()
        .max(1)
}

/// How the app's CPU was limited, as the reports state it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetRecord {
    /// "cgroup v1 `cpu.cfs_quota_us`", "cgroup v2 `cpu.max`", or "taskset pinning (...)".
    pub method: String,
    /// The app's budget in cores (the quota over the period); with pinning, the cores it was pinned to.
    pub app_cores: f64,
    /// The quota and its period, in microseconds (0 with pinning).
    pub quota_us: u64,
    /// The period.
    pub period_us: u64,
    /// Why the run fell back to pinning, when it did.
    pub fallback_reason: Option<String>,
}

/// A cgroup with a CPU quota that the app's processes are started in. Dropping it kills what is left in it and
/// removes it.
#[derive(Debug)]
pub struct CpuGroup {
    controller: Controller,
    directory: PathBuf,
    quota_us: u64,
    period_us: u64,
}

impl CpuGroup {
    /// Makes the group `seams-loadtest-PID` (PID of this process, plus `suffix` when given) with a quota of `cores`.
    pub fn create(controller: &Controller, suffix: &str, cores: f64) -> anyhow::Result<CpuGroup> {
        CpuGroup::create_named(controller, &format!("{GROUP_PREFIX}{}{suffix}", std::process::id()), cores)
    }

    fn create_named(controller: &Controller, name: &str, cores: f64) -> anyhow::Result<CpuGroup> {
        if cores.is_nan() || cores <= 0.0 {
            bail!("a CPU budget must be above zero cores, got {cores}");
        }
        let period_us = PERIOD_US.max((MIN_QUOTA_US as f64 / cores).ceil() as u64);
        let quota_us = ((cores * period_us as f64).round() as u64).max(MIN_QUOTA_US);
        let directory = controller.root().join(name);
        if directory.exists() {
            remove_group(&directory)?;
        }
        if let Controller::V2(root) = controller {
            // The root must hand the controller down; writing it again is harmless.
            let _ = std::fs::write(root.join("cgroup.subtree_control"), "+cpu");
        }
        std::fs::create_dir(&directory).with_context(|| format!("creating {}", directory.display()))?;
        let group = CpuGroup { controller: controller.clone(), directory, quota_us, period_us };
        match controller {
            Controller::V2(_) => {
                group.write("cpu.max", &format!("{quota_us} {period_us}"))?;
            }
            Controller::V1(_) => {
                // The period first: a quota larger than the old period is accepted either way, and a smaller one
                // must not meet a period it was not meant for.
                group.write("cpu.cfs_period_us", &period_us.to_string())?;
                group.write("cpu.cfs_quota_us", &quota_us.to_string())?;
            }
        }
        Ok(group)
    }

    fn write(&self, file: &str, value: &str) -> anyhow::Result<()> {
        let path = self.directory.join(file);
        std::fs::write(&path, value).with_context(|| format!("writing {value:?} to {}", path.display()))
    }

    /// The budget in cores.
    pub fn cores(&self) -> f64 {
        self.quota_us as f64 / self.period_us as f64
    }

    /// What the reports say of it.
    pub fn record(&self) -> BudgetRecord {
        BudgetRecord {
            method: self.controller.describe().to_owned(),
            app_cores: self.cores(),
            quota_us: self.quota_us,
            period_us: self.period_us,
            fallback_reason: None,
        }
    }

    /// A command that runs `program` inside the group: a shell moves itself into the group and then becomes the
    /// program, so that every process it forks (a gateway's services, PostgreSQL's backends) starts inside too,
    /// with no window in which one could escape.
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg("echo $$ > \"$0\" && exec \"$@\"").arg(self.directory.join("cgroup.procs")).arg(program);
        command
    }

    /// The processes in the group now.
    pub fn pids(&self) -> Vec<u32> {
        read_pids(&self.directory)
    }
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        if let Err(error) = remove_group(&self.directory) {
            eprintln!("warning: {error:#}");
        }
    }
}

fn read_pids(directory: &Path) -> Vec<u32> {
    std::fs::read_to_string(directory.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Kills every process left in a group (and in any group under it), waits until they are gone, and removes it.
fn remove_group(directory: &Path) -> anyhow::Result<()> {
    if let Ok(entries) = std::fs::read_dir(directory) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                remove_group(&entry.path())?;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = read_pids(directory);
        if pids.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!("processes {pids:?} in {} did not die", directory.display());
        }
        for pid in pids {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A group whose last process has only just exited may refuse removal for a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match std::fs::remove_dir(directory) {
            Ok(()) => return Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => return Err(error).with_context(|| format!("removing {}", directory.display())),
        }
    }
}

/// The pid a group's name says made it (`seams-loadtest-4242` and `seams-loadtest-4242-suffix` give 4242).
pub fn owner_of(name: &str) -> Option<u32> {
    name.strip_prefix(GROUP_PREFIX)?.split('-').next()?.parse().ok()
}

/// Removes the groups of runs that are gone (their owner's pid no longer exists), killing what still runs in them.
/// Returns the groups removed.
pub fn clean_leftovers(controller: &Controller) -> anyhow::Result<Vec<String>> {
    let mut removed = Vec::new();
    let entries =
        std::fs::read_dir(controller.root()).with_context(|| format!("listing {}", controller.root().display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = owner_of(&name) else { continue };
        if Path::new(&format!("/proc/{owner}")).exists() {
            continue;
        }
        remove_group(&entry.path())?;
        removed.push(name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_read_from_the_group_name() {
        assert_eq!(owner_of("seams-loadtest-4242"), Some(4242));
        assert_eq!(owner_of("seams-loadtest-4242-test"), Some(4242));
        assert_eq!(owner_of("seams-loadtest-probe-7"), None);
        assert_eq!(owner_of("user.slice"), None);
    }

    /// The controller, or `None` after printing why the test cannot run here; on CI a missing controller fails.
    fn controller_or_skip(test: &str) -> Option<Controller> {
        let controller = Controller::find();
        if controller.is_none() {
            assert!(std::env::var_os("CI").is_none(), "{test}: CI must be able to write a CPU controller");
            println!("skipped {test}: no CPU controller of cgroup v1 or v2 can be written here (not root?)");
        }
        controller
    }

    fn cpu_seconds(pid: u32) -> f64 {
        crate::deployment::cpu_ticks(pid).unwrap_or(0) as f64 / crate::deployment::clock_ticks_per_second()
    }

    /// Two busy processes in a group of a quarter of a core use no more than a quarter of a core between them, give
    /// or take a few percent: the quota holds the whole group, not each process.
    #[test]
    fn the_budget_limits_busy_processes_to_its_quota() {
        let Some(controller) = controller_or_skip("the_budget_limits_busy_processes_to_its_quota") else { return };
        let group = CpuGroup::create(&controller, "-test-limit", 0.25).unwrap();
        let mut busy =
            group.command(Path::new("sh")).args(["-c", "yes > /dev/null & exec yes > /dev/null"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let pids = group.pids();
        assert_eq!(pids.len(), 2, "both busy processes run in the group: {pids:?}");
        let before: f64 = pids.iter().map(|pid| cpu_seconds(*pid)).sum();
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs(3));
        let used: f64 = pids.iter().map(|pid| cpu_seconds(*pid)).sum::<f64>() - before;
        let elapsed = started.elapsed().as_secs_f64();
        let cores_used = used / elapsed;
        // A few percent over the quota, plus one clock tick per process of rounding in /proc's counters.
        let allowed = group.cores() * 1.05 + 2.0 * 0.01 / elapsed;
        let _ = busy.kill();
        let _ = busy.wait();
        drop(group);
        assert!(
            cores_used <= allowed,
            "the group used {cores_used:.3} cores against a quota of 0.25 (allowed {allowed:.3})"
        );
        assert!(used > 0.0, "the busy processes ran");
    }

    /// A run that was killed leaves its group and what ran in it; the next run removes both.
    #[test]
    fn a_killed_runs_group_and_processes_are_removed_by_the_next_run() {
        let Some(controller) = controller_or_skip("a_killed_runs_group_and_processes_are_removed_by_the_next_run")
        else {
            return;
        };
        // A pid that is gone: a process that has exited and been waited for.
        let mut gone = Command::new("true").spawn().unwrap();
        let dead_owner = gone.id();
        gone.wait().unwrap();
        let name = format!("{GROUP_PREFIX}{dead_owner}-test-leftover");
        let group = CpuGroup::create_named(&controller, &name, 0.5).unwrap();
        let mut left_running = group.command(Path::new("sleep")).arg("60").stdout(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(group.pids(), [left_running.id()]);
        // The run is killed: nothing drops the group.
        std::mem::forget(group);
        let removed = clean_leftovers(&controller).unwrap();
        assert!(removed.contains(&name), "{removed:?}");
        assert!(!controller.root().join(&name).exists());
        let status = left_running.wait().unwrap();
        assert!(!status.success(), "the process left in the group was killed: {status:?}");
    }
}
