//! The arguments of `seams-loadtest run` and `seams-loadtest reproduce`. `cargo xtask loadtest` and
//! `cargo xtask reproduce` flatten the same types and hand them back as arguments ([`RunArgs::to_arguments`],
//! [`ReproduceArgs::to_arguments`]), so the flags are declared once and goose never compiles into xtask.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A load-test scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Members reading their dashboard: the request the latency tables measure.
    Dashboard,
    /// Business owners crediting points for purchases.
    Emit,
    /// A business creates a QR code and a member claims it.
    Claim,
    /// Members redeeming offers.
    Redeem,
    /// A day's mix: mostly dashboards, some emits, claims and redemptions.
    Mixed,
    /// `GET /healthz` alone: the trivial endpoint against which the load generator's own capacity is measured.
    Healthz,
}

impl Scenario {
    /// The name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Dashboard => "dashboard",
            Scenario::Emit => "emit",
            Scenario::Claim => "claim",
            Scenario::Redeem => "redeem",
            Scenario::Mixed => "mixed",
            Scenario::Healthz => "healthz",
        }
    }
}

/// Which database the app's modules keep their tables in (`rewards serve --db`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    /// SQLite files in each deployment's data directory.
    #[default]
    Sqlite,
    /// One PostgreSQL server on loopback, one database per deployment.
    Postgres,
}

impl DatabaseKind {
    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "SQLite",
            DatabaseKind::Postgres => "PostgreSQL",
        }
    }

    /// The value of `--db`.
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgres",
        }
    }
}

/// One load test: seed, start, warm up, measure with goose, verify, stop.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct RunArgs {
    /// monolith, services, or extract=MODULE[,MODULE...].
    #[arg(long, default_value = "monolith")]
    pub topology: String,
    /// What the users do.
    #[arg(long, value_enum, default_value = "dashboard")]
    pub scenario: Scenario,
    /// Concurrent goose users.
    #[arg(long, default_value_t = 32)]
    pub users: usize,
    /// Offered requests per second (every user paced to absolute deadlines).
    #[arg(long, default_value_t = 200)]
    pub rate: usize,
    /// How long to measure, like 30s or 2m.
    #[arg(long, default_value = "30s", value_parser = parse_seconds)]
    pub duration: usize,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Where summary.json and goose's reports go.
    #[arg(long, default_value = "target/loadtest")]
    pub out: PathBuf,
}

impl RunArgs {
    /// The arguments after `seams-loadtest run` that parse back into these.
    pub fn to_arguments(&self) -> Vec<String> {
        vec![
            format!("--topology={}", self.topology),
            format!("--scenario={}", self.scenario.as_str()),
            format!("--users={}", self.users),
            format!("--rate={}", self.rate),
            format!("--duration={}s", self.duration),
            format!("--warmup={}", self.warmup),
            format!("--out={}", self.out.display()),
        ]
    }
}

/// Measures capacity, sweeps the load, and writes the latency, cost and extraction reports.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ReproduceArgs {
    /// A run of a few minutes for CI: small rates, short durations, loopback and one emulated network profile.
    #[arg(long)]
    pub quick: bool,
    /// Where the reports go (default: docs/results, or target/reproduce-quick with --quick; with --db postgres,
    /// docs/results/postgres or target/reproduce-quick-postgres).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The database the app runs on; postgres starts a throw-away server in the app's CPU budget (.ci/postgres).
    #[arg(long, value_enum, default_value = "sqlite")]
    pub db: DatabaseKind,
    /// The network profiles to measure, comma-separated, from the table in docs/benchmarks.md (default: every
    /// profile, or loopback and lan with --quick). loopback always runs: the latency table is measured on it.
    #[arg(long, value_delimiter = ',')]
    pub network: Vec<String>,
    /// The app's CPU budget in cores, the same for every topology: a cgroup quota (taskset pinning to half the cores
    /// when no CPU controller can be written). Default 0.15.
    #[arg(long)]
    pub app_cpu: Option<f64>,
}

impl ReproduceArgs {
    /// The arguments after `seams-loadtest reproduce` that parse back into these.
    pub fn to_arguments(&self) -> Vec<String> {
        let mut arguments = Vec::new();
        if self.quick {
            arguments.push("--quick".to_owned());
        }
        if let Some(out) = &self.out {
            arguments.push(format!("--out={}", out.display()));
        }
        arguments.push(format!("--db={}", self.db.as_str()));
        if !self.network.is_empty() {
            arguments.push(format!("--network={}", self.network.join(",")));
        }
        if let Some(cores) = self.app_cpu {
            arguments.push(format!("--app-cpu={cores}"));
        }
        arguments
    }
}

/// Parses a duration like `30s`, `2m` or `45` (seconds).
pub fn parse_seconds(text: &str) -> Result<usize, String> {
    let (number, unit) = match text.find(|character: char| !character.is_ascii_digit()) {
        Some(index) => text.split_at(index),
        None => (text, "s"),
    };
    let number: usize = number.parse().map_err(|_| format!("expected a duration like 30s or 2m, got {text:?}"))?;
    match unit {
        "s" => Ok(number),
        "m" => Ok(number * 60),
        _ => Err(format!("expected a duration like 30s or 2m, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Reproduce {
        #[command(flatten)]
        args: ReproduceArgs,
    }

    #[derive(Debug, Parser)]
    struct Run {
        #[command(flatten)]
        args: RunArgs,
    }

    #[test]
    fn reproduce_arguments_parse_back_into_themselves() {
        let parsed = Reproduce::parse_from([
            "x",
            "--quick",
            "--db",
            "postgres",
            "--out",
            "somewhere",
            "--network",
            "loopback,zone",
            "--app-cpu",
            "0.3",
        ]);
        assert_eq!(parsed.args.network, ["loopback", "zone"]);
        assert_eq!(parsed.args.app_cpu, Some(0.3));
        let again = Reproduce::parse_from(std::iter::once("x".to_owned()).chain(parsed.args.to_arguments()));
        assert_eq!(again.args, parsed.args);
        let defaults = Reproduce::parse_from(["x"]);
        assert_eq!(
            Reproduce::parse_from(std::iter::once("x".to_owned()).chain(defaults.args.to_arguments())).args,
            defaults.args
        );
    }

    #[test]
    fn run_arguments_parse_back_into_themselves() {
        let parsed = Run::parse_from(["x", "--topology", "extract=points", "--scenario", "mixed", "--duration", "2m"]);
        assert_eq!(parsed.args.duration, 120);
        let again = Run::parse_from(std::iter::once("x".to_owned()).chain(parsed.args.to_arguments()));
        assert_eq!(again.args, parsed.args);
    }

    #[test]
    fn durations_take_seconds_or_minutes() {
        assert_eq!(parse_seconds("30s"), Ok(30));
        assert_eq!(parse_seconds("2m"), Ok(120));
        assert_eq!(parse_seconds("45"), Ok(45));
        assert!(parse_seconds("1h").is_err());
    }
}
