//! Text templates of ordinary code: the bulk of a synthetic workspace. Placeholders are
//! `%N%` (module name), `%C%` (its CamelCase), `%K%` (file number), `%B%` (block number),
//! `%DC%` (CamelCase of a dependency whose API the file imports). Templates hold no reference
//! to another module except through the names the file imports at its top.

pub const API: &str = r#"//! The public API of the %N% module: the only part other modules may use.
//!
//! Callers hold a [`%C%Client`] and exchange [`%C%Record`] values; every failure is a
//! [`%C%Error`].

use std::fmt;

/// A handle on the %N% module, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct %C%Client {
    /// Where the module is reached when it runs as a service.
    pub endpoint: String,
    pub retries: u32,
}

/// One %N% record as other modules see it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct %C%Record {
    pub id: u64,
    pub label: String,
    pub amount: i64,
}

/// Errors of the %N% API.
#[derive(Debug)]
pub enum %C%Error {
    /// The record does not exist (404 at the gateway).
    NotFound(u64),
    /// The request was malformed (400 at the gateway).
    Invalid(String),
}

impl fmt::Display for %C%Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            %C%Error::NotFound(id) => write!(f, "%N% record {id} not found"),
            %C%Error::Invalid(reason) => write!(f, "invalid %N% request: {reason}"),
        }
    }
}

impl std::error::Error for %C%Error {}

/// What the %N% module offers to the rest of the monolith.
pub trait %C%Service: Send + Sync {
    /// Loads one record.
    fn fetch(&self, id: u64) -> Result<%C%Record, %C%Error>;
    /// Stores a record and returns its id.
    fn record(&self, label: &str, amount: i64) -> Result<u64, %C%Error>;
}

impl %C%Client {
    /// A client for a module reached at `endpoint`.
    pub fn connect(endpoint: impl Into<String>) -> Self {
        %C%Client { endpoint: endpoint.into(), retries: 3 }
    }

    /// Whether the client talks to a remote service rather than the local module.
    pub fn is_remote(&self) -> bool {
        self.endpoint.starts_with("http")
    }
}
"#;

pub const DOMAIN: &str = r#"//! Domain types of the %N% module. Internal: other modules see them only as API records.

use std::collections::BTreeMap;

/// The life cycle of a %N% entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum %C%State {
    Draft,
    Active,
    Closed,
}

/// A %N% entity, valid by construction.
#[derive(Debug, Clone, PartialEq)]
pub struct %C%Entity {
    pub id: u64,
    pub label: String,
    pub amount: i64,
    pub state: %C%State,
}

/// Something that can be written to storage under a key.
pub trait Persist {
    fn key(&self) -> String;
}

impl Persist for %C%Entity {
    fn key(&self) -> String {
        format!("%N%:{}", self.id)
    }
}

impl %C%Entity {
    /// Validates the fields; a label is never empty and an amount never negative.
    pub fn new(id: u64, label: &str, amount: i64) -> Result<Self, String> {
        if label.trim().is_empty() {
            return Err("a %N% label cannot be empty".to_owned());
        }
        if amount < 0 {
            return Err(format!("a %N% amount cannot be negative, got {amount}"));
        }
        Ok(%C%Entity { id, label: label.trim().to_owned(), amount, state: %C%State::Draft })
    }
}

/// Counts entities per state.
pub fn census(entities: &[%C%Entity]) -> BTreeMap<%C%State, usize> {
    let mut counts = BTreeMap::new();
    for entity in entities {
        *counts.entry(entity.state).or_insert(0) += 1;
    }
    counts
}
"#;

pub const STORE_HEAD: &str = r##"//! Storage of the %N% module: SQL over its own tables. Internal.

use super::domain::{%C%Entity, %C%State};

/// What the store needs from a database connection.
pub trait Execute {
    fn rows(&self, sql: &str, params: &[&str]) -> Vec<u64>;
    fn execute(&self, sql: &str, params: &[&str]) -> u64;
}

/// Errors of the store.
#[derive(Debug)]
pub enum StoreError {
    NotFound,
    Conflict(String),
}

/// The repository of %N% entities.
#[derive(Debug, Default)]
pub struct %C%Store {
    pub pool_size: usize,
}

impl %C%Store {
    pub fn open(pool_size: usize) -> Self {
        %C%Store { pool_size }
    }

    pub fn default_label() -> &'static str {
        "%N%"
    }

    /// Loads one entity's id by id, to check that it exists.
    pub fn exists(&self, db: &dyn Execute, id: &str) -> bool {
        !db.rows("SELECT id FROM %N%_records WHERE id = $1", &[id]).is_empty()
    }

    /// Inserts an entity and its creation event.
    pub fn insert(&self, db: &dyn Execute, entity: &%C%Entity) -> Result<u64, StoreError> {
        if entity.state == %C%State::Closed {
            return Err(StoreError::Conflict("Update rejected because the entity is closed".to_owned()));
        }
        let id = db.execute("INSERT INTO %N%_records (label, amount) VALUES (?, ?)", &[&entity.label]);
        db.execute("INSERT INTO %N%_events (record_id, kind) VALUES (?, 'created')", &[&id.to_string()]);
        Ok(id)
    }

    /// Changes an amount.
    pub fn update_amount(&self, db: &dyn Execute, id: &str, amount: &str) -> u64 {
        db.execute("UPDATE %N%_records SET amount = $2 WHERE id = $1", &[id, amount])
    }

    /// Totals of the recent records, through a common table expression.
    pub fn recent_total(&self, db: &dyn Execute, since: &str) -> Vec<u64> {
        let sql = r#"
            WITH recent AS (
                SELECT id, amount FROM %N%_records WHERE id > $1
            )
            SELECT recent.id FROM recent
            JOIN %N%_events ev ON ev.record_id = recent.id
        "#;
        db.rows(sql, &[since])
    }

    /// Removes an entity and its events.
    pub fn delete(&self, db: &dyn Execute, id: &str) -> u64 {
        db.execute("DELETE FROM %N%_events WHERE record_id = $1", &[id]);
        db.execute("DELETE FROM %N%_records WHERE id = $1", &[id])
    }
