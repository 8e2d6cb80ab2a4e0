//! The independent cross-check: `wrk` against the dashboard at one load point, when `wrk` is installed.
//!
//! Debian's `wrk` (4.x) has no rate option, so each connection is paced with a fixed `delay()` in a Lua script to
//! offer about the same rate as goose. Like goose it waits for each answer before the next request on a
//! connection, and unlike goose it does not correct for coordinated omission; the report says so beside the numbers.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::budget::pinned;

/// What wrk measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WrkResult {
    /// The rate wrk was paced to offer.
    pub offered_rps: f64,
    /// The rate it achieved.
    pub achieved_rps: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// Whether `wrk` is on the PATH.
pub fn available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// Runs wrk with `connections` connections paced to about `rate` requests per second in all.
pub fn run(
    url: &str,
    token: &str,
    connections: usize,
    rate: usize,
    seconds: usize,
    cores: Option<&str>,
    work_dir: &Path,
) -> anyhow::Result<WrkResult> {
    let connections = connections.max(1);
    // Each connection waits this long after every answer, so that all together offer about `rate` per second when
    // answers are fast compared with the delay.
    let delay_ms = (connections as f64 * 1000.0 / rate.max(1) as f64).max(0.0);
    let script = work_dir.join("pace.lua");
    std::fs::write(&script, format!("function delay()\n  return {delay_ms:.3}\nend\n"))
        .with_context(|| format!("writing {}", script.display()))?;
    let output = pinned(Path::new("wrk"), cores)
        .args(["-t", "1", "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "--latency"])
        .args(["-H", &format!("authorization: Bearer {token}"), "-s"])
        .arg(&script)
        .arg(format!("{url}/v1/dashboard"))
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    }
    if text.contains("Non-2xx or 3xx responses") {
        bail!("wrk saw error responses:\n{text}");
    }
    parse(&text, rate as f64).with_context(|| format!("reading wrk's output:\n{text}"))
}

/// Reads the latency distribution and the rate from wrk's `--latency` output.
pub fn parse(text: &str, offered_rps: f64) -> Option<WrkResult> {
    let percentile = |label: &str| {
        text.lines().map(str::trim).find_map(|line| line.strip_prefix(label).map(str::trim)).and_then(parse_duration_ms)
    };
    let achieved_rps = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
        .and_then(|value| value.trim().parse().ok())?;
    Some(WrkResult { offered_rps, achieved_rps, p50_ms: percentile("50%")?, p99_ms: percentile("99%")? })
}

fn parse_duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|character: char| character.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    match unit {
        "us" => Some(number / 1000.0),
        "ms" => Some(number),
        "s" => Some(number * 1000.0),
        "m" => Some(number * 60_000.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_latency_output_is_read_in_milliseconds() {
        let text = "Running 5s test @ http://127.0.0.1:1/v1/dashboard
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us  200.00us   4.10ms   90.00%
  Latency Distribution
     50%  750.00us
     75%    0.90ms
     90%    1.10ms
     99%    2.50ms
  4000 requests in 5.00s, 3.00MB read
Requests/sec:    800.12
Transfer/sec:    600.00KB
";
        let result = parse(text, 800.0).unwrap();
        assert_eq!(result.p50_ms, 0.75);
        assert_eq!(result.p99_ms, 2.5);
        assert_eq!(result.achieved_rps, 800.12);
        assert_eq!(parse_duration_ms("1.50s"), Some(1500.0));
        assert_eq!(parse("no numbers here", 1.0), None);
    }
}
