//! Module `orders` reaches into `billing-core` through the rename `bill`,
//! and into `stock-keeping` through its lib name `stock`.

use bill::internal::Ledger;
use bill::api::charge;

pub fn run() -> u32 {
    bill::internal::post();
    ::bill::internal::post();
    bill::api::charge();
    stock::shelves::restock();
    stock::api::count()
}
