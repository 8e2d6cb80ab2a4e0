//! Module `orders` uses its own internals through `crate::`, `self::`, relative paths,
//! groups, globs, re-exports, aliases and macros.

pub mod internal;
pub mod store;

pub use self::internal::Order;
pub(crate) use internal::{self as guts, Line};
use crate::modules::orders::internal::*;
use super::orders::store as shelf;

pub fn run() -> Vec<u32> {
    internal::place();
    crate::modules::orders::internal::place();
    guts::place();
    shelf::keep();
    let line: Line = Line;
    println!("{:?}", self::internal::count());
    vec![crate::modules::orders::internal::count()]
}
