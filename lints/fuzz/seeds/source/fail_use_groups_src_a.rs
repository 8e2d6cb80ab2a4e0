//! Module `a` imports from `b` and `c` through groups: each leaf is its own reference.

use crate::b::{
    api::Receipt,
    internal::Ledger,
};
use crate::b::internal::{Ledger as Book, total};
use crate::b::internal::{self};
use crate::{
    b::{api, internal::{Entry, self as inner}},
    c::internal::Secret,
    c::api::Notice,
};

pub fn run() -> u32 {
    let _ = (Receipt, Ledger, Book, Entry, Secret, Notice, api::Receipt);
    internal::total() + inner::total() + total()
}
