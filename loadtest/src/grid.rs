//! The sensitivity grid: the dashboard's average and p99 for monolith and services, and their ratios, under each
//! network profile, at the same fraction of each topology's own capacity; beside each cell the per-hop
//! decomposition's prediction and its error, and a paragraph, written from the numbers, on which cell comes nearest
//! the published table.
//!
//! The prediction starts from the monolith measured on loopback and adds what the decomposition says each
//! condition costs: the generator's link pays the profile's round trip in both topologies, and each of the
//! services' hops pays a round trip plus the CPU a hop costs (serialising, HTTP on both ends, the token checked
//! again), taken as the services' CPU per request over the monolith's, divided by the hops. Round trips are the ones
//! measured through each profile's relays, not the profile's nominal figure.

use std::fmt::Write;

use crate::results::{Reproduction, TopologyResult};

/// The published figures the tables are compared with (average and p99 in milliseconds).
pub const PUBLISHED_SERVICES: (f64, f64) = (320.0, 610.0);
/// The published monolith figures.
pub const PUBLISHED_MONOLITH: (f64, f64) = (118.0, 190.0);

/// A measured figure beside its prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// What was measured.
    pub measured: f64,
    /// What the per-hop decomposition predicts; `None` where the cell is the prediction's own base.
    pub predicted: Option<f64>,
}

impl Cell {
    /// The prediction's error relative to the measurement, (predicted − measured) / measured.
    pub fn error(&self) -> Option<f64> {
        let predicted = self.predicted?;
        (self.measured > 0.0).then(|| (predicted - self.measured) / self.measured)
    }
}

/// One profile's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The profile.
    pub profile: String,
    /// The measured round trip of one link, in milliseconds.
    pub round_trip_ms: f64,
    /// Monolith average and p99.
    pub monolith: (Cell, Cell),
    /// Services average and p99.
    pub services: (Cell, Cell),
    /// Services over monolith, average and p99.
    pub ratio: (Cell, Cell),
}

/// The measurement a grid cell reads: at the chosen fraction of the topology's own capacity.
fn own_summary(result: &TopologyResult) -> (f64, f64) {
    let point = result.own_point.as_ref().unwrap_or(&result.chosen);
    (point.summary.avg_ms, point.summary.p99_ms)
}

fn cpu_ms(result: &TopologyResult) -> f64 {
    result.own_point.as_ref().unwrap_or(&result.chosen).cost.cpu_ms_per_request
}

fn find<'a>(results: &'a [TopologyResult], topology: &str) -> Option<&'a TopologyResult> {
    results.iter().find(|result| result.topology == topology)
}

/// The grid's rows: loopback from the main measurements, then each emulated profile. Empty when the loopback
/// monolith or services is missing.
pub fn rows(reproduction: &Reproduction) -> Vec<Row> {
    let (Some(monolith), Some(services)) = (find(&reproduction.main, "monolith"), find(&reproduction.main, "services"))
    else {
        return Vec::new();
    };
    let hops = dashboard_hops("services") as f64;
    let base = own_summary(monolith);
    let loopback_round_trip_ms = reproduction.loopback_round_trips.relayed_median_us / 1000.0;
    let hop_cpu_ms = ((cpu_ms(services) - cpu_ms(monolith)) / hops).max(0.0);
    let predict = |round_trip_ms: f64| {
        // The generator's link: both topologies pay what this profile's round trip adds to loopback's.
        let generator_link = round_trip_ms - loopback_round_trip_ms;
        let monolith = (base.0 + generator_link, base.1 + generator_link);
        let per_hop = round_trip_ms + hop_cpu_ms;
        (monolith, (monolith.0 + hops * per_hop, monolith.1 + hops * per_hop))
    };
    let row = |profile: &str, round_trip_ms: f64, monolith: (f64, f64), services: (f64, f64), is_base: bool| {
        let (predicted_monolith, predicted_services) = predict(round_trip_ms);
        let cell = |measured: f64, predicted: f64| Cell { measured, predicted: Some(predicted) };
        Row {
            profile: profile.to_owned(),
            round_trip_ms,
            monolith: if is_base {
                (Cell { measured: monolith.0, predicted: None }, Cell { measured: monolith.1, predicted: None })
            } else {
                (cell(monolith.0, predicted_monolith.0), cell(monolith.1, predicted_monolith.1))
            },
            services: (cell(services.0, predicted_services.0), cell(services.1, predicted_services.1)),
            ratio: (
                cell(ratio(services.0, monolith.0), ratio(predicted_services.0, predicted_monolith.0)),
                cell(ratio(services.1, monolith.1), ratio(predicted_services.1, predicted_monolith.1)),
            ),
        }
    };
    let mut rows = vec![row("loopback", loopback_round_trip_ms, base, own_summary(services), true)];
    for profile in &reproduction.profiles {
        let (Some(monolith), Some(services)) =
            (find(&profile.topologies, "monolith"), find(&profile.topologies, "services"))
        else {
            continue;
        };
        let round_trip_ms = profile.round_trips.relayed_median_us / 1000.0;
        rows.push(row(&profile.profile.name, round_trip_ms, own_summary(monolith), own_summary(services), false));
    }
    rows
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 { numerator / denominator } else { f64::NAN }
}

