//! Module `billing` (the whole crate): its normal code uses only `ledger`'s `api`,
//! its test-only code reaches into `ledger`'s internals.
#![allow(unused)]

pub mod internal {
    pub fn own() {}
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod inline_tests {
    use ledger::internal::Entry;

    #[test]
    fn posts() {
        ledger::internal::post();
    }
}

#[cfg(test)]
fn test_helper() {
    ledger::internal::post();
}

#[cfg(test)]
use ledger::internal::post;

pub fn run() -> u32 {
    ledger::api::balance()
}

// A module whose own file starts with `#![cfg(test)]`: test code like `#[cfg(test)] mod`.
mod checks;
