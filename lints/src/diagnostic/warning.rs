//! A problem with one input (a file that cannot be read or parsed, SQL that parses in no dialect)
//! that does not stop the run.

use super::code::WarningCode;
use super::location::Site;

/// A problem with one input that does not stop the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub code: WarningCode,
    pub file: String,
    pub site: Option<Site>,
    pub message: String,
}
