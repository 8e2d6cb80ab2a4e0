//! Integration tests of the `seams-loadtest` binary (one test binary for the crate).

// The relay process: it relays, and it ends when its parent does.
mod relay_process;
