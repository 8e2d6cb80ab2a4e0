//! The check as a library call: load the workspace and the configuration, parse every file once,
//! build the model once, run every rule, apply the baseline, and return the outcome for a report
//! to render.

mod engine;
mod outcome;
mod pipeline;

pub use crate::config::{ConfigError, ConfigErrorKind, InvalidConfig};
pub use crate::parse::ParseCounts;
pub use crate::workspace::WorkspaceError;
pub use engine::Engine;
pub(crate) use outcome::ReportScope;
pub use outcome::{CheckError, CheckOptions, CheckOutcome, Stats};

/// Loads the workspace, the configuration and the model, and runs every rule.
pub fn run_check(options: &CheckOptions) -> Result<CheckOutcome, CheckError> {
    Engine::new(options.clone()).check()
}
