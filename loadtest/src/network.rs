//! The network profiles of `--network`: the table under "Network profiles" in `docs/benchmarks.md`, parsed from
//! there at compile time, so that the figures a run uses and the sources the documentation gives are one table.

use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::relay::LinkDelay;

/// The documentation that holds the table.
const BENCHMARKS_MD: &str = include_str!("../../docs/benchmarks.md");

/// The heading of the section whose first table is the profiles.
const SECTION: &str = "## Network profiles";

/// One network profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkProfile {
    /// The name `--network` takes.
    pub name: String,
    /// The round trip every link pays, in milliseconds.
    pub round_trip_ms: f64,
    /// The jitter of each one-way delay, in milliseconds (uniform within ± this).
    pub jitter_ms: f64,
    /// What it stands for.
    pub stands_for: String,
}

impl NetworkProfile {
    /// Whether every process sits on one host with nothing between them (no relay).
    pub fn is_loopback(&self) -> bool {
        self.round_trip_ms == 0.0 && self.jitter_ms == 0.0
    }

    /// The delay the relays add to each segment, one way.
    pub fn link_delay(&self) -> LinkDelay {
        LinkDelay {
            one_way: Duration::from_secs_f64(self.round_trip_ms / 2000.0),
            jitter: Duration::from_secs_f64(self.jitter_ms / 1000.0),
        }
    }
}

/// The profiles of `docs/benchmarks.md`, in the table's order.
pub fn profiles() -> Vec<NetworkProfile> {
    parse_profiles(BENCHMARKS_MD).expect("docs/benchmarks.md holds the network profiles (a test checks it)")
}

/// The named profiles, in the order given; an unknown name is an error that lists the known ones.
pub fn select(names: &[String]) -> anyhow::Result<Vec<NetworkProfile>> {
    let known = profiles();
    names
        .iter()
        .map(|name| {
            known.iter().find(|profile| profile.name == *name).cloned().with_context(|| {
                let names: Vec<&str> = known.iter().map(|profile| profile.name.as_str()).collect();
                format!("unknown network profile {name:?}; expected one of {}", names.join(", "))
            })
        })
        .collect()
}

/// Reads the first table after the `## Network profiles` heading: `| `name` | round trip (ms) | jitter (ms) | stands
/// for | source |`.
pub fn parse_profiles(markdown: &str) -> anyhow::Result<Vec<NetworkProfile>> {
    let start = markdown.find(SECTION).with_context(|| format!("no {SECTION:?} section"))?;
    let rows: Vec<&str> = markdown[start..]
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .collect();
    if rows.is_empty() {
        bail!("the {SECTION:?} section has no table");
    }
    let mut profiles = Vec::new();
    for row in rows {
        let cells: Vec<&str> = row.trim().trim_matches('|').split('|').map(str::trim).collect();
        let [name, round_trip, jitter, stands_for, ..] = cells.as_slice() else {
            bail!("a profile row needs a name, a round trip, a jitter and what it stands for: {row:?}");
        };
        let name = name.trim_matches('`');
        if name.is_empty() || !name.chars().all(|character| character.is_ascii_lowercase() || character == '-') {
            bail!("a profile's name is lowercase letters in backticks, got {name:?}");
        }
        let number = |text: &str, what: &str| -> anyhow::Result<f64> {
            let value: f64 = text.parse().with_context(|| format!("{what} of {name} is not a number: {text:?}"))?;
            if !(value >= 0.0 && value.is_finite()) {
                bail!("{what} of {name} must be zero or more, got {value}");
            }
            Ok(value)
        };
        profiles.push(NetworkProfile {
            name: name.to_owned(),
            round_trip_ms: number(round_trip, "the round trip")?,
            jitter_ms: number(jitter, "the jitter")?,
            stands_for: (*stands_for).to_owned(),
        });
    }
    if profiles.iter().filter(|profile| profile.name == "loopback").count() != 1
        || !profiles.iter().any(NetworkProfile::is_loopback)
    {
        bail!("the profiles need exactly one `loopback`, with no delay");
    }
    Ok(profiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_profiles_parse_with_their_figures() {
        let profiles = profiles();
        let names: Vec<&str> = profiles.iter().map(|profile| profile.name.as_str()).collect();
        assert_eq!(names, ["loopback", "lan", "zone", "mesh"]);
        assert!(profiles[0].is_loopback());
        let lan = &profiles[1];
        assert_eq!((lan.round_trip_ms, lan.jitter_ms), (0.3, 0.05));
        assert_eq!(lan.link_delay().one_way, Duration::from_micros(150));
        assert!(profiles[1..].iter().all(|profile| !profile.is_loopback()));
    }

    #[test]
    fn selection_keeps_the_order_given_and_names_the_known_profiles_on_a_typo() {
        let chosen = select(&["zone".to_owned(), "loopback".to_owned()]).unwrap();
        assert_eq!(chosen[0].name, "zone");
        let error = select(&["wan".to_owned()]).unwrap_err().to_string();
        assert!(error.contains("\"wan\"") && error.contains("loopback, lan"), "{error}");
    }

    #[test]
    fn malformed_tables_are_refused_with_the_reason() {
        let table = |rows: &str| {
            format!(
                "# x\n\n{SECTION}\n\n| Profile | RTT | Jitter | Stands for | Source |\n| --- | --- | --- | --- | --- |\n{rows}\nAfter.\n"
            )
        };
        let good = table("| `loopback` | 0 | 0 | one host | |\n| `far` | 12.5 | 1 | far away | a source |");
        let parsed = parse_profiles(&good).unwrap();
        assert_eq!(
            parsed[1],
            NetworkProfile { name: "far".into(), round_trip_ms: 12.5, jitter_ms: 1.0, stands_for: "far away".into() }
        );
        let cases = [
            (table("| `loopback` | 0 | 0 | one host | |\n| `far` | twelve | 1 | x | |"), "not a number"),
            (table("| `loopback` | 0 | 0 | one host | |\n| `far` | -1 | 1 | x | |"), "zero or more"),
            (table("| `far` | 1 | 1 | x | |"), "loopback"),
            (table("| `Far Away` | 1 | 1 | x | |"), "lowercase"),
            (table("| `far` | 1 |"), "needs a name"),
            ("# no section\n".to_owned(), "no \"## Network profiles\" section"),
            (format!("{SECTION}\n\nNo table.\n"), "no table"),
        ];
        for (markdown, expected) in cases {
            let error = format!("{:#}", parse_profiles(&markdown).unwrap_err());
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
        }
    }
}