fn show(cell: &Cell, unit: &str) -> String {
    let value = |number: f64| if unit == "×" { format!("{number:.1}×") } else { format!("{number:.2}") };
    match (cell.predicted, cell.error()) {
        (Some(predicted), Some(error)) => {
            format!("{} ({}, {:+.0}%)", value(cell.measured), value(predicted), error * 100.0)
        }
        _ => format!("{} (base)", value(cell.measured)),
    }
}

/// The grid as a markdown table: each cell is `measured (predicted, error)`.
pub fn table(rows: &[Row]) -> String {
    let mut table = String::from(
        "| Network | Link round trip (ms) | Monolith avg (ms) | Monolith p99 (ms) | Services avg (ms) | Services p99 (ms) | Ratio avg | Ratio p99 |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        let _ = writeln!(
            table,
            "| `{}` | {:.3} | {} | {} | {} | {} | {} | {} |",
            row.profile,
            row.round_trip_ms,
            show(&row.monolith.0, "ms"),
            show(&row.monolith.1, "ms"),
            show(&row.services.0, "ms"),
            show(&row.services.1, "ms"),
            show(&row.ratio.0, "×"),
            show(&row.ratio.1, "×"),
        );
    }
    table
}

/// How far a row's ratios are from the published ones: the larger of the two relative distances.
fn distance_from_published(row: &Row) -> f64 {
    let published = (PUBLISHED_SERVICES.0 / PUBLISHED_MONOLITH.0, PUBLISHED_SERVICES.1 / PUBLISHED_MONOLITH.1);
    ((row.ratio.0.measured / published.0 - 1.0).abs()).max((row.ratio.1.measured / published.1 - 1.0).abs())
}

/// The paragraph under the grid, written from its numbers.
pub fn nearest_paragraph(rows: &[Row]) -> String {
    let published = (PUBLISHED_SERVICES.0 / PUBLISHED_MONOLITH.0, PUBLISHED_SERVICES.1 / PUBLISHED_MONOLITH.1);
    let Some(nearest) = rows
        .iter()
        .filter(|row| row.ratio.0.measured.is_finite() && row.ratio.1.measured.is_finite())
        .min_by(|left, right| distance_from_published(left).total_cmp(&distance_from_published(right)))
    else {
        return "No profile has both topologies measured, so no cell can be compared with the published table.\n"
            .to_owned();
    };
    let within = distance_from_published(nearest) <= 0.2;
    let mut text = format!(
        "The cell nearest the published {:.1}× / {:.1}× is `{}`, at {:.1}× / {:.1}× (average / p99), {:.0}% from \
         it at the farther of the two; {}.",
        published.0,
        published.1,
        nearest.profile,
        nearest.ratio.0.measured,
        nearest.ratio.1.measured,
        distance_from_published(nearest) * 100.0,
        if within {
            "that reproduces the published ratios within 20%".to_owned()
        } else {
            "no cell reproduces the published ratios within 20%".to_owned()
        }
    );
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    let change = |difference: f64| {
        if difference >= 0.0 {
            format!("rises by {difference:.2} ms")
        } else {
            format!("falls by {:.2} ms", -difference)
        }
    };
    if rows.len() > 1 {
        let _ = write!(
            text,
            " From `{}` to `{}` the services' average {} and the monolith's {}, and the average ratio goes from \
             {:.1}× to {:.1}×. A round trip on every link adds the same milliseconds to both topologies' one \
             generator link and five more to the services' dashboard, so on a network alone the ratio would tend to \
             six as round trips come to dominate the work; where it moves otherwise, the topologies' distance from \
             their own limits (queueing under the CPU budget) moved more than the network did, which the per-hop \
             prediction leaves out and its errors show.",
            first.profile,
            last.profile,
            change(last.services.0.measured - first.services.0.measured),
            change(last.monolith.0.measured - first.monolith.0.measured),
            first.ratio.0.measured,
            last.ratio.0.measured,
        );
    }
    let added = nearest.services.0.measured - nearest.monolith.0.measured;
    let _ = write!(
        text,
        " The published monolith averages {:.0} ms, far more than any cell here: about {:.0} ms of work per request \
         that no hop changes. Added to both sides of the `{}` cell, that work dilutes the {:.2} ms the services pay \
         to ({:.0} + {:.2}) / {:.0} = {:.2}×. To reach the published {:.0} ms the services would have to pay {:.0} ms \
         more than the monolith, {:.0} times what the `{}` profile costs them here: the published table was \
         measured where each hop cost far more than a network round trip, such as an app saturated by its own \
         hops (see *Saturation* in benchmarks.md) or a much slower network, not on a healthy network at a fraction \
         of capacity.",
        PUBLISHED_MONOLITH.0,
        PUBLISHED_MONOLITH.0 - nearest.monolith.0.measured,
        nearest.profile,
        added,
        PUBLISHED_MONOLITH.0,
        added,
        PUBLISHED_MONOLITH.0,
        (PUBLISHED_MONOLITH.0 + added) / PUBLISHED_MONOLITH.0,
        PUBLISHED_SERVICES.0,
        PUBLISHED_SERVICES.0 - PUBLISHED_MONOLITH.0,
        if added > 0.0 { (PUBLISHED_SERVICES.0 - PUBLISHED_MONOLITH.0) / added } else { f64::INFINITY },
        nearest.profile,
    );
    text.push('\n');
    text
}

