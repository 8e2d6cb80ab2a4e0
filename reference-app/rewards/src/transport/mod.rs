//! The network layer between modules: HTTP/1.1 with JSON, with a client per peer that implements the same trait as
//! the local module, and a server that exposes local modules to peers.
//!
//! Nothing in the modules knows this layer exists; the composition root decides where it is used.

pub mod bindings;
pub mod breaker;
pub mod client;
pub mod context;
pub mod server;
pub mod tls;
pub mod wire;
