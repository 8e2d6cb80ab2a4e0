//! What a finding is, at the bottom of the pipeline: rule and warning codes, severities, sites
//! in source files, violations and warnings. Nothing here imports anything else of the crate, so
//! that every stage (configuration, parsing, the model, rules, reports) can use these types.

mod code;
mod location;
mod violation;
mod warning;

pub(crate) use code::DOCS_RULES_URL;
pub use code::{RuleCode, Severity, WarningCode};
pub(crate) use location::{LineIndex, count_lines, line_column};
pub use location::{Site, SourceRef};
pub(crate) use violation::{Finding, Words};
pub use violation::{Suppressed, Violation, ViolationDetails};
pub use warning::Warning;