"##;

/// The service-file blocks, used in turn.
pub const BLOCKS: &[&str] = &[
    r#"/// Aggregates %N% amounts for report %K%.%B%.
#[derive(Debug, Default, Clone)]
pub struct Tally%K%x%B% {
    totals: BTreeMap<String, i64>,
    seen: usize,
}

impl Tally%K%x%B% {
    /// Adds every active entity, and returns how many were added.
    pub fn add_all(&mut self, entities: &[%C%Entity]) -> usize {
        let before = self.seen;
        entities
            .iter()
            .filter(|entity| entity.state == %C%State::Active)
            .for_each(|entity| {
                *self.totals.entry(entity.label.clone()).or_insert(0) += entity.amount;
                self.seen += 1;
            });
        self.seen - before
    }

    /// The label with the largest total.
    pub fn largest(&self) -> Option<(&String, &i64)> {
        self.totals.iter().max_by_key(|(_, amount)| **amount)
    }
}
"#,
    r#"/// A rule that decides whether a %N% record may change (policy %K%.%B%).
pub trait Policy%K%x%B%<T> {
    fn allows(&self, item: &T) -> bool;

    fn name(&self) -> &'static str {
        "policy-%K%-%B%"
    }
}

/// Allows amounts up to a limit.
pub struct Threshold%K%x%B% {
    pub limit: i64,
}

impl Policy%K%x%B%<%C%Entity> for Threshold%K%x%B% {
    fn allows(&self, item: &%C%Entity) -> bool {
        item.amount <= self.limit
    }
}

/// Keeps the items a policy allows.
pub fn apply_policy_%K%_%B%<'a, P, T>(policy: &P, items: &'a [T]) -> Vec<&'a T>
where
    P: Policy%K%x%B%<T>,
{
    items.iter().filter(|item| policy.allows(item)).collect()
}
"#,
    r#"/// Steps of %N% job %K%.%B%.
#[derive(Debug, Clone, PartialEq)]
pub enum Step%K%x%B% {
    Started { at: u64 },
    Progress(u32),
    Failed(String),
    Done,
}

impl Step%K%x%B% {
    /// A sentence for the job log.
    pub fn describe(&self) -> String {
        match self {
            Self::Started { at } => format!("started at {at}"),
            Self::Progress(percent) if *percent > 50 => format!("more than half done ({percent}%)"),
            Self::Progress(percent) => format!("{percent}% done"),
            Self::Failed(reason) => format!("failed: {reason}"),
            Self::Done => "done".to_owned(),
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(self, Self::Failed(_) | Self::Done)
    }
}
"#,
    r#"macro_rules! ensure_%K%_%B% {
    ($condition:expr, $message:expr) => {
        if !$condition {
            return Err($message.to_string());
        }
    };
}

/// Checks a %DC% record before the %N% module accepts it.
pub fn validate_%K%_%B%(record: &%DC%Row, client: &%DC%Client) -> Result<i64, String> {
    ensure_%K%_%B%!(record.amount >= 0, "negative amount");
    ensure_%K%_%B%!(!client.endpoint.is_empty(), "no endpoint");
    let scaled = [1_i64, 10, 100].iter().map(|factor| record.amount * factor).sum::<i64>();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for word in record.label.split_whitespace() {
        *names.entry(word).or_default() += 1;
    }
    Ok(scaled + names.len() as i64)
}
"#,
    r#"/// Loads the %N% records of one label, newest first (query %K%.%B%).
pub fn load_by_label_%K%_%B%(db: &dyn super::store::Execute, label: &str) -> Vec<u64> {
    let sql = "SELECT id FROM %N%_records WHERE label = $1 ORDER BY id DESC LIMIT 50";
    let mut ids = db.rows(sql, &[label]);
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Renders entities as a small text table.
pub fn render_%K%_%B%(entities: &[%C%Entity]) -> String {
    let mut out = String::new();
    for (index, entity) in entities.iter().enumerate() {
        let _ = writeln!(out, "{index:>4} {:<20} {:>10}", entity.label, entity.amount);
    }
    out
}
"#,
];

pub const SERVICE_TESTS: &str = r#"
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_starts_empty() {
        let tally = Tally%K%x0::default();
        assert!(tally.largest().is_none());
    }
}
"#;

/// Replaces the placeholders of a template.
pub fn fill(template: &str, name: &str, camel: &str, file: usize, block: usize, dependency: &str) -> String {
    template
        .replace("%N%", name)
        .replace("%C%", camel)
        .replace("%K%", &file.to_string())
        .replace("%B%", &block.to_string())
        .replace("%DC%", dependency)
}
