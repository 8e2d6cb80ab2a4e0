//! Parent of the modules, which are inline here except `orders`; this file's own code belongs to no module.

pub mod orders;

pub mod inventory {
    pub mod api {
        pub fn count() -> u32 {
            0
        }
    }
    pub mod store {
        pub struct Shelf;
        pub fn restock() {}
    }
}

pub mod billing {
    pub mod internal {
        pub fn charge() {}
        pub fn refund() {}
    }
}

pub mod shipping {
    pub mod api {
        pub fn send() {}
    }
    pub mod internal {
        pub fn route() {}
    }
}
