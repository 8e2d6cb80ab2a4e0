//! Where and when a measurement ran. Every report of seams' measurements (criterion's `bench.md`, the load tests'
//! `latency.md`, the checker's `check-speed.md`) opens with the same facts: the machine, its load, the date and the
//! commit. They are read here, once; each report lays them out in its own words.

use std::process::Command;

/// The machine a measurement runs on, as Linux describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The CPU's model name from `/proc/cpuinfo`, or `unknown CPU`.
    pub cpu: String,
    /// The cores this process may use.
    pub cores: usize,
    /// `MemTotal` of `/proc/meminfo`, in KiB, when it can be read.
    pub memory_kib: Option<u64>,
    /// The kernel release, or empty.
    pub kernel: String,
}

impl Machine {
    /// Reads the machine's description from `/proc`.
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cpu: cpu_model(&cpuinfo).unwrap_or("unknown CPU").to_owned(),
            cores: std::thread::available_parallelism().map_or(1, |count| count.get()),
            memory_kib: memory_kib(&meminfo),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned(),
        }
    }

    /// The memory in GiB, for a human reader.
    pub fn memory_gib(&self) -> Option<f64> {
        self.memory_kib.map(|kib| kib as f64 / 1024.0 / 1024.0)
    }
}

fn cpu_model(cpuinfo: &str) -> Option<&str> {
    cpuinfo.lines().find_map(|line| {
        line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, model)| model.trim())
    })
}

fn memory_kib(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| line.strip_prefix("MemTotal:")?.split_whitespace().next()?.parse().ok())
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` writes them; empty where it cannot be read.
pub fn load_average() -> Vec<String> {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The commit of the working tree (12 hex digits), with `-dirty` when tracked files differ from it, or `unknown`
/// outside a git checkout.
pub fn commit() -> String {
    let hash = command_output("git", &["rev-parse", "--short=12", "HEAD"]);
    if hash.is_empty() {
        return "unknown".to_owned();
    }
    if command_output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        hash
    } else {
        format!("{hash}-dirty")
    }
}

/// Now, in UTC to the minute (`2026-12-07 20:50 UTC`).
pub fn date_utc() -> String {
    command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
}

/// What a command printed on stdout, trimmed; empty when it could not run or failed.
pub fn command_output(program: &str, arguments: &[&str]) -> String {
    Command::new(program)
        .args(arguments)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_model_and_memory_are_read_from_procs_text() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n";
        assert_eq!(cpu_model(cpuinfo), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model("processor\t: 0\n"), None);
        assert_eq!(memory_kib("MemTotal:       24683772 kB\nMemFree:  1 kB\n"), Some(24_683_772));
        assert_eq!(memory_kib("MemFree:  1 kB\n"), None);
    }

    #[test]
    fn a_command_that_cannot_run_or_fails_prints_nothing() {
        assert_eq!(command_output("seams-no-such-program", &[]), "");
        assert_eq!(command_output("false", &[]), "");
        assert_eq!(command_output("echo", &[" hello "]), "hello");
    }

    #[test]
    fn the_machine_of_this_test_is_described_from_linux() {
        // Every field here comes from a file that Linux always has; a fallback in any of them would mean the reading
        // broke, so each is checked against its fallback rather than for mere presence.
        let machine = Machine::read();
        assert!(machine.cores >= 1);
        assert_ne!(machine.cpu, "unknown CPU", "/proc/cpuinfo names the CPU model on x86_64");
        assert!(machine.memory_gib().is_some_and(|gib| gib > 0.0), "/proc/meminfo has MemTotal");
        assert!(!machine.kernel.is_empty(), "/proc/sys/kernel/osrelease names the kernel");
        let load = load_average();
        assert_eq!(load.len(), 3, "/proc/loadavg has three averages");
        assert!(load.iter().all(|average| average.parse::<f64>().is_ok()), "{load:?}");
    }
}
