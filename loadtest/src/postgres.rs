//! The database a reproduction runs the app on. For PostgreSQL: a throw-away server started with the repository's
//! `.ci/postgres` inside the app's CPU budget (its group, or its cores when pinned), a fresh database per deployment, and the
//! CPU time of the server's processes, which the cost table counts with the app's own.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::budget::Placement;
use crate::deployment::{clock_ticks_per_second, cpu_ticks};

pub use seams_loadtest_args::DatabaseKind;

/// A PostgreSQL server this process started; it is stopped and its data directory removed when dropped.
#[derive(Debug)]
pub struct PostgresServer {
    script: PathBuf,
    directory: PathBuf,
    admin_url: String,
}

impl PostgresServer {
    /// Starts a throw-away server in `directory` on a free loopback port, pinned to `cores` when given (the server's
    /// processes inherit the pinning, so they share the app's cores).
    pub fn start(directory: &Path, placement: &Placement) -> anyhow::Result<PostgresServer> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/postgres");
        let directory = std::path::absolute(directory).context("resolving the server's directory")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("finding a free port for PostgreSQL")?
            .port();
        // A directory left by an interrupted run is thrown away first.
        let _ = Command::new(&script).arg("stop").arg(&directory).status();
        let mut command = placement.app_command(&script);
        let output = command
            .arg("start")
            .arg(&directory)
            .arg(port.to_string())
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        if !output.status.success() {
            bail!("starting PostgreSQL failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        let admin_url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        eprintln!("PostgreSQL serving on {admin_url}");
        Ok(PostgresServer { script, directory, admin_url })
    }

    /// Creates an empty database named `name` (dropping one left from an earlier deployment, after ending any session
    /// still connected to it) and returns its URL.
    pub fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let statements = [
            format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ];
        for statement in statements {
            let output = Command::new("psql")
                .args(["--quiet", "--no-psqlrc", "--set=ON_ERROR_STOP=1", "--dbname", &self.admin_url, "--command"])
                .arg(&statement)
                .output()
                .context("running psql (from the postgresql-client package)")?;
            if !output.status.success() {
                bail!("{statement} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
            }
        }
        let base = self.admin_url.rsplit_once('/').map_or(self.admin_url.as_str(), |(base, _)| base);
        Ok(format!("{base}/{name}"))
    }

    /// CPU seconds used so far by the server: the postmaster and every process it has forked, those still running
    /// and those that have exited (counted in the postmaster's children's time).
    pub fn cpu_seconds(&self) -> f64 {
        let Some(postmaster) = std::fs::read_to_string(self.directory.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next().and_then(|line| line.trim().parse::<u32>().ok()))
        else {
            return 0.0;
        };
        let mut ticks = cpu_ticks(postmaster).unwrap_or(0);
        for child in children_of(postmaster) {
            ticks += cpu_ticks(child).unwrap_or(0);
        }
        ticks as f64 / clock_ticks_per_second()
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = Command::new(&self.script).arg("stop").arg(&self.directory).status();
    }
}

/// The processes whose parent is `parent` (PostgreSQL's backends and workers are the postmaster's direct children).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|stat| parent_of(&stat)) == Some(parent)
        })
        .collect()
}

/// The parent's pid from `/proc/PID/stat` (field 4, the second after the parenthesised command name).
fn parent_of(stat: &str) -> Option<u32> {
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

/// A database name for a deployment's work directory name (`extract-points` becomes `rewards_extract_points`).
pub fn database_name(deployment: &str) -> String {
    let cleaned: String = deployment
        .chars()
        .map(|character| if character.is_ascii_alphanumeric() { character.to_ascii_lowercase() } else { '_' })
        .collect();
    format!("rewards_{cleaned}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_after_the_command_name_even_with_spaces_and_parentheses_in_it() {
        assert_eq!(parent_of("4242 (postgres: a (b) c) S 77 4242 4242 0"), Some(77));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn database_names_are_plain_identifiers() {
        assert_eq!(database_name("extract-points"), "rewards_extract_points");
        assert_eq!(database_name("monolith"), "rewards_monolith");
    }
}
