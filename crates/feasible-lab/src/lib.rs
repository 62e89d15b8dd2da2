//! The feasible lab: the published constrained-learning experiments,
//! reproduced with `feasible` and `feasible-burn`, and benchmarks.
//!
//! The binary `feasible` is a thin command line over this library; the
//! library is what the tests exercise.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod audit;
pub mod bench;
pub mod data;
pub mod device;
pub mod experiments;
pub mod models;
pub mod parallel;
pub mod plots;
pub mod progress;
pub mod table;
pub mod train;
