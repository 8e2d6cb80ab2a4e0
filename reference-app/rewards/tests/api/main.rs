//! Integration tests of the reference app: the app is started on port 0 (the gateway in this process, services as
//! real child processes of the built `rewards` binary) and driven over HTTP on loopback, as a user would.

mod bad_input;
mod boundaries;
mod concurrency;
mod credentials;
mod economy;
mod faults;
mod health;
mod operations;
mod peers;
mod scenario;
mod support;
mod throttling;
mod tls;
mod transport;
