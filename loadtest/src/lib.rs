//! Load tests of the reference app: goose scenarios (`attack`), the app's processes and their cost
//! (`deployment`), the database it runs on (`postgres`), one measured deployment (`run`), the capacity search (`capacity`), the summary maths (`stats`),
//! and the reproduction of the published latency table with its reports (`reproduce`, `report`, `plot`, `wrk`).

pub mod attack;
pub mod budget;
pub mod capacity;
pub mod deployment;
pub mod grid;
pub mod network;
pub mod plot;
pub mod postgres;
pub mod relay;
pub mod report;
pub mod reproduce;
pub mod results;
pub mod run;
pub mod stats;
pub mod wrk;
