//! Crate root of the fixture: module `b` is inline here, module `a` has its own file.
#![allow(unused)]

pub mod a;

pub mod b {
    pub mod api {
        pub fn name() -> &'static str {
            "b"
        }
    }
    pub mod internal {
        pub fn value() -> u32 {
            1
        }
        pub enum Kind {
            A,
        }
        macro_rules! shout {
            () => {
                0u32
            };
        }
        // A path-scoped macro: other code can call it as `crate::b::internal::shout!()`.
        pub(crate) use shout;
    }
}
