//! Integration tests of the checker.