/// The grid's section of `latency.md`.
pub fn markdown(reproduction: &Reproduction) -> String {
    let rows = rows(reproduction);
    let mut text = String::from("## Sensitivity to the network\n\n");
    if rows.is_empty() {
        text.push_str("The grid needs the monolith and services measured on loopback.\n");
        return text;
    }
    let _ = writeln!(
        text,
        "Each topology at {:.0}% of its own capacity under each network profile (the profiles and their sources: \
         [benchmarks.md](../benchmarks.md#network-profiles)). Each cell is `measured (predicted, error)`: the \
         prediction is the loopback monolith plus, for every link, the round trip measured through that profile's \
         relays, and for each of the services' {} hops the CPU a hop costs ({:.3} ms: the services' CPU per request \
         over the monolith's on loopback, divided by the hops). The error is (predicted − measured) / measured.\n",
        reproduction.options.chosen_fraction * 100.0,
        dashboard_hops("services"),
        rows.first().map_or(0.0, |_| hop_cpu_ms(reproduction)),
    );
    text.push_str(&table(&rows));
    text.push('\n');
    text.push_str(&nearest_paragraph(&rows));
    text
}

/// The CPU one hop costs, as the prediction uses it.
fn hop_cpu_ms(reproduction: &Reproduction) -> f64 {
    match (find(&reproduction.main, "monolith"), find(&reproduction.main, "services")) {
        (Some(monolith), Some(services)) => {
            ((cpu_ms(services) - cpu_ms(monolith)) / dashboard_hops("services") as f64).max(0.0)
        }
        _ => 0.0,
    }
}

/// Network calls one dashboard request makes when `topology` runs.
pub fn dashboard_hops(topology: &str) -> usize {
    let Some(modules) = topology.strip_prefix("extract=") else {
        return if topology == "services" { 5 } else { 0 };
    };
    modules
        .split(',')
        .map(|module| match module {
            "auth" | "users" | "business" => 1,
            "points" => 2,
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_follow_the_dashboard_call_chain() {
        assert_eq!(dashboard_hops("monolith"), 0);
        assert_eq!(dashboard_hops("services"), 5);
        assert_eq!(dashboard_hops("extract=points"), 2);
        assert_eq!(dashboard_hops("extract=audit"), 0);
        assert_eq!(dashboard_hops("extract=auth,business"), 2);
    }

    fn row(profile: &str, monolith: f64, services: f64) -> Row {
        let cell = |measured| Cell { measured, predicted: Some(measured) };
        Row {
            profile: profile.into(),
            round_trip_ms: 0.0,
            monolith: (cell(monolith), cell(monolith * 1.5)),
            services: (cell(services), cell(services * 1.5)),
            ratio: (cell(services / monolith), cell(services / monolith)),
        }
    }

    #[test]
    fn the_error_is_the_prediction_over_the_measurement() {
        let cell = Cell { measured: 2.0, predicted: Some(2.5) };
        assert_eq!(cell.error(), Some(0.25));
        assert_eq!(Cell { measured: 2.0, predicted: None }.error(), None);
        assert_eq!(show(&cell, "ms"), "2.00 (2.50, +25%)");
        assert_eq!(show(&Cell { measured: 3.0, predicted: None }, "×"), "3.0× (base)");
    }

    #[test]
    fn the_paragraph_names_the_cell_nearest_the_published_ratios_and_whether_it_is_within_20_percent() {
        let rows = [row("loopback", 1.0, 9.0), row("zone", 2.0, 5.6), row("mesh", 3.0, 15.0)];
        let text = nearest_paragraph(&rows);
        assert!(text.starts_with("The cell nearest the published 2.7× / 3.2× is `zone`, at 2.8× / 2.8×"), "{text}");
        assert!(text.contains("that reproduces the published ratios within 20%"), "{text}");
        let far = [row("loopback", 1.0, 9.0), row("lan", 1.0, 7.0)];
        let text = nearest_paragraph(&far);
        assert!(text.contains("is `lan`") && text.contains("no cell reproduces"), "{text}");
    }
}
