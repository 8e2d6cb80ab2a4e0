//! Latency histograms and the summary of a run: percentiles come from merged histograms, never from averaging the
//! percentiles of separate runs, because the average of two p99s is not the p99 of the two runs together.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Response times in microseconds, as counts per bucket (the bucket's lowest time).
///
/// Goose keeps its times in buckets of this shape (exact below a threshold, then a few significant bits), so a
/// histogram read from goose loses nothing, and two histograms merge by adding counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Count per bucket, keyed by the bucket's lowest time in microseconds.
    pub buckets_us: BTreeMap<u64, u64>,
    /// The largest time recorded, unrounded.
    pub max_us: u64,
    /// The sum of every time recorded, unrounded, so that the mean is exact.
    pub total_us: u64,
}

impl Histogram {
    /// Records `count` times of `time_us` each.
    pub fn record(&mut self, time_us: u64, count: u64) {
        if count == 0 {
            return;
        }
        *self.buckets_us.entry(time_us).or_insert(0) += count;
        self.max_us = self.max_us.max(time_us);
        self.total_us = self.total_us.saturating_add(time_us.saturating_mul(count));
    }

    /// Adds every count of `other` to this histogram.
    pub fn merge(&mut self, other: &Histogram) {
        for (bucket, count) in &other.buckets_us {
            *self.buckets_us.entry(*bucket).or_insert(0) += count;
        }
        self.max_us = self.max_us.max(other.max_us);
        self.total_us = self.total_us.saturating_add(other.total_us);
    }

    /// How many times were recorded.
    pub fn count(&self) -> u64 {
        self.buckets_us.values().sum()
    }

    /// The mean in milliseconds, or 0 when empty.
    pub fn mean_ms(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            count => self.total_us as f64 / count as f64 / 1000.0,
        }
    }

    /// The nearest-rank percentile (`quantile` in 0..=1) in milliseconds: the smallest bucket at or below which at
    /// least that share of the times lie. 0 when empty.
    pub fn percentile_ms(&self, quantile: f64) -> f64 {
        let count = self.count();
        if count == 0 {
            return 0.0;
        }
        let rank = ((quantile.clamp(0.0, 1.0) * count as f64).ceil() as u64).max(1);
        let top_bucket = self.buckets_us.keys().next_back().copied().unwrap_or(0);
        let mut seen = 0;
        for (bucket, bucket_count) in &self.buckets_us {
            seen += bucket_count;
            if seen >= rank {
                // The top bucket is reported as the true maximum rather than its rounded floor.
                let value = if *bucket == top_bucket { self.max_us.max(*bucket) } else { *bucket };
                return value as f64 / 1000.0;
            }
        }
        self.max_us as f64 / 1000.0
    }

    /// The largest time in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }
}

/// What one measured run produced: the shape `summary.json` has, as the issue specifies it, plus where the
/// processes ran and what they cost.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// The topology of the app under load.
    pub topology: String,
    /// The scenario goose ran.
    pub scenario: String,
    /// Goose users (concurrent closed-loop clients).
    pub users: usize,
    /// The requests per second the goose users were paced to offer.
    pub offered_rps: f64,
    /// The requests per second that completed.
    pub achieved_rps: f64,
    /// Measured requests.
    pub requests: u64,
    /// Measured requests that failed (transport errors and unexpected statuses).
    pub errors: u64,
    /// Mean latency of the requests sent.
    pub avg_ms: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// The slowest request.
    pub max_ms: f64,
    /// Median with goose's coordinated-omission back-fill. Kept beside the plain figures, not instead of them:
    /// goose takes a user's expected cadence from its average loop time, pacing included, so the two views agree
    /// until the app falls behind, and differ where correction matters.
    #[serde(default)]
    pub co_p50_ms: f64,
    /// 99th percentile with goose's coordinated-omission back-fill.
    #[serde(default)]
    pub co_p99_ms: f64,
}

