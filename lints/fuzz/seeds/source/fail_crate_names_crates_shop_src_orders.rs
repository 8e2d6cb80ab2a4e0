//! Module `orders` reaches into the crate `billing-core` by its lib name, with and without a leading `::`.

use billing_core::internal::Ledger;
use ::billing_core::internal::post;
use billing_core::api;

pub fn run() {
    billing_core::internal::post();
    ::billing_core::api::charge();
    let ledger = ::billing_core::internal::Ledger;
    api::charge();
}

// A crate name can also be aliased by `use`, on its own or as `self` in a group.
use billing_core as money;
use ::billing_core::{self as cash};

pub fn through_use_aliases() {
    money::internal::post();
    cash::internal::post();
    money::api::charge();
}
