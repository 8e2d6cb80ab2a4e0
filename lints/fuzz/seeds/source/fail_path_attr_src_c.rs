//! Module `c` (a non-mod-rs file). `#[path]` on an outline module is relative to
//! this file's folder (`src/`); inside an inline module it is relative to
//! `src/c/<inline module>/`.

#[path = "elsewhere.rs"]
pub mod away;

pub mod inline {
    #[path = "x.rs"]
    pub mod x;
}

pub mod internal {
    pub struct Thing;
}
