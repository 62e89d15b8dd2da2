//! `feasible train`: a user's own constrained training, described in a
//! TOML file (see `docs/train-config.md` for every key), without writing
//! Rust; and the files it leaves in the run directory, which `feasible
//! audit` reads back.
//!
//! - [`config`]: the file as written (unknown keys are errors with their line);
//! - [`plan`]: the values checked (errors name the key and its line);
//! - [`data`]: CSV or IDX data, split into train, validation and test;
//! - [`model`]: a linear model or an MLP, optionally with L0 gates;
//! - [`constraints`]: the constraints resolved against the data, for
//!   training and for the audit;
//! - [`history`]: the per-step history and its figures;
//! - [`run`]: the training loop and the run directory.

pub mod config;
pub mod constraints;
pub mod data;
pub mod history;
pub mod model;
pub mod plan;
pub mod run;

pub use plan::Overrides;
pub use run::{Trained, audit, train};