impl Summary {
    /// Summarises a histogram of measured requests.
    pub fn from_histogram(
        header: SummaryHeader,
        histogram: &Histogram,
        corrected: &Histogram,
        requests: u64,
        errors: u64,
        seconds: f64,
    ) -> Summary {
        Summary {
            topology: header.topology,
            scenario: header.scenario,
            users: header.users,
            offered_rps: header.offered_rps,
            achieved_rps: if seconds > 0.0 { requests as f64 / seconds } else { 0.0 },
            requests,
            errors,
            avg_ms: histogram.mean_ms(),
            p50_ms: histogram.percentile_ms(0.50),
            p90_ms: histogram.percentile_ms(0.90),
            p99_ms: histogram.percentile_ms(0.99),
            max_ms: histogram.max_ms(),
            co_p50_ms: corrected.percentile_ms(0.50),
            co_p99_ms: corrected.percentile_ms(0.99),
        }
    }

    /// The share of requests that failed, 0 when there were none.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 { 0.0 } else { self.errors as f64 / self.requests as f64 }
    }
}

/// The parts of a summary that describe the run rather than its measurements.
#[derive(Debug, Clone)]
pub struct SummaryHeader {
    /// The topology.
    pub topology: String,
    /// The scenario.
    pub scenario: String,
    /// Goose users.
    pub users: usize,
    /// The offered rate.
    pub offered_rps: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram_of(times_us: &[u64]) -> Histogram {
        let mut histogram = Histogram::default();
        for time in times_us {
            histogram.record(*time, 1);
        }
        histogram
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let histogram = histogram_of(&(1..=100).map(|ms| ms * 1000).collect::<Vec<_>>());
        assert_eq!(histogram.percentile_ms(0.50), 50.0);
        assert_eq!(histogram.percentile_ms(0.90), 90.0);
        assert_eq!(histogram.percentile_ms(0.99), 99.0);
        assert_eq!(histogram.percentile_ms(1.0), 100.0);
        assert_eq!(histogram.mean_ms(), 50.5);
    }

    #[test]
    fn merged_percentiles_come_from_the_pooled_times_not_the_mean_of_percentiles() {
        // A fast run of 990 requests at 1 ms and a slow run of 10 requests at 500 ms.
        let fast = histogram_of(&[1_000; 990]);
        let slow = histogram_of(&[500_000; 10]);
        let mut merged = fast.clone();
        merged.merge(&slow);
        // Pooled, 1% of the requests took 500 ms, so the p99 is still 1 ms and only the p99.1 reaches 500 ms.
        assert_eq!(merged.count(), 1_000);
        assert_eq!(merged.percentile_ms(0.99), 1.0);
        assert_eq!(merged.percentile_ms(0.995), 500.0);
        // Averaging the two runs' p99s would have claimed 250.5 ms.
        let averaged = (fast.percentile_ms(0.99) + slow.percentile_ms(0.99)) / 2.0;
        assert_eq!(averaged, 250.5);
        assert_ne!(merged.percentile_ms(0.99), averaged);
        // The mean is weighted by requests, not by runs.
        assert!((merged.mean_ms() - 5.99).abs() < 1e-9);
        assert_eq!(merged.max_ms(), 500.0);
    }

    #[test]
    fn merging_is_the_same_as_recording_everything_in_one_histogram() {
        let first = histogram_of(&[120, 340, 340, 9_000]);
        let second = histogram_of(&[340, 77, 120_000]);
        let mut merged = first.clone();
        merged.merge(&second);
        assert_eq!(merged, histogram_of(&[120, 340, 340, 9_000, 340, 77, 120_000]));
    }

    #[test]
    fn an_empty_histogram_reports_zeroes() {
        let histogram = Histogram::default();
        assert_eq!(histogram.percentile_ms(0.99), 0.0);
        assert_eq!(histogram.mean_ms(), 0.0);
    }

    #[test]
    fn the_top_bucket_reports_the_true_maximum() {
        // Goose puts slow times in rounded buckets; the slowest one is known exactly.
        let mut histogram = Histogram::default();
        histogram.record(4_000, 3);
        histogram.record(12_288, 1);
        histogram.max_us = 12_500;
        assert_eq!(histogram.percentile_ms(1.0), 12.5);
    }
}
