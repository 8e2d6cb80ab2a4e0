//! Reading criterion's estimates and turning them into `docs/results/bench.md`: the cost of one hop, what it is made
//! of, and how well hops × per-hop cost predicts the measured difference between the two dashboards.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Network calls one dashboard makes in the services topology (auth verify, users profile, points balance, points
/// movements, business offers), from `docs/reference-app.md`.
pub const DASHBOARD_HOPS: u32 = 5;

/// One criterion measurement: the mean time and its 95% confidence interval, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The mean.
    pub mean_ns: f64,
    /// The lower bound of the interval.
    pub lower_ns: f64,
    /// The upper bound of the interval.
    pub upper_ns: f64,
}

/// Reads `DIR/<group>/<bench>/new/estimates.json` under criterion's output directory.
pub fn read_estimate(criterion_dir: &Path, group: &str, bench: &str) -> anyhow::Result<Estimate> {
    let file = criterion_dir.join(group).join(bench).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("reading {}; run `cargo xtask bench` first", file.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    let mean = &value["mean"];
    let number = |pointer: &str| {
        mean.pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .with_context(|| format!("{pointer} in {}", file.display()))
    };
    Ok(Estimate {
        mean_ns: number("/point_estimate")?,
        lower_ns: number("/confidence_interval/lower_bound")?,
        upper_ns: number("/confidence_interval/upper_bound")?,
    })
}

/// Criterion's output directory: `$CARGO_TARGET_DIR/criterion`, or `target/criterion`.
pub fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from).join("criterion")
}

/// Every measurement the report needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurements {
    /// `module_call/in_process`.
    pub in_process: Estimate,
    /// `module_call/loopback_http`.
    pub loopback: Estimate,
    /// `hop_parts/json_encode_decode`.
    pub json: Estimate,
    /// `hop_parts/token_verify`: the check each hop makes of a token it has seen before.
    pub token: Estimate,
    /// `hop_parts/token_signature_verify`: the Ed25519 check of a token's first use in a process.
    pub token_signature: Estimate,
    /// `hop_parts/credential_check`: the guard's recognition of the calling service.
    pub credential: Estimate,
    /// `hop_parts/bare_http_round_trip`.
    pub bare_http: Estimate,
    /// `dashboard/monolith`.
    pub dashboard_monolith: Estimate,
    /// `dashboard/services`.
    pub dashboard_services: Estimate,
}

impl Measurements {
    /// Reads them all.
    pub fn read(criterion_dir: &Path) -> anyhow::Result<Measurements> {
        Ok(Measurements {
            in_process: read_estimate(criterion_dir, "module_call", "in_process")?,
            loopback: read_estimate(criterion_dir, "module_call", "loopback_http")?,
            json: read_estimate(criterion_dir, "hop_parts", "json_encode_decode")?,
            token: read_estimate(criterion_dir, "hop_parts", "token_verify")?,
            token_signature: read_estimate(criterion_dir, "hop_parts", "token_signature_verify")?,
            credential: read_estimate(criterion_dir, "hop_parts", "credential_check")?,
            bare_http: read_estimate(criterion_dir, "hop_parts", "bare_http_round_trip")?,
            dashboard_monolith: read_estimate(criterion_dir, "dashboard", "monolith")?,
            dashboard_services: read_estimate(criterion_dir, "dashboard", "services")?,
        })
    }
}

/// The hop model: what one hop adds, what the dashboard should therefore lose, and what it does lose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HopModel {
    /// What one hop adds to a call: loopback minus in-process, in microseconds.
    pub per_hop_us: f64,
    /// The parts measured on their own, added up, in microseconds.
    pub parts_us: f64,
    /// `DASHBOARD_HOPS` × `per_hop_us`.
    pub predicted_us: f64,
    /// services minus monolith dashboard, in microseconds.
    pub measured_us: f64,
    /// (predicted − measured) / measured.
    pub relative_error: f64,
}

impl HopModel {
    /// Computes the model from the measurements.
    pub fn of(measurements: &Measurements) -> HopModel {
        let us = |estimate: Estimate| estimate.mean_ns / 1_000.0;
        let per_hop_us = us(measurements.loopback) - us(measurements.in_process);
        let parts_us =
            us(measurements.json) + us(measurements.token) + us(measurements.credential) + us(measurements.bare_http);
        let predicted_us = f64::from(DASHBOARD_HOPS) * per_hop_us;
        let measured_us = us(measurements.dashboard_services) - us(measurements.dashboard_monolith);
        let relative_error =
            if measured_us.abs() > f64::EPSILON { (predicted_us - measured_us) / measured_us } else { 0.0 };
        HopModel { per_hop_us, parts_us, predicted_us, measured_us, relative_error }
    }
}

