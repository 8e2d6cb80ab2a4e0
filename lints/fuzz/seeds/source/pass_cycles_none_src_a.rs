//! Module `a`, the top of the diamond: it uses `b` and `c`, and its own `inner` part.

mod inner {
    pub fn weight() -> u32 {
        crate::a::inner::base() + self::base()
    }

    pub fn base() -> u32 {
        1
    }
}

pub fn run() -> u32 {
    crate::b::left() + crate::b::left() + crate::c::right() + crate::a::inner::weight()
}
