//! Crate root of the fixture: module `b` is inline here, module `a` has its own file.
#![allow(unused)]

pub mod a;

pub mod b {
    pub mod api {
        pub struct Pair<T>(pub T, pub T);
    }
    pub mod internal {
        #[derive(Clone, Copy)]
        pub struct Point {
            pub x: i32,
        }
        pub trait Trait {}
        pub const SIZE: usize = 4;
    }
}