/// The markdown of `bench.md`.
pub fn markdown(measurements: &Measurements, provenance: &str) -> String {
    let model = HopModel::of(measurements);
    let mut text = String::from("# What one hop costs\n\n");
    let _ = writeln!(
        text,
        "Generated by `cargo xtask bench` (criterion; mean and 95% confidence interval). {provenance} Do not edit by \
         hand.\n"
    );
    let _ = writeln!(text, "| Measurement | Mean (µs) | 95% interval (µs) | What it is |\n| --- | --- | --- | --- |");
    let rows = [
        ("`module_call/in_process`", measurements.in_process, "points balance through the trait, in-process"),
        (
            "`module_call/loopback_http`",
            measurements.loopback,
            "the same call through `PointsClient` over loopback HTTP/JSON: keep-alive pool, breaker, trace context, service credential, member token re-verified by the service",
        ),
        ("`hop_parts/json_encode_decode`", measurements.json, "arguments and result, each encoded and decoded once"),
        (
            "`hop_parts/token_verify`",
            measurements.token,
            "the per-hop check of a member token the process has verified before: a table lookup and the expiry",
        ),
        (
            "`hop_parts/token_signature_verify`",
            measurements.token_signature,
            "the Ed25519 signature check a token's first use in a process pays (not on the dashboard's steady path)",
        ),
        (
            "`hop_parts/credential_check`",
            measurements.credential,
            "the guard recognising the calling service: SHA-256 of its credential, compared with each verifier",
        ),
        ("`hop_parts/bare_http_round_trip`", measurements.bare_http, "a POST to an axum route that answers at once"),
        ("`dashboard/monolith`", measurements.dashboard_monolith, "GET /v1/dashboard, one request at a time"),
        ("`dashboard/services`", measurements.dashboard_services, "the same, with every module a separate process"),
    ];
    for (name, estimate, description) in rows {
        let _ = writeln!(
            text,
            "| {name} | {:.1} | {:.1} to {:.1} | {description} |",
            estimate.mean_ns / 1_000.0,
            estimate.lower_ns / 1_000.0,
            estimate.upper_ns / 1_000.0
        );
    }
    let _ = writeln!(text, "\n## The model\n");
    let _ = writeln!(text, "| Quantity | µs |\n| --- | --- |");
    let _ = writeln!(text, "| One hop (loopback − in-process) | {:.1} |", model.per_hop_us);
    let _ = writeln!(
        text,
        "| Its measured parts (JSON + token + credential + bare round trip) | {:.1} ({:.0}% of the hop) |",
        model.parts_us,
        if model.per_hop_us > 0.0 { model.parts_us / model.per_hop_us * 100.0 } else { 0.0 }
    );
    let _ = writeln!(
        text,
        "| Predicted dashboard difference ({DASHBOARD_HOPS} hops × one hop) | {:.1} |",
        model.predicted_us
    );
    let _ = writeln!(text, "| Measured dashboard difference (services − monolith) | {:.1} |", model.measured_us);
    let _ = writeln!(text, "| Error of the prediction | {:+.0}% |", model.relative_error * 100.0);
    let _ = writeln!(
        text,
        "\nThe rest of a hop, beyond its measured parts, is the client and server machinery around them: the \
         reqwest pool and request building, the breaker, the trace context, the guard's credential comparison, \
         axum's routing and the body limits. Under load the services topology spends this extra CPU on every hop, \
         which is why it saturates sooner (see latency.md)."
    );
    if model.relative_error.abs() > 0.2 {
        let _ = writeln!(
            text,
            "\nThe prediction misses by more than 20%. The benched hop runs client and server in one process, on one \
             warm tokio runtime whose threads stay on the CPU; in the services topology each of the five hops wakes \
             another process, so the dashboard also pays two context switches per hop (and more when seven \
             processes share few cores) and the colder caches of a process that was asleep. The model counts the \
             network stack and the hop's code, not the scheduling of processes, and the gap is the size of that \
             scheduling: {:.0} µs per hop.",
            (model.measured_us - model.predicted_us) / f64::from(DASHBOARD_HOPS)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(mean_us: f64) -> Estimate {
        Estimate { mean_ns: mean_us * 1_000.0, lower_ns: mean_us * 900.0, upper_ns: mean_us * 1_100.0 }
    }

    #[test]
    fn the_model_multiplies_the_hop_cost_by_the_dashboard_hops_and_states_its_error() {
        let measurements = Measurements {
            in_process: estimate(10.0),
            loopback: estimate(110.0),
            json: estimate(2.0),
            token: estimate(2.0),
            token_signature: estimate(50.0),
            credential: estimate(1.0),
            bare_http: estimate(60.0),
            dashboard_monolith: estimate(200.0),
            dashboard_services: estimate(800.0),
        };
        let model = HopModel::of(&measurements);
        assert!((model.per_hop_us - 100.0).abs() < 1e-9);
        assert!((model.parts_us - 65.0).abs() < 1e-9);
        assert!((model.predicted_us - 500.0).abs() < 1e-9);
        assert!((model.measured_us - 600.0).abs() < 1e-9);
        assert!((model.relative_error + 1.0 / 6.0).abs() < 1e-9);
        let text = markdown(&measurements, "test");
        assert!(text.contains("| Error of the prediction | -17% |"), "{text}");
    }

    #[test]
    fn estimates_are_read_from_criterions_files() {
        let directory = tempfile::tempdir().unwrap();
        let folder = directory.path().join("dashboard").join("monolith").join("new");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("estimates.json"),
            r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":900.0,"upper_bound":1100.0},"point_estimate":1000.0,"standard_error":5.0}}"#,
        )
        .unwrap();
        let estimate = read_estimate(directory.path(), "dashboard", "monolith").unwrap();
        assert_eq!(estimate, Estimate { mean_ns: 1000.0, lower_ns: 900.0, upper_ns: 1100.0 });
        assert!(read_estimate(directory.path(), "dashboard", "services").is_err());
    }
}
