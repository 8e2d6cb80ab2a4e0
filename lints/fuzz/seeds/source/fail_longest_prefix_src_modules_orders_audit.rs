//! Module `orders_audit` (`crate::modules::orders::audit`): it sits in `orders`'s
//! folder, but the longer module path wins, so `super::internal` is another module's.

pub mod api {
    pub fn log() {}
}

pub mod internal {
    pub struct Trail;
    pub fn record() {}
}

pub fn run() {
    super::internal::stash();
    super::api::place();
    self::internal::record();
}
